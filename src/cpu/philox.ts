// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), written so that a WGSL kernel
// using only u32 arithmetic reproduces the uniforms bit-exactly.
//
// One block: counter c = (c0, c1, c2, c3), key k = (k0, k1), all u32. Ten rounds; before round r (r = 0..9) the key is
// (k0 + r·W0, k1 + r·W1) mod 2³², W0 = 0x9E3779B9, W1 = 0xBB67AE85 (the Weyl "bump" between rounds).
// One round with multipliers M0 = 0xD2511F53, M1 = 0xCD9E8D57:
//   (hi0, lo0) = M0 × c0,  (hi1, lo1) = M1 × c2     (full 64-bit products split in high and low 32 bits)
//   c' = (hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0)
// The block's output is the counter after round 9. Known answers (Random123's kat_vectors) are in test/cpu-philox.test.js.
//
// Streams (element e = offset + i of the output, e < 2⁵³):
//   key = (seed mod 2³², floor(seed / 2³²) mod 2³²)
//   block j = floor(e / 4), lane = e mod 4, counter = (j mod 2³², floor(j / 2³²), stream, 0) with stream 0 for uniforms and
//   1 for normals (so the two never share bits for the same seed and offset).
//   uniform[e] = (r[lane] >>> 8) · 2⁻²⁴ ∈ [0, 1): 24 random bits, exact in float32.
//   normal[e]: Box–Muller on the block's pair q = floor(lane / 2): u1 = ((r[2q] >>> 8) + 1)·2⁻²⁴ ∈ (0, 1],
//   u2 = (r[2q+1] >>> 8)·2⁻²⁴; radius = √(−2·ln u1), θ = 2π·u2; even lane → radius·cos θ, odd lane → radius·sin θ.
//   Computed here in float64 and rounded to float32 once; a WGSL kernel computes log/cos/sin in f32, so normals agree
//   with the GPU only to about 1e-6 relative (a few 1e-6 absolute in the tails), while uniforms agree bit for bit.

/** Philox4x32 round multipliers and key bumps (Random123's PHILOX_M4x32_0/1 and PHILOX_W32_0/1). */
export const PHILOX = { M0: 0xd2511f53, M1: 0xcd9e8d57, W0: 0x9e3779b9, W1: 0xbb67ae85, ROUNDS: 10 } as const;

/**
 * High 32 bits of the 64-bit product of two u32. Math.imul gives only the low half, and a float64 product of two u32
 * loses bits, so multiply 16-bit halves (each partial product < 2³², exact) and carry by hand — the same steps a
 * WGSL u32 version takes.
 */
export function mulhi32(a: number, b: number): number {
  const ah = a >>> 16, al = a & 0xffff, bh = b >>> 16, bl = b & 0xffff;
  const ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff); // < 3·2¹⁶: the carry into the high word is mid >>> 16
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: counter [4] u32, key [2] u32 → 4 u32 (Uint32Array). */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  let c0 = counter[0] >>> 0, c1 = counter[1] >>> 0, c2 = counter[2] >>> 0, c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < PHILOX.ROUNDS; r++) {
    if (r > 0) { k0 = (k0 + PHILOX.W0) >>> 0; k1 = (k1 + PHILOX.W1) >>> 0; }
    const hi0 = mulhi32(PHILOX.M0, c0), lo0 = Math.imul(PHILOX.M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX.M1, c2), lo1 = Math.imul(PHILOX.M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

function checkStream(seed: number, offset: number, n: number, name: string): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`cpu.${name}: seed must be an integer in [0, 2⁵³), got ${seed}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`cpu.${name}: offset must be an integer ≥ 0, got ${offset}`);
  if (!Number.isInteger(n) || n < 0 || !Number.isSafeInteger(offset + n)) throw new Error(`cpu.${name}: n must be an integer ≥ 0 with offset + n < 2⁵³, got ${n}`);
}

/** The block for element e of stream `stream` (0 uniform, 1 normal) under `seed`, per the mapping at the top of this file. */
function blockAt(seed: number, stream: number, e: number): Uint32Array {
  const j = Math.floor(e / 4);
  return philox4x32([j % 2 ** 32, Math.floor(j / 2 ** 32), stream, 0], [seed % 2 ** 32, Math.floor(seed / 2 ** 32) % 2 ** 32]);
}

/** Uniforms in [0, 1): element i is (r[e mod 4] >>> 8)·2⁻²⁴ of the block for e = offset + i (mapping at the top of philox.ts) → Float32Array [n], bit-exact with the GPU. */
export function philoxUniform(seed: number, offset: number, n: number): Float32Array {
  checkStream(seed, offset, n, 'philoxUniform');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = offset + i;
    out[i] = (blockAt(seed, 0, e)[e % 4] >>> 8) * 2 ** -24;
  }
  return out;
}

/** Standard normals by Box–Muller, element i from the block for e = offset + i in stream 1 (mapping at the top of philox.ts) → Float32Array [n], within ~1e-6 of the GPU. */
export function philoxNormal(seed: number, offset: number, n: number): Float32Array {
  checkStream(seed, offset, n, 'philoxNormal');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = offset + i, lane = e % 4, q = lane >> 1;
    const r = blockAt(seed, 1, e);
    const u1 = ((r[2 * q] >>> 8) + 1) * 2 ** -24;
    const u2 = (r[2 * q + 1] >>> 8) * 2 ** -24;
    const radius = Math.sqrt(-2 * Math.log(u1)), theta = 2 * Math.PI * u2;
    out[i] = lane % 2 === 0 ? radius * Math.cos(theta) : radius * Math.sin(theta);
  }
  return out;
}
