/**
 * CIFAR-10 in its official binary layout (https://www.cs.toronto.edu/~kriz/cifar.html):
 * `cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`, `batches.meta.txt`.
 * Each record is 1 label byte (0..9) + 3072 pixel bytes: 1024 R, 1024 G, 1024 B, each 32×32 row-major (CHW).
 * Read from the folder, its parent, or straight from `cifar-10-binary.tar.gz` (streamed: gunzip → tar → records).
 * Only regular files are read (a FIFO or /dev/zero in their place is a named error); every file, batches.meta.txt
 * included, is checked against the checksum list.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '../util/errors.js';
import { TarReader, type TarSink } from './tar.js';
import { repoRoot } from './paths.js';
import { LIMITS, openRegular, readExactly, readRegularFile } from '../util/untrusted.js';

export const IMAGE_BYTES = 3072;
export const RECORD_BYTES = 1 + IMAGE_BYTES;
export const NUM_CLASSES = 10;
export const RECORDS_PER_FILE = 10000;
export const BIN_DIR = 'cifar-10-batches-bin';
export const ARCHIVE_NAME = 'cifar-10-binary.tar.gz';
export const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const TEST_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';
/** Every file of the data set, each verified against the checksum list. */
export const ALL_FILES = [...TRAIN_FILES, TEST_FILE, META_FILE];

/** Images (N×3072 bytes, CHW per image) and labels (N bytes, 0..9). */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
}

/** The whole data set: 50,000 training and 10,000 test images (fewer for synthetic data). */
export interface Cifar10 {
  train: ImageSet;
  test: ImageSet;
  classNames: string[];
  /** What was read (folder or archive path). */
  source: string;
  /** sha256 of each file (the .bin files and batches.meta.txt) as read (hex), verified or not. */
  sha256: Record<string, string>;
  /** Whether `sha256` was checked against a checksum list. */
  verified: boolean;
}

/** Expected sha256 per file name (`data_batch_1.bin` → hex, and batches.meta.txt), or false to skip, or a path to a sha256sum-format file. */
export type ChecksumOption = Record<string, string> | string | false;

export interface ReadOptions {
  /** Default: the repo's `data/CIFAR10.sha256`. Pass `false` only for synthetic data. */
  checksums?: ChecksumOption;
  /** Records per .bin file; 10000 for the real data set (synthetic data sets use fewer). */
  recordsPerFile?: number;
}

/** Path of the checksum list shipped in the repo (`data/CIFAR10.sha256`). */
export function defaultChecksumFile(): string {
  return join(repoRoot(), 'data', 'CIFAR10.sha256');
}

/** Parses sha256sum output (`<hex>  [*]<path>` per line) into file name → hex; `file` only names errors. */
export function parseChecksums(text: string, file = 'checksum list'): Record<string, string> {
  const out = Object.create(null) as Record<string, string>; // names from a file: never Object.prototype's
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.startsWith('#')) return;
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(line);
    if (!m) throw new DataError('format', `${file}, line ${i + 1}: expected "<64 hex digits>  <path>", got ${JSON.stringify(line)}`, file);
    out[basename(m[2])] = m[1].toLowerCase();
  });
  return out;
}

/** Reads a sha256sum-format file into file name → hex. */
export function loadChecksums(file: string): Record<string, string> {
  if (!existsSync(file)) {
    throw new DataError(
      'missing',
      `checksum list ${file} is missing: restore it from git (git checkout -- data/CIFAR10.sha256), or pass checksums: false (the API) for synthetic data.`,
      file,
    );
  }
  return parseChecksums(readRegularFile(file, LIMITS.checksumListBytes, 'checksum list').toString('utf8'), file);
}

function resolveChecksums(opt: ChecksumOption | undefined): Record<string, string> | null {
  if (opt === false) return null;
  if (opt === undefined) return loadChecksums(defaultChecksumFile());
  if (typeof opt === 'string') return loadChecksums(opt);
  return opt;
}

/**
 * Collects the 7 files of the data set as they stream in, from a folder or an archive:
 * splits records into the output arrays, checks labels, hashes each .bin.
 */
class Collector {
  readonly nPer: number;
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly sha256: Record<string, string> = {};
  classNames: string[] | null = null;
  private seen = new Set<string>();

  constructor(
    readonly source: string,
    recordsPerFile: number,
  ) {
    if (!Number.isInteger(recordsPerFile) || recordsPerFile < 1) {
      throw new DataError('config', `recordsPerFile must be a positive integer, got ${recordsPerFile}`);
    }
    this.nPer = recordsPerFile;
    const nTrain = recordsPerFile * TRAIN_FILES.length;
    this.train = { images: new Uint8Array(nTrain * IMAGE_BYTES), labels: new Uint8Array(nTrain) };
    this.test = { images: new Uint8Array(recordsPerFile * IMAGE_BYTES), labels: new Uint8Array(recordsPerFile) };
  }

  /** Whether `name` is one of the files we read. */
  wants(name: string): boolean {
    return name === META_FILE || name === TEST_FILE || TRAIN_FILES.includes(name);
  }

  /** A sink for file `name` (whose size is known up front); `where` names it in errors. */
  sink(name: string, size: number, where: string): TarSink {
    if (this.seen.has(name)) throw new DataError('format', `${where}: ${name} appears twice in ${this.source}; the archive is not the official one.`, where);
    this.seen.add(name);
    const hash = createHash('sha256');
    if (name === META_FILE) {
      if (size > LIMITS.cifarMetaBytes) {
        throw new DataError('format', `${where}: ${size} bytes, over the ${LIMITS.cifarMetaBytes}-byte limit for the class-name list (the official one is 61 bytes); the archive is not the official one.`, where);
      }
      const parts: Uint8Array[] = [];
      return {
        write: (c) => {
          hash.update(c);
          parts.push(c.slice());
        },
        end: () => {
          this.sha256[name] = hash.digest('hex');
          this.classNames = parseMeta(Buffer.concat(parts).toString('utf8'), where);
        },
      };
    }
    this.checkSize(size, where);
    const fileIdx = TRAIN_FILES.indexOf(name);
    const set = fileIdx >= 0 ? this.train : this.test;
    const first = fileIdx >= 0 ? fileIdx * this.nPer : 0;
    let pos = 0; // byte offset inside this file
    return {
      write: (chunk) => {
        hash.update(chunk);
        pos = consumeRecords(chunk, pos, set, first, where);
      },
      end: () => {
        this.sha256[name] = hash.digest('hex');
      },
    };
  }

  private checkSize(size: number, where: string): void {
    const expected = this.nPer * RECORD_BYTES;
    if (size === expected) return;
    if (size % RECORD_BYTES !== 0) {
      throw new DataError(
        'truncated',
        `${where}: ${size} bytes is not a whole number of ${RECORD_BYTES}-byte records (1 label + 3072 pixels); the last record is cut after ${size % RECORD_BYTES} bytes. The file is truncated or damaged: download the data set again.`,
        where,
      );
    }
    throw new DataError(
      'truncated',
      `${where}: holds ${size / RECORD_BYTES} records, expected ${this.nPer} (${expected} bytes). The file is incomplete or from another data set: download it again.`,
      where,
    );
  }

  /** Throws for any of the 7 files that never came. */
  checkComplete(): void {
    const missing = ALL_FILES.filter((f) => !this.seen.has(f));
    if (missing.length) {
      throw new DataError(
        'missing',
        `${this.source}: no ${missing.join(', ')} in it. Expected the official CIFAR-10 binary version (${ARCHIVE_NAME}, folder ${BIN_DIR}/); the python/matlab versions do not work.`,
        this.source,
      );
    }
  }

  /** Verifies the hashes and returns the data set. */
  result(checksums: Record<string, string> | null, checksumSource: string): Cifar10 {
    this.checkComplete();
    if (checksums) {
      for (const name of ALL_FILES) {
        const want = checksums[name];
        const where = `${this.source}: ${name}`;
        if (!want) {
          throw new DataError('checksum', `${where}: no sha256 for ${name} in ${checksumSource}; add it there, or pass checksums: false (the API) for synthetic data.`, where);
        }
        if (want.toLowerCase() !== this.sha256[name]) {
          throw new DataError(
            'checksum',
            `${where}: sha256 ${this.sha256[name]} does not match ${want} from ${checksumSource}. The file is damaged or not the official one: download the data set again.`,
            where,
          );
        }
      }
    }
    return {
      train: this.train,
      test: this.test,
      classNames: this.classNames!,
      source: this.source,
      sha256: this.sha256,
      verified: checksums !== null,
    };
  }
}

// Splits a chunk of a .bin file (starting at byte `pos` of the file) into labels and pixels.
function consumeRecords(chunk: Uint8Array, pos: number, set: ImageSet, first: number, where: string): number {
  let i = 0;
  while (i < chunk.length) {
    const rec = Math.floor(pos / RECORD_BYTES);
    const o = pos - rec * RECORD_BYTES;
    if (o === 0) {
      const label = chunk[i];
      if (label >= NUM_CLASSES) {
        throw new DataError(
          'label',
          `${where}: record ${rec} (byte ${pos}) has label ${label}, but CIFAR-10 labels are 0..9. The file is damaged or not CIFAR-10 (CIFAR-100's binary layout has 2 label bytes): use the official cifar-10-binary.tar.gz.`,
          where,
        );
      }
      set.labels[first + rec] = label;
      i++;
      pos++;
    } else {
      const n = Math.min(RECORD_BYTES - o, chunk.length - i);
      set.images.set(chunk.subarray(i, i + n), (first + rec) * IMAGE_BYTES + o - 1);
      i += n;
      pos += n;
    }
  }
  return pos;
}

function parseMeta(text: string, where: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== NUM_CLASSES) {
    throw new DataError('format', `${where}: expected ${NUM_CLASSES} class names, one per line, found ${names.length}.`, where);
  }
  return names;
}

/** The `cifar-10-batches-bin` folder at or under `dir`, or null. */
export function findBinFolder(dir: string): string | null {
  if (existsSync(join(dir, TRAIN_FILES[0])) || basename(dir) === BIN_DIR) return dir;
  if (existsSync(join(dir, BIN_DIR))) return join(dir, BIN_DIR);
  return null;
}

/** Reads CIFAR-10 from a folder (`cifar-10-batches-bin` or its parent) or a `.tar.gz` / `.tar` archive. */
export async function readCifar10(path: string, opts: ReadOptions = {}): Promise<Cifar10> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new DataError('missing', `${path} does not exist. Point --data (or CIFAR10_DIR) at ${ARCHIVE_NAME} or at the folder holding ${BIN_DIR}/.`, path);
  }
  const checksumSource = typeof opts.checksums === 'string' ? opts.checksums : opts.checksums === undefined ? defaultChecksumFile() : 'the checksums passed in';
  const checksums = resolveChecksums(opts.checksums);
  const recordsPerFile = opts.recordsPerFile ?? RECORDS_PER_FILE;
  if (st.isDirectory()) {
    const dir = findBinFolder(path);
    if (!dir) {
      const archive = join(path, ARCHIVE_NAME);
      if (existsSync(archive)) return readCifar10(archive, opts);
      throw new DataError('missing', `${path} holds neither ${BIN_DIR}/ nor ${ARCHIVE_NAME}. Extract the official archive there, or point --data at it.`, path);
    }
    const c = new Collector(dir, recordsPerFile);
    await readFolder(dir, c);
    return c.result(checksums, checksumSource);
  }
  const c = new Collector(path, recordsPerFile);
  await readArchive(path, c);
  return c.result(checksums, checksumSource);
}

async function readFolder(dir: string, c: Collector): Promise<void> {
  const names = ALL_FILES;
  const missing = names.filter((n) => !existsSync(join(dir, n)));
  if (missing.length) {
    throw new DataError(
      'missing',
      `${dir}: missing ${missing.join(', ')}. Extract the full official ${ARCHIVE_NAME} (tar xzf ${ARCHIVE_NAME}), or point --data at the archive itself.`,
      join(dir, missing[0]),
    );
  }
  for (const name of names) {
    const file = join(dir, name);
    // The same cap as inside an archive; the sink then checks the exact size before a byte is read.
    const { fd, size } = openRegular(file, LIMITS.tarEntryBytes, `CIFAR-10 file ${name}`);
    let sink: TarSink;
    try {
      sink = c.sink(name, size, file);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (size > 0) for await (const chunk of createReadStream('', { fd, start: 0, end: size - 1, highWaterMark: 1 << 20 })) sink.write(chunk as Buffer);
    else closeSync(fd);
    sink.end();
  }
}

async function readArchive(path: string, c: Collector): Promise<void> {
  const { fd, size } = openRegular(path, LIMITS.tarStreamBytes, 'CIFAR-10 archive');
  let magic: Buffer;
  try {
    magic = readExactly(fd, Math.min(512, size), 0, path, 'CIFAR-10 archive');
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const got = magic.length;
  const gz = got >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const tar = got === 512 && magic.subarray(257, 262).toString('latin1') === 'ustar';
  if (!gz && !tar) {
    closeSync(fd);
    throw new DataError('format', `${path} is neither a gzip file nor a tar archive. Expected the official ${ARCHIVE_NAME}.`, path);
  }
  const reader = new TarReader(path, (e) => {
    const name = basename(e.path);
    if (e.type !== '0' || !c.wants(name)) return null;
    return c.sink(name, e.size, `${path}: ${e.path}`);
  });
  // A damaged deflate stream often decodes to garbage before zlib notices (at the CRC, at the end): when the
  // tar/record layer fails inside a .gz, drain the rest so a gzip error, the real cause, is reported instead.
  let found: unknown; // first error of the tar/record layer
  let failure: unknown; // what ended the consumer (node 20's pipeline() may reject with an AbortError instead)
  // The drain is bounded like the tar stream itself: a gzip bomb after a bad header costs at most that (≈ 0.4 s).
  let total = 0;
  const consume = async (source: AsyncIterable<Buffer>) => {
    try {
      for await (const chunk of source) {
        total += chunk.length;
        if (found !== undefined) {
          if (total > LIMITS.tarStreamBytes) throw found;
          continue;
        }
        try {
          reader.push(chunk);
        } catch (e) {
          found = e;
          if (!gz) throw e;
        }
      }
      if (found !== undefined) throw found;
      reader.finish();
    } catch (e) {
      failure ??= e;
      throw e;
    }
  };
  try {
    const file = createReadStream('', { fd, start: 0, highWaterMark: 1 << 20 });
    if (gz) await pipeline(file, createGunzip({ chunkSize: 1 << 18 }), consume);
    else await pipeline(file, consume);
  } catch (e) {
    const err = (failure ?? e) as NodeJS.ErrnoException;
    if (gz && typeof err.code === 'string' && err.code.startsWith('Z_')) {
      const seen = found instanceof Error ? ` Before that: ${found.message}` : '';
      throw new DataError(
        'corrupt',
        `${path}: the gzip stream is corrupt (${err.message}). The download is damaged or incomplete: delete the file and download it again.${seen}`,
        path,
      );
    }
    throw err;
  }
}
