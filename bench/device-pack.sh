#!/usr/bin/env bash
# Packs what a lent GPU machine needs beyond the working tree into .device/ (ignored by git), small enough to travel:
#   .device/node.xz          this machine's Node binary, xz-compressed (the device machine has none)
#   .device/modules.tar.xz   node_modules for linux-x64 without what runs there never use: other platforms' Dawn,
#                            TypeScript, esbuild's binary (dist/ is built here), puppeteer (no chromium there)
# bench/device.sh unpacks both when the machine lacks node or node_modules. Carry dist, .device/node.xz and
# .device/modules.tar.xz (by name: .device may hold more, e.g. an unpacked node; the run tool
# takes at most 64 MiB with the working tree; this prints the total). Run from anywhere: bash bench/device-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/webgpu ] || { echo "error: node_modules/webgpu missing: run npm ci first" >&2; exit 2; }
[ -f dist/index.js ] || { echo "error: dist/index.js missing: run npm run build first" >&2; exit 2; }
mkdir -p .device
node_bin="$(command -v node)"
if [ ! -f .device/node.xz ] || [ "$node_bin" -nt .device/node.xz ]; then
  xz -T0 -9 < "$node_bin" > .device/node.xz.tmp && mv .device/node.xz.tmp .device/node.xz
fi
tar -c --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/@typescript' --exclude='node_modules/typescript' \
  --exclude='node_modules/@esbuild' --exclude='node_modules/puppeteer-core' --exclude='node_modules/chromium-bidi' \
  --exclude='node_modules/devtools-protocol' --exclude='node_modules/@puppeteer' node_modules | xz -T0 -6 > .device/modules.tar.xz.tmp
mv .device/modules.tar.xz.tmp .device/modules.tar.xz
tree=$(git ls-files -z | du -c --files0-from=- -b | tail -1 | cut -f1)
carry=$(du -cb .device/node.xz .device/modules.tar.xz dist | tail -1 | cut -f1)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "node $("$node_bin" --version): .device/node.xz $(mib "$(stat -c %s .device/node.xz)"); .device/modules.tar.xz $(mib "$(stat -c %s .device/modules.tar.xz)")"
echo "tracked tree $(mib "$tree") + carry (.device/node.xz, .device/modules.tar.xz, dist) $(mib "$carry") = $(mib $((tree + carry))) of 64 MiB per call"
[ -z "$(ls -d .device/cifar-* 2>/dev/null)" ] || echo "note: .device also holds $(ls -d .device/cifar-* | tr '\n' ' ')— carry them by name only in a call that has room (each call's total counts)"
