/**
 * Binary codes on the CPU: the reference for the GPU kernels and the CPU baseline of the search benchmark.
 *
 * Bit layout (the same everywhere in tqhash, GPU and files): a k-bit code is W = ceil(k/32) u32 words;
 * bit i of the code is bit (i mod 32) of word floor(i/32); the bit is 1 when the real value is ≥ 0
 * (sign(0) = +1; −0 ≥ 0 is true, so −0 also gives 1), 0 otherwise; unused high bits of the last word are 0.
 * Words are little-endian in files, so bit i is also bit (i mod 8) of byte floor(i/8) — the byte order that
 * FAISS's binary indexes and Milvus/Qdrant bit vectors use.
 * Ranking: Hamming distance ascending, ties by database index ascending.
 */

/** Words per code of `bits` bits. */
export function wordsPerCode(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1) throw new Error(`code length must be a positive integer, got ${bits}`);
  return Math.ceil(bits / 32);
}

/** Packs n × bits real values (row-major) into codes: bit = value ≥ 0. NaN is an error. */
export function signPackCpu(values: ArrayLike<number>, n: number, bits: number): Uint32Array {
  if (values.length !== n * bits) throw new Error(`signPack: ${values.length} values for ${n} codes of ${bits} bits`);
  const W = wordsPerCode(bits);
  const out = new Uint32Array(n * W);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < bits; i++) {
      const v = values[r * bits + i];
      if (Number.isNaN(v)) throw new Error(`signPack: value ${r}×${i} is NaN`);
      if (v >= 0) out[r * W + (i >> 5)] |= 1 << (i & 31);
    }
  }
  return out;
}

/** Unpacks codes into ±1 values (n × bits). */
export function unpackCodes(codes: Uint32Array, n: number, bits: number): Float32Array {
  const W = wordsPerCode(bits);
  if (codes.length !== n * W) throw new Error(`unpack: ${codes.length} words for ${n} codes of ${W} words`);
  const out = new Float32Array(n * bits);
  for (let r = 0; r < n; r++) for (let i = 0; i < bits; i++) out[r * bits + i] = (codes[r * W + (i >> 5)] >>> (i & 31)) & 1 ? 1 : -1;
  return out;
}

/** Number of set bits of a u32. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Hamming distances of query q (W words at qOff) to every database code, into `out` (length ndb). */
export function hammingRow(queries: Uint32Array, qOff: number, db: Uint32Array, ndb: number, W: number, out: Uint8Array | Uint16Array): void {
  if (W === 1) {
    const q0 = queries[qOff];
    for (let j = 0; j < ndb; j++) out[j] = popcount32(q0 ^ db[j]);
  } else if (W === 2) {
    const q0 = queries[qOff], q1 = queries[qOff + 1];
    for (let j = 0, o = 0; j < ndb; j++, o += 2) out[j] = popcount32(q0 ^ db[o]) + popcount32(q1 ^ db[o + 1]);
  } else {
    for (let j = 0, o = 0; j < ndb; j++, o += W) {
      let d = 0;
      for (let w = 0; w < W; w++) d += popcount32(queries[qOff + w] ^ db[o + w]);
      out[j] = d;
    }
  }
}

/** The k nearest database codes of each query (Hamming, ties by lower index): a per-query counting pass, no sort. */
export function hammingTopKCpu(queries: Uint32Array, db: Uint32Array, nq: number, ndb: number, bits: number, k: number): { indices: Uint32Array; distances: Uint32Array } {
  const W = wordsPerCode(bits);
  if (queries.length < nq * W || db.length < ndb * W) throw new Error(`hammingTopK: arrays too short for ${nq} queries / ${ndb} codes of ${W} words`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`hammingTopK: k must be a positive integer, got ${k}`);
  const kk = Math.min(k, ndb);
  const indices = new Uint32Array(nq * kk), distances = new Uint32Array(nq * kk);
  const dist = bits < 256 ? new Uint8Array(ndb) : new Uint16Array(ndb);
  const count = new Uint32Array(bits + 2);
  for (let q = 0; q < nq; q++) {
    hammingRow(queries, q * W, db, ndb, W, dist);
    count.fill(0);
    for (let j = 0; j < ndb; j++) count[dist[j]]++;
    // Threshold: the smallest distance t with #(d ≤ t) ≥ k; items at t are taken in index order until k.
    let t = 0, below = 0;
    while (below + count[t] < kk) below += count[t++];
    let takeAtT = kk - below;
    // Positions: items with d < t first in (distance, index) order, then the first `takeAtT` at distance t.
    const start = new Uint32Array(t + 1);
    for (let d = 1; d <= t; d++) start[d] = start[d - 1] + count[d - 1];
    const base = q * kk;
    for (let j = 0; j < ndb; j++) {
      const d = dist[j];
      if (d < t) {
        const p = start[d]++;
        indices[base + p] = j;
        distances[base + p] = d;
      } else if (d === t && takeAtT > 0) {
        const p = start[t]++;
        indices[base + p] = j;
        distances[base + p] = d;
        takeAtT--;
      }
    }
  }
  return { indices, distances };
}
