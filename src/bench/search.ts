// bench/search.js: exact Hamming top-k over random codes — the GPU kernel (when it is in the build) against the plain
// CPU implementation (packed words, popcount, counting), with a check that both return the same neighbours.
import { loadavg } from 'node:os';
import { Tensor, runtime, scope } from '../tensor.js';
import * as ops from '../ops/index.js';
import { hammingTopKCpu } from '../hash/index.js';
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
  /** Timed GPU repeats (median). Default 3. */
  repeats?: number;
  log?: (line: string) => void;
}

/** The report of bench/search.js. */
export interface SearchReport {
  adapter: AdapterInfo;
  loadavg: number[];
  date: string;
  config: { n: number; q: number; bits: number; k: number; seed: number };
  gpu: { available: boolean; qps: number | null; ms: number | null; upload_ms: number | null };
  cpu: { qps: number; ms: number };
  check: { compared: boolean; mismatched_queries: number; first?: string };
  faiss_reference_qps: number;
}

type GpuTopK = (q: Tensor, db: Tensor | readonly Tensor[], bits: number, k: number) => { indices: Tensor; distances: Tensor };

/** Throws a message naming the flag when a size is not a whole number ≥ 1 (bench/search.js checks before the GPU starts). */
export function checkSearchOptions(o: SearchBenchOptions): void {
  for (const name of ['n', 'q', 'bits', 'k', 'repeats'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`--${name} ${v}: need a whole number ≥ 1`);
  }
}

/** Runs the search benchmark and prints queries/s of GPU and CPU and the agreement check. */
export async function runSearchBench(o: SearchBenchOptions = {}): Promise<SearchReport> {
  const rt = runtime();
  const log = o.log ?? ((s: string) => console.log(s));
  checkSearchOptions(o);
  const n = o.n ?? 1_000_000, nq = o.q ?? 1000, bits = o.bits ?? 64, k = o.k ?? 100, seed = o.seed ?? 1, repeats = o.repeats ?? 3;
  const W = Math.ceil(bits / 32);
  log(header());
  log(`search    ${n} random ${bits}-bit codes (seed ${seed}) · ${nq} queries · exact top-${k} by Hamming distance, ties by lower index`);
  const mask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const db = randomWords(n * W, seed), queries = randomWords(nq * W, seed + 1000);
  if (W * 32 !== bits) for (let i = W - 1; i < db.length; i += W) db[i] &= mask;
  if (W * 32 !== bits) for (let i = W - 1; i < queries.length; i += W) queries[i] &= mask;
  const FAISS = 1040;

  // GPU (ops.hammingTopK; absent while its owner is still landing it).
  const gpuTopK = (ops as Record<string, unknown>).hammingTopK as GpuTopK | undefined;
  let gpu: SearchReport['gpu'] = { available: false, qps: null, ms: null, upload_ms: null };
  let gi: Uint32Array | null = null, gd: Uint32Array | null = null;
  if (typeof gpuTopK !== 'function') {
    log('GPU       ops.hammingTopK is missing from this build (src/ops/hamming.ts not landed yet): GPU search skipped');
  } else {
    // The database is uploaded once in segments that each fit one binding (as an index would hold it).
    const t0 = performance.now();
    const maxCodes = Math.floor(Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize) / (W * 4 * 4096)) * 4096;
    const segs: Tensor[] = [];
    for (let off = 0; off < n; off += maxCodes) {
      const m = Math.min(maxCodes, n - off);
      segs.push(Tensor.from(db.subarray(off * W, (off + m) * W), [m, W], 'u32').keep());
    }
    await rt.sync();
    const uploadMs = performance.now() - t0;
    const search = async () => {
      const r = scope(() => gpuTopK(Tensor.from(queries, [nq, W], 'u32'), segs, bits, k));
      const out = { i: (await r.indices.toArray()) as Uint32Array, d: (await r.distances.toArray()) as Uint32Array };
      r.indices.dispose();
      r.distances.dispose();
      return out;
    };
    const first = await search(); // compiles
    [gi, gd] = [first.i, first.d];
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      await search();
      times.push(performance.now() - t);
    }
    for (const s of segs) s.dispose();
    const ms = median(times);
    gpu = { available: true, qps: (1000 * nq) / ms, ms, upload_ms: uploadMs };
    log(`GPU       ${fmt(gpu.qps)} queries/s (${fmt(ms)} ms for ${nq} queries incl. query upload and result read-back, median of ${repeats}; database upload ${fmt(uploadMs)} ms, not counted)`);
  }

  // CPU: one pass (it is the reference of the check).
  const tc = performance.now();
  const ref = hammingTopKCpu(queries, db, nq, n, bits, k);
  const cpuMs = performance.now() - tc;
  const cpu = { qps: (1000 * nq) / cpuMs, ms: cpuMs };
  log(`CPU       ${fmt(cpu.qps)} queries/s (${fmt(cpuMs)} ms, src/hash hammingTopKCpu: packed words, popcount, counting; one thread)`);

  const check: SearchReport['check'] = { compared: false, mismatched_queries: 0 };
  if (gi && gd) {
    check.compared = true;
    const kk = Math.min(k, n);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < kk; j++) {
        const p = q * kk + j;
        if (gi[p] !== ref.indices[p] || gd[p] !== ref.distances[p]) {
          check.mismatched_queries++;
          check.first ??= `query ${q} rank ${j}: GPU (index ${gi[p]}, distance ${gd[p]}) vs CPU (index ${ref.indices[p]}, distance ${ref.distances[p]})`;
          break;
        }
      }
    }
    log(`check     ${check.mismatched_queries === 0 ? `GPU and CPU agree on all ${nq} queries (indices and distances)` : `${check.mismatched_queries} of ${nq} queries differ; first: ${check.first}`}`);
    log(`speed-up  GPU ${fmt(gpu.qps! / cpu.qps)}× the CPU implementation`);
  }
  log(`reference FAISS 1.7.3 IndexBinaryFlat (2 threads) ≈ ${FAISS} queries/s at 1,000,000 × 64 bits, 1,000 queries, k = 100 on this machine (DESIGN.md)`);
  return { adapter: rt.info, loadavg: loadavg(), date: new Date().toISOString(), config: { n, q: nq, bits, k, seed }, gpu, cpu, check, faiss_reference_qps: FAISS };
}
