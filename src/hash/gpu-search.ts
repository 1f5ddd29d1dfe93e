// Hamming top-k on the GPU, a drop-in for hammingTopKCpu (src/cpu/codes.ts): same arguments, same result, same ranking
// (distance ascending, ties by lower database index; k > N clamps to N).
import { Tensor, runtime, scope } from '../tensor.js';
import { wordsPerCode, type TopK } from '../cpu/codes.js';
import { hammingTopK, HAMMING_KNOBS, type HammingKnobs } from '../ops/hamming.js';

/** A code database uploaded once to the GPU (in segments that each fit one buffer), searched many times. */
export class GpuHammingIndex {
  private constructor(
    readonly segments: Tensor[],
    readonly ndb: number,
    readonly bits: number,
  ) {}

  /** Uploads ndb packed codes of `bits` bits (ceil(bits/32) u32 words each). */
  static upload(db: Uint32Array, ndb: number, bits: number, knobs: Partial<HammingKnobs> = {}): GpuHammingIndex {
    const W = wordsPerCode(bits);
    if (!Number.isInteger(ndb) || ndb < 0 || db.length < ndb * W) throw new Error(`GpuHammingIndex: ${db.length} words for ${ndb} codes of ${W} words`);
    const rt = runtime();
    const chunk = knobs.CH ?? HAMMING_KNOBS.CH;
    // Each segment fits one buffer and is a whole number of chunks.
    const maxBytes = Math.min(rt.limits.maxBufferSize, rt.limits.maxStorageBufferBindingSize);
    const perSeg = Math.max(chunk, Math.floor(maxBytes / (W * 4 * chunk)) * chunk);
    const segments: Tensor[] = [];
    for (let off = 0; off < ndb; off += perSeg) {
      const n = Math.min(perSeg, ndb - off);
      segments.push(Tensor.from(db.subarray(off * W, (off + n) * W), [n, W], 'u32', 'code db').keep());
    }
    return new GpuHammingIndex(segments, ndb, bits);
  }

  /** The k nearest codes of each of nq queries: { indices, distances } [nq × min(k, ndb)] and k, as hammingTopKCpu. */
  async search(queries: Uint32Array, nq: number, k: number, knobs: Partial<HammingKnobs> = {}): Promise<TopK> {
    const W = wordsPerCode(this.bits);
    if (!Number.isInteger(nq) || nq < 0 || queries.length < nq * W) throw new Error(`gpuHammingTopK: ${queries.length} words for ${nq} queries of ${W} words`);
    const r = scope(() => {
      const q = Tensor.from(queries.subarray(0, nq * W), [nq, W], 'u32', 'queries');
      return hammingTopK(q, this.segments, this.bits, k, knobs);
    });
    try {
      return { indices: (await r.indices.toArray()) as Uint32Array, distances: (await r.distances.toArray()) as Uint32Array, k: r.indices.shape[1] };
    } finally {
      r.indices.dispose();
      r.distances.dispose();
    }
  }

  /** Frees the uploaded codes. */
  dispose(): void {
    for (const s of this.segments) s.dispose();
    this.segments.length = 0;
  }
}

/**
 * The k nearest database codes of each query by Hamming distance (ties by lower index), on the GPU: a drop-in for
 * hammingTopKCpu. `db` is packed codes on the host (uploaded for this call) or a GPU u32 tensor [ndb, W].
 */
export async function gpuHammingTopK(queries: Uint32Array, db: Uint32Array | Tensor, nq: number, ndb: number, bits: number, k: number): Promise<TopK> {
  if (db instanceof Tensor) {
    const W = wordsPerCode(bits);
    if (db.shape.length !== 2 || db.shape[0] !== ndb || db.shape[1] !== W) throw new Error(`gpuHammingTopK: db ${db.describe()} must be u32 [${ndb}, ${W}]`);
    const r = scope(() => hammingTopK(Tensor.from(queries.subarray(0, nq * W), [nq, W], 'u32', 'queries'), db, bits, k));
    try {
      return { indices: (await r.indices.toArray()) as Uint32Array, distances: (await r.distances.toArray()) as Uint32Array, k: r.indices.shape[1] };
    } finally {
      r.indices.dispose();
      r.distances.dispose();
    }
  }
  const index = GpuHammingIndex.upload(db, ndb, bits);
  try {
    return await index.search(queries, nq, k);
  } finally {
    index.dispose();
  }
}
