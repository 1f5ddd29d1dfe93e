// The paper's losses on hash-layer descriptors (see shared/PAPER.md), by explicit enumeration of triplets: clear, not fast.
//
// Definitions (f: B×k descriptors, already tanh'ed; labels: B integers):
//   d(u, v) = ‖u − v‖²;  b = sign(f) with sign(0) = +1 (or the `codes` option), a constant except through the STE below.
//   valid triplet (a, p, n): a ≠ p, y_p = y_a, y_n ≠ y_a.
//   l_t = [d(f_a, f_p) − d(f_a, f_n) + m]₊
//   l_q (form 'asym') = [d(f_a, b_p) − d(f_a, b_n) + m_q]₊ — gradient to f_a only.
//   l_q (form 'ste')  = [d(b_a, b_p) − d(b_a, b_n) + m_q]₊ — straight-through ∂b/∂f := 1 where |f| ≤ 1 (else 0), gradient to a, p and n.
//   l_q (form 'asym-ste') = the asym hinge, with the gradient also reaching p and n through their codes' straight-through.
//   l_q (form 'smooth') = [d(c_a, c_p) − d(c_a, c_n) + m_q]₊ with the smooth code c = tanh(β·f) (HashNet-style: β is raised
//                     during training, see src/train/loss-schedule.ts) and its true derivative β·(1 − c²), to a, p and n.
//   The code at evaluation is sign(f) for every form.
//   per-triplet l: 'tql' → l_t + λ·l_q; 'triplet' and 'triplet+quant' → l_t.
//   selection: 'all' = every valid triplet; 'semihard' = valid triplets with d(f_a,f_p) < d(f_a,f_n) < d(f_a,f_p) + m;
//              'hard' = per anchor with ≥ 1 positive and ≥ 1 negative, p* = argmax_p d(f_a,f_p), n* = argmin_n d(f_a,f_n), ties → lowest index.
//   triplet part: 'all'/'semihard' → Σ l / max(1, #active), active = selected triplets with l > 0;
//                 'hard' → Σ l / max(1, #anchors). Counts and the selection are constants in the gradient.
//   'triplet+quant' adds λ·mean over all B·k entries of (f − b)² (b constant).
// A hinge whose argument is exactly 0 contributes 0 loss and 0 gradient (and is not active). This matters for 'ste':
// d(b, b′) is 4× a Hamming distance, so with m_q a multiple of 4 a hinge sits exactly on its kink (z_q = 0) for a sizeable
// share of triplets (bench/kinks.js measures it). 0 is the hinge's value there and 0 lies in its subdifferential [0, 1];
// counting such a triplet as firing would keep pushing codes that already meet the margin, and with codes changing in
// steps of 4 the same triplet would then flip between firing and not from one step to the next.
// Edge cases: one class only, or classes of one image each → no valid triplet: triplet part 0, grad 0, valid 0 (the
// quantisation term of 'triplet+quant' still applies); no active triplet → triplet part 0.
import { expectInt, expectLength } from './check.js';

/** Which objective: the paper's TQL, the plain triplet loss, or the triplet loss plus the classic quantisation loss. */
export type TqlLossKind = 'tql' | 'triplet' | 'triplet+quant';
/** Triplet quantisation term: asymmetric (codes only on p, n), symmetric with a straight-through estimator, asymmetric with the straight-through also to p and n, or symmetric on smooth codes tanh(β·f). */
export type TqlForm = 'asym' | 'ste' | 'asym-ste' | 'smooth';
/** Triplet selection: batch-all, semi-hard, batch-hard. */
export type TripletSelect = 'all' | 'semihard' | 'hard';

/**
 * Options of the TQL loss, one type for cpu.tqlLoss, ops.tripletQuantLoss, the trainer (src/train/loss-schedule.ts) and
 * the benchmarks; an omitted field takes its value from tqlDefaults.
 */
export interface TqlOptions {
  loss?: TqlLossKind;
  form?: TqlForm;
  select?: TripletSelect;
  /** Margin m of the real-valued triplet term (also the semi-hard window). */
  margin?: number;
  /** Margin m_q of the triplet quantisation term. */
  marginQ?: number;
  /** Weight λ of the quantisation term. */
  lambda?: number;
  /** β of the 'smooth' form's code tanh(β·f). */
  beta?: number;
}

/**
 * Default margins m and m_q: k/4, at least 6. At 12 bits, k/4 = 3 asks the negative's code to be less than one
 * bit farther than the positive's; 6 measured better in the 12-bit 1-epoch proxies (binary mAP +0.5 points,
 * quantization drop 3.8 → 2.5 points; results/tuning-12b-1epoch.md), and the 12-epoch 12-bit run used it.
 */
export function defaultMargin(k: number): number {
  return Math.max(k / 4, 6);
}

/** The one place of the loss defaults for k bits: loss 'tql', form 'asym', select 'all', m = m_q = defaultMargin(k) = max(k/4, 6), λ = 1, β = 1. */
export function tqlDefaults(k: number): Required<TqlOptions> {
  const m = defaultMargin(k);
  return { loss: 'tql', form: 'asym', select: 'all', margin: m, marginQ: m, lambda: 1, beta: 1 };
}

/** Result of tqlLoss: the scalar loss, its gradient w.r.t. f (B×k), #active and #valid (selected) triplets, and (loss 'tql') #kinks: selected triplets whose quantisation hinge argument is exactly 0. */
export interface TqlResult { loss: number; grad: Float64Array; active: number; valid: number; kinks: number }

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

/** The paper's hash losses (definitions at the top of src/cpu/tql.ts): f [B, k] descriptors, labels [B] → { loss, grad [B, k], active, valid }.
 * o.codes: B×k codes to use as b instead of sign(f) (held constant like b; the STE mask still comes from f; ignored by 'smooth'), for tests and callers that binarise elsewhere. */
export function tqlLoss(
  f: Float64Array, labels: ArrayLike<number>, B: number, k: number,
  o: TqlOptions & { codes?: Float64Array } = {},
): TqlResult {
  expectInt(B, 'tqlLoss B'); expectInt(k, 'tqlLoss k');
  expectLength(f, B * k, 'tqlLoss f', '[B, k]');
  expectLength(labels, B, 'tqlLoss labels', '[B]');
  if (o.codes) expectLength(o.codes, B * k, 'tqlLoss codes', '[B, k]');
  const d = tqlDefaults(k);
  const kind = o.loss ?? d.loss, form = o.form ?? d.form, select = o.select ?? d.select;
  const m = o.margin ?? d.margin, mq = o.marginQ ?? d.marginQ, lambda = o.lambda ?? d.lambda, beta = o.beta ?? d.beta;
  const smooth = form === 'smooth';
  // b: the codes of the quantisation term (sign(f), the `codes` option, or tanh(β·f)); db(i, c) = ∂b/∂f at that entry:
  // the straight-through 1 where |f| ≤ 1 (else 0), or β·(1 − tanh²(β·f)) = β / cosh²(β·f) for 'smooth'.
  const signs = o.codes ?? signCodes(f);
  const b = smooth ? f.map((v) => Math.tanh(beta * v)) : signs;
  const db = (i: number, c: number): number => {
    const v = f[i * k + c];
    return smooth ? beta / Math.cosh(beta * v) ** 2 : Math.abs(v) <= 1 ? 1 : 0;
  };
  // Forms whose anchor side is the real-valued f_a (the others compare codes with codes).
  const anchorReal = form === 'asym' || form === 'asym-ste';
  const grad = new Float64Array(B * k);

  const triplets = selectTriplets(f, labels, B, k, select, m);
  let total = 0, active = 0, kinks = 0;
  for (const [a, p, n] of triplets) {
    const zt = dist(f, a, f, p, k) - dist(f, a, f, n, k) + m;
    const lt = zt > 0 ? zt : 0;
    let lq = 0;
    if (kind === 'tql') {
      const u = anchorReal ? f : b;
      const zq = dist(u, a, b, p, k) - dist(u, a, b, n, k) + mq;
      if (zq === 0) kinks++;
      if (zq > 0) {
        lq = zq;
        for (let c = 0; c < k; c++) {
          const ua = u[a * k + c], bp = b[p * k + c], bn = b[n * k + c];
          // ∂z_q/∂u_a = 2(b_n − b_p), ∂z_q/∂b_p = 2(b_p − u_a), ∂z_q/∂b_n = 2(u_a − b_n); codes pass on through db.
          grad[a * k + c] += lambda * 2 * (bn - bp) * (anchorReal ? 1 : db(a, c));
          if (form === 'asym') continue; // gradient to the anchor only
          grad[p * k + c] += lambda * 2 * (bp - ua) * db(p, c);
          grad[n * k + c] += lambda * 2 * (ua - bn) * db(n, c);
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
      const e = f[i] - signs[i];
      q += e * e;
      grad[i] += lambda * 2 * e / (B * k);
    }
    loss += lambda * q / (B * k);
  }
  return { loss, grad, active, valid, kinks };
}
