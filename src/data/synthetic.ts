/**
 * Synthetic data in the exact CIFAR-10 binary layout, for tests and smoke runs: random pixels (or, with
 * `learnable`, a class-specific colour and stripe pattern under noise), labels balanced over the 10 classes
 * (shuffled), `perFile` records per .bin instead of 10,000.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ARCHIVE_NAME, BIN_DIR, IMAGE_BYTES, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, TRAIN_FILES } from './cifar10.js';
import { Rng } from '../util/rng.js';
import { writeTar } from './tar.js';

export const SYNTHETIC_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface SyntheticOptions {
  /** Records per .bin file (default 200). */
  perFile?: number;
  /** Write `cifar-10-binary.tar.gz` only (true) or the extracted `cifar-10-batches-bin/` folder only (false, default). */
  tarGz?: boolean;
  seed?: number;
  /** Class-dependent images (a colour per class and stripes of a class-specific period and orientation, plus noise), so a network can learn them. */
  learnable?: boolean;
}

/** What was written: the path to read, the checksums to pass, and the exact contents to compare with. */
export interface SyntheticCifar {
  /** The archive (tarGz) or the `cifar-10-batches-bin` folder. */
  path: string;
  /** sha256 per file name (.bin files and batches.meta.txt); also written as `<dir>/CIFAR10.sha256`. */
  checksums: Record<string, string>;
  checksumFile: string;
  recordsPerFile: number;
  /** The raw .bin files by name (to corrupt in tests) and the decoded data set. */
  files: Record<string, Uint8Array>;
  expected: { train: { images: Uint8Array; labels: Uint8Array }; test: { images: Uint8Array; labels: Uint8Array }; classNames: string[] };
}

/** Writes a small CIFAR-shaped data set into `dir`; read it with `readCifar10(r.path, { checksums: r.checksums, recordsPerFile: r.recordsPerFile })`. */
export function writeSyntheticCifar(dir: string, opts: SyntheticOptions = {}): SyntheticCifar {
  const perFile = opts.perFile ?? 200;
  const rng = new Rng(opts.seed ?? 1);
  const nTrain = perFile * TRAIN_FILES.length;
  const expected = {
    train: { images: new Uint8Array(nTrain * IMAGE_BYTES), labels: new Uint8Array(nTrain) },
    test: { images: new Uint8Array(perFile * IMAGE_BYTES), labels: new Uint8Array(perFile) },
    classNames: SYNTHETIC_CLASS_NAMES.slice(),
  };
  const files: Record<string, Uint8Array> = {};
  const checksums: Record<string, string> = {};
  [...TRAIN_FILES, TEST_FILE].forEach((name, f) => {
    const set = name === TEST_FILE ? expected.test : expected.train;
    const first = name === TEST_FILE ? 0 : f * perFile;
    const labels = rng.shuffle(Uint8Array.from({ length: perFile }, (_, i) => i % NUM_CLASSES));
    const bytes = new Uint8Array(perFile * RECORD_BYTES);
    for (let r = 0; r < perFile; r++) {
      const img = set.images.subarray((first + r) * IMAGE_BYTES, (first + r + 1) * IMAGE_BYTES);
      if (opts.learnable) {
        const c = labels[r];
        const period = 3 + (c % 5), vertical = c >= 5;
        for (let ch = 0; ch < 3; ch++) {
          const base = 60 + ((c * 37 + ch * 71) % 140);
          for (let y = 0; y < 32; y++) {
            for (let x = 0; x < 32; x++) {
              const stripe = Math.floor((vertical ? x : y) / period) % 2 ? 40 : -40;
              const noise = (rng.nextU32() % 61) - 30;
              img[ch * 1024 + y * 32 + x] = Math.max(0, Math.min(255, base + stripe + noise));
            }
          }
        }
      } else {
        for (let k = 0; k < IMAGE_BYTES; k += 4) {
          const v = rng.nextU32();
          img[k] = v;
          img[k + 1] = v >>> 8;
          img[k + 2] = v >>> 16;
          img[k + 3] = v >>> 24;
        }
      }
      set.labels[first + r] = labels[r];
      bytes[r * RECORD_BYTES] = labels[r];
      bytes.set(img, r * RECORD_BYTES + 1);
    }
    files[name] = bytes;
    checksums[name] = createHash('sha256').update(bytes).digest('hex');
  });
  const meta = new TextEncoder().encode(SYNTHETIC_CLASS_NAMES.join('\n') + '\n\n');
  files[META_FILE] = meta;
  checksums[META_FILE] = createHash('sha256').update(meta).digest('hex');

  mkdirSync(dir, { recursive: true });
  const checksumFile = join(dir, 'CIFAR10.sha256');
  writeFileSync(checksumFile, Object.entries(checksums).map(([n, h]) => `${h}  ${BIN_DIR}/${n}\n`).join(''));
  let path: string;
  if (opts.tarGz) {
    const order = [META_FILE, ...TRAIN_FILES, TEST_FILE];
    const tar = writeTar([{ path: `${BIN_DIR}/` }, ...order.map((n) => ({ path: `${BIN_DIR}/${n}`, data: files[n] }))]);
    path = join(dir, ARCHIVE_NAME);
    writeFileSync(path, gzipSync(tar));
  } else {
    path = join(dir, BIN_DIR);
    mkdirSync(path, { recursive: true });
    for (const [n, b] of Object.entries(files)) writeFileSync(join(path, n), b);
  }
  return { path, checksums, checksumFile, recordsPerFile: perFile, files, expected };
}
