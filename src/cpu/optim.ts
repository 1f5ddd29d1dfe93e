// Optimiser references: one step of SGD with momentum and of Adam / AdamW on flat arrays (PyTorch semantics); inputs are not modified.
import { expectInt, expectLength } from './check.js';

/** SGD hyper-parameters; momentum, weightDecay default 0, nesterov false (dampening is not supported: PyTorch's default 0). */
export interface SgdOptions { lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }

/** g' = g + wd·w; v' = μ·v + g'; w' = w − lr·(nesterov ? g' + μ·v' : v') (v starts at zeros, equal to PyTorch's first-step copy): w, g, v [n] → { w, v } [n]. */
export function sgdStep(w: Float64Array, g: Float64Array, v: Float64Array, o: SgdOptions): { w: Float64Array; v: Float64Array } {
  expectLength(g, w.length, 'sgdStep g', 'like w');
  expectLength(v, w.length, 'sgdStep v', 'like w');
  const mu = o.momentum ?? 0, wd = o.weightDecay ?? 0;
  const w2 = new Float64Array(w.length), v2 = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + wd * w[i];
    v2[i] = mu * v[i] + gi;
    const step = o.nesterov ? gi + mu * v2[i] : v2[i];
    w2[i] = w[i] - o.lr * step;
  }
  return { w: w2, v: v2 };
}

/** Adam hyper-parameters: beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 0 by default; decoupled = AdamW. */
export interface AdamOptions { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; decoupled?: boolean }

/** One Adam step at step number t ≥ 1: (AdamW: w ← w·(1 − lr·wd); Adam: g ← g + wd·w); m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²; w' = w − lr·(m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + eps): w, g, m, v [n] → { w, m, v } [n]. */
export function adamStep(w: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number, o: AdamOptions): { w: Float64Array; m: Float64Array; v: Float64Array } {
  expectLength(g, w.length, 'adamStep g', 'like w');
  expectLength(m, w.length, 'adamStep m', 'like w');
  expectLength(v, w.length, 'adamStep v', 'like w');
  expectInt(t, 'adamStep t (the step number, counting from 1)');
  const b1 = o.beta1 ?? 0.9, b2 = o.beta2 ?? 0.999, eps = o.eps ?? 1e-8, wd = o.weightDecay ?? 0;
  const bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
  const w2 = new Float64Array(w.length), m2 = new Float64Array(w.length), v2 = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    let wi = w[i], gi = g[i];
    if (o.decoupled) wi = wi * (1 - o.lr * wd);
    else gi = gi + wd * wi;
    m2[i] = b1 * m[i] + (1 - b1) * gi;
    v2[i] = b2 * v[i] + (1 - b2) * gi * gi;
    w2[i] = wi - o.lr * (m2[i] / bc1) / (Math.sqrt(v2[i] / bc2) + eps);
  }
  return { w: w2, m: m2, v: v2 };
}

/** AdamW: adamStep with decoupled weight decay (weightDecay defaults to 0 here, not to PyTorch AdamW's 0.01): w, g, m, v [n] → { w, m, v } [n]. */
export function adamwStep(w: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number, o: Omit<AdamOptions, 'decoupled'>): { w: Float64Array; m: Float64Array; v: Float64Array } {
  return adamStep(w, g, m, v, t, { ...o, decoupled: true });
}
