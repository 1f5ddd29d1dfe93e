// tqhash bench metrics: the binary retrieval metrics of a CIFAR-10-shaped evaluation (10,000 queries × 50,000 codes,
// 48 bits, 10 classes) with the Hamming ranking on the GPU (evaluateRetrievalGpu) against the CPU on one thread and on
// worker threads (evaluateRetrievalParallel), checked to be the same bits. It decides knob rank.on per adapter.
import { loadavg } from 'node:os';
import { runtime } from '../tensor.js';
import { hostCpu } from '../util/host.js';
import { evaluateRetrievalGpu } from '../hash/gpu-rank.js';
import { evaluateRetrievalParallel, defaultRankThreads } from '../hash/rank-parallel.js';
import { wordsPerCode } from '../cpu/codes.js';
import type { RetrievalInput, RetrievalMetrics } from '../hash/metrics.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { median } from './harness.js';
import { fmt, header, randomWords } from './util.js';

/** Options of runMetricsBench. */
export interface MetricsBenchOptions {
  n?: number;
  q?: number;
  bits?: number;
  classes?: number;
  seed?: number;
  /** Timed repeats of each way (median), after one untimed GPU run (its compile). Default 3. */
  repeats?: number;
  log?: (line: string) => void;
}

/** One way of ranking: its median wall time and ms per query. */
export interface MetricsRow {
  way: string;
  ms: number;
  ms_samples: number[];
  ms_per_query: number;
}

/** The report of `tqhash bench metrics`. */
export interface MetricsReport {
  adapter: AdapterInfo;
  host: string;
  loadavg: number[];
  date: string;
  config: Required<Omit<MetricsBenchOptions, 'log'>>;
  rows: MetricsRow[];
  /** GPU ms ÷ the fastest CPU way's ms (below 1: the GPU is faster). */
  gpu_vs_cpu: number;
  /** The GPU's metrics equal the CPU's to the bit (seconds aside). */
  same_bits: boolean;
  map: number;
}

/** Throws a message naming the flag when a size is not a whole number ≥ 1. */
export function checkMetricsOptions(o: MetricsBenchOptions): void {
  for (const name of ['n', 'q', 'bits', 'classes', 'repeats'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`--${name} ${v}: need a whole number ≥ 1`);
  }
  if (o.bits !== undefined && o.bits > 256) throw new Error(`--bits ${o.bits}: codes of 1..256 bits`);
}

/** Runs the metrics benchmark (random codes and labels, the trainer's topKs and mapAt). */
export async function runMetricsBench(o: MetricsBenchOptions = {}): Promise<MetricsReport> {
  checkMetricsOptions(o);
  const log = o.log ?? ((s: string) => console.log(s));
  const c = { n: o.n ?? 50_000, q: o.q ?? 10_000, bits: o.bits ?? 48, classes: o.classes ?? 10, seed: o.seed ?? 1, repeats: o.repeats ?? 3 };
  const W = wordsPerCode(c.bits);
  const mask = c.bits % 32 === 0 ? 0xffffffff : 2 ** (c.bits % 32) - 1;
  const codes = (n: number, seed: number) => {
    const w = randomWords(n * W, seed);
    for (let i = W - 1; i < w.length; i += W) w[i] &= mask;
    return w;
  };
  const labels = (n: number, seed: number) => Array.from(randomWords(n, seed), (x) => x % c.classes);
  const input: RetrievalInput = {
    queryCodes: codes(c.q, c.seed), dbCodes: codes(c.n, c.seed + 1000), queryLabels: labels(c.q, c.seed + 2000), dbLabels: labels(c.n, c.seed + 3000),
    bits: c.bits, topKs: [1, 10, 50, 100, 200, 500, 1000].filter((k) => k <= c.n), mapAt: [1000, 5000].filter((k) => k <= c.n),
  };
  log(header());
  log(`metrics   ${c.q} queries × ${c.n} random ${c.bits}-bit codes, ${c.classes} classes (seed ${c.seed}) · mAP@all, mAP@k, P@k, PR by Hamming ranking`);
  const threads = defaultRankThreads();
  const ways: [string, () => Promise<RetrievalMetrics>][] = [
    ['GPU (ops.hammingRelevantRanks)', () => evaluateRetrievalGpu(input)],
    ['CPU, 1 thread', () => evaluateRetrievalParallel(input, { threads: 1 })],
  ];
  if (threads > 1) ways.push([`CPU, ${threads} threads`, () => evaluateRetrievalParallel(input, { threads })]);
  await ways[0][1](); // compiles the kernels
  const rows: MetricsRow[] = [];
  const results: RetrievalMetrics[] = [];
  for (const [way, run] of ways) {
    const samples: number[] = [];
    for (let r = 0; r < c.repeats; r++) {
      const t0 = performance.now();
      const m = await run();
      samples.push(performance.now() - t0);
      if (r === 0) results.push(m);
    }
    const ms = median(samples);
    rows.push({ way, ms, ms_samples: samples, ms_per_query: ms / c.q });
    log(`${way.padEnd(32)} ${fmt(ms)} ms (${fmt(ms / c.q)} ms per query; runs ${samples.map((s) => fmt(s)).join(', ')})`);
  }
  const strip = (m: RetrievalMetrics) => JSON.stringify({ ...m, seconds: 0 });
  const sameBits = results.every((m) => strip(m) === strip(results[0]));
  const bestCpu = Math.min(...rows.slice(1).map((r) => r.ms));
  const ratio = rows[0].ms / bestCpu;
  log(`check     ${sameBits ? 'the same metrics to the bit on every way' : 'MISMATCH: the ways disagree'} (mAP@all ${results[0].map.toFixed(6)})`);
  log(`GPU/CPU   ${fmt(ratio)} (the GPU's time ÷ the fastest CPU way's: below 1 the GPU wins; knob rank.on is ${ratio < 1 ? 'gpu' : 'cpu'} by this run)`);
  return { adapter: runtime().info, host: hostCpu(), loadavg: loadavg(), date: new Date().toISOString(), config: c, rows, gpu_vs_cpu: ratio, same_bits: sameBits, map: results[0].map };
}
