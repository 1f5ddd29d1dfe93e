// How often the 'ste' form's quantisation hinge sits exactly on its kink. d(b, b′) = 4·Hamming(b, b′), so
// z_q = 4·(h_ap − h_an) + m_q is exactly 0 whenever m_q is a multiple of 4 and h_an − h_ap = m_q/4; such a hinge counts
// as not firing (src/cpu/tql.ts says why). Counted by the float64 reference itself (cpu.tqlLoss's `kinks`) on P×K
// batches of ±1 codes: a run's database codes (the training images under the dsh protocol), or random codes.
import { tqlLoss } from '../cpu/tql.js';
import { Rng } from '../util/rng.js';

/** Triplets of the measured batches: valid ones, those exactly on the kink (z_q = 0), those firing (z_q > 0). */
export interface KinkCount {
  bits: number;
  marginQ: number;
  batches: number;
  valid: number;
  kinks: number;
  firing: number;
}

/** Counts kinks over `batches` random P×K batches of the ±1 codes [n, k] with labels [n] (batch-all, like training). */
export function measureKinks(codes: Float64Array, labels: ArrayLike<number>, n: number, k: number, o: { P: number; K: number; batches: number; marginQ: number; seed: number }): KinkCount {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) byClass.set(labels[i], [...(byClass.get(labels[i]) ?? []), i]);
  const classes = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= o.K);
  if (classes.length < o.P) throw new RangeError(`measureKinks: ${classes.length} classes have ≥ ${o.K} codes; need P = ${o.P}`);
  const rng = new Rng(o.seed);
  const out: KinkCount = { bits: k, marginQ: o.marginQ, batches: o.batches, valid: 0, kinks: 0, firing: 0 };
  for (let t = 0; t < o.batches; t++) {
    const picked = rng.shuffle(classes.slice()).slice(0, o.P);
    const idx = picked.flatMap((c) => rng.shuffle(byClass.get(c)!.slice()).slice(0, o.K));
    const f = new Float64Array(idx.length * k);
    idx.forEach((i, r) => f.set(codes.subarray(i * k, (i + 1) * k), r * k));
    // A margin m far below any distance keeps every real-valued hinge off, so `active` counts the firing z_q > 0.
    const r = tqlLoss(f, idx.map((i) => labels[i]), idx.length, k, { loss: 'tql', form: 'ste', margin: -1e9, marginQ: o.marginQ });
    out.valid += r.valid;
    out.kinks += r.kinks;
    out.firing += r.active;
  }
  return out;
}

/** n uniformly random ±1 codes of k bits with labels 0 … classes−1 in turn (no relation between code and label). */
export function randomCodes(n: number, k: number, classes: number, seed: number): { codes: Float64Array; labels: Uint32Array } {
  const rng = new Rng(seed);
  const codes = Float64Array.from({ length: n * k }, () => (rng.nextU32() & 1 ? 1 : -1));
  return { codes, labels: Uint32Array.from({ length: n }, (_, i) => i % classes) };
}

/**
 * The kink share of valid triplets for random codes, exactly: h_ap and h_an are independent Binomial(k, ½), and
 * P(h_an − h_ap = d) = C(2k, k + d) / 4^k (Vandermonde); the kink needs d = m_q/4, an integer.
 */
export function randomKinkShare(k: number, marginQ: number): number {
  const d = marginQ / 4;
  if (!Number.isInteger(d) || Math.abs(d) > k) return 0;
  // log C(2k, k + d) − k·log 4, by sums of logs (C(96, 48) ≈ 6e27 is past 2^53).
  let logC = 0;
  for (let i = 1; i <= k - d; i++) logC += Math.log(k + d + i) - Math.log(i);
  return Math.exp(logC - k * Math.log(4));
}
