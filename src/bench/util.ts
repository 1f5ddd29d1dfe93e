// Shared helpers of the benchmark programs: adaptive timing, seeded inputs, aligned tables, argument parsing, header.
import { loadavg } from 'node:os';
import { runtime } from '../tensor.js';
import { flagsSet } from '../config.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { timeIt, type Ceilings } from './harness.js';
import { UsageError } from '../util/args.js';

/** Median ms per call of `record` (dispatch overhead subtracted): about `targetMs` of work per submit, fewer repeats for slow calls. */
export async function measure(record: () => void, dispatches: number, opts: { targetMs?: number; repeats?: number } = {}): Promise<{ ms: number; rawMs: number; cpuMs: number; inner: number }> {
  const rt = runtime();
  const targetMs = opts.targetMs ?? 150;
  record();
  await rt.sync(); // first dispatch compiles (GLES)
  const t0 = performance.now();
  record();
  await rt.sync();
  const one = Math.max(performance.now() - t0, 0.005);
  const slow = one > 2 * targetMs;
  const inner = slow ? 1 : Math.max(1, Math.min(500, Math.round(targetMs / one)));
  const t = await timeIt(record, { inner, repeats: slow ? 2 : opts.repeats ?? 5, warmup: slow ? 0 : 1, dispatchesPerCall: dispatches });
  return { ms: t.ms, rawMs: t.rawMs, cpuMs: t.cpuMs, inner };
}

/** Wall-clock ms of a synchronous host function. */
export function hostMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Deterministic values in [−1, 1) (a 32-bit LCG; inputs only need to be non-trivial and repeatable). */
export function randomValues(n: number, seed = 1): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** Random u32 words (xorshift128+ style, seeded). */
export function randomWords(n: number, seed = 1): Uint32Array {
  const out = new Uint32Array(n);
  let a = (seed * 0x9e3779b9) >>> 0 || 1, b = 0x6c078965 ^ seed, c = 0x2545f491, d = 0x12345678 ^ (seed << 7);
  for (let i = 0; i < n; i++) {
    const t = a ^ (a << 11);
    a = b; b = c; c = d;
    d = (d ^ (d >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    out[i] = d;
  }
  return out;
}

/** An aligned text table; numeric-looking cells are right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const num = /^[-+]?[\d.,]+(e[-+]?\d+)?\s?[%×x]?$|^—$/;
  return cells
    .map((r, i) => {
      const line = r.map((c, j) => (num.test(c) && i > 0 ? c.padStart(w[j]) : c.padEnd(w[j]))).join('  ').trimEnd();
      return i === 0 ? `${line}\n${w.map((n) => '-'.repeat(n)).join('  ')}` : line;
    })
    .join('\n');
}

/** A number with about 3 significant digits (or — when absent). */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  return v.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** Parses `--name value`, `--name=value` and bare `--flag` arguments; a mistake throws a UsageError. */
export function parseArgs(argv: readonly string[], known: Record<string, 'string' | 'number' | 'bool'>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"; options: ${Object.keys(known).map((k) => `--${k}`).join(' ')}`);
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let neg = false;
    if (!(name in known) && name.startsWith('no-') && known[name.slice(3)] === 'bool') { name = name.slice(3); neg = true; }
    const kind = known[name];
    if (!kind) throw new UsageError(`unknown option --${name}; options: ${Object.keys(known).map((k) => `--${k}`).join(' ')}`);
    if (kind === 'bool') { out[name] = !neg; continue; }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (kind === 'number') {
      const v = Number(value);
      if (!Number.isFinite(v)) throw new UsageError(`--${name} ${value}: expected a number`);
      out[name] = v;
    } else out[name] = value;
  }
  return out;
}

/** The report header: adapter block, TQHASH_* flags, load average, date; plus the ceilings when given. */
export function header(ceilings?: Ceilings): string {
  const rt = runtime();
  const set = Object.entries(flagsSet());
  const lines = [
    formatAdapterInfo(rt.info),
    `flags     ${set.length ? set.map(([k, v]) => `${k}=${v}`).join(' ') : '(no TQHASH_* variables set)'}`,
    `machine   load average ${loadavg().map((v) => v.toFixed(2)).join(' ')} (1/5/15 min) · ${new Date().toISOString()}`,
  ];
  if (ceilings) {
    lines.push(`ceilings  FMA ${fmt(ceilings.fmaGflops)} GFLOP/s (${ceilings.fmaShape}) · copy ${fmt(ceilings.copyGbps)} GB/s read + write (${ceilings.copyShape})`);
    lines.push(`          dispatch round trip ${fmt(ceilings.dispatchMs)} ms · each the best of a sweep of shapes, measured now in this process`);
  }
  return lines.join('\n');
}

/** Every shape of the ceiling sweeps with its rate and its share of the best, as two aligned tables. */
export function formatCeilingSweep(c: Ceilings): string {
  const table = (unit: string, xs: Ceilings['fmaSweep'], top: number) => formatTable(['shape', unit, 'of best'], xs.map((x) => [x.shape, fmt(x.value), `${((100 * x.value) / top).toFixed(0)}%`]));
  return `FMA ceiling sweep\n${table('GFLOP/s', c.fmaSweep, c.fmaGflops)}\n\ncopy ceiling sweep\n${table('GB/s', c.copySweep, c.copyGbps)}`;
}

/** The ceilings as they go into a benchmark's JSON report. */
export function ceilingsJSON(c: Ceilings) {
  return { fma_gflops: c.fmaGflops, fma_shape: c.fmaShape, copy_gbps: c.copyGbps, copy_shape: c.copyShape, dispatch_ms: c.dispatchMs, fma_sweep: c.fmaSweep, copy_sweep: c.copySweep };
}
