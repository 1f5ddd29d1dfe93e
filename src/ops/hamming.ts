// Op family hamming: exact bitwise Hamming top-k (shaders/hamming.wgsl), not differentiable. Three kernels per query
// batch and database segment: distance histograms per chunk, a per-query threshold + counting-sort offsets, collection.
import { Tensor, runtime } from '../tensor.js';
import type { BufferArg } from '../gpu/runtime.js';
import { grid1d } from './grid.js';
import { codeWords } from './quantize.js';
import { knobView } from '../gpu/knobs.js';

/** Knobs of the Hamming top-k (override constants of shaders/hamming.wgsl). */
export interface HammingKnobs {
  /** Codes per chunk (one histogram per query and chunk); a multiple of BLK and of 64. */
  CH: number;
  /** Codes per skip block (collection rescans only blocks holding a code within the threshold). */
  BLK: number;
  /** Invocations per workgroup, each with 4 queries (the SIMD lanes on llvmpipe: keep ≥ 8). */
  WX: number;
}

/** Default knobs (llvmpipe-measured; see bench/NOTES-hamming.md): a view of the registry, src/gpu/knobs.ts. */
export const HAMMING_KNOBS: HammingKnobs = knobView('hamming', ['CH', 'BLK', 'WX']);

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
  const W = codeWords(bits);
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
  // Workgroup memory holds 4 histograms of bits + 1 bins per invocation: long codes get narrower workgroups.
  const wgBytes = rt.limits.maxComputeWorkgroupStorageSize;
  kn.WX = Math.max(1, Math.min(kn.WX, Math.floor(wgBytes / (16 * (bits + 1)))));
  // Segments → binding ranges of whole chunks (chunk bytes are a multiple of 256, the offset alignment).
  const maxCodes = Math.floor(rt.limits.maxStorageBufferBindingSize / (W * 4 * kn.CH)) * kn.CH;
  const ranges: { arg: BufferArg; n: number; base: number; chunk0: number }[] = [];
  let base = 0, chunk0 = 0;
  for (const s of segs) {
    for (let off = 0; off < s.shape[0]; off += maxCodes) {
      const n = Math.min(maxCodes, s.shape[0] - off);
      ranges.push({ arg: { buffer: s.buffer.buffer, offset: off * W * 4, size: n * W * 4 }, n, base: base + off, chunk0 });
      chunk0 += Math.ceil(n / kn.CH);
    }
    base += s.shape[0];
  }
  const nchunks = chunk0;
  const hb = bits + 1;
  const nblk = kn.CH / kn.BLK;
  const perQuery = Math.max(nchunks * hb, nchunks * nblk) * 4;
  if (perQuery > SCRATCH_BYTES) throw new Error(`hammingTopK: ${N} codes need ${perQuery} bytes of scratch per query; split the database into several searches`);
  const batch = Math.max(1, Math.min(nq, Math.floor(SCRATCH_BYTES / perQuery), 65535 * 4 * kn.WX));
  const H = rt.alloc(batch * nchunks * hb * 4, 'hamming histograms');
  const bmin = rt.alloc(batch * nchunks * nblk * 4, 'hamming block minima');
  const thr = rt.alloc(batch * 4, 'hamming thresholds');
  const lastMask = bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1;
  const ov = { W, WX: kn.WX, CH: kn.CH, BLK: kn.BLK, HB: hb };
  const file = 'hamming.wgsl';
  for (let q0 = 0; q0 < nq; q0 += batch) {
    const nqb = Math.min(batch, nq - q0);
    const common = { nq: nqb, bits, k: kk, nchunks, lastMask, q0 };
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'ham_hist', overrides: ov }, {
        bindings: { queries: queries.buffer, db: r.arg, H, bmin },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: [Math.ceil(nqb / (4 * kn.WX)), Math.ceil(r.n / kn.CH)],
      });
    }
    rt.dispatch({ file, entry: 'ham_scan', overrides: { WG: 64 } }, {
      bindings: { H, thr },
      params: { ...common, n: 0, chunk0: 0, base: 0 },
      workgroups: grid1d(nqb, 64),
    });
    for (const r of ranges) {
      rt.dispatch({ file, entry: 'ham_collect', overrides: ov }, {
        bindings: { queries: queries.buffer, db: r.arg, H, bmin, thr, outIdx: indices.buffer, outDist: distances.buffer },
        params: { ...common, n: r.n, chunk0: r.chunk0, base: r.base },
        workgroups: [Math.ceil(nqb / (4 * kn.WX)), Math.ceil(r.n / kn.CH)],
      });
    }
  }
  rt.free(H); rt.free(bmin); rt.free(thr);
  return { indices, distances };
}
