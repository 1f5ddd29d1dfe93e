// File writing shared by every artefact the project saves (checkpoints, code files, results, caches).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

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
    case 'ENOENT':
      return 'the system refuses to create a folder there (a virtual file system such as /proc?); choose another folder';
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
 * Makes folder `dir` and its missing parents, one level at a time (Node's recursive mkdir spins forever under /proc,
 * where mkdir answers ENOENT for a parent that exists). Returns the folders it created, outermost first.
 */
export function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); !statSync(d, { throwIfNoEntry: false }); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  const created: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e; // made meanwhile: fine
    }
  }
  return created;
}

/**
 * Makes folder `dir` (and its parents) and proves it writable by creating and deleting a probe file, so a bad
 * --out fails in the first second with one line, not after the data has loaded. Throws OutputError. Returns the
 * folders it created (outermost first), for removeCreatedDirs when the run then fails before writing anything.
 */
export function prepareOutputDir(dir: string, what = '--out'): string[] {
  let st;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    throw outputError(dir, e, what);
  }
  const fix = what.startsWith('--') ? `choose another ${what}` : 'choose another --out';
  if (st && !st.isDirectory()) throw new OutputError(`${what} ${dir} is a file, not a folder: ${fix}, or move the file away`);
  const probe = join(dir, `.tqhash-write-probe.${process.pid}`);
  try {
    const created = makeDirs(dir);
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
    return created;
  } catch (e) {
    throw outputError(dir, e, what);
  }
}

/**
 * Refuses to write the files `names` into `dir` where some are there already and `earlier(there)` does not own them
 * (an earlier output of the same command, which is replaced): a user's own files are never written over. `why` says
 * whose files they are not and what would write over them. Throws OutputError.
 */
export function refuseOverwrite(dir: string, names: readonly string[], why: string, earlier: (there: string[]) => boolean = () => false): void {
  const there = names.filter((name) => existsSync(join(dir, name)));
  if (there.length && !earlier(there)) throw new OutputError(`${dir} already holds ${there.join(', ')}${why}; choose another --out, or move them away`);
}

/** Removes the folders prepareOutputDir created (innermost first) where they are still empty; best effort. */
export function removeCreatedDirs(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): leave it and its parents
    }
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
