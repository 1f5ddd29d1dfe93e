/**
 * Finding CIFAR-10 on disk, and downloading it when it is nowhere.
 * Order: `--data PATH`, then env CIFAR10_DIR (both: folder or archive; an error if they point at nothing),
 * then `<repo>/data/` and `<repo>/../shared/data/`, then the official download into `<repo>/data/`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { DataError, isDataError } from '../util/errors.js';
import { makeDirs } from '../util/fs.js';
import { ARCHIVE_NAME, BIN_DIR, TRAIN_FILES, readCifar10, type Cifar10, type ReadOptions } from './cifar10.js';
import { repoRoot } from './paths.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** Result of a fetch: HTTP status, Content-Length when known, and the body bytes. */
export interface FetchResult {
  status: number;
  total?: number;
  body: AsyncIterable<Uint8Array>;
}
/** Gets a URL; throws on a network failure (tests inject their own). */
export type Fetcher = (url: string) => Promise<FetchResult>;

/** The default fetcher: Node's built-in fetch (follows redirects). */
export const nodeFetcher: Fetcher = async (url) => {
  const res = await fetch(url);
  const len = Number(res.headers.get('content-length'));
  const body = res.body ? Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]) : Readable.from([]);
  return { status: res.status, total: Number.isFinite(len) && len > 0 ? len : undefined, body };
};

export interface DownloadOptions {
  url?: string;
  /** Expected md5 of the archive (hex); the official one by default. */
  md5?: string;
  /** Folder the archive lands in; `<repo>/data` by default. */
  destDir?: string;
  fileName?: string;
  fetcher?: Fetcher;
  /** Called as bytes arrive; `total` is undefined when the server sends no length. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Downloads the archive to a temp file beside its destination, checks its md5, renames it into place; returns the path. */
export async function downloadCifar10(opts: DownloadOptions = {}): Promise<string> {
  const url = opts.url ?? CIFAR10_URL;
  const md5 = (opts.md5 ?? CIFAR10_MD5).toLowerCase();
  const destDir = opts.destDir ?? join(repoRoot(), 'data');
  const dest = join(destDir, opts.fileName ?? ARCHIVE_NAME);
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fetcher = opts.fetcher ?? nodeFetcher;

  let res: FetchResult;
  try {
    res = await fetcher(url);
  } catch (e) {
    throw networkError(url, e);
  }
  if (res.status !== 200) throw new DataError('network', `could not download ${url}: the server answered HTTP ${res.status}.`, url);

  makeDirs(destDir);
  const hash = createHash('md5');
  const out = createWriteStream(tmp);
  let writeError: Error | undefined; // disk full, permissions: reported as themselves, not as network errors
  out.on('error', (e) => (writeError ??= e));
  let done = 0;
  try {
    try {
      for await (const chunk of res.body) {
        if (writeError) break;
        hash.update(chunk);
        done += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => (out.once('drain', r), out.once('error', () => r())));
        opts.onProgress?.(done, res.total);
      }
    } catch (e) {
      throw networkError(url, e, done);
    }
    await new Promise<void>((r) => out.end(() => r()));
    if (writeError) throw new DataError('format', `could not write ${tmp}: ${writeError.message}. Free disk space or pick another folder with --data.`, tmp);
    if (res.total !== undefined && done !== res.total) {
      throw new DataError('network', `download of ${url} stopped at ${done} of ${res.total} bytes; run again.`, url);
    }
    const got = hash.digest('hex');
    if (got !== md5) {
      throw new DataError(
        'checksum',
        `downloaded ${url} (${done} bytes) has md5 ${got}, expected ${md5}; the file was discarded. Try again, or download it by hand and pass --data PATH.`,
        url,
      );
    }
    renameSync(tmp, dest); // same folder, so the rename is atomic: a reader never sees a half-written archive
    return dest;
  } finally {
    if (!out.closed) await new Promise<void>((r) => (out.once('close', () => r()), out.destroy()));
    rmSync(tmp, { force: true });
  }
}

function networkError(url: string, e: unknown, done?: number): DataError {
  if (isDataError(e)) return e;
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const why = [err.cause?.code, err.cause?.message ?? err.message].filter(Boolean).join(': ') || String(e);
  const at = done ? ` after ${done} bytes` : '';
  return new DataError('network', `could not download ${url}${at} (${why}).`, url);
}

/** The folders searched when neither --data nor CIFAR10_DIR is given. */
export function defaultSearchDirs(): string[] {
  const root = repoRoot();
  return [join(root, 'data'), resolve(root, '..', 'shared', 'data')];
}

export interface LocateOptions {
  /** The `--data PATH` value: a folder (`cifar-10-batches-bin` or its parent) or an archive. */
  data?: string;
  /** Environment to read CIFAR10_DIR from (process.env by default). */
  env?: Record<string, string | undefined>;
  /** Folders to search; `defaultSearchDirs()` by default. */
  searchDirs?: string[];
}

/** Where the data set is (`from` says how it was found), or null when nothing was found in the search folders. */
export function locateCifar10(opts: LocateOptions = {}): { path: string; from: '--data' | 'CIFAR10_DIR' | 'search' } | null {
  const env = opts.env ?? process.env;
  for (const [from, p] of [['--data', opts.data], ['CIFAR10_DIR', env.CIFAR10_DIR]] as const) {
    if (!p) continue;
    if (!existsSync(p)) {
      throw new DataError('missing', `${from} ${p}: no such file or folder. Point it at ${ARCHIVE_NAME} or at the folder holding ${BIN_DIR}/.`, p);
    }
    return { path: p, from };
  }
  for (const dir of opts.searchDirs ?? defaultSearchDirs()) {
    if (existsSync(join(dir, BIN_DIR, TRAIN_FILES[0]))) return { path: join(dir, BIN_DIR), from: 'search' };
    if (existsSync(join(dir, ARCHIVE_NAME))) return { path: join(dir, ARCHIVE_NAME), from: 'search' };
  }
  return null;
}

export interface LoadOptions extends LocateOptions, ReadOptions, Omit<DownloadOptions, 'destDir' | 'fileName'> {
  /** Download when nothing is found (default true). */
  download?: boolean;
}

/** Locates (or downloads) and reads CIFAR-10: the one call `bench/train.js cifar10` needs. */
export async function loadCifar10(opts: LoadOptions = {}): Promise<Cifar10> {
  const found = locateCifar10(opts);
  if (found) return readCifar10(found.path, opts);
  const dirs = opts.searchDirs ?? defaultSearchDirs();
  const where = `Put ${ARCHIVE_NAME} (or the extracted ${BIN_DIR}/ folder) in one of: ${dirs.join(', ')}; or pass --data PATH, or set CIFAR10_DIR.`;
  if (opts.download === false) throw new DataError('missing', `CIFAR-10 not found. ${where}`, dirs[0]);
  let archive: string;
  try {
    archive = await downloadCifar10({ ...opts, destDir: dirs[0] });
  } catch (e) {
    if (isDataError(e) && e.code === 'network') throw new DataError('network', `${e.message} No network here? ${where}`, e.file);
    throw e;
  }
  return readCifar10(archive, opts);
}
