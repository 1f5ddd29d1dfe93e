// The paper's losses on hash-layer descriptors (see shared/PAPER.md), by explicit enumeration of triplets: clear, not fast.
//
// Definitions (f: B×k descriptors, already tanh'ed; labels: B integers):
//   d(u, v) = ‖u − v‖²;  b = sign(f) with sign(0) = +1 (or the `codes` option), a constant except through the STE below.
//   valid triplet (a, p, n): a ≠ p, y_p = y_a, y_n ≠ y_a.
//   l_t = [d(f_a, f_p) − d(f_a, f_n) + m]₊
//   l_q (form 'asym') = [d(f_a, b_p) − d(f_a, b_n) + m_q]₊ — gradient to f_a only.
//   l_q (form 'ste')  = [d(b_a, b_p) − d(b_a, b_n) + m_q]₊ — straight-through ∂b/∂f := 1 where |f| ≤ 1 (else 0), gradient to a, p and n.
//   per-triplet l: 'tql' → l_t + λ·l_q; 'triplet' and 'triplet+quant' → l_t.
//   selection: 'all' = every valid triplet; 'semihard' = valid triplets with d(f_a,f_p) < d(f_a,f_n) < d(f_a,f_p) + m;
//              'hard' = per anchor with ≥ 1 positive and ≥ 1 negative, p* = argmax_p d(f_a,f_p), n* = argmin_n d(f_a,f_n), ties → lowest index.
//   triplet part: 'all'/'semihard' → Σ l / max(1, #active), active = selected triplets with l > 0;
//                 'hard' → Σ l / max(1, #anchors). Counts and the selection are constants in the gradient.
//   'triplet+quant' adds λ·mean over all B·k entries of (f − b)² (b constant).
// A hinge whose argument is exactly 0 contributes 0 loss and 0 gradient (and is not active).
// Edge cases: one class only, or classes of one image each → no valid triplet: triplet part 0, grad 0, valid 0 (the
// quantisation term of 'triplet+quant' still applies); no active triplet → triplet part 0.
import { expectInt, expectLength } from './check.js';

/** Which objective: the paper's TQL, the plain triplet loss, or the triplet loss plus the classic quantisation loss. */
export type TqlLossKind = 'tql' | 'triplet' | 'triplet+quant';
/** Triplet quantisation term: asymmetric (codes only on p, n) or symmetric with a straight-through estimator. */
export type TqlForm = 'asym' | 'ste';
/** Triplet selection: batch-all, semi-hard, batch-hard. */
export type TripletSelect = 'all' | 'semihard' | 'hard';

/** Options of tqlLoss; defaults: loss 'tql', form 'asym', select 'all', margin = marginQ = k/4, lambda 1. */
export interface TqlOptions {
  loss?: TqlLossKind;
  form?: TqlForm;
  select?: TripletSelect;
  margin?: number;
  marginQ?: number;
  lambda?: number;
  /** B×k codes to use as b instead of sign(f) (held constant like b; the STE mask still comes from f). For tests and callers that binarise elsewhere. */
  codes?: Float64Array;
}

/** Result of tqlLoss: the scalar loss, its gradient w.r.t. f (B×k), #active and #valid (selected) triplets. */
export interface TqlResult { loss: number; grad: Float64Array; active: number; valid: number }

/** b = sign(f) elementwise with sign(0) = +1: f [n] → b [n] of ±1. */
export function signCodes(f: Float64Array): Float64Array {
  return f.map((v) => (v >= 0 ? 1 : -1));
}

/** Squared Euclidean distance between row i of u and row j of v (both with k columns). */
function dist(u: Float64Array, i: number, v: Float64Array, j: number, k: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) { const e = u[i * k + c] - v[j * k + c]; s += e * e; }
  return s;
}

/** The selected (a, p, n) triplets, in enumeration order (a, then p, then n ascending). */
function selectTriplets(f: Float64Array, labels: ArrayLike<number>, B: number, k: number, select: TripletSelect, m: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let a = 0; a < B; a++) {
    if (select === 'hard') {
      let p = -1, n = -1, dp = -Infinity, dn = Infinity;
      for (let j = 0; j < B; j++) {
        if (j === a) continue;
        const d = dist(f, a, f, j, k);
        // Strict comparisons: on ties the lowest index, found first, stays.
        if (labels[j] === labels[a]) { if (d > dp) { dp = d; p = j; } }
        else if (d < dn) { dn = d; n = j; }
      }
      if (p >= 0 && n >= 0) out.push([a, p, n]);
      continue;
    }
    for (let p = 0; p < B; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      for (let n = 0; n < B; n++) {
        if (labels[n] === labels[a]) continue;
        if (select === 'semihard') {
          const dap = dist(f, a, f, p, k), dan = dist(f, a, f, n, k);
          if (!(dap < dan && dan < dap + m)) continue;
        }
        out.push([a, p, n]);
      }
    }
  }
  return out;
}

/** The paper's hash losses (definitions at the top of src/cpu/tql.ts): f [B, k] descriptors, labels [B] → { loss, grad [B, k], active, valid }. */
export function tqlLoss(f: Float64Array, labels: ArrayLike<number>, B: number, k: number, o: TqlOptions = {}): TqlResult {
  expectInt(B, 'tqlLoss B'); expectInt(k, 'tqlLoss k');
  expectLength(f, B * k, 'tqlLoss f', '[B, k]');
  expectLength(labels, B, 'tqlLoss labels', '[B]');
  if (o.codes) expectLength(o.codes, B * k, 'tqlLoss codes', '[B, k]');
  const kind = o.loss ?? 'tql', form = o.form ?? 'asym', select = o.select ?? 'all';
  const m = o.margin ?? k / 4, mq = o.marginQ ?? k / 4, lambda = o.lambda ?? 1;
  const b = o.codes ?? signCodes(f);
  const grad = new Float64Array(B * k);
  // Straight-through derivative of sign at each entry.
  const ste = (i: number, c: number): number => (Math.abs(f[i * k + c]) <= 1 ? 1 : 0);

  const triplets = selectTriplets(f, labels, B, k, select, m);
  let total = 0, active = 0;
  for (const [a, p, n] of triplets) {
    const zt = dist(f, a, f, p, k) - dist(f, a, f, n, k) + m;
    const lt = zt > 0 ? zt : 0;
    let lq = 0;
    if (kind === 'tql') {
      const zq = form === 'asym'
        ? dist(f, a, b, p, k) - dist(f, a, b, n, k) + mq
        : dist(b, a, b, p, k) - dist(b, a, b, n, k) + mq;
      if (zq > 0) {
        lq = zq;
        for (let c = 0; c < k; c++) {
          const ba = b[a * k + c], bp = b[p * k + c], bn = b[n * k + c];
          if (form === 'asym') {
            // ∂/∂f_a [‖f_a − b_p‖² − ‖f_a − b_n‖²] = 2(b_n − b_p)
            grad[a * k + c] += lambda * 2 * (bn - bp);
          } else {
            grad[a * k + c] += lambda * 2 * (bn - bp) * ste(a, c);
            grad[p * k + c] += lambda * 2 * (bp - ba) * ste(p, c);
            grad[n * k + c] += lambda * 2 * (ba - bn) * ste(n, c);
          }
        }
      }
    }
    if (zt > 0) {
      for (let c = 0; c < k; c++) {
        const fa = f[a * k + c], fp = f[p * k + c], fn = f[n * k + c];
        grad[a * k + c] += 2 * (fn - fp);
        grad[p * k + c] += 2 * (fp - fa);
        grad[n * k + c] += 2 * (fa - fn);
      }
    }
    const l = lt + lambda * lq;
    total += l;
    if (l > 0) active++;
  }
  const valid = triplets.length;
  const denom = Math.max(1, select === 'hard' ? valid : active);
  let loss = total / denom;
  for (let i = 0; i < grad.length; i++) grad[i] /= denom;

  if (kind === 'triplet+quant') {
    let q = 0;
    for (let i = 0; i < B * k; i++) {
      const e = f[i] - b[i];
      q += e * e;
      grad[i] += lambda * 2 * e / (B * k);
    }
    loss += lambda * q / (B * k);
  }
  return { loss, grad, active, valid };
}
