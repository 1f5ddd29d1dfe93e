// File writing shared by every artefact the project saves (checkpoints, code files, results, caches).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** A file-system fault where the project writes (not writable, a file where a folder should be, disk full):
 *  the message names the path and the fix; entry points print it as one line, exit code 2. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** The advice for a failed write into `path`, by the error's code. */
function writeAdvice(path: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EACCES':
      return `permission denied: make it writable (chmod u+w ${path}) or choose another folder`;
    case 'EPERM':
      return `the system does not allow writing there (a read-only or immutable folder or file: see lsattr ${path}); choose another folder`;
    case 'EROFS':
      return 'the file system is mounted read-only; choose a folder on a writable one';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left (or the disk quota is used up); free some space or choose a folder on another disk';
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a file stands where a folder is needed; move the file away or choose another folder';
    default:
      return e.message;
  }
}

/** An OutputError for `e` raised while writing `path`; `what` names the flag that gave the path, if one did. */
export function outputError(path: string, e: unknown, what?: string): OutputError {
  if (e instanceof OutputError) return e;
  const err = e as NodeJS.ErrnoException;
  return new OutputError(`cannot write ${what ? `${what} ` : ''}${path} (${err.code ?? 'error'}): ${writeAdvice(path, err)}`);
}

/**
 * Makes folder `dir` (and its parents) and proves it writable by creating and deleting a probe file, so a bad
 * --out fails in the first second with one line, not after the data has loaded. Throws OutputError.
 */
export function prepareOutputDir(dir: string, what = '--out'): void {
  let st;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    throw outputError(dir, e, what);
  }
  if (st && !st.isDirectory()) throw new OutputError(`${what} ${dir} is a file, not a folder: choose another ${what}, or move the file away`);
  const probe = join(dir, `.tqhash-write-probe.${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw outputError(dir, e, what);
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder, fsync, rename over `path`, then a
 * best-effort fsync of the folder. A reader sees the old file or the complete new one, never a half-written one.
 * Errors are OutputErrors naming the file and the fix; the temporary file is removed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    for (const p of parts) for (let off = 0; off < p.length; ) off += writeSync(fd, p, off, p.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw outputError(path, e);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // e.g. Windows cannot open a folder; the rename is still atomic
  }
}

/** The user's cache folder: $XDG_CACHE_HOME, else ~/.cache (the XDG base-directory default); tqhash's autotune cache
 *  and the Mesa shader caches it names live under it. */
export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
}
