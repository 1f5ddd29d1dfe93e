// Op family rank: the ranks of the relevant items of each query in a Hamming ranking (shaders/rank.wgsl), the input of
// the retrieval metrics (src/hash/metrics.ts: RetrievalAccumulator.addRelevantRanks). Not differentiable. The CPU
// reference is relevantRanks (src/hash/metrics.ts) over the ranking of src/cpu/codes.ts.
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';
import { wordsPerCode } from '../cpu/codes.js';

/** Most bytes of each per-batch scratch buffer (the per-tile counts). */
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
  const u32Matrix = (t: Tensor, cols: number) => t.dtype === 'u32' && t.shape.length === 2 && t.shape[1] === cols;
  if (!u32Matrix(queries, W)) throw new Error(`hammingRelevantRanks: queries ${queries.describe()} must be u32 [nq, ${W}] (${bits}-bit codes)`);
  if (!u32Matrix(db, W)) throw new Error(`hammingRelevantRanks: database ${db.describe()} must be u32 [n, ${W}] (${bits}-bit codes)`);
  const nq = queries.shape[0], n = db.shape[0];
  if (queryLabels.dtype !== 'u32' || queryLabels.size !== nq) throw new Error(`hammingRelevantRanks: query labels ${queryLabels.describe()} must be u32 [${nq}]`);
  if (dbLabels.dtype !== 'u32' || dbLabels.size !== n) throw new Error(`hammingRelevantRanks: database labels ${dbLabels.describe()} must be u32 [${n}]`);
  if (relevant.length !== nq) throw new Error(`hammingRelevantRanks: ${relevant.length} relevant counts for ${nq} queries`);
  const hb = bits + 1;
  const roff = new Uint32Array(nq);
  let total = 0;
  for (let q = 0; q < nq; q++) {
    if (relevant[q] > n) throw new Error(`hammingRelevantRanks: query ${q} has ${relevant[q]} relevant items in a database of ${n}`);
    roff[q] = total;
    total += relevant[q];
  }
  const ranks = Tensor.empty([total], 'u32', 'relevant ranks');
  const hist = Tensor.empty([nq, hb], 'u32', 'distance histograms');
  if (nq === 0) return { ranks, hist };

  const rt = runtime();
  const TILE = knob('rank.TILE'), WX = knob('rank.WX'), WG = knob('ops.WG');
  const tiles = Math.ceil(n / TILE);
  // One workgroup row per tile (≤ 65,535); a software adapter also caps one invocation's loop iterations at 65,535
  // (src/ops/hamming.ts: SOFTWARE_LOOP_CAP): rk_scan_tiles loops over the tiles, rk_count over the bins and a tile.
  if (tiles > 65535) throw new Error(`hammingRelevantRanks: ${n} codes make ${tiles} tiles of ${TILE} (at most 65,535); raise rank.TILE (TQHASH_KNOBS=rank.TILE=${Math.ceil(n / 65535 / 64) * 64}) or rank the database in parts`);
  const perQuery = tiles * hb * 4;
  if (perQuery > SCRATCH_BYTES) throw new Error(`hammingRelevantRanks: ${n} codes need ${perQuery} bytes of counts per query (at most ${SCRATCH_BYTES}); raise rank.TILE or rank the database in parts`);
  const batch = Math.max(1, Math.min(nq, Math.floor(SCRATCH_BYTES / perQuery), 65535 * WX));
  const CA = rt.alloc(batch * perQuery, 'rank tile counts');
  const CR = rt.alloc(batch * perQuery, 'rank tile relevant counts');
  const TR = rt.alloc(batch * hb * 4, 'rank relevant totals');
  const BA = rt.alloc(batch * hb * 4, 'rank bases');
  const BR = rt.alloc(batch * hb * 4, 'rank relevant bases');
  const roffT = rt.upload(roff, 'rank output offsets');
  const lastMask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const file = 'rank.wgsl';
  const ov = { W, WX, TILE, WG };
  const codes = { queries: queries.buffer, db: db.buffer, qlab: queryLabels.buffer, dblab: dbLabels.buffer };
  for (let q0 = 0; q0 < nq; q0 += batch) {
    const params = { nq: Math.min(batch, nq - q0), n, tiles, hb, lastMask, q0 };
    const perTile = [Math.ceil(params.nq / WX), tiles] as [number, number];
    rt.dispatch({ file, entry: 'rk_count', overrides: ov }, { bindings: { ...codes, CA, CR }, params, workgroups: perTile });
    rt.dispatch({ file, entry: 'rk_scan_tiles', overrides: ov }, { bindings: { CA, CR, TA: hist.buffer, TR }, params, workgroups: grid1d(params.nq * hb, WG) });
    rt.dispatch({ file, entry: 'rk_scan_bins', overrides: ov }, { bindings: { TA: hist.buffer, TR, BA, BR }, params, workgroups: grid1d(params.nq, WG) });
    rt.dispatch({ file, entry: 'rk_emit', overrides: ov }, { bindings: { ...codes, CA, CR, BA, BR, roff: roffT, ranks: ranks.buffer }, params, workgroups: perTile });
  }
  for (const b of [CA, CR, TR, BA, BR, roffT]) rt.free(b);
  return { ranks, hist };
}
