// Op family hamming: exact bitwise Hamming top-k (shaders/hamming.wgsl), not differentiable. Two variants per query
// batch: `bmin` (block minima in registers → per-query threshold and K' candidate blocks → candidates → counting-sort
// top-k) and `hist` (distance histograms per chunk → per-query threshold + counting-sort offsets → collection).
import { Tensor, runtime } from '../tensor.js';
import { debug } from '../config.js';
import type { BufferArg } from '../gpu/runtime.js';
import { grid1d } from '../gpu/grid.js';
import { wordsPerCode } from '../cpu/codes.js';
import { knobView } from '../gpu/knobs.js';

/** Knobs of the Hamming top-k (override constants of shaders/hamming.wgsl). */
export interface HammingKnobs {
  /**
   * Kernel variant: `bmin` (default) block minima in registers, a per-query threshold over them, then the exact top-k
   * among the codes of K' = min(k, blocks) candidate blocks; `hist` per-chunk distance histograms in workgroup memory (the
   * first version: one memory read-modify-write per query–code pair).
   */
  variant: 'bmin' | 'hist';
  /** Codes per chunk (one workgroup row; `hist`: one histogram per query and chunk); a multiple of BLK, of 2·MBLK and of 64. */
  CH: number;
  /** `hist`: codes per skip block (collection rescans only blocks holding a code within the threshold). */
  BLK: number;
  /** Invocations per workgroup, each with 4 queries (`bmin`: 4·QV) (the SIMD lanes on llvmpipe: keep ≥ 8). */
  WX: number;
  /** `bmin`: vec4 query groups per invocation of the block-minimum pass (each database load feeds 4·QV popcounts; at most 8 and 16 / W). */
  QV: number;
  /** `bmin`: codes per block minimum, a multiple of 4 (the candidate blocks hold K'·MBLK codes per query). */
  MBLK: number;
  /** `bmin`: the per-query threshold over the block minima by SWAR counts in registers (`swar`) or a workgroup histogram (`hist`). */
  thresh: 'swar' | 'hist';
}

/**
 * The knobs in use, a view of the registry (src/gpu/knobs.ts): on software adapters `bmin`, measured on llvmpipe
 * (bench/NOTES-search.md); on hardware GPUs `hist`, the variant measured on the H200 (31.7 k queries/s, DESIGN.md),
 * until a device run times `bmin` there (bench/device.sh times both).
 */
export const HAMMING_KNOBS: HammingKnobs = knobView('hamming', ['variant', 'CH', 'BLK', 'WX', 'QV', 'MBLK', 'thresh']);

/**
 * llvmpipe and lavapipe (Mesa's gallivm, 22.3 measured) end a shader invocation after 65,535 loop iterations in total,
 * all its loops together, and the results are silently wrong (scratch test: a second loop of 40,000 after a first of
 * 40,000 ran 25,534 times). Unrolled constant loops do not count.
 */
export const SOFTWARE_LOOP_CAP = 65535;

/**
 * An upper bound of the loop iterations of one invocation of the variant's busiest kernel (from the loops of
 * shaders/hamming.wgsl; small constant-trip loops are unrolled and not counted): checked against SOFTWARE_LOOP_CAP.
 */
export function hammingLoopIterations(kn: HammingKnobs, s: { nchunks: number; N: number; ranges: number; bits: number; k: number }): number {
  if (kn.variant === 'hist') {
    const hb = s.bits + 1, perChunk = (kn.CH / kn.BLK) * (kn.BLK + 5);
    return Math.max(2 * s.nchunks * hb + 2 * hb + 2, 8 * hb + perChunk, 4 * hb + perChunk + 4);
  }
  const nv = Math.ceil((s.nchunks * (kn.CH / (2 * kn.MBLK))) / 4);
  let sweeps = 0;
  for (let width = s.bits + 1; width > 1; width = Math.ceil(width / 9)) sweeps++;
  const kb = Math.min(s.k, Math.ceil(s.N / kn.MBLK) + s.ranges);
  return Math.max(
    (kn.CH / kn.MBLK) * (kn.MBLK / 4 + 4) + kn.CH / (2 * kn.MBLK) + 2, // hb_min
    (sweeps + 1) * (nv + 1) + 2 * sweeps + 2, // hb_thresh
    kb * (kn.MBLK / 4 + 5) + 1, // hb_cand
    2 * (kb * kn.MBLK + 1) + 2 * (s.bits + 2), // hb_select
  );
}

/** Result of hammingTopK: [nq, k] u32 database indices and distances, nearest first, ties by lower index. */
export interface HammingTopK {
  indices: Tensor;
  distances: Tensor;
}

/** Most bytes of per-batch scratch (histograms, block minima) per buffer. */
const SCRATCH_BYTES = 32 * 2 ** 20;

/**
 * Exact Hamming top-k of queries [nq, W] against a database given as one or more u32 tensors [n_s, W] (segments, in
 * index order; a segment larger than one binding is split here) → indices and distances [nq, min(k, N)], sorted by
 * (distance, index). k > N clamps to N (as hammingTopKCpu; an empty database gives [nq, 0]). Codes of `bits` bits, W = ceil(bits/32) words, high bits ignored.
 */
export function hammingTopK(queries: Tensor, db: Tensor | readonly Tensor[], bits: number, k: number, knobs: Partial<HammingKnobs> = {}): HammingTopK {
  const kn = { ...HAMMING_KNOBS, ...knobs };
  if (!Number.isInteger(bits) || bits < 1 || bits > 256) throw new Error(`hammingTopK: bits = ${bits}; codes of 1..256 bits are supported`);
  const W = wordsPerCode(bits);
  const segs = Array.isArray(db) ? (db as readonly Tensor[]) : [db as Tensor];
  if (queries.dtype !== 'u32' || queries.shape.length !== 2 || queries.shape[1] !== W) throw new Error(`hammingTopK: queries ${queries.describe()} must be u32 [nq, ${W}] (${bits}-bit codes)`);
  for (const s of segs) {
    if (s.dtype !== 'u32' || s.shape.length !== 2 || s.shape[1] !== W) throw new Error(`hammingTopK: database ${s.describe()} must be u32 [n, ${W}] (${bits}-bit codes)`);
  }
  if (!Number.isInteger(k) || k < 0) throw new Error(`hammingTopK: k = ${k} must be a non-negative integer (k > N clamps to N)`);
  if (kn.CH % kn.BLK || kn.CH % 64) throw new Error(`hammingTopK: chunk ${kn.CH} must be a multiple of the block ${kn.BLK} and of 64`);
  const nq = queries.shape[0];
  const N = segs.reduce((a, s) => a + s.shape[0], 0);
  if (N > 0xffffffff) throw new Error(`hammingTopK: ${N} codes; indices are u32 (at most 2³² − 1 codes)`);
  const kk = Math.min(k, N);
  const indices = Tensor.empty([nq, kk], 'u32', 'topk indices');
  const distances = Tensor.empty([nq, kk], 'u32', 'topk distances');
  if (nq === 0 || kk === 0) return { indices, distances };

  const rt = runtime();
  if (kn.variant !== 'bmin' && kn.variant !== 'hist') throw new Error(`hammingTopK: variant "${kn.variant}"; use 'bmin' or 'hist'`);
  if (kn.variant === 'bmin' && kn.CH % (2 * kn.MBLK)) throw new Error(`hammingTopK: chunk ${kn.CH} must be a multiple of 2·MBLK = ${2 * kn.MBLK} (two block minima per word)`);
  if (kn.variant === 'bmin' && kn.thresh !== 'swar' && kn.thresh !== 'hist') throw new Error(`hammingTopK: thresh "${kn.thresh}"; use 'swar' or 'hist'`);
  if (kn.variant === 'bmin' && kn.MBLK % 4) throw new Error(`hammingTopK: MBLK = ${kn.MBLK} must be a multiple of 4 (vec4 loads of 4 codes)`);
  if (kn.variant === 'bmin' && !(Number.isInteger(kn.QV) && kn.QV >= 1)) throw new Error(`hammingTopK: QV = ${kn.QV} must be a positive integer`);
  // Segments → binding ranges of whole chunks (chunk bytes are a multiple of 256, the offset alignment).
  const maxCodes = Math.floor(rt.limits.maxStorageBufferBindingSize / (W * 4 * kn.CH)) * kn.CH;
  const ranges: Range[] = [];
  let base = 0, chunk0 = 0;
  for (const s of segs) {
    for (let off = 0; off < s.shape[0]; off += maxCodes) {
      const n = Math.min(maxCodes, s.shape[0] - off);
      ranges.push({ arg: { buffer: s.buffer.buffer, offset: off * W * 4, size: n * W * 4 }, n, base: base + off, chunk0 });
      chunk0 += Math.ceil(n / kn.CH);
    }
    base += s.shape[0];
  }
  const lastMask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  // Software adapters stop an invocation after SOFTWARE_LOOP_CAP loop iterations: take the preset's other variant when
  // the preset's would exceed it, and refuse (with the fix) what neither can do or what the caller asked for explicitly.
  if (rt.info.software) {
    const shape = { nchunks: chunk0, N, ranges: ranges.length, bits, k: kk };
    const need = (v: HammingKnobs['variant']) => hammingLoopIterations({ ...kn, variant: v }, shape);
    if (need(kn.variant) > SOFTWARE_LOOP_CAP) {
      const other = kn.variant === 'bmin' ? 'hist' : 'bmin';
      if (knobs.variant === undefined && need(other) <= SOFTWARE_LOOP_CAP) {
        debug(`hammingTopK: variant ${kn.variant} would need ${need(kn.variant)} loop iterations per invocation (cap ${SOFTWARE_LOOP_CAP}); using ${other}`);
        kn.variant = other;
      } else {
        throw new Error(`hammingTopK: variant ${kn.variant} needs up to ${need(kn.variant)} loop iterations in one invocation for ${N} codes of ${bits} bits and k = ${kk}${knobs.variant === undefined ? ` (variant ${other}: ${need(other)})` : ''}; this software adapter (${rt.info.name}) stops an invocation after ${SOFTWARE_LOOP_CAP}, which would give wrong results. Use a smaller k${knobs.variant === undefined ? '' : ' or the other variant'}, or search the database in parts and merge (for 'hist' a larger CH also helps)`);
      }
    }
  }
  const plan: Plan = { queries, indices, distances, ranges, nchunks: chunk0, nq, N, bits, W, kk, lastMask };
  if (kn.variant === 'hist') recordHist(plan, kn);
  else recordBmin(plan, kn);
  return { indices, distances };
}

interface Range {
  arg: BufferArg;
  n: number;
  base: number;
  chunk0: number;
}

interface Plan {
  queries: Tensor;
  indices: Tensor;
  distances: Tensor;
  ranges: Range[];
  nchunks: number;
  nq: number;
  N: number;
  bits: number;
  W: number;
  kk: number;
  lastMask: number;
}

/** Largest query batch whose scratch buffers each stay within SCRATCH_BYTES (perQuery: the largest buffer's bytes per query). */
function queryBatch(nq: number, N: number, perQuery: number, maxPerDispatch: number): number {
  if (perQuery > SCRATCH_BYTES) throw new Error(`hammingTopK: ${N} codes need ${perQuery} bytes of scratch per query; split the database into several searches`);
  return Math.max(1, Math.min(nq, Math.floor(SCRATCH_BYTES / perQuery), maxPerDispatch));
}

/** Variant `bmin`: block minima → per-query threshold and candidate blocks → candidates → counting-sort top-k. */
function recordBmin(pl: Plan, kn: HammingKnobs): void {
  const rt = runtime();
  const { W, bits, kk, nchunks, ranges } = pl;
  const QV = Math.max(1, Math.min(kn.QV, 8, Math.floor(16 / W)));
  const wpq = Math.ceil((nchunks * (kn.CH / (2 * kn.MBLK))) / 4) * 4; // words of block minima per query, whole vec4s
  const nblk = ranges.reduce((a, r) => a + Math.ceil(r.n / kn.MBLK), 0);
  const target = Math.min(kk, nblk);
  const cap = target * kn.MBLK + 1;
  // Lanes of the per-query kernels: hb_thresh_hist and hb_select hold a histogram of bits + 2 bins per lane in
  // workgroup memory, so 256-bit codes get 15 lanes where the adapter has only WebGPU's default 16 KiB.
  const WQ = Math.max(1, Math.min(16, Math.floor(rt.limits.maxComputeWorkgroupStorageSize / (4 * (bits + 2)))));
  const batch = queryBatch(pl.nq, pl.N, Math.max(wpq, cap, kk + 1) * 4, 65535 * Math.min(4 * QV * kn.WX, WQ));
  const P = rt.alloc(batch * wpq * 4, 'hamming block minima');
  const L = rt.alloc(batch * (kk + 1) * 4, 'hamming candidate blocks');
  const C = rt.alloc(batch * cap * 4, 'hamming candidate indices');
  const D = rt.alloc(batch * cap * 4, 'hamming candidate distances');
  const thr = rt.alloc(batch * 4, 'hamming thresholds');
  const cnt = rt.alloc(batch * 4, 'hamming candidate counts');
  const dummy = rt.alloc(16, 'hamming vec4 dummy');
  const file = 'hamming.wgsl';
  const ovMin = { W, WX: kn.WX, CH: kn.CH, MBLK: kn.MBLK, QV };
  const ovQ = { W, CH: kn.CH, MBLK: kn.MBLK, WQ, HB2: bits + 2 };
  const ovT = { CH: kn.CH, MBLK: kn.MBLK, WQ };
  for (let q0 = 0; q0 < pl.nq; q0 += batch) {
    const nqb = Math.min(batch, pl.nq - q0);
    const common = { nq: nqb, bits, k: kk, nchunks, lastMask: pl.lastMask, q0, nblk };
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'hb_min', overrides: ovMin }, {
        bindings: { queries: pl.queries.buffer, db: r.arg, db4: vec4Range(r.arg, dummy), P },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: [Math.ceil(nqb / (4 * QV * kn.WX)), Math.ceil(r.n / kn.CH)],
      });
    }
    rt.dispatch({ file, entry: kn.thresh === 'hist' ? 'hb_thresh_hist' : 'hb_thresh', overrides: kn.thresh === 'hist' ? ovQ : ovT }, {
      bindings: { P4: P, L, thr, cnt },
      params: common,
      workgroups: Math.ceil(nqb / WQ),
    });
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'hb_cand', overrides: ovQ }, {
        bindings: { queries: pl.queries.buffer, db: r.arg, db4: vec4Range(r.arg, dummy), L, thr, C, D, cnt },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: Math.ceil(nqb / WQ),
      });
    }
    rt.dispatch({ file, entry: 'hb_select', overrides: ovQ }, {
      bindings: { thr, C, D, cnt, outIdx: pl.indices.buffer, outDist: pl.distances.buffer },
      params: common,
      workgroups: Math.ceil(nqb / WQ),
    });
  }
  for (const b of [P, L, C, D, thr, cnt, dummy]) rt.free(b);
}

/** The whole vec4s of a database range (array<vec4u> binding), or `dummy` when it holds fewer than 4 words. */
function vec4Range(arg: BufferArg, dummy: BufferArg): BufferArg {
  const r = arg as { buffer: GPUBuffer; offset: number; size: number };
  const size = Math.floor(r.size / 16) * 16;
  return size > 0 ? { buffer: r.buffer, offset: r.offset, size } : dummy;
}

/** Variant `hist`: per-chunk distance histograms → per-query threshold and counting-sort offsets → collection. */
function recordHist(pl: Plan, kn: HammingKnobs): void {
  const rt = runtime();
  const { W, bits, kk, nchunks, ranges } = pl;
  // Workgroup memory holds 4 histograms of bits + 1 bins per invocation: long codes get narrower workgroups.
  const WX = Math.max(1, Math.min(kn.WX, Math.floor(rt.limits.maxComputeWorkgroupStorageSize / (16 * (bits + 1)))));
  const hb = bits + 1;
  const nblk = kn.CH / kn.BLK;
  const batch = queryBatch(pl.nq, pl.N, Math.max(nchunks * hb, nchunks * nblk) * 4, 65535 * 4 * WX);
  const H = rt.alloc(batch * nchunks * hb * 4, 'hamming histograms');
  const bmin = rt.alloc(batch * nchunks * nblk * 4, 'hamming block minima');
  const thr = rt.alloc(batch * 4, 'hamming thresholds');
  const ov = { W, WX, CH: kn.CH, BLK: kn.BLK, HB: hb };
  const file = 'hamming.wgsl';
  for (let q0 = 0; q0 < pl.nq; q0 += batch) {
    const nqb = Math.min(batch, pl.nq - q0);
    const common = { nq: nqb, bits, k: kk, nchunks, lastMask: pl.lastMask, q0, nblk: 0 };
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'ham_hist', overrides: ov }, {
        bindings: { queries: pl.queries.buffer, db: r.arg, H, bmin },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: [Math.ceil(nqb / (4 * WX)), Math.ceil(r.n / kn.CH)],
      });
    }
    rt.dispatch({ file, entry: 'ham_scan', overrides: { WG: 64 } }, {
      bindings: { H, thr },
      params: common,
      workgroups: grid1d(nqb, 64),
    });
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'ham_collect', overrides: ov }, {
        bindings: { queries: pl.queries.buffer, db: r.arg, H, bmin, thr, outIdx: pl.indices.buffer, outDist: pl.distances.buffer },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: [Math.ceil(nqb / (4 * WX)), Math.ceil(r.n / kn.CH)],
      });
    }
  }
  rt.free(H); rt.free(bmin); rt.free(thr);
}
