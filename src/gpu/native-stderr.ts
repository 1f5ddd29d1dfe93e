// Dawn and the drivers it loads print to file descriptor 2 from native code while adapters are enumerated: on
// llvmpipe two "maxDynamic…PerPipelineLayout artificially reduced" warnings at every start (whatever limits the
// device requests: they come from requestAdapter), and where Mesa's Vulkan driver is installed its
// XDG_RUNTIME_DIR complaint and Dawn's rejection of lavapipe 22.3, before the OpenGL ES fallback works. Users read
// them as failures. Node cannot dup2, so for that one call fd 2 is pointed at /dev/null by closing it and reopening
// (the lowest free descriptor is taken), then pointed back by reopening /proc/self/fd/<saved copy>. That is only
// equivalent for a terminal, a pipe or a file opened for appending (no file offset to lose), so a file written at
// an offset, a socket (what a Node parent or systemd gives a child) or a missing /proc keep the messages;
// TQHASH_DEBUG=1 keeps them too.
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debug, flags } from '../config.js';

/** The flags to reopen fd 2 with when it can be muted and restored exactly (Linux; a terminal, a pipe, or a file
 *  opened for appending, as by `2>>log`), else null. A socket cannot be reopened; a file written at an offset would
 *  be overwritten from its start. */
function reopenFlags(): number | null {
  if (process.platform !== 'linux' || flags().debug || !existsSync('/proc/self/fd/2')) return null;
  const base = constants.O_WRONLY | constants.O_NOCTTY;
  try {
    fstatSync(0);
    fstatSync(1);
    const st = fstatSync(2);
    if (st.isCharacterDevice() || st.isFIFO()) return base;
    if (!st.isFile()) return null;
    const info = /^flags:\s*([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/2', 'utf8'));
    return info && (parseInt(info[1], 8) & constants.O_APPEND) !== 0 ? base | constants.O_APPEND : null;
  } catch {
    return null;
  }
}

/** Runs `fn` with native writes to stderr discarded (see above); JS writes during it are discarded too. */
export async function withNativeStderrMuted<T>(fn: () => Promise<T>): Promise<T> {
  const how = reopenFlags();
  if (how === null) return fn();
  const saved = openSync('/proc/self/fd/2', how);
  closeSync(2);
  const nul = openSync('/dev/null', constants.O_WRONLY);
  try {
    return await fn();
  } finally {
    closeSync(nul);
    const back = openSync(`/proc/self/fd/${saved}`, how);
    closeSync(saved);
    if (nul !== 2 || back !== 2) debug(`stderr muting: descriptors ${nul} and ${back}, expected 2`);
  }
}

/**
 * Runs `fn` with XDG_RUNTIME_DIR set when it is unset (Linux): libwayland, loaded by Mesa's Vulkan driver, prints
 * "error: XDG_RUNTIME_DIR is invalid or not set in the environment." for every Vulkan instance without it. The folder
 * is a private one under the temporary directory; the variable is removed again afterwards.
 */
export async function withRuntimeDir<T>(fn: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  if (process.platform !== 'linux' || env.XDG_RUNTIME_DIR) return fn();
  const dir = join(tmpdir(), `tqhash-runtime-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return fn(); // only a message is at stake
  }
  env.XDG_RUNTIME_DIR = dir;
  try {
    return await fn();
  } finally {
    delete env.XDG_RUNTIME_DIR;
  }
}
