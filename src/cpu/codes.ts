/**
 * Binary codes on the CPU: packing, Hamming distance and the exact Hamming top-k reference.
 *
 * Conventions (fixed for the whole project; the GPU kernels follow them bit for bit):
 * - A k-bit code is packed into W = ceil(k/32) u32 words. Bit i of the code is bit (i mod 32) of word floor(i/32).
 * - Bit = 1 when the real value is >= 0 (sign(0) = +1), bit = 0 when it is < 0. NaN is an error.
 * - The unused high bits of the last word are 0 (so popcount(a XOR b) over the W words is the Hamming distance).
 * - A set of n codes is a Uint32Array(n*W), row-major (code j occupies words j*W .. j*W+W-1).
 * - Read as little-endian bytes, bit i is bit (i mod 8) of byte floor(i/8): the same order as FAISS's
 *   `fvecs2bitvecs` (dimension 0 is the least significant bit of the first byte, and FAISS also maps x >= 0 to 1).
 * - Hamming ranking: distance ascending, ties by database index ascending.
 * - Real-valued ranking: squared Euclidean distance ascending, ties by database index ascending.
 */

/** Words per k-bit code: ceil(k/32). */
export function wordsPerCode(bits: number): number {
  checkBits(bits);
  return (bits + 31) >>> 5;
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 65535) {
    throw new RangeError(`code length must be an integer in 1..65535 bits, got ${bits}`);
  }
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
}

/** Checks that `codes` holds n codes of `bits` bits with zero unused high bits; throws naming `what`. */
export function checkCodes(codes: Uint32Array, n: number, bits: number, what = 'codes'): void {
  const W = wordsPerCode(bits);
  checkCount(n, `${what}: count`);
  if (!(codes instanceof Uint32Array)) throw new TypeError(`${what} must be a Uint32Array`);
  if (codes.length < n * W) {
    throw new RangeError(`${what}: ${n} codes of ${bits} bits need ${n * W} u32 words, got ${codes.length}`);
  }
  const r = bits & 31;
  if (r === 0) return;
  const mask = ~((1 << r) - 1) >>> 0;
  for (let j = 0; j < n; j++) {
    if ((codes[j * W + W - 1] & mask) !== 0) {
      throw new RangeError(`${what}: code ${j} has bits set above bit ${bits - 1} (unused high bits must be 0)`);
    }
  }
}

/** Packs n rows of k real values (row-major) into codes: bit = 1 iff value >= 0; NaN throws. */
export function signPack(values: Float32Array | Float64Array, n: number, k: number): Uint32Array {
  const W = wordsPerCode(k);
  checkCount(n, 'signPack: n');
  if (values.length < n * k) throw new RangeError(`signPack: ${n}×${k} values needed, got ${values.length}`);
  const out = new Uint32Array(n * W);
  for (let j = 0; j < n; j++) {
    const base = j * k;
    for (let w = 0; w < W; w++) {
      const lo = w * 32;
      const hi = Math.min(k, lo + 32);
      let word = 0;
      for (let i = lo; i < hi; i++) {
        const v = values[base + i];
        if (v >= 0) word |= 1 << (i - lo);
        else if (!(v < 0)) throw new RangeError(`signPack: NaN at row ${j}, column ${i}`);
      }
      out[j * W + w] = word;
    }
  }
  return out;
}

/** Unpacks n codes into n×k values of +1 (bit 1) and −1 (bit 0), row-major. */
export function unpack(codes: Uint32Array, n: number, k: number): Int8Array {
  const W = wordsPerCode(k);
  checkCount(n, 'unpack: n');
  if (codes.length < n * W) throw new RangeError(`unpack: ${n} codes of ${k} bits need ${n * W} words, got ${codes.length}`);
  const out = new Int8Array(n * k);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) out[j * k + i] = (codes[j * W + (i >>> 5)] >>> (i & 31)) & 1 ? 1 : -1;
  }
  return out;
}

/** Number of set bits of a u32 (SWAR). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Hamming distance between code ia of `a` and code ib of `b` (W words per code). */
export function hammingDistance(a: Uint32Array, ia: number, b: Uint32Array, ib: number, W: number): number {
  let d = 0;
  const oa = ia * W;
  const ob = ib * W;
  for (let w = 0; w < W; w++) d += popcount32(a[oa + w] ^ b[ob + w]);
  return d;
}

/**
 * Distances from query qi to every database code into `out` (ndb entries), and a histogram of them into
 * `hist` (length ≥ bits+1, zeroed here). Distances are ≤ 65535 bits, so `out` may be a Uint8Array when bits ≤ 255.
 */
export function hammingRow(
  queries: Uint32Array,
  qi: number,
  db: Uint32Array,
  ndb: number,
  W: number,
  out: Uint8Array | Uint16Array,
  hist: Uint32Array,
): void {
  hist.fill(0);
  const o = qi * W;
  // Word-count specialisations: the generic loop is ≈2× slower at W = 1, 2 (V8 does not unroll it).
  if (W === 1) {
    const q0 = queries[o];
    for (let j = 0; j < ndb; j++) {
      let x = q0 ^ db[j];
      x = x - ((x >>> 1) & 0x55555555);
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      const d = Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
      out[j] = d;
      hist[d]++;
    }
  } else if (W === 2) {
    const q0 = queries[o];
    const q1 = queries[o + 1];
    for (let j = 0, p = 0; j < ndb; j++, p += 2) {
      let x = q0 ^ db[p];
      let y = q1 ^ db[p + 1];
      x = x - ((x >>> 1) & 0x55555555);
      y = y - ((y >>> 1) & 0x55555555);
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      y = (y & 0x33333333) + ((y >>> 2) & 0x33333333);
      // Two 4-bit-per-byte sums added before the final fold: each byte stays ≤ 16.
      x = ((x + (x >>> 4)) & 0x0f0f0f0f) + ((y + (y >>> 4)) & 0x0f0f0f0f);
      const d = Math.imul(x, 0x01010101) >>> 24;
      out[j] = d;
      hist[d]++;
    }
  } else {
    for (let j = 0, p = 0; j < ndb; j++, p += W) {
      let d = 0;
      for (let w = 0; w < W; w++) d += popcount32(queries[o + w] ^ db[p + w]);
      out[j] = d;
      hist[d]++;
    }
  }
}

/** Result of a top-k search: row-major nq×topk database indices and their Hamming distances. */
export interface TopK {
  indices: Uint32Array;
  distances: Uint32Array;
  /** Results per query (min(topk, database size)). */
  k: number;
}

/**
 * Selects the first `take` items of the ranking (distance ascending, ties by index ascending) from one row of
 * distances and its histogram, writing indices and distances at `outOff`. One pass: buckets below the cut-off
 * radius are taken whole, the cut-off bucket only up to the remaining count, in index order.
 */
export function topKFromRow(
  dist: Uint8Array | Uint16Array,
  ndb: number,
  hist: Uint32Array,
  take: number,
  outIdx: Uint32Array,
  outDist: Uint32Array,
  outOff: number,
  start: Uint32Array,
): void {
  // start[r]: next output slot for bucket r; `limit` is the radius beyond which nothing is taken.
  let cum = 0;
  let limit = -1;
  for (let r = 0; r < hist.length && cum < take; r++) {
    start[r] = cum;
    cum += hist[r];
    limit = r;
  }
  let left = take;
  for (let j = 0; j < ndb && left > 0; j++) {
    const d = dist[j];
    if (d > limit) continue;
    const s = start[d];
    if (s >= take) continue;
    outIdx[outOff + s] = j;
    outDist[outOff + s] = d;
    start[d] = s + 1;
    left--;
  }
}

/**
 * CPU Hamming top-k: for each of nq queries, the topk nearest of ndb codes, distance ascending, ties by lower
 * database index (exact, by per-query counting over the k+1 possible distances). If topk > ndb, k = ndb.
 */
export function hammingTopK(
  queries: Uint32Array,
  db: Uint32Array,
  nq: number,
  ndb: number,
  bits: number,
  topk: number,
): TopK {
  const W = wordsPerCode(bits);
  checkCount(nq, 'hammingTopK: nq');
  checkCount(ndb, 'hammingTopK: ndb');
  checkCount(topk, 'hammingTopK: topk');
  if (queries.length < nq * W) throw new RangeError(`hammingTopK: queries need ${nq * W} words, got ${queries.length}`);
  if (db.length < ndb * W) throw new RangeError(`hammingTopK: db needs ${ndb * W} words, got ${db.length}`);
  const k = Math.min(topk, ndb);
  const indices = new Uint32Array(nq * k);
  const distances = new Uint32Array(nq * k);
  const dist = bits <= 255 ? new Uint8Array(ndb) : new Uint16Array(ndb);
  const hist = new Uint32Array(bits + 1);
  const start = new Uint32Array(bits + 1);
  for (let q = 0; q < nq; q++) {
    hammingRow(queries, q, db, ndb, W, dist, hist);
    topKFromRow(dist, ndb, hist, k, indices, distances, q * k, start);
  }
  return { indices, distances, k };
}

/**
 * The full Hamming ranking of one row by counting sort: `order` receives the ndb database indices, distance
 * ascending, ties by index ascending. `start` needs bits+1 entries (it is overwritten).
 */
export function rankRow(
  dist: Uint8Array | Uint16Array,
  ndb: number,
  hist: Uint32Array,
  order: Uint32Array,
  start: Uint32Array,
): void {
  let cum = 0;
  for (let r = 0; r < hist.length; r++) {
    start[r] = cum;
    cum += hist[r];
  }
  for (let j = 0; j < ndb; j++) order[start[dist[j]]++] = j;
}

/** Packs n codes into n × ceil(bits/8) bytes; 'little': bit i is bit i%8 of byte i/8 (FAISS), 'big': bit 7−i%8 (numpy packbits). */
export function packedBytes(codes: Uint32Array, n: number, bits: number, bitOrder: 'little' | 'big' = 'little'): Uint8Array {
  const W = wordsPerCode(bits);
  checkCount(n, 'packedBytes: n');
  if (codes.length < n * W) throw new RangeError(`packedBytes: ${n} codes need ${n * W} words, got ${codes.length}`);
  const B = (bits + 7) >>> 3;
  const out = new Uint8Array(n * B);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < B; b++) {
      let byte = (codes[j * W + (b >>> 2)] >>> ((b & 3) * 8)) & 0xff;
      if (bitOrder === 'big') byte = REVERSE8[byte];
      out[j * B + b] = byte;
    }
  }
  return out;
}

const REVERSE8 = (() => {
  const t = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    let r = 0;
    for (let i = 0; i < 8; i++) if (v & (1 << i)) r |= 1 << (7 - i);
    t[v] = r;
  }
  return t;
})();
