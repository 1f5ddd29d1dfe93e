// tqhash bench metrics: the retrieval metrics of a CIFAR-10-shaped evaluation (50,000 database items, 48 bits or
// features, 10 classes; 10,000 binary queries, 1,000 real-valued ones) with the rankings on the GPU
// (evaluateRetrievalGpu) against the CPU on one thread and on worker threads (evaluateRetrievalParallel): binary checked
// to be the same bits, real-valued the mAP difference (float32 against float64 distances). It decides knob rank.on.
import { loadavg } from 'node:os';
import { runtime } from '../tensor.js';
import { hostCpu } from '../util/host.js';
import { evaluateRetrievalGpu } from '../hash/gpu-rank.js';
import { evaluateRetrievalParallel, defaultRankThreads } from '../hash/rank-parallel.js';
import { wordsPerCode } from '../cpu/codes.js';
import type { RetrievalInput, RetrievalMetrics } from '../hash/metrics.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { median } from './harness.js';
import { fmt, header, randomValues, randomWords } from './util.js';
import { knob } from '../gpu/knobs.js';
import { UsageError } from '../util/args.js';

/** Options of runMetricsBench. */
export interface MetricsBenchOptions {
  n?: number;
  q?: number;
  /** Real-valued queries (default 1000: on a CPU their ranking costs ~9× the binary one's). */
  realQ?: number;
  bits?: number;
  classes?: number;
  seed?: number;
  /** Timed repeats of each way (median), after one untimed GPU run (its compile). Default 3. */
  repeats?: number;
  log?: (line: string) => void;
}

/** One way of ranking: its median wall time and ms per query. */
export interface MetricsRow {
  ranking: 'binary' | 'real';
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
  /** Per ranking: GPU ms ÷ the fastest CPU way's ms (below 1: the GPU is faster). */
  gpu_vs_cpu: { binary: number; real: number };
  /** The binary metrics are the same bits on every way (seconds aside). */
  same_bits: boolean;
  map: { binary: number; real: number };
  /** |GPU − CPU| of the real-valued mAP@all (float32 against float64 distances). */
  real_map_diff: number;
}

/** Throws a UsageError naming the flag when a size is not a whole number ≥ 1. */
export function checkMetricsOptions(o: MetricsBenchOptions): void {
  for (const name of ['n', 'q', 'realQ', 'bits', 'classes', 'repeats'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`--${name === 'realQ' ? 'real-q' : name} ${v}: need a whole number ≥ 1`);
  }
  if (o.bits !== undefined && o.bits > 256) throw new UsageError(`--bits ${o.bits}: codes of 1..256 bits`);
}

/** Runs the metrics benchmark (random codes, features and labels; the trainer's topKs and mapAt). */
export async function runMetricsBench(o: MetricsBenchOptions = {}): Promise<MetricsReport> {
  checkMetricsOptions(o);
  const log = o.log ?? ((s: string) => console.log(s));
  const c = { n: o.n ?? 50_000, q: o.q ?? 10_000, realQ: o.realQ ?? 1000, bits: o.bits ?? 48, classes: o.classes ?? 10, seed: o.seed ?? 1, repeats: o.repeats ?? 3 };
  const W = wordsPerCode(c.bits);
  const mask = c.bits % 32 === 0 ? 0xffffffff : 2 ** (c.bits % 32) - 1;
  const codes = (n: number, seed: number) => {
    const w = randomWords(n * W, seed);
    for (let i = W - 1; i < w.length; i += W) w[i] &= mask;
    return w;
  };
  const features = (n: number, seed: number) => Float32Array.from(randomValues(n * c.bits, seed));
  const labels = (n: number, seed: number) => Array.from(randomWords(n, seed), (x) => x % c.classes);
  const common = { dbLabels: labels(c.n, c.seed + 3000), bits: c.bits, topKs: [1, 10, 50, 100, 200, 500, 1000].filter((k) => k <= c.n), mapAt: [1000, 5000].filter((k) => k <= c.n) };
  const queryLabels = labels(Math.max(c.q, c.realQ), c.seed + 2000);
  const inputs: Record<MetricsRow['ranking'], RetrievalInput> = {
    binary: { ...common, queryCodes: codes(c.q, c.seed), dbCodes: codes(c.n, c.seed + 1000), queryLabels: queryLabels.slice(0, c.q) },
    real: { ...common, queryFeatures: features(c.realQ, c.seed + 4000), dbFeatures: features(c.n, c.seed + 5000), queryLabels: queryLabels.slice(0, c.realQ) },
  };
  log(header());
  log(`metrics   ${c.n} random database items, ${c.classes} classes (seed ${c.seed}): ${c.q} queries of ${c.bits}-bit codes (Hamming), ${c.realQ} of ${c.bits} features (squared Euclidean) · mAP@all, mAP@k, P@k, PR`);
  const threads = defaultRankThreads();
  const rows: MetricsRow[] = [];
  const results: Record<MetricsRow['ranking'], RetrievalMetrics[]> = { binary: [], real: [] };
  for (const ranking of ['binary', 'real'] as const) {
    const input = inputs[ranking], nq = input.queryLabels.length;
    const ways: [string, () => Promise<RetrievalMetrics>][] = [
      ['GPU (ops/rank.ts)', () => evaluateRetrievalGpu(input)],
      ['CPU, 1 thread', () => evaluateRetrievalParallel(input, { threads: 1 })],
    ];
    if (threads > 1) ways.push([`CPU, ${threads} threads`, () => evaluateRetrievalParallel(input, { threads })]);
    await ways[0][1](); // compiles the kernels
    for (const [way, run] of ways) {
      const samples: number[] = [];
      for (let r = 0; r < c.repeats; r++) {
        const t0 = performance.now();
        const m = await run();
        samples.push(performance.now() - t0);
        if (r === 0) results[ranking].push(m);
      }
      const ms = median(samples);
      rows.push({ ranking, way, ms, ms_samples: samples, ms_per_query: ms / nq });
      log(`${`${ranking}, ${way}`.padEnd(34)} ${fmt(ms)} ms (${fmt(ms / nq)} ms per query; runs ${samples.map((s) => fmt(s)).join(', ')})`);
    }
  }
  const strip = (m: RetrievalMetrics) => JSON.stringify({ ...m, seconds: 0 });
  const sameBits = results.binary.every((m) => strip(m) === strip(results.binary[0]));
  const ratio = (ranking: MetricsRow['ranking']) => {
    const mine = rows.filter((r) => r.ranking === ranking);
    return mine[0].ms / Math.min(...mine.slice(1).map((r) => r.ms));
  };
  const gpuVsCpu = { binary: ratio('binary'), real: ratio('real') };
  const realDiff = Math.abs(results.real[0].map - results.real[1].map);
  log(`check     binary: ${sameBits ? 'the same metrics to the bit on every way' : 'MISMATCH: the ways disagree'} (mAP@all ${results.binary[0].map.toFixed(6)}); real-valued: |GPU − CPU| mAP@all ${realDiff.toExponential(2)} (float32 against float64 distances)`);
  log(`GPU/CPU   binary ${fmt(gpuVsCpu.binary)}, real-valued ${fmt(gpuVsCpu.real)} (the GPU's time ÷ the fastest CPU way's: below 1 the GPU wins; knob rank.on is ${knob('rank.on')})`);
  return {
    adapter: runtime().info, host: hostCpu(), loadavg: loadavg(), date: new Date().toISOString(), config: c, rows, gpu_vs_cpu: gpuVsCpu, same_bits: sameBits,
    map: { binary: results.binary[0].map, real: results.real[1].map }, real_map_diff: realDiff,
  };
}
