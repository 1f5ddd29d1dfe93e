// Op family norm: BatchNorm2d (training with batch statistics, eval with running statistics), forward beside backward.
// Statistics: one pass over x — per (n, c) plane Welford's running mean and M2 (H·W terms, 4 interleaved streams in
// the vec4 kernel), then the N planes merged in a fixed order (Chan et al.'s rule for equal counts). Deterministic, and
// no E[x²] − E[x]² cancellation: measured against float64 at N·H·W = 262,144 (test/norm.test.js) the relative errors
// of mean and variance stay below 1e-5, as with the two-pass sums it replaces (one read of x fewer per step).
import { defineBackward, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob, knobView } from '../gpu/knobs.js';

/** BatchNorm2d options (PyTorch defaults): training (batch statistics + running-stat update) or eval (running statistics). */
export interface BatchNorm2dOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
  /** Apply ReLU to the output in the same kernel (BatchNorm2d + ReLU fused; the backward masks dy the same way). */
  relu?: boolean;
}

/** What the backward needs of a forward (also src/ops/bn-pool.ts's). */
export interface NormCtx { N: number; C: number; HW: number; eps: number; stats: Tensor; training: boolean; relu: boolean }

const FILE = 'norm.wgsl';
const wg = (): number => knob('ops.WG');
/**
 * Knobs of the BN kernels (a view of the registry): vec4 = the vec4 kernels where H·W % 4 = 0 (default; tests run both);
 * run = the most vec4 of one plane that an element-wise vec4 kernel (apply, dx) makes per invocation (the largest of
 * run, …, 2, 1 dividing HW/4).
 */
export const NORM_KNOBS = knobView('norm', ['vec4', 'run']);

/** vec4 per invocation of the element-wise vec4 kernels for planes of HW elements, and their grid. */
function runOf(HW: number, total: number): { overrides: Record<string, number>; workgroups: [number, number] } {
  let run: number = NORM_KNOBS.run;
  while ((HW / 4) % run) run--;
  return { overrides: { WG: wg(), RUN: run }, workgroups: grid1d(total / 4 / run, wg()) };
}
/** Entry `name`, or its vec4 variant `name4` (and whether it is the vec4 one) for planes of HW elements. */
function pick(name: string, HW: number): { entry: string; v4: boolean } {
  const v4 = NORM_KNOBS.vec4 && HW % 4 === 0;
  return { entry: v4 ? `${name}4` : name, v4 };
}

function params(c: { N: number; C: number; HW: number }, extra: { eps?: number; momentum?: number; update?: number } = {}): Record<string, number> {
  return { N: c.N, C: c.C, HW: c.HW, total: c.N * c.C * c.HW, eps: extra.eps ?? 0, momentum: extra.momentum ?? 0, update: extra.update ?? 0 };
}

function checkVec(t: Tensor, name: string, C: number, x: Tensor): void {
  if (t.dtype !== 'f32' || t.shape.length !== 1 || t.shape[0] !== C) {
    throw new Error(`batchNorm2d: ${name} is ${t.describe()}, expected [${C}] f32 (one per channel of x ${x.describe()})`);
  }
}

/**
 * y = γ·(x − mean)/√(var + eps) + β per channel: x [N, C, H, W], gamma, beta, runningMean, runningVar [C].
 * Training: batch mean and biased variance; runningMean/runningVar are updated in place (momentum, unbiased variance).
 * Eval: the running statistics. Differentiable in x, gamma and beta. `relu`: max(y, 0) in the same pass (one pass
 * less over the activations each way than a separate ReLU; the backward recomputes the mask from x).
 */
export function batchNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, opts: BatchNorm2dOptions = {}): Tensor {
  const ctx = batchNormStats(x, gamma, beta, runningMean, runningVar, opts);
  const { HW, stats, relu } = ctx;
  const rt = runtime();
  const y = Tensor.empty(x.shape);
  const ap = pick('apply', HW);
  const R = relu ? 1 : 0;
  if (ap.v4) {
    const r = runOf(HW, y.size);
    rt.dispatch({ file: FILE, entry: ap.entry, overrides: { ...r.overrides, RELU: R } }, { bindings: { x4: x.buffer, st: stats.buffer, y4: y.buffer }, params: params(ctx), workgroups: r.workgroups });
  } else {
    rt.dispatch({ file: FILE, entry: ap.entry, overrides: { WG: wg(), RELU: R } }, { bindings: { x: x.buffer, st: stats.buffer, y: y.buffer }, params: params(ctx), workgroups: grid1d(y.size, wg()) });
  }
  const out = record('batchNorm2d', [x, gamma, beta], y, { ...ctx });
  if (!out.node) stats.dispose();
  return out;
}

/**
 * BatchNorm2d's statistics pass(es): checks the operands, computes the channels' stats [4][C] (mean, invStd, scale,
 * shift) from the batch (training; the running statistics updated) or from the running statistics (eval).
 */
export function batchNormStats(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, opts: BatchNorm2dOptions = {}): NormCtx {
  if (x.dtype !== 'f32' || x.shape.length !== 4) throw new Error(`batchNorm2d: x ${x.describe()} must be 4-D [N, C, H, W] f32 (NCHW); reshape it first`);
  const [N, C, H, W] = x.shape;
  checkVec(gamma, 'gamma', C, x); checkVec(beta, 'beta', C, x);
  checkVec(runningMean, 'runningMean', C, x); checkVec(runningVar, 'runningVar', C, x);
  const training = opts.training ?? true, momentum = opts.momentum ?? 0.1, eps = opts.eps ?? 1e-5, relu = opts.relu ?? false;
  if (!(eps > 0)) throw new Error(`batchNorm2d: eps must be > 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`batchNorm2d: momentum must be in [0, 1], got ${momentum}`);
  const HW = H * W, M = N * HW;
  if (training && M < 2) throw new Error(`batchNorm2d: training needs at least 2 values per channel (N·H·W = ${M} for x ${x.describe()}); use a larger batch or eval mode`);
  const rt = runtime();
  const ctx = { N, C, HW };
  const stats = Tensor.empty([4 * C]);
  if (training) {
    const part = Tensor.empty([2 * C * N]);
    const ps = pick('plane_stats', HW);
    rt.dispatch({ file: FILE, entry: ps.entry, overrides: { WG: wg() } }, { bindings: { [ps.v4 ? 'x4' : 'x']: x.buffer, part: part.buffer }, params: params(ctx), workgroups: grid1d(N * C, wg()) });
    rt.dispatch(
      { file: FILE, entry: 'finalize', overrides: { WG: wg() } },
      { bindings: { part: part.buffer, stats: stats.buffer, gamma: gamma.buffer, beta: beta.buffer, runMean: runningMean.buffer, runVar: runningVar.buffer }, params: params(ctx, { eps, momentum, update: 1 }), workgroups: grid1d(C, wg()) },
    );
    part.dispose();
  } else {
    rt.dispatch(
      { file: FILE, entry: 'eval_stats', overrides: { WG: wg() } },
      { bindings: { stats: stats.buffer, gamma: gamma.buffer, beta: beta.buffer, runMean: runningMean.buffer, runVar: runningVar.buffer }, params: params(ctx, { eps }), workgroups: grid1d(C, wg()) },
    );
  }
  return { N, C, HW, eps, stats, training, relu };
}

defineBackward('batchNorm2d', (node, gy) => {
  const [x, gamma] = node.inputs as [Tensor, Tensor, Tensor];
  return batchNormBackward(node.ctx as unknown as NormCtx, x, gamma, gy);
});

/** dx, dgamma, dbeta of BatchNorm2d (+ the fused ReLU's mask, recomputed from x) from dy. */
export function batchNormBackward(c: NormCtx, x: Tensor, gamma: Tensor, gy: Tensor): [Tensor, Tensor, Tensor] {
  const rt = runtime();
  const R = c.relu ? 1 : 0;
  const part = Tensor.empty([2 * c.C * c.N]);
  const dgb = Tensor.empty([2 * c.C]);
  const bp = pick('bwd_plane', c.HW);
  rt.dispatch(
    { file: FILE, entry: bp.entry, overrides: { WG: wg(), RELU: R } },
    { bindings: { [bp.v4 ? 'x4' : 'x']: x.buffer, [bp.v4 ? 'dy4' : 'dy']: gy.buffer, st: c.stats.buffer, part: part.buffer }, params: params(c), workgroups: grid1d(c.N * c.C, wg()) },
  );
  rt.dispatch({ file: FILE, entry: 'bwd_reduce', overrides: { WG: wg() } }, { bindings: { part: part.buffer, dgb: dgb.buffer }, params: params(c), workgroups: grid1d(c.C, wg()) });
  const dx = Tensor.empty(x.shape);
  const bd = pick(c.training ? 'bwd_dx' : 'bwd_dx_eval', c.HW);
  const sfx = bd.v4 ? '4' : '';
  const bindings: Record<string, typeof gy.buffer> = { [`dy${sfx}`]: gy.buffer, [`y${sfx}`]: dx.buffer, [`x${sfx}`]: x.buffer, st: c.stats.buffer };
  if (c.training) Object.assign(bindings, { gamma: gamma.buffer, dgb: dgb.buffer });
  const grid = bd.v4 ? runOf(c.HW, dx.size) : { overrides: { WG: wg() }, workgroups: grid1d(dx.size, wg()) };
  rt.dispatch({ file: FILE, entry: bd.entry, overrides: { ...grid.overrides, RELU: R } }, { bindings, params: params(c), workgroups: grid.workgroups });
  const dgamma = Tensor.empty([c.C]), dbeta = Tensor.empty([c.C]);
  const raw = dgb.buffer.buffer;
  rt.copy({ buffer: raw, offset: 0, size: c.C * 4 }, dgamma.buffer, c.C * 4);
  rt.copy({ buffer: raw, offset: c.C * 4, size: c.C * 4 }, dbeta.buffer, c.C * 4);
  part.dispose();
  dgb.dispose();
  return [dx, dgamma, dbeta];
}
