// Peers in the repository, not dependencies: bench/peers/peers.py times PyTorch (the same network's training step and
// each of its convolutions) and FAISS (the same search) on this machine and prints JSON; bench/step.js, search.js and
// kernels.js read it (--peer FILE) or run it themselves (--peer) and print the ratio tqhash / peer of one run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flags } from '../config.js';
import { DataError } from '../util/errors.js';
import { fmt } from './util.js';

/** The peer script (dist/index.js → ../bench/peers/peers.py). */
export const PEER_SCRIPT = fileURLToPath(new URL('../bench/peers/peers.py', import.meta.url));

/** The peers' timing of the training step (the `step` object of peers.py's JSON). */
export interface PeerStep {
  engine: string;
  config: Record<string, unknown>;
  step_ms: number;
  images_per_s: number;
  /** CPU time of the peer's process per step (all threads), when reported. */
  step_cpu_ms?: number;
}

/** The peers' timing of the search (the `search` object of peers.py's JSON). */
export interface PeerSearch {
  engine: string;
  config: { n: number; q: number; bits: number; k: number; seed: number; threads?: number };
  ms: number;
  qps: number;
  /** CPU time of the peer's process per search of all queries (all threads), when reported. */
  cpu_ms?: number;
  /** sha256 of the [q, k] top-k distances as little-endian u32. */
  distances_sha256?: string;
}

/** One convolution pass of the peer (a row of the `convs` object of peers.py's JSON). */
export interface PeerConvRow {
  /** conv1 | conv2 | conv3 (src/bench/cases/conv.ts). */
  name: string;
  pass: 'fwd' | 'bwd-data' | 'bwd-weights';
  batch: number;
  ms: number;
}

/** The peers' timing of dshNet's convolutions, each pass alone (the `convs` object of peers.py's JSON). */
export interface PeerConvs {
  engine: string;
  rows: PeerConvRow[];
}

/** What peers.py prints (the parts the benchmarks read; other fields are kept as they are). */
export interface PeerReport {
  date?: string;
  loadavg?: number[];
  step?: PeerStep;
  search?: PeerSearch;
  convs?: PeerConvs;
  missing?: string[];
  /** Where it came from: the file read, or the command run. */
  source: string;
}

/** Peer JSON files are small; anything larger is not one. */
const MAX_PEER_BYTES = 1 << 20;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Parses and checks peers.py's JSON (`source` names it in errors). Throws with what is wrong. */
export function parsePeerReport(text: string, source: string): PeerReport {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new DataError('format', `peer ${source}: not JSON (${(e as Error).message}); expected the output of bench/peers/peers.py`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new DataError('format', `peer ${source}: expected a JSON object (the output of bench/peers/peers.py)`);
  const o = j as Record<string, unknown>;
  const out: PeerReport = { source };
  if (typeof o.date === 'string') out.date = o.date;
  if (Array.isArray(o.loadavg)) out.loadavg = o.loadavg.filter((x): x is number => typeof x === 'number');
  if (Array.isArray(o.missing)) out.missing = o.missing.map(String);
  if (o.step !== undefined) {
    const s = o.step as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || !isNum(s.step_ms) || !isNum(s.images_per_s)) throw new DataError('format', `peer ${source}: "step" needs positive numbers step_ms and images_per_s`);
    out.step = { engine: String(s.engine ?? 'peer'), config: (typeof s.config === 'object' && s.config) ? s.config as Record<string, unknown> : {}, step_ms: s.step_ms, images_per_s: s.images_per_s, step_cpu_ms: isNum(s.step_cpu_ms) ? s.step_cpu_ms : undefined };
  }
  if (o.search !== undefined) {
    const s = o.search as Record<string, unknown>;
    const c = (s?.config ?? {}) as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || !isNum(s.ms) || !isNum(s.qps)) throw new DataError('format', `peer ${source}: "search" needs positive numbers ms and qps`);
    for (const key of ['n', 'q', 'bits', 'k']) if (!isNum(c[key])) throw new DataError('format', `peer ${source}: search.config.${key} must be a positive number`);
    out.search = {
      engine: String(s.engine ?? 'peer'),
      config: { n: c.n as number, q: c.q as number, bits: c.bits as number, k: c.k as number, seed: Number(c.seed ?? 1), threads: typeof c.threads === 'number' ? c.threads : undefined },
      ms: s.ms, qps: s.qps, cpu_ms: isNum(s.cpu_ms) ? s.cpu_ms : undefined,
      distances_sha256: typeof s.distances_sha256 === 'string' ? s.distances_sha256 : undefined,
    };
  }
  if (o.convs !== undefined) {
    const c = o.convs as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || !Array.isArray(c.rows)) throw new DataError('format', `peer ${source}: "convs" needs an array "rows"`);
    const rows = c.rows.map((r: Record<string, unknown>, i: number): PeerConvRow => {
      if (typeof r?.name !== 'string' || !['fwd', 'bwd-data', 'bwd-weights'].includes(r.pass as string) || !isNum(r.batch) || !isNum(r.ms)) {
        throw new DataError('format', `peer ${source}: convs.rows[${i}] needs name, pass (fwd | bwd-data | bwd-weights), positive batch and ms`);
      }
      return { name: r.name, pass: r.pass as PeerConvRow['pass'], batch: r.batch, ms: r.ms };
    });
    out.convs = { engine: String(c.engine ?? 'peer'), rows };
  }
  if (!out.step && !out.search && !out.convs) throw new DataError('format', `peer ${source}: no "step", "search" or "convs" in it${out.missing ? ` (${out.missing.join('; ')})` : ''}`);
  return out;
}

/** The part of a peers.py report a benchmark reads (step.js, search.js, kernels.js). */
export type PeerSection = 'step' | 'search' | 'convs';

/** The peers.py command that writes each part. */
const PEER_WRITERS = new Map<PeerSection, string>([
  ['step', 'bench/peers/peers.py step'],
  ['search', 'bench/peers/peers.py search'],
  ['convs', 'bench/peers/peers.py convs --batch B'],
]);

/**
 * Reads a peers.py JSON file (a regular file of at most 1 MiB) that must hold `section` when given. Throws a DataError
 * naming --peer and the fix, so a benchmark calls it before measuring anything.
 */
export function readPeerFile(path: string, section?: PeerSection): PeerReport {
  const fail = (why: string, code: 'missing' | 'format' = 'format') => new DataError(code, `--peer ${path}: ${why}`, path);
  let st, text;
  try {
    st = statSync(path);
    if (st.isFile() && st.size <= MAX_PEER_BYTES) text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail('no such file; pass a JSON report of bench/peers/peers.py, or --peer alone to run it here', 'missing');
    throw fail(`cannot read it (${code ?? (e as Error).message}); make it readable or pass another file`);
  }
  if (!st.isFile()) throw fail('not a regular file; pass a JSON report of bench/peers/peers.py');
  if (text === undefined) throw fail(`${st.size} bytes; a peers.py report is a few KiB (limit ${MAX_PEER_BYTES})`);
  const r = parsePeerReport(text, path);
  if (section && !r[section]) throw fail(`no "${section}" in it (${PEER_WRITERS.get(section)} writes them)`);
  return r;
}

/** The Python that runs the peers: TQHASH_PYTHON, else Debian's /usr/bin/python3 (where python3-torch/-faiss install), else python3. */
export function peerPython(): string {
  return flags().python ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/**
 * Runs bench/peers/peers.py `what` with `args` and parses its JSON; null with `reason` when it cannot run here (no
 * Python, no torch / faiss): the peers are optional. Blocks until it is done (call with no GPU work in flight).
 */
export function runPeer(what: 'step' | 'search' | 'convs', args: string[], o: { python?: string; timeoutMs?: number } = {}): { report: PeerReport | null; reason?: string } {
  const py = o.python ?? peerPython();
  const timeoutMs = o.timeoutMs ?? 20 * 60_000;
  const cmd = [PEER_SCRIPT, what, ...args];
  const r = spawnSync(py, cmd, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: MAX_PEER_BYTES });
  const source = `${py} ${cmd.join(' ')}`;
  if (r.error) return { report: null, reason: `${py} could not run (${r.error.message}); set TQHASH_PYTHON to a python3 with ${what === 'search' ? 'faiss' : 'torch'}` };
  let report: PeerReport;
  try {
    report = parsePeerReport(r.stdout, source);
  } catch (e) {
    const err = (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    return { report: null, reason: `${(e as Error).message}${err ? `; stderr: ${err}` : ''}` };
  }
  if (!report[what]) return { report: null, reason: `peers.py has no ${what} result: ${report.missing?.join('; ') ?? 'unknown reason'}` };
  return { report };
}

/** A ratio line: tqhash's throughput against the peer's run(s) of the same run. */
export function formatPeerRatio(label: string, unit: string, ours: number, peers: { engine: string; value: number; when: string }[]): string {
  if (!peers.length) return `${label}  no peer measurement`;
  const mean = peers.reduce((a, p) => a + p.value, 0) / peers.length;
  const each = peers.map((p) => `${p.when} ${fmt(p.value)}`).join(', ');
  return `${label}  tqhash ${fmt(ours)} ${unit} / ${peers[0].engine} ${fmt(mean)} ${unit} (${each}) = ${(ours / mean).toFixed(2)}`;
}

/**
 * Ours ÷ the peers' mean (`value`, wall-time throughput) and the peers' mean CPU ms per unit of work ÷ ours (CPU time is
 * less distorted by other processes on a shared machine than wall time, though a peer's spinning OpenMP threads count
 * in it); both logged, for `what` (e.g. 'step', 'search') in `unit`.
 */
export function peerRatios(what: string, unit: string, ours: number, ourCpu: number, runs: { engine: string; value: number; cpu_ms?: number; when: string }[], log: (s: string) => void): { ratio: number | null; cpu_ratio: number | null } {
  const ratio = runs.length ? ours / (runs.reduce((a, p) => a + p.value, 0) / runs.length) : null;
  log(formatPeerRatio('ratio    ', unit, ours, runs));
  const pc = runs.filter((p) => p.cpu_ms).map((p) => p.cpu_ms!);
  const peerCpu = pc.length ? pc.reduce((a, b) => a + b, 0) / pc.length : null;
  const cpuRatio = peerCpu === null ? null : peerCpu / ourCpu;
  if (peerCpu !== null) log(`ratio     CPU time per ${what}: ${runs[0].engine} ${fmt(peerCpu)} ms / tqhash ${fmt(ourCpu)} ms = ${cpuRatio!.toFixed(2)} (peer CPU ÷ ours; less distorted by other load than wall time)`);
  return { ratio, cpu_ratio: cpuRatio };
}

/** Splits `--peer [FILE]` out of argv (the file is optional, so the generic parser cannot take it): file, or true to run peers.py. */
export function takePeerArg(argv: string[]): { argv: string[]; peer: string | true | undefined } {
  const out: string[] = [];
  let peer: string | true | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--peer') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) { peer = next; i++; } else peer = true;
    } else if (a.startsWith('--peer=')) peer = a.slice(7) || true;
    else out.push(a);
  }
  return { argv: out, peer };
}
