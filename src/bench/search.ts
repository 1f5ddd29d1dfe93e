// tqhash bench search: exact Hamming top-k over random codes — the GPU kernel variants against the plain CPU implementation
// (packed words, popcount, counting), a check that all return the same neighbours, and the FAISS peer's ratio.
import { loadavg } from 'node:os';
import { cpuMsSince, cpuTimes, hostCpu, logSteal } from '../util/host.js';
import { createHash } from 'node:crypto';
import { Tensor, runtime, scope } from '../tensor.js';
import { hammingTopK, HAMMING_KNOBS, type HammingKnobs } from '../ops/hamming.js';
import { hammingTopK as hammingTopKCpu, wordsPerCode } from '../cpu/codes.js';
import { peerPython, peerRatios, readPeerFile, runPeer, type PeerReport } from './peers.js';
import { UsageError } from '../util/args.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { median } from './harness.js';
import { fmt, header, randomWords } from './util.js';

/** Options of runSearchBench (defaults: the DESIGN.md FAISS comparison: 1,000,000 codes, 1,000 queries, 64 bits, k 100). */
export interface SearchBenchOptions {
  n?: number;
  q?: number;
  bits?: number;
  k?: number;
  seed?: number;
  /** Timed GPU repeats (median). Default 5. */
  repeats?: number;
  /** Kernel variants to time side by side (HammingKnobs.variant); default the adapter preset's. */
  variants?: ('bmin' | 'hist')[];
  /** The FAISS peer: a peers.py JSON file, or true to run bench/peers/peers.py before and after our search. */
  peer?: string | true;
  log?: (line: string) => void;
}

/** One timed variant of the GPU search. */
export interface SearchVariantRow {
  variant: string;
  knobs: HammingKnobs;
  qps: number;
  ms: number;
  ms_samples: number[];
  /** Median CPU time of this process per search (user + system, all threads: llvmpipe's and Node's). */
  cpu_ms: number;
  mismatched_queries: number;
  first_mismatch?: string;
}

/** The report of bench/search.js. */
export interface SearchReport {
  adapter: AdapterInfo;
  /** The CPU (hostCpu()): a software adapter's speed is the CPU's. */
  host: string;
  loadavg: number[];
  loadavg_after: number[];
  /** Share of the machine's CPU time stolen by the VM host over the whole benchmark, ours and the peer's runs (null: unknown). */
  steal: number | null;
  date: string;
  config: { n: number; q: number; bits: number; k: number; seed: number; repeats: number };
  /** The first variant (the preset unless --variants says otherwise). */
  gpu: { available: boolean; variant?: string; qps: number | null; ms: number | null; upload_ms: number | null };
  variants: SearchVariantRow[];
  cpu: { qps: number; ms: number };
  check: { compared: boolean; mismatched_queries: number; first?: string };
  /** The FAISS peer of this run (before and after ours when run here), and ours ÷ its mean. */
  peer: { runs: { when: string; engine: string; qps: number; ms: number; cpu_ms?: number; loadavg?: number[]; date?: string; source: string }[]; ratio: number | null; cpu_ratio: number | null; same_distances: boolean | null; skipped?: string } | null;
}

type GpuTopK = (q: Tensor, db: Tensor | readonly Tensor[], bits: number, k: number) => { indices: Tensor; distances: Tensor };

/** Throws a UsageError naming the flag when a size is not a whole number ≥ 1 or a variant unknown (bench/search.js checks
 *  before the GPU starts). */
export function checkSearchOptions(o: SearchBenchOptions): void {
  for (const name of ['n', 'q', 'bits', 'k', 'repeats'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`--${name} ${v}: need a whole number ≥ 1`);
  }
  for (const v of o.variants ?? []) if (v !== 'bmin' && v !== 'hist') throw new UsageError(`--variants ${v}: use bmin and/or hist`);
  const n = o.n ?? 1_000_000, k = o.k ?? 100;
  if (k > n) throw new UsageError(`--k ${k}: more neighbours than the ${n} database codes (--n); use --k ≤ ${n}`);
}

type Config = SearchReport['config'];

/** Runs the search benchmark: the GPU variants, the CPU reference (and agreement), and the FAISS peer ratio. */
export async function runSearchBench(o: SearchBenchOptions = {}): Promise<SearchReport> {
  const rt = runtime();
  const log = o.log ?? ((s: string) => console.log(s));
  checkSearchOptions(o);
  // A peer file is read first: a wrong one is an error before anything is measured, not after.
  const peerFile = typeof o.peer === 'string' ? readPeerFile(o.peer, 'search') : undefined;
  const c: Config = { n: o.n ?? 1_000_000, q: o.q ?? 1000, bits: o.bits ?? 64, k: o.k ?? 100, seed: o.seed ?? 1, repeats: o.repeats ?? 5 };
  const { n, q: nq, bits, k, seed } = c;
  const variants = o.variants ?? [HAMMING_KNOBS.variant];
  const W = wordsPerCode(bits);
  const load0 = loadavg(), times0 = cpuTimes();
  log(header());
  log(`search    ${n} random ${bits}-bit codes (seed ${seed}) · ${nq} queries · exact top-${k} by Hamming distance, ties by lower index`);
  const mask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const db = randomWords(n * W, seed), queries = randomWords(nq * W, seed + 1000);
  if (W * 32 !== bits) for (let i = W - 1; i < db.length; i += W) db[i] &= mask;
  if (W * 32 !== bits) for (let i = W - 1; i < queries.length; i += W) queries[i] &= mask;

  // The peer, first run (or its file).
  const peer = new SearchPeer(c, log);
  if (peerFile) peer.take(peerFile, `file ${o.peer as string}`);
  else if (o.peer === true) peer.runNow('before ours');

  const { rows, results, uploadMs } = await timeVariants(c, db, queries, variants, log);
  if (o.peer === true) peer.runNow('after ours');
  // The headline (and the peer ratio) is the fastest variant timed: which one wins differs by adapter.
  const bi = rows.reduce((b, r, i) => (r.qps > rows[b].qps ? i : b), 0), best = rows[bi];
  const gpu = { available: true, variant: best.variant, qps: best.qps, ms: best.ms, upload_ms: uploadMs };

  // CPU: one pass (it is the reference of the check).
  const tc = performance.now();
  const ref = hammingTopKCpu(queries, db, nq, n, bits, k);
  const cpuMs = performance.now() - tc;
  const cpu = { qps: (1000 * nq) / cpuMs, ms: cpuMs };
  log(`CPU       ${fmt(cpu.qps)} queries/s (${fmt(cpuMs)} ms, src/cpu/codes.ts hammingTopK: packed words, popcount, counting; one thread)`);
  rows.forEach((row, v) => compareWithCpu(row, results[v], ref, nq, Math.min(k, n), log));
  const check = { compared: true, mismatched_queries: best.mismatched_queries, first: best.first_mismatch };
  log(`speed-up  GPU ${fmt(gpu.qps / cpu.qps)}× the CPU implementation`);

  let peerReport: SearchReport['peer'] = null;
  if (o.peer !== undefined && rows.length > 1) log(`ratio     for the fastest variant, ${best.variant}`);
  if (o.peer !== undefined) peerReport = peer.summary(gpu.qps, best.cpu_ms, results[bi].d);
  else log('peer      (none: --peer runs FAISS IndexBinaryFlat from bench/peers/peers.py in this run, --peer FILE reads its JSON)');
  const steal = logSteal(times0, 'during this benchmark', log);
  return {
    adapter: rt.info, host: hostCpu(), loadavg: load0, loadavg_after: loadavg(), steal, date: new Date().toISOString(), config: c,
    gpu, variants: rows, cpu, check, peer: peerReport,
  };
}

/** Uploads the database once in segments that each fit one binding (as an index would hold it), then times each
 *  variant's search (first call compiles; median of the repeats); returns the rows and each variant's first result. */
async function timeVariants(c: Config, db: Uint32Array, queries: Uint32Array, variants: ('bmin' | 'hist')[], log: (s: string) => void) {
  const rt = runtime();
  const { n, q: nq, bits, k, repeats } = c;
  const W = wordsPerCode(bits);
  const t0 = performance.now();
  const maxCodes = Math.floor(Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize) / (W * 4 * 4096)) * 4096;
  const segs: Tensor[] = [];
  for (let off = 0; off < n; off += maxCodes) {
    const m = Math.min(maxCodes, n - off);
    segs.push(Tensor.from(db.subarray(off * W, (off + m) * W), [m, W], 'u32').keep());
  }
  await rt.sync();
  const uploadMs = performance.now() - t0;
  const results: { i: Uint32Array; d: Uint32Array }[] = [];
  const rows: SearchVariantRow[] = [];
  for (const variant of variants) {
    const knobs = { ...HAMMING_KNOBS, variant };
    const search = async () => {
      const r = scope(() => hammingTopK(Tensor.from(queries, [nq, W], 'u32'), segs, bits, k, knobs));
      const out = { i: (await r.indices.toArray()) as Uint32Array, d: (await r.distances.toArray()) as Uint32Array };
      r.indices.dispose();
      r.distances.dispose();
      return out;
    };
    results.push(await search()); // compiles
    const times: number[] = [], cpus: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now(), cu = process.cpuUsage();
      await search();
      const dc = cpuMsSince(cu);
      times.push(performance.now() - t);
      cpus.push(dc);
    }
    const ms = median(times), cpuMs = median(cpus);
    rows.push({ variant, knobs, qps: (1000 * nq) / ms, ms, ms_samples: times, cpu_ms: cpuMs, mismatched_queries: 0 });
    log(`GPU       ${variant.padEnd(5)} ${fmt((1000 * nq) / ms)} queries/s (${fmt(ms)} ms for ${nq} queries incl. query upload and result read-back, median of ${repeats}: ${times.map((t) => fmt(t)).join(' ')}; CPU ${fmt(cpuMs)} ms) · knobs ${JSON.stringify(knobs)}`);
  }
  for (const s of segs) s.dispose();
  log(`          database upload ${fmt(uploadMs)} ms, not counted`);
  return { rows, results, uploadMs };
}

/** Counts the queries whose top-kk (indices and distances) differ from the CPU reference's; logs the verdict. */
function compareWithCpu(row: SearchVariantRow, got: { i: Uint32Array; d: Uint32Array }, ref: { indices: Uint32Array; distances: Uint32Array }, nq: number, kk: number, log: (s: string) => void): void {
  const { i: gi, d: gd } = got;
  for (let qi = 0; qi < nq; qi++) {
    for (let j = 0; j < kk; j++) {
      const p = qi * kk + j;
      if (gi[p] !== ref.indices[p] || gd[p] !== ref.distances[p]) {
        row.mismatched_queries++;
        row.first_mismatch ??= `query ${qi} rank ${j}: GPU (index ${gi[p]}, distance ${gd[p]}) vs CPU (index ${ref.indices[p]}, distance ${ref.distances[p]})`;
        break;
      }
    }
  }
  log(`check     ${row.variant.padEnd(5)} ${row.mismatched_queries === 0 ? `GPU and CPU agree on all ${nq} queries (indices and distances)` : `${row.mismatched_queries} of ${nq} queries differ; first: ${row.first_mismatch}`}`);
}

/** FAISS IndexBinaryFlat on the same codes (bench/peers/peers.py): its runs in this benchmark and the ratios to ours. */
class SearchPeer {
  readonly runs: NonNullable<SearchReport['peer']>['runs'] = [];
  private skipped: string | undefined;
  /** sha256 of the peer's [q, k] distances, when it searched exactly these codes. */
  private sha: string | undefined;

  constructor(private readonly c: Config, private readonly log: (s: string) => void) {}

  /** Adds a peers.py report (run now or read from a file). */
  take(r: PeerReport, when: string): void {
    const { n, q: nq, bits, k, seed } = this.c;
    const s = r.search!;
    const c = s.config;
    if (c.n !== n || c.q !== nq || c.bits !== bits || c.k !== k) this.log(`peer      WARNING: ${r.source} searched ${c.n} × ${c.bits} bits, ${c.q} queries, k ${c.k}; this run: ${n} × ${bits}, ${nq}, ${k}`);
    this.runs.push({ when, engine: s.engine, qps: s.qps, ms: s.ms, cpu_ms: s.cpu_ms, loadavg: r.loadavg, date: r.date, source: r.source });
    this.sha ??= c.n === n && c.q === nq && c.bits === bits && c.k === k && c.seed === seed ? s.distances_sha256 : undefined;
    this.log(`peer      ${s.engine}: ${fmt(s.qps)} queries/s (${fmt(s.ms)} ms, median${s.cpu_ms ? `; CPU ${fmt(s.cpu_ms)} ms` : ''}; ${when}; load ${r.loadavg?.map((x) => x.toFixed(2)).join(' ') ?? '?'})`);
  }

  /** Runs peers.py search now (skipped, with the reason, when it cannot run). */
  runNow(when: string): void {
    const { n, q, bits, k, seed, repeats } = this.c;
    this.log(`peer      running ${peerPython()} bench/peers/peers.py search (${when}) …`);
    const r = runPeer('search', ['--n', `${n}`, '--q', `${q}`, '--search-bits', `${bits}`, '--k', `${k}`, '--seed', `${seed}`, '--repeats', `${repeats}`, '--threads', '2']);
    if (r.report) this.take(r.report, when);
    else { this.skipped = r.reason; this.log(`peer      skipped: ${r.reason}`); }
  }

  /** Ours ÷ the peer's mean queries/s, the peer's CPU time ÷ ours, and whether its distances equal ours (`d`). */
  summary(qps: number, ourCpu: number, d: Uint32Array): NonNullable<SearchReport['peer']> {
    const runs = this.runs;
    let same: boolean | null = null;
    if (this.sha) {
      same = createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex') === this.sha;
      this.log(`check     FAISS's top-${this.c.k} distances ${same ? 'equal ours (sha256 of the [q, k] distances)' : 'DIFFER from ours (sha256 of the [q, k] distances)'}`);
    }
    const r = peerRatios('search', 'queries/s', qps, ourCpu, runs.map((p) => ({ engine: p.engine, value: p.qps, cpu_ms: p.cpu_ms, when: p.when })), this.log);
    return { runs, ...r, same_distances: same, skipped: this.skipped };
  }
}
