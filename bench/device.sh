#!/usr/bin/env bash
# Runs every benchmark on a lent GPU machine in one call: `bash bench/device.sh` from the repository root; logs and JSON
# go under $OUT (default /tmp/tqhash-bench-out). One failing or timed-out benchmark never stops the others.
#
# The machine has no network and no Node, so what it needs travels with the working tree (64 MiB per call in all):
#   here: npm ci && npm run build && bash bench/device-pack.sh && bash bench/device-data.sh 800
#   (.device/node.xz and .device/modules.tar.xz, unpacked by this script where node or node_modules is missing;
#   .device/cifar-800, real CIFAR-10 records: 47 + 14 MiB with the tree, which device-pack.sh prints).
# The plan for a session's 15 device minutes (a start takes some of them): two calls of the run tool, the second at once
# while the machine is warm (it keeps ignored files between calls: the unpacked Node, node_modules, the autotune cache),
#   carry ["dist", ".device/node.xz", ".device/modules.tar.xz", ".device/cifar-800"] both times, timeout_s the budget + 60;
#   1. TQHASH_DEVICE_BUDGET=420 TQHASH_DEVICE_DATA=.device/cifar-800 TQHASH_DEVICE_ONLY='info compile autotune step search fullrun' bash bench/device.sh
#   2. TQHASH_DEVICE_BUDGET=240 TQHASH_DEVICE_DATA=.device/cifar-800 TQHASH_DEVICE_ONLY='autotune kernels metrics train tests' bash bench/device.sh
#   ('autotune' in call 2 finishes a tuning that call 1's budget stopped part-way; complete, it is not timed again)
# TQHASH_DEVICE_BUDGET=S: this call's seconds; a program gets at most what is left (less 15 s), and one that would get
# under 20 s is skipped, so the script always ends itself and copies its results (a call killed from outside does not).
# Time limits per program (seconds) can be changed with TQHASH_DEVICE_TIMEOUT (default 240 each, info 60).
# Order: the cold start (the first step with each command submitted alone: each preset pipeline's compile on this
# driver), autotune (winners cached in .device/cache and used by every run after it), kernels, the training step at
# batch 128 and 256 and the search, each against its peer (bench/peers/peers.py: PyTorch on CUDA where python3 has
# torch and sees the GPU; skipped with the reason otherwise), an evaluation's rankings on the GPU against the CPU
# (bench/metrics.js: decides knob rank.on), then with TQHASH_DEVICE_DATA (a folder carried with the tree; records per
# file are read off test_batch.bin) a training run on it of TQHASH_DEVICE_EPOCHS epochs (default 12, with
# TQHASH_DEVICE_TRAIN_ARGS added) and the full-size run, then the whole test suite.
# 'fullrun': with TQHASH_DEVICE_DATA, a full-size run (bench/device-data.sh --repeat: 10,000 records per file made of
# the carried ones over and over), the issue's "a full 12-epoch CIFAR-10 run ≤ 30 s wall" measured without carrying
# 170 MB; its time is a full run's, its mAP is not CIFAR-10's (the images repeat).
# TQHASH_DEVICE_ONLY='study' (names among info compile autotune kernels step search metrics tests train fullrun study):
# run only those. The autotune winners land in .device/cache (kept while the machine is warm) and in $OUT/autotune.json.
# TQHASH_DEVICE_QUICK=1: CI-sized runs (a dry run of this script on any machine: OUT=/tmp/x TQHASH_DEVICE_QUICK=1 bash bench/device.sh;
# with TQHASH_PRESET=gpu it runs the GPU preset's choices on a CPU adapter, e.g. lavapipe at core: bench/NOTES.md, 2026-12-02).
set -u
cd "$(dirname "$0")/.." || exit 1
OUT="${OUT:-/tmp/tqhash-bench-out}"
mkdir -p "$OUT"
T="${TQHASH_DEVICE_TIMEOUT:-240}"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

NODE="$(command -v node || true)"
if [ -z "$NODE" ]; then
  if [ ! -x .device/node ] || [ .device/node.xz -nt .device/node ]; then
    xz -dc .device/node.xz > .device/node && chmod +x .device/node
  fi
  if [ -x .device/node ]; then NODE="$PWD/.device/node"; fi
fi
if [ -z "$NODE" ]; then
  say "no node on this machine and no .device/node(.xz) carried: see the header of bench/device.sh"
  exit 1
fi
export PATH="$(dirname "$NODE"):$PATH"
say "node $("$NODE" --version) at $NODE · $(uname -srm) · $(nproc) CPUs · $(date -u +%FT%TZ) · load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$SUMMARY"

if [ ! -d node_modules ] && [ -f .device/modules.tar.xz ]; then
  tar -xJf .device/modules.tar.xz || say "unpacking .device/modules.tar.xz failed"
elif [ ! -d node_modules ]; then
  say "node_modules absent and no .device/modules.tar.xz carried (bench/device-pack.sh): npm ci --offline"
  npm ci --offline > "$OUT/npm-ci.log" 2>&1 || say "npm ci --offline failed (see npm-ci.log)"
fi
if [ ! -f dist/index.js ]; then
  "$NODE" scripts/build.mjs > "$OUT/build.log" 2>&1 || say "build failed (see build.log)"
fi

# run NAME SECONDS ARGS...: one program with a time limit, output tee'd to $OUT/NAME.log, status into the summary.
BUDGET="${TQHASH_DEVICE_BUDGET:-}"
# wanted NAME: whether TQHASH_DEVICE_ONLY (when set) names NAME's part before any '-'.
wanted() { [ -z "${TQHASH_DEVICE_ONLY:-}" ] || [[ " $TQHASH_DEVICE_ONLY " == *" ${1%%-*} "* ]]; }
run() {
  local name="$1" secs="$2" capped=""; shift 2
  LAST_RC=skipped
  if ! wanted "$name"; then say "$name: skipped (TQHASH_DEVICE_ONLY)"; return; fi
  if [ -n "$BUDGET" ]; then
    local left=$((BUDGET - SECONDS - 15))
    if [ "$left" -lt 20 ]; then say "$name: skipped (TQHASH_DEVICE_BUDGET=$BUDGET: $((BUDGET - SECONDS)) s left)"; return; fi
    [ "$secs" -gt "$left" ] && secs=$left && capped=" by TQHASH_DEVICE_BUDGET"
  fi
  local t0=$SECONDS
  timeout -k 10 "$secs" "$NODE" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  LAST_RC=$rc
  say "$name: exit $rc after $((SECONDS - t0)) s$([ "$rc" = 124 ] && echo " (timed out at $secs s$capped)")"
}

run info 60 bench/info.js
if [ "${TQHASH_DEVICE_QUICK:-0}" = 1 ]; then
  KARGS=(--quick); SARGS=(--quick --batch 16 --steps 2); QARGS=(--n 50000 --q 50); MARGS=(--q 500 --real-q 100 --repeats 1); BATCHES=(16)
else
  KARGS=(--cpu-budget 1); SARGS=(); QARGS=(); MARGS=(); BATCHES=(128 256)  # CPU references: 1 s each, then sliced and scaled
fi
# Autotune first (conv variants, workgroup widths, forward blocks, backward-weights splits, GEMM blockings on this adapter);
# its cache lands under $OUT/cache and the runs below use the winners. Where python3 has torch, --peer times the same
# step in PyTorch (CUDA where it sees the GPU) before and after ours and prints the ratio; without it, says so.
export XDG_CACHE_HOME="$PWD/.device/cache"
run compile "$T" bench/step.js --quick --compile --no-breakdown --steps 1 --batch "${BATCHES[0]}" --json "$OUT/compile.json"
# tune_state: what this machine's autotune cache holds: none, partial (a run stopped part-way: the cache is written
# after each task) or complete.
tune_state() {
  "$NODE" -e 'const fs = require("fs"); const f = process.argv[1];
    if (!fs.existsSync(f)) { console.log("none"); process.exit(0); }
    try { const e = Object.values(JSON.parse(fs.readFileSync(f, "utf8")).entries ?? {});
      console.log(e.length === 0 ? "none" : e.some((x) => x.partial) ? "partial" : "complete"); } catch { console.log("none"); }' \
    "$XDG_CACHE_HOME/tqhash/autotune.json"
}
if [ "$(tune_state)" = complete ] && wanted autotune; then
  say "autotune: complete in this machine's cache (an earlier call): not timed again"
else
  # A partial cache (an earlier call stopped by its budget) is resumed: only the tasks left are timed.
  TQHASH_AUTOTUNE=1 run autotune "$T" bench/step.js "${SARGS[@]}" --batch "${BATCHES[0]}" --no-breakdown
fi
# The runs below use the cached winners (TQHASH_AUTOTUNE=cached: a run stopped part-way keeps the tasks it finished;
# the preset for the rest) and never tune within their own time limits; with no cache, the adapter's preset.
AT=0
case "$(tune_state)" in
  complete) AT=cached ;;
  partial) AT=cached; say "autotune: stopped part-way (autotune $LAST_RC): the runs below use the winners of the tasks it finished and the preset for the rest; 'autotune' in a later call on this warm machine resumes it" ;;
  *) say "autotune: no winners (autotune $LAST_RC): the runs below use the adapter's preset" ;;
esac
run kernels "$T" bench/kernels.js "${KARGS[@]}" --peer --json "$OUT/kernels.json"
for B in "${BATCHES[@]}"; do
  TQHASH_AUTOTUNE=$AT run "step-$B" "$T" bench/step.js "${SARGS[@]}" --batch "$B" --peer --json "$OUT/step-$B.json"
done
TQHASH_AUTOTUNE=$AT run search "$T" bench/search.js "${QARGS[@]}" --variants hist,bmin --peer --json "$OUT/search.json"
run metrics "$T" bench/metrics.js "${MARGS[@]}" --json "$OUT/metrics.json"
# Training on real data: TQHASH_DEVICE_DATA = a CIFAR-10 folder carried with the tree (bench/device-data.sh N makes one of
# N records per file with its checksums; the whole set, 170 MB, is over one call's 64 MiB).
if [ -n "${TQHASH_DEVICE_DATA:-}" ]; then
  D="$TQHASH_DEVICE_DATA"
  DARGS=(--data "$D")
  [ -f "$D/CIFAR10.sha256" ] && DARGS+=(--checksums "$D/CIFAR10.sha256")
  N=$(( $(stat -c %s "$D/test_batch.bin" 2>/dev/null || echo 30730000) / 3073 ))
  [ "$N" != 10000 ] && DARGS+=(--records-per-file "$N")
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  TQHASH_AUTOTUNE=$AT run train "$T" bench/train.js cifar10 "${DARGS[@]}" --epochs "${TQHASH_DEVICE_EPOCHS:-12}" ${TQHASH_DEVICE_TRAIN_ARGS:-} --out "$OUT/train" --quiet
  # The full-size run (timing only: the carried records repeated to 10,000 per file), its results and report to $OUT.
  if wanted fullrun; then
    F="$D" FARGS=(--epochs 12)
    if [ "$N" != 10000 ] && [ "${TQHASH_DEVICE_QUICK:-0}" = 1 ]; then FARGS=(--records-per-file "$N" --epochs 1)  # a dry run: the carried records, 1 epoch
    elif [ "$N" != 10000 ]; then F=.device/cifar-full; bash bench/device-data.sh --repeat "$D" "$F" > /dev/null || say "fullrun: making $F failed"; fi
    rm -rf .device/fullrun
    # shellcheck disable=SC2086 # the extra arguments are meant to split
    TQHASH_AUTOTUNE=$AT run fullrun "$T" bench/train.js cifar10 --data "$F" --checksums "$F/CIFAR10.sha256" "${FARGS[@]}" ${TQHASH_DEVICE_TRAIN_ARGS:-} --out .device/fullrun --quiet
    [ -f .device/fullrun/results.json ] && mkdir -p "$OUT/fullrun" && cp .device/fullrun/results.json .device/fullrun/report.md "$OUT/fullrun/"
    [ "$F" != "$D" ] && say "fullrun: $F repeats the $N records of each file of $D: its wall time is a full run's, its mAP is not CIFAR-10's"
  fi
else
  say "train, fullrun: skipped (set TQHASH_DEVICE_DATA to CIFAR-10 carried with the tree; see bench/device-data.sh)"
fi
run tests "$T" scripts/test.mjs
# A study on the same data: TQHASH_DEVICE_STUDY = a grid (e.g. 'loss=tql,triplet bits=12,24 seed=1,2,3'), every cell a
# full run of TQHASH_DEVICE_EPOCHS epochs (the issue's grid on an H200: ~80-120 s a cell). The study folder is
# .device/study (ignored, so a warm machine keeps it between calls and a next call resumes the grid where the time
# limit TQHASH_DEVICE_STUDY_TIMEOUT, default 480 s, stopped it); its README.md, study.json and SVGs, and every cell's
# results.json and report.md, are copied to $OUT/study.
if [ -n "${TQHASH_DEVICE_STUDY:-}" ] && [ -n "${TQHASH_DEVICE_DATA:-}" ]; then
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  TQHASH_AUTOTUNE=$AT run study "${TQHASH_DEVICE_STUDY_TIMEOUT:-480}" bench/study.js cifar10 --grid "$TQHASH_DEVICE_STUDY" "${DARGS[@]}" \
    --epochs "${TQHASH_DEVICE_EPOCHS:-12}" ${TQHASH_DEVICE_TRAIN_ARGS:-} --out .device/study --quiet
  mkdir -p "$OUT/study"
  (cd .device/study 2>/dev/null && find . \( -name README.md -o -name study.json -o -name '*.svg' -o -name results.json -o -name report.md \) -print0 |
    xargs -0 -r cp --parents -t "$OUT/study")
elif [ -n "${TQHASH_DEVICE_STUDY:-}" ]; then
  say "study: skipped (TQHASH_DEVICE_STUDY needs TQHASH_DEVICE_DATA)"
fi
[ -f "$XDG_CACHE_HOME/tqhash/autotune.json" ] && cp "$XDG_CACHE_HOME/tqhash/autotune.json" "$OUT/autotune.json"
say "done: $(ls "$OUT" | tr '\n' ' ')"
exit 0
