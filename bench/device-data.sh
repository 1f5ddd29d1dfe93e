#!/usr/bin/env bash
# Makes a CIFAR-10 subset small enough to travel with the working tree to a lent GPU machine (64 MiB per call):
# the first N records of each .bin, batches.meta.txt, and a sha256 list for --checksums.
#   bash bench/device-data.sh [N=1600] [ARCHIVE=../shared/data/cifar-10-binary.tar.gz] [OUT=.device/cifar-N]
# then run bench/device.sh there with TQHASH_DEVICE_DATA=.device/cifar-N (device.sh passes --records-per-file N and the
# checksums). N = 1600 gives 5 × 1,600 training and 1,600 test images (about 30 MB uncompressed, 27 MB as tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1600}"
ARCHIVE="${2:-../shared/data/cifar-10-binary.tar.gz}"
OUT="${3:-.device/cifar-$N}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] && [ "$N" -le 10000 ] || { echo "error: N = $N: records per file must be 1..10000" >&2; exit 2; }
[ -f "$ARCHIVE" ] || { echo "error: $ARCHIVE: no such archive (the official cifar-10-binary.tar.gz)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$ARCHIVE" -C "$tmp"
src="$tmp/cifar-10-batches-bin"
mkdir -p "$OUT"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  head -c $((N * 3073)) "$src/$f.bin" > "$OUT/$f.bin"
done
cp "$src/batches.meta.txt" "$OUT/"
(cd "$OUT" && sha256sum ./*.bin batches.meta.txt | sed 's| \./| |' > CIFAR10.sha256)
echo "$OUT: $N records per file, $(du -sh "$OUT" | cut -f1); checksums in $OUT/CIFAR10.sha256"
