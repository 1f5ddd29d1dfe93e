/**
 * Reading files that come from elsewhere (archives, checkpoints, code files, image folders): every limit the
 * parsers apply lives in LIMITS, and the two checks every parser shares — "a regular file of at most N bytes" and
 * "JSON nested no deeper than its format allows" — are here, so a hostile file costs at most its stated bound in
 * memory and time and ends in a DataError that names the file, the field and the limit (STYLE.md 19).
 * docs/limits.md lists the same numbers for users.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { DataError } from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every bound on untrusted input, with what a real file needs beside it. */
export const LIMITS = {
  /** A GNU long-name ('L') or pax ('x') tar entry; PATH_MAX is 4 KiB. */
  tarMetaBytes: 64 * KiB,
  /** Any one tar entry; CIFAR-10's largest file is 30.7 MB. */
  tarEntryBytes: 256 * MiB,
  /** The whole uncompressed tar stream (stops gzip bombs); the official CIFAR-10 tar is 185 MB. */
  tarStreamBytes: 512 * MiB,
  /** CIFAR-10's batches.meta.txt (61 bytes in the official archive). */
  cifarMetaBytes: 4 * KiB,
  /** A sha256sum-format checksum list. */
  checksumListBytes: 1 * MiB,
  /** One JPEG file; In-shop's are 10–40 KB. */
  jpegFileBytes: 32 * MiB,
  /** Frame size in megapixels (10⁶ pixels); In-shop's images are 256×256 = 0.07 MP, a phone's photo for search
   *  --image 12–24 MP (a 24 MP frame decodes in ~2.4 s with ~770 MB resident, 2026-12-03). */
  jpegMegapixels: 25,
  /** jpeg-js's own accounting of what it allocates for one image (its real heap use is about 1.5× that). */
  jpegMemoryMB: 512,
  /** Scans per JPEG; libjpeg's default progressive script has 10, a baseline colour image 1 to 3. */
  jpegScans: 50,
  /** The JSON header of a safetensors file; a 1,000-tensor model needs about 100 KB. */
  safetensorsHeaderBytes: 8 * MiB,
  /** A whole safetensors file (Node's Buffer limit is 4 GiB; our largest model is under 10 MB). */
  safetensorsFileBytes: 2048 * MiB,
  /** A .codes file (100 M codes of 64 bits with labels is 1.2 GB). */
  codesFileBytes: 2048 * MiB,
  /** Nesting of a .codes file's free-form metadata JSON (tqhash writes depth 2). */
  codesMetaDepth: 32,
  /** A checkpoint's state.json (a 12-epoch run writes about 200 KB). */
  checkpointStateBytes: 64 * MiB,
  /** Nesting of state.json (tqhash writes depth 3). */
  checkpointStateDepth: 16,
  /** A run's split.json (CIFAR-10's is 0.6 MB, 3 levels deep; room for a pretty-printed one with an index a line). */
  splitJsonBytes: 64 * MiB,
  /** Nesting of split.json. */
  splitJsonDepth: 16,
  /** In-shop's list_eval_partition.txt (the official one is 3.9 MB, 52,712 images). */
  inshopPartitionBytes: 64 * MiB,
  /** Images listed in an In-shop partition file (the official one lists 52,712). */
  inshopImages: 200_000,
  /** The JSON part of an In-shop cache file (item ids, file names, skipped inputs: 4 MB for the official set). */
  inshopCacheMetaBytes: 128 * MiB,
  /** The decoded In-shop image array (52,712 images at side 64 are 617 MiB). */
  inshopImageBytes: 2048 * MiB,
} as const;

/** Names a file type from fstat, for messages. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens `path` for reading if it is a regular file of at most `maxBytes` (symlinks followed, then checked by
 * fstat on the open descriptor): a FIFO, a device or a folder is refused without blocking (O_NONBLOCK), and the
 * size is checked before anything is read. `what` says what the file is ("checkpoint state"). Close the fd.
 */
export function openRegular(path: string, maxBytes: number, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    throw new DataError(missing ? 'missing' : 'format', `${path}: cannot open the ${what} (${missing ? 'no such file' : (e as Error).message}).`, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DataError('format', `${path}: the ${what} is ${kindOf(st)}, not a regular file.`, path);
    if (st.size > maxBytes) throw new DataError('format', `${path}: the ${what} is ${st.size} bytes, over the limit of ${maxBytes} bytes for it (corrupt or not a ${what}?).`, path);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Reads the whole of a regular file of at most `maxBytes` (see `openRegular`); errors name the file. */
export function readRegularFile(path: string, maxBytes: number, what: string): Buffer {
  const { fd, size } = openRegular(path, maxBytes, what);
  try {
    return readExactly(fd, size, 0, path, what);
  } finally {
    closeSync(fd);
  }
}

/** Reads `n` bytes at `position` of an open file; a file that shrinks meanwhile is a named error. */
export function readExactly(fd: number, n: number, position: number, path: string, what: string): Buffer {
  const buf = Buffer.allocUnsafe(n);
  for (let off = 0; off < n; ) {
    let got: number;
    try {
      got = readSync(fd, buf, off, n - off, position + off);
    } catch (e) {
      throw new DataError('format', `${path}: cannot read the ${what} (${(e as Error).message}).`, path);
    }
    if (got === 0) throw new DataError('truncated', `${path}: the ${what} ended after ${position + off} bytes while it was read (it changed?).`, path);
    off += got;
  }
  return buf;
}

/**
 * Throws unless the JSON text in `bytes` nests arrays and objects at most `maxDepth` deep (strings skipped).
 * Run before JSON.parse: V8 parses deep nesting with memory that a catch cannot get back (heap out of memory).
 */
export function checkJsonDepth(bytes: Uint8Array, maxDepth: number, path: string, what: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) {
        throw new DataError('format', `${path}: the ${what} nests arrays/objects deeper than ${maxDepth} levels (at byte ${i}); its format needs at most ${maxDepth}.`, path);
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

/** JSON.parse's message on one line and clipped: V8 quotes the text around the error, newlines and binary included. */
export function jsonErrorText(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').replace(/[^\x20-\x7e\u00a0-\uffff]|\ufffd/g, '?');
  return msg.length > 160 ? `${msg.slice(0, 160)}…` : msg;
}
