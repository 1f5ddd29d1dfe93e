#!/usr/bin/env bash
# CIFAR-10 for a lent GPU machine, which takes at most 64 MiB with the working tree per call (the set is 170 MB).
#   bash bench/device-data.sh [N=800] [ARCHIVE=../shared/data/cifar-10-binary.tar.gz] [OUT=.device/cifar-N]
#     here: the first N records of each .bin, batches.meta.txt, and a sha256 list for --checksums; carry OUT.
#     bench/device.sh then trains on it with TQHASH_DEVICE_DATA=OUT (it passes --records-per-file N and the checksums).
#     N = 800: 5 × 800 training and 800 test images, 14 MiB (beside Node, node_modules and dist, bench/device-pack.sh).
#   bash bench/device-data.sh --repeat SRC OUT
#     there (device.sh does it): a full-size set of 10,000 records per file made of SRC's records over and over, with
#     its checksums, so that a run does a full CIFAR-10 run's work (60,000 images; its time is a full run's time, its
#     mAP is not CIFAR-10's: the images repeat).
set -euo pipefail
cd "$(dirname "$0")/.."
FILES="data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch"
checksums() { (cd "$1" && sha256sum ./*.bin batches.meta.txt | sed 's| \./| |' > CIFAR10.sha256); }
if [ "${1:-}" = --repeat ]; then
  SRC="${2:?usage: device-data.sh --repeat SRC OUT}" OUT="${3:?usage: device-data.sh --repeat SRC OUT}"
  [ -f "$SRC/test_batch.bin" ] || { echo "error: $SRC: no test_batch.bin (a folder made by bench/device-data.sh N)" >&2; exit 2; }
  mkdir -p "$OUT"
  for f in $FILES; do
    n=$(stat -c %s "$SRC/$f.bin")
    [ "$n" -gt 0 ] && [ $((n % 3073)) = 0 ] || { echo "error: $SRC/$f.bin: $n bytes, not whole 3,073-byte records" >&2; exit 2; }
    cp "$SRC/$f.bin" "$OUT/$f.bin"
    while [ "$(stat -c %s "$OUT/$f.bin")" -lt 30730000 ]; do  # doubling: whole records stay whole
      cat "$OUT/$f.bin" "$OUT/$f.bin" > "$OUT/$f.bin.tmp" && mv "$OUT/$f.bin.tmp" "$OUT/$f.bin"
    done
    truncate -s 30730000 "$OUT/$f.bin"
  done
  cp "$SRC/batches.meta.txt" "$OUT/"
  checksums "$OUT"
  echo "$OUT: 10,000 records per file, repeating the $(( $(stat -c %s "$SRC/test_batch.bin") / 3073 )) of $SRC"
  exit 0
fi
N="${1:-800}"
ARCHIVE="${2:-../shared/data/cifar-10-binary.tar.gz}"
OUT="${3:-.device/cifar-$N}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] && [ "$N" -le 10000 ] || { echo "error: N = $N: records per file must be 1..10000" >&2; exit 2; }
[ -f "$ARCHIVE" ] || { echo "error: $ARCHIVE: no such archive (the official cifar-10-binary.tar.gz)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$ARCHIVE" -C "$tmp"
src="$tmp/cifar-10-batches-bin"
mkdir -p "$OUT"
for f in $FILES; do
  head -c $((N * 3073)) "$src/$f.bin" > "$OUT/$f.bin"
done
cp "$src/batches.meta.txt" "$OUT/"
checksums "$OUT"
echo "$OUT: $N records per file, $(du -sh "$OUT" | cut -f1); checksums in $OUT/CIFAR10.sha256"
