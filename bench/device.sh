#!/usr/bin/env bash
# Runs every benchmark on a lent GPU machine in one call: `bash bench/device.sh` from the repository root; logs and JSON
# go under $OUT (default /tmp/tqhash-bench-out). One failing or timed-out benchmark never stops the others.
#
# The machine has no network, so what it needs travels with the working tree:
#   - node_modules/ and dist/ (carry them: `npm ci && node scripts/build.mjs` here first);
#   - Node itself when the machine has none: prepare a compressed binary once with
#       mkdir -p .device && xz -9 < "$(which node)" > .device/node.xz
#     and carry .device/ (this script unpacks it to .device/node).
# Time limits per program (seconds) can be changed with TQHASH_DEVICE_TIMEOUT (default 240 each, info 60).
# Order: the cold start (the first step with each command submitted alone: each preset pipeline's compile on this
# driver), autotune (winners cached under $OUT/cache and used by every run after it), kernels, the training step at batch
# 128 and 256 and the search, each against its peer (bench/peers/peers.py: PyTorch on CUDA where python3 has torch and
# sees the GPU; skipped with the reason otherwise), an evaluation's rankings on the GPU against the CPU
# (bench/metrics.js: decides knob rank.on), the whole test suite, then a training run on real CIFAR-10 when
# TQHASH_DEVICE_DATA names a folder carried with the tree (`bash bench/device-data.sh 1600` makes a 30 MB subset with
# its checksums; records per file are read off test_batch.bin), TQHASH_DEVICE_EPOCHS epochs (default 12), with
# TQHASH_DEVICE_TRAIN_ARGS added.
# TQHASH_DEVICE_ONLY='study' (names among info compile autotune kernels step search metrics tests train study): run only those.
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
  if [ ! -x .device/node ] && [ -f .device/node.xz ]; then
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

if [ ! -d node_modules ]; then
  say "node_modules absent: npm ci --offline (the machine has no network; carry node_modules if this fails)"
  npm ci --offline > "$OUT/npm-ci.log" 2>&1 || say "npm ci --offline failed (see npm-ci.log)"
fi
if [ ! -f dist/index.js ]; then
  "$NODE" scripts/build.mjs > "$OUT/build.log" 2>&1 || say "build failed (see build.log)"
fi

# run NAME SECONDS ARGS...: one program with a time limit, output tee'd to $OUT/NAME.log, status into the summary.
run() {
  local name="$1" secs="$2"; shift 2
  if [ -n "${TQHASH_DEVICE_ONLY:-}" ] && [[ " $TQHASH_DEVICE_ONLY " != *" ${name%%-*} "* ]]; then say "$name: skipped (TQHASH_DEVICE_ONLY)"; return; fi
  local t0=$SECONDS
  timeout -k 10 "$secs" "$NODE" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  say "$name: exit $rc after $((SECONDS - t0)) s$([ "$rc" = 124 ] && echo " (timed out at $secs s)")"
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
export XDG_CACHE_HOME="$OUT/cache"
run compile "$T" bench/step.js --quick --compile --no-breakdown --steps 1 --batch "${BATCHES[0]}" --json "$OUT/compile.json"
TQHASH_AUTOTUNE=1 run autotune "$T" bench/step.js "${SARGS[@]}" --batch "${BATCHES[0]}" --no-breakdown
run kernels "$T" bench/kernels.js "${KARGS[@]}" --json "$OUT/kernels.json"
for B in "${BATCHES[@]}"; do
  TQHASH_AUTOTUNE=1 run "step-$B" "$T" bench/step.js "${SARGS[@]}" --batch "$B" --peer --json "$OUT/step-$B.json"
done
TQHASH_AUTOTUNE=1 run search "$T" bench/search.js "${QARGS[@]}" --variants hist,bmin --peer --json "$OUT/search.json"
run metrics "$T" bench/metrics.js "${MARGS[@]}" --json "$OUT/metrics.json"
run tests "$T" scripts/test.mjs
# A real-data run: TQHASH_DEVICE_DATA = a CIFAR-10 folder carried with the tree (bench/device-data.sh N makes one of
# N records per file with its checksums; the whole set is 170 MB, over one call's 64 MiB: stage it over calls, DESIGN.md).
if [ -n "${TQHASH_DEVICE_DATA:-}" ]; then
  D="$TQHASH_DEVICE_DATA"
  DARGS=(--data "$D")
  [ -f "$D/CIFAR10.sha256" ] && DARGS+=(--checksums "$D/CIFAR10.sha256")
  N=$(( $(stat -c %s "$D/test_batch.bin" 2>/dev/null || echo 30730000) / 3073 ))
  [ "$N" != 10000 ] && DARGS+=(--records-per-file "$N")
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  TQHASH_AUTOTUNE=1 run train "$T" bench/train.js cifar10 "${DARGS[@]}" --epochs "${TQHASH_DEVICE_EPOCHS:-12}" ${TQHASH_DEVICE_TRAIN_ARGS:-} --out "$OUT/train" --quiet
else
  say "train: skipped (set TQHASH_DEVICE_DATA to CIFAR-10 carried with the tree; see bench/device-data.sh and DESIGN.md)"
fi
# A study on the same data: TQHASH_DEVICE_STUDY = a grid (e.g. 'loss=tql,triplet bits=12,24 seed=1,2,3'), every cell a
# full run of TQHASH_DEVICE_EPOCHS epochs (the issue's grid on an H200: ~80-120 s a cell). The study folder is
# .device/study (ignored, so a warm machine keeps it between calls and a next call resumes the grid where the time
# limit TQHASH_DEVICE_STUDY_TIMEOUT, default 480 s, stopped it); its README.md, study.json and SVGs, and every cell's
# results.json and report.md, are copied to $OUT/study.
if [ -n "${TQHASH_DEVICE_STUDY:-}" ] && [ -n "${TQHASH_DEVICE_DATA:-}" ]; then
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  TQHASH_AUTOTUNE=1 run study "${TQHASH_DEVICE_STUDY_TIMEOUT:-480}" bench/study.js cifar10 --grid "$TQHASH_DEVICE_STUDY" "${DARGS[@]}" \
    --epochs "${TQHASH_DEVICE_EPOCHS:-12}" ${TQHASH_DEVICE_TRAIN_ARGS:-} --out .device/study --quiet
  mkdir -p "$OUT/study"
  (cd .device/study 2>/dev/null && find . \( -name README.md -o -name study.json -o -name '*.svg' -o -name results.json -o -name report.md \) -print0 |
    xargs -0 -r cp --parents -t "$OUT/study")
elif [ -n "${TQHASH_DEVICE_STUDY:-}" ]; then
  say "study: skipped (TQHASH_DEVICE_STUDY needs TQHASH_DEVICE_DATA)"
fi
say "done: $(ls "$OUT" | tr '\n' ' ')"
exit 0
