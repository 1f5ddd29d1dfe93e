// Helpers of the parser fuzzer (test/fuzz-*.test.js): a seeded generator, byte mutations, special files, and a
// runner that executes many cases in one child process under a heap cap, a resident-memory cap and a per-case
// time limit. The child (test/fuzz-child.js) classifies each case as a correct result, a named error (a DataError
// whose one-line message names the file) or a failure; anything else the runner reports (hang, memory, crash).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Mutated cases per parser: TQHASH_FUZZ_CASES for longer runs (tests only), else `fallback`. */
export function fuzzCases(fallback) {
  const n = Number(process.env.TQHASH_FUZZ_CASES);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The fuzzer's seed: TQHASH_FUZZ_SEED (tests only), else 1. Printed with every failure, so a run can be repeated. */
export const FUZZ_SEED = Number(process.env.TQHASH_FUZZ_SEED ?? 1) >>> 0;

/** A seeded generator (mulberry32): u32(), int(n) in 0..n-1, pick(array), chance(p). */
export function makeRng(seed) {
  let a = seed >>> 0;
  const u32 = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const int = (n) => u32() % n;
  return { u32, int, pick: (arr) => arr[int(arr.length)], chance: (p) => u32() / 2 ** 32 < p };
}

// Values a length or count field is set to: the edges of every integer width, and just-too-large sizes.
const HUGE = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 63, 2 ** 64 - 1];

/** Writes `value` into `b` at a field { off, width: 1|2|4|8, be?: true } (little-endian unless be). */
export function setField(b, { off, width, be }, value) {
  let v = BigInt(Math.min(value, 2 ** 64 - 1)) & ((1n << BigInt(8 * width)) - 1n);
  for (let k = 0; k < width; k++) {
    b[be ? off + width - 1 - k : off + k] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * One seeded mutation of `input`: byte flips, a truncation, a huge value in one of `fields`, a duplicated slice,
 * or a zeroed run. Returns { bytes, how } (how: a short description for failure messages).
 */
export function mutate(input, r, fields = []) {
  const b = Buffer.from(input);
  const kind = r.pick(fields.length ? ['flip', 'flip', 'truncate', 'huge', 'huge', 'splice', 'zero'] : ['flip', 'flip', 'truncate', 'splice', 'zero']);
  if (kind === 'flip') {
    const n = 1 + r.int(8);
    const at = [];
    for (let k = 0; k < n; k++) {
      const i = r.int(b.length);
      b[i] ^= 1 + r.int(255);
      at.push(i);
    }
    return { bytes: b, how: `flip bytes ${at.join(',')}` };
  }
  if (kind === 'truncate') {
    const len = r.int(b.length);
    return { bytes: b.subarray(0, len), how: `truncate to ${len}` };
  }
  if (kind === 'huge') {
    const f = r.pick(fields);
    const v = r.pick(HUGE);
    setField(b, f, v);
    return { bytes: b, how: `field at ${f.off} (${f.width} bytes) = ${v}` };
  }
  if (kind === 'splice') {
    const from = r.int(b.length), len = 1 + r.int(Math.min(4096, b.length - from));
    const at = r.int(b.length);
    const times = 1 + r.int(4);
    const piece = b.subarray(from, from + len);
    return { bytes: Buffer.concat([b.subarray(0, at), ...Array(times).fill(piece), b.subarray(at)]), how: `insert ${times}× bytes ${from}+${len} at ${at}` };
  }
  const from = r.int(b.length), len = 1 + r.int(64);
  b.fill(0, from, Math.min(b.length, from + len));
  return { bytes: b, how: `zero bytes ${from}+${len}` };
}

/** Kinds of special file a parser must refuse without reading: a FIFO, /dev/zero through a symlink, a folder, a dangling symlink. */
export const SPECIAL = ['fifo', 'devzero', 'dir', 'dangling'];

/** Creates the special file `kind` at `path` (which must not exist). */
export function makeSpecial(path, kind) {
  mkdirSync(dirname(path), { recursive: true });
  if (kind === 'fifo') execFileSync('mkfifo', [path]);
  else if (kind === 'devzero') symlinkSync('/dev/zero', path);
  else if (kind === 'dir') mkdirSync(path);
  else if (kind === 'dangling') symlinkSync('/nonexistent/tqhash-fuzz', path);
  else throw new Error(`unknown special file ${kind}`);
}

/**
 * Runs `cases` ({ id, parser, ... } as test/fuzz-child.js reads them) in one child process with a V8 heap cap of
 * `heapMB`, killed when its resident memory passes `rssMB` or one case runs past `caseMs`; returns one result per
 * case { id, outcome, message, ms, rssMB }. outcome: ok | named | wrong | raw (from the child), or hang | memory |
 * crash (the case the child was on when it was killed or died; cases after it are not run).
 */
export async function runCases(cases, { heapMB = 256, rssMB = 768, caseMs = 5000, dir }) {
  const file = join(dir, `cases-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(cases));
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMB}`, join(here, 'fuzz-child.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const results = [];
  let current = null, started = 0, killedFor = null, peak = 0, out = '', err = '';
  child.stdout.on('data', (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.startsWith('S ')) {
        current = line.slice(2);
        started = Date.now();
      } else if (line.startsWith('R ')) {
        results.push(JSON.parse(line.slice(2)));
        current = null;
      }
    }
  });
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const watch = setInterval(() => {
    let rss = 0;
    try {
      rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return; // exited
    }
    peak = Math.max(peak, rss);
    if (rss > rssMB) killedFor = `memory (${rss.toFixed(0)} MB resident, the cap is ${rssMB})`;
    else if (current !== null && Date.now() - started > caseMs) killedFor = `hang (still running after ${caseMs} ms)`;
    if (killedFor) child.kill('SIGKILL');
  }, 50);
  const code = await new Promise((res) => child.on('close', (c, s) => res(c ?? s)));
  clearInterval(watch);
  if (current !== null || results.length < cases.length) {
    const id = current ?? cases[results.length]?.id;
    const outcome = killedFor ? killedFor.split(' ')[0] : 'crash';
    results.push({ id, outcome, message: killedFor ?? `child exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`, ms: Date.now() - started, rssMB: peak });
  }
  return results;
}

/** Throws unless every result is `ok` or `named`; the message lists the failures with the seed and how each case was made. */
export function assertAllHandled(results, cases, what) {
  const byId = new Map(cases.map((c) => [c.id, c]));
  const bad = results.filter((r) => r.outcome !== 'ok' && r.outcome !== 'named');
  if (results.length < cases.length || bad.length) {
    const lines = bad.slice(0, 8).map((r) => `  ${r.id} [${byId.get(r.id)?.how ?? ''}]: ${r.outcome}: ${String(r.message).slice(0, 300)}`);
    throw new Error(`${what}: ${bad.length} of ${cases.length} cases failed (seed ${FUZZ_SEED}; ${results.length} ran):\n${lines.join('\n')}`);
  }
}

/** Rewrites the tar header at `off` in `tar` (type flag, size — base-256 when it needs more than 11 octal digits —, name) and fixes its checksum. */
export function patchTarHeader(tar, off, { type, size, name }) {
  const h = tar.subarray(off, off + 512);
  if (type !== undefined) h[156] = type.charCodeAt(0);
  if (name !== undefined) {
    h.fill(0, 0, 100);
    h.write(name, 0, 'utf8');
  }
  if (size !== undefined) {
    h.fill(0, 124, 136);
    if (size < 8 ** 11) h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
    else {
      h[124] = 0x80;
      setField(h, { off: 128, width: 8, be: true }, size);
    }
  }
  h.fill(0x20, 148, 156);
  let s = 0;
  for (let k = 0; k < 512; k++) s += h[k];
  h.write(s.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return tar;
}

/** Offsets of the headers in a tar built by writeTar (each entry: header, data padded to 512). */
export function tarHeaderOffsets(tar) {
  const offs = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    offs.push(off);
    const size = parseInt(h.toString('ascii', 124, 135), 8) || 0;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return offs;
}
