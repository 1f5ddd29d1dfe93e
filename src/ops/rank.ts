// Op family rank: the ranks of the relevant items of each query in a Hamming or a squared-Euclidean ranking
// (shaders/rank.wgsl), the input of the retrieval metrics (src/hash/metrics.ts: RetrievalAccumulator.addHammingRanks,
// addEuclideanRanks). Not differentiable. The CPU reference is the accumulator's own ranking (rankRow, radixOrder).
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';
import { wordsPerCode } from '../cpu/codes.js';
import type { PooledBuffer } from '../gpu/buffers.js';

/** Most bytes of each per-batch scratch buffer (the per-tile counts, the keys). */
const SCRATCH_BYTES = 32 * 2 ** 20;

/** Result of hammingRelevantRanks. */
export interface RelevantRanks {
  /** u32 [Σ relevant]: query q's relevant items' 1-based ranks, ascending, from offset Σ_{q' < q} relevant[q']. */
  ranks: Tensor;
  /** u32 [nq, bits + 1]: items at each Hamming distance, per query. */
  hist: Tensor;
}

/**
 * For each query, the database ranked by Hamming distance ascending, ties by index ascending, and the 1-based ranks of
 * the items whose label equals the query's, in rank order; plus each query's distance histogram. `relevant[q]` is the
 * number of database items with query q's label (the caller counts them; it sizes the output). Codes of `bits` bits,
 * u32 [n, ceil(bits/32)], high bits of the last word ignored; labels u32 (int32 bit patterns).
 */
export function hammingRelevantRanks(queries: Tensor, db: Tensor, queryLabels: Tensor, dbLabels: Tensor, bits: number, relevant: Uint32Array): RelevantRanks {
  if (!Number.isInteger(bits) || bits < 1 || bits > 256) throw new Error(`hammingRelevantRanks: bits = ${bits}; codes of 1..256 bits are supported`);
  const W = wordsPerCode(bits);
  checkItems('hammingRelevantRanks', queries, db, 'u32', W, `(${bits}-bit codes)`);
  const nq = queries.shape[0];
  const hist = Tensor.empty([nq, bits + 1], 'u32', 'distance histograms');
  const lastMask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const ranks = relevantRanks('hammingRelevantRanks', queries, db, queryLabels, dbLabels, relevant, {
    keys: { entry: 'rk_hamming', overrides: { W }, params: { lastMask } },
    passes: [{ shift: 0, mask: 511, bins: bits + 1 }],
    hist,
  });
  return { ranks, hist };
}

/**
 * As hammingRelevantRanks, ranked by the squared Euclidean distance Σ_c (q_c − x_c)², summed in float32 in order of c
 * (ties — equal float32 sums — by index ascending): the ranks of the relevant items, u32 [Σ relevant]. Features f32
 * [n, dim], finite (the caller checks). Float32 sums can order two nearly equal distances differently from the CPU
 * ranking's float64 ones (rounded to float32); equal exactly where both are exact (integer features, say).
 */
export function euclideanRelevantRanks(queries: Tensor, db: Tensor, queryLabels: Tensor, dbLabels: Tensor, relevant: Uint32Array): Tensor {
  const dim = queries.shape[1] ?? 0;
  checkItems('euclideanRelevantRanks', queries, db, 'f32', dim, '(features)');
  if (dim < 1) throw new Error(`euclideanRelevantRanks: queries ${queries.describe()} have no features`);
  // The f32 bits of a distance ≥ 0 in 4 digits of 8 bits, least significant first (an LSD radix sort, stable).
  return relevantRanks('euclideanRelevantRanks', queries, db, queryLabels, dbLabels, relevant, {
    keys: { entry: 'rk_euclid', overrides: {}, params: { dim } },
    passes: [0, 8, 16, 24].map((shift) => ({ shift, mask: 255, bins: 256 })),
  });
}

function checkItems(who: string, queries: Tensor, db: Tensor, dtype: 'u32' | 'f32', cols: number, what: string): void {
  const ok = (t: Tensor) => t.dtype === dtype && t.shape.length === 2 && t.shape[1] === cols;
  if (!ok(queries)) throw new Error(`${who}: queries ${queries.describe()} must be ${dtype} [nq, ${cols || 'k'}] ${what}`);
  if (!ok(db)) throw new Error(`${who}: database ${db.describe()} must be ${dtype} [n, ${cols}] ${what}`);
}

interface RankPlan {
  /** The kernel that writes each (query, item)'s key. */
  keys: { entry: string; overrides: Record<string, number>; params: Record<string, number> };
  /** Stable counting sorts by digit, in order; the last one emits the ranks. */
  passes: { shift: number; mask: number; bins: number }[];
  /** Where the last pass's per-digit totals go ([nq, bins]; the Hamming histograms). */
  hist?: Tensor;
}

// The ranks of the relevant items of every query: the keys, then each pass (count, scans, scatter or emit), in
// batches of queries whose scratch fits SCRATCH_BYTES per buffer.
function relevantRanks(who: string, queries: Tensor, db: Tensor, queryLabels: Tensor, dbLabels: Tensor, relevant: Uint32Array, plan: RankPlan): Tensor {
  const nq = queries.shape[0], n = db.shape[0];
  if (queryLabels.dtype !== 'u32' || queryLabels.size !== nq) throw new Error(`${who}: query labels ${queryLabels.describe()} must be u32 [${nq}]`);
  if (dbLabels.dtype !== 'u32' || dbLabels.size !== n) throw new Error(`${who}: database labels ${dbLabels.describe()} must be u32 [${n}]`);
  if (relevant.length !== nq) throw new Error(`${who}: ${relevant.length} relevant counts for ${nq} queries`);
  const roff = new Uint32Array(nq);
  let total = 0;
  for (let q = 0; q < nq; q++) {
    if (relevant[q] > n) throw new Error(`${who}: query ${q} has ${relevant[q]} relevant items in a database of ${n}`);
    roff[q] = total;
    total += relevant[q];
  }
  const ranks = Tensor.empty([total], 'u32', 'relevant ranks');
  if (nq === 0 || n === 0) {
    if (plan.hist && nq > 0) runtime().zero(plan.hist.buffer);
    return ranks;
  }
  const rt = runtime();
  const TILE = knob('rank.TILE'), WX = knob('rank.WX'), WG = knob('ops.WG');
  const tiles = Math.ceil(n / TILE);
  // One workgroup row per tile (≤ 65,535); a software adapter also caps one invocation's loop iterations at 65,535
  // (src/ops/hamming.ts: SOFTWARE_LOOP_CAP): rk_scan_tiles loops over the tiles, rk_count over the digits and a tile.
  if (tiles > 65535) throw new Error(`${who}: ${n} items make ${tiles} tiles of ${TILE} (at most 65,535); raise rank.TILE (TQHASH_KNOBS=rank.TILE=4096) or rank the database in parts`);
  const bins = Math.max(...plan.passes.map((s) => s.bins));
  const perQuery = Math.max(tiles * bins * 4, n * 4);
  if (perQuery > SCRATCH_BYTES) throw new Error(`${who}: ${n} items need ${perQuery} bytes of scratch per query (at most ${SCRATCH_BYTES}); raise rank.TILE or rank the database in parts`);
  const batch = Math.max(1, Math.min(nq, Math.floor(SCRATCH_BYTES / perQuery), 65535 * WX));
  const radix = plan.passes.length > 1;
  const scratch: PooledBuffer[] = [];
  const alloc = (bytes: number, label: string) => (scratch.push(rt.alloc(bytes, label)), scratch[scratch.length - 1]);
  const CA = alloc(batch * tiles * bins * 4, 'rank tile counts'), CR = alloc(batch * tiles * bins * 4, 'rank tile relevant counts');
  const TA = alloc(batch * bins * 4, 'rank totals'), TR = alloc(batch * bins * 4, 'rank relevant totals');
  const B = alloc(batch * bins * 8, 'rank bases');
  const K = [alloc(batch * n * 4, 'rank keys'), ...(radix ? [alloc(batch * n * 4, 'rank keys')] : [])];
  const I = radix ? [alloc(batch * n * 4, 'rank indices'), alloc(batch * n * 4, 'rank indices')] : [];
  const roffT = alloc(nq * 4, 'rank output offsets');
  rt.write(roffT, roff);
  const file = 'rank.wgsl';
  const ov = { WX, TILE, WG };
  const labels = { qlab: queryLabels.buffer, dblab: dbLabels.buffer };
  for (let q0 = 0; q0 < nq; q0 += batch) {
    const common = { nq: Math.min(batch, nq - q0), n, tiles, q0 };
    const perTile = [Math.ceil(common.nq / WX), tiles] as [number, number];
    const itemsIn: Record<string, PooledBuffer> = plan.keys.entry === 'rk_hamming' ? { queries: queries.buffer, db: db.buffer } : { qf: queries.buffer, dbf: db.buffer };
    rt.dispatch({ file, entry: plan.keys.entry, overrides: { ...ov, ...plan.keys.overrides } }, { bindings: { ...itemsIn, Kout: K[0] }, params: { ...common, ...plan.keys.params }, workgroups: grid1d(common.nq * n, WG) });
    plan.passes.forEach((pass, k) => {
      const first = k === 0, last = k === plan.passes.length - 1;
      // Pass k reads the keys (and indices) pass k − 1 wrote; the first reads the keys in index order (Iin unread).
      const Kin = K[k % 2], Iin = first ? Kin : I[k % 2];
      const params = { ...common, hb: pass.bins, shift: pass.shift, mask: pass.mask, first: first ? 1 : 0, last: last ? 1 : 0 };
      rt.dispatch({ file, entry: 'rk_count', overrides: ov }, { bindings: { ...labels, Kin, Iin, CA, CR }, params, workgroups: perTile });
      rt.dispatch({ file, entry: 'rk_scan_tiles', overrides: ov }, { bindings: { CA, CR, TA, TR }, params, workgroups: grid1d(common.nq * pass.bins, WG) });
      rt.dispatch({ file, entry: 'rk_scan_bins', overrides: ov }, { bindings: { TA, TR, B, roff: roffT }, params, workgroups: grid1d(common.nq, WG) });
      if (!last) {
        rt.dispatch({ file, entry: 'rk_scatter', overrides: ov }, { bindings: { Kin, Iin, CA, B, Kout: K[(k + 1) % 2], Iout: I[(k + 1) % 2] }, params, workgroups: perTile });
        return;
      }
      rt.dispatch({ file, entry: 'rk_emit', overrides: ov }, { bindings: { ...labels, Kin, Iin, CA, CR, B, ranks: ranks.buffer }, params, workgroups: perTile });
      if (plan.hist) rt.dispatch({ file, entry: 'rk_hist', overrides: ov }, { bindings: { TA, hist: plan.hist.buffer }, params, workgroups: grid1d(common.nq * pass.bins, WG) });
    });
  }
  for (const b of scratch) rt.free(b);
  return ranks;
}
