// Op: BatchNorm2d (+ ReLU) followed by a pool, in fewer passes (nn Sequential fuses BatchNorm2d, ReLU, MaxPool2d /
// AvgPool2d this way, as DSH's network has them). Forward: BN's statistics, then the pool's 'rows' kernel normalises on
// load (pool.wgsl PRE, the same fma as BN's apply), so the normalised activations are never written nor read back
// (one pass of 2 × N·C·H·W values less). Backward: the pool's backward gives dz, BN's backward (its ReLU mask
// recomputed from x) takes it from there. Same values, bit for bit, as the three ops run one after another.
import { defineBackward, record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { batchNormBackward, batchNormStats, type BatchNorm2dOptions, type NormCtx } from './norm.js';
import { avgPoolBackward, maxPoolBackward, poolGeometry, poolRows, rowsFit, type Pool2dOptions, type PoolGeometry } from './pool.js';

/** The pool after the batch norm: its kind and window. */
export interface BnPoolOptions extends Pool2dOptions { kind: 'max' | 'avg' }

/**
 * Whether batchNorm2dPool2d runs fused for x (the pool's 'rows' kernels fit); else run the ops one by one. Bad pool
 * options are refused here as the pool op itself refuses them (same message, named after maxPool2d / avgPool2d).
 */
export function bnPoolFits(x: Tensor, pool: BnPoolOptions): boolean {
  return x.dtype === 'f32' && x.shape.length === 4 && rowsFit(poolGeometry(pool.kind === 'max' ? 'maxPool2d' : 'avgPool2d', x, pool));
}

/**
 * pool(relu?(batchNorm2d(x))) where bnPoolFits(x, pool): x [N, C, H, W] → [N, C, OH, OW]; the batch-norm options and
 * semantics are batchNorm2d's (running statistics updated in training), the pool's are maxPool2d's / avgPool2d's.
 */
export function batchNorm2dPool2d(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, bn: BatchNorm2dOptions, pool: BnPoolOptions): Tensor {
  const g = poolGeometry('batchNorm2dPool2d', x, pool);
  if (!rowsFit(g)) throw new Error(`batchNorm2dPool2d: the ${pool.k}×${pool.k} / ${pool.stride ?? pool.k} pool over ${x.describe()} has no fused kernel (bnPoolFits); run batchNorm2d and the pool one after another`);
  const norm = batchNormStats(x, gamma, beta, runningMean, runningVar, bn);
  const y = Tensor.empty([g.N, g.C, g.OH, g.OW]);
  const argmax = pool.kind === 'max' ? Tensor.empty(y.shape, 'u32') : null;
  poolRows(pool.kind, x, g, y, argmax, { stats: norm.stats, relu: norm.relu });
  const out = record('batchNorm2dPool2d', [x, gamma, beta], y, { norm, g, kind: pool.kind, argmax });
  if (!out.node) {
    norm.stats.dispose();
    argmax?.dispose();
  }
  return out;
}

defineBackward('batchNorm2dPool2d', (node, gy) => {
  const [x, gamma] = node.inputs as [Tensor, Tensor, Tensor];
  const { norm, g, kind, argmax } = node.ctx as { norm: NormCtx; g: PoolGeometry; kind: 'max' | 'avg'; argmax: Tensor | null };
  const dz = kind === 'max' ? maxPoolBackward(g, argmax!, gy) : avgPoolBackward(g, gy);
  const grads = batchNormBackward(norm, x, gamma, dz);
  dz.dispose();
  return grads;
});
