/**
 * Seeded pseudo-random numbers that give the same sequence on any machine and Node version.
 *
 * - Seeding / stream derivation: SplitMix64 (Steele, Lea, Flood 2014) on BigInt. `Rng.derive(seed, a, b, …)`
 *   folds each key into a 64-bit state and mixes, so independent streams (per epoch, per class, per pass) are
 *   pure functions of their keys: nothing depends on how many numbers an earlier stream consumed.
 * - Bulk numbers: xoshiro128** (Blackman, Vigna 2018), 32-bit state words updated with `Math.imul` and `>>> 0`,
 *   so every step is exact integer arithmetic.
 * - Integers in [0, n): rejection sampling on 32-bit outputs (no modulo bias).
 */

const MASK64 = (1n << 64n) - 1n;

/** One SplitMix64 step: returns [next state, output]. */
function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

function checkKey(k: number, what: string): bigint {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`${what} must be a non-negative integer, got ${k}`);
  return BigInt(k);
}

/** A deterministic generator (xoshiro128**), seeded through SplitMix64. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A generator for a non-negative integer seed. */
  constructor(seed: number) {
    let s = checkKey(seed, 'seed');
    let o: bigint;
    [s, o] = splitmix64(s);
    const w0 = o;
    [s, o] = splitmix64(s);
    const w1 = o;
    this.a = Number(w0 & 0xffffffffn);
    this.b = Number(w0 >> 32n);
    this.c = Number(w1 & 0xffffffffn);
    this.d = Number(w1 >> 32n);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** A generator for the stream named by (seed, ...keys); distinct keys give unrelated streams. */
  static derive(seed: number, ...keys: number[]): Rng {
    let s = checkKey(seed, 'seed');
    for (const k of keys) {
      const [, o] = splitmix64(s ^ checkKey(k, 'stream key'));
      s = o;
    }
    // Rng's constructor wants a safe integer; fold the 64-bit mix into 53 bits.
    return new Rng(Number(s & ((1n << 53n) - 1n)));
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n), 1 ≤ n ≤ 2^32, without modulo bias. */
  int(n: number): number {
    if (!(n >= 1 && n <= 0x100000000 && Number.isInteger(n))) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T extends { length: number; [i: number]: number }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
