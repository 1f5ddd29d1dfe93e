// Op family loss: softmax cross-entropy (the optional classification head), forward beside backward.
// Kernels in shaders/loss.wgsl; the mean over rows is the deterministic reduction of reduce.ts.
import { defineBackward, isGradEnabled, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { reduceAxis } from './reduce.js';
import { knob } from '../gpu/knobs.js';

const wg = (): number => knob('ops.WG');

/**
 * Mean softmax cross-entropy of logits [B, C] against class labels [B] (u32 tensor, or a host array validated
 * here) → a one-element tensor [1]. Max-subtracted; a GPU label ≥ C makes the loss NaN (checked on the host for host labels).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor | Uint32Array | readonly number[]): Tensor {
  if (logits.dtype !== 'f32' || logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy: logits ${logits.describe()} must be f32 [B, C]`);
  const [B, C] = logits.shape;
  if (C < 1) throw new Error(`softmaxCrossEntropy: logits ${logits.describe()} need at least one class`);
  let lab: Tensor;
  let ownLabels = false;
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'u32' || labels.size !== B) throw new Error(`softmaxCrossEntropy: labels ${labels.describe()} must be u32 [${B}] (one class index per row of logits ${logits.describe()})`);
    lab = labels;
  } else {
    if (labels.length !== B) throw new Error(`softmaxCrossEntropy: ${labels.length} labels for logits ${logits.describe()}; need ${B}`);
    for (let b = 0; b < B; b++) {
      const y = labels[b];
      if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`softmaxCrossEntropy: labels[${b}] = ${y} is not a class index in [0, ${C}) (logits ${logits.describe()})`);
    }
    lab = Tensor.from(Uint32Array.from(labels), [B], 'u32', 'labels');
    ownLabels = true;
  }
  const rowLoss = Tensor.empty([B]);
  const stats = Tensor.empty([B, 2]);
  if (B > 0) {
    runtime().dispatch(
      { file: 'loss.wgsl', entry: 'ce_forward', overrides: { WG: wg() } },
      { bindings: { logits: logits.buffer, labels: lab.buffer, rowLoss: rowLoss.buffer, stats: stats.buffer }, params: { B, C }, workgroups: grid1d(B, wg()) },
    );
  }
  const loss = reduceAxis(rowLoss, 1, B, 1, B ? 1 / B : 0);
  rowLoss.dispose();
  if (!isGradEnabled() || !logits.requiresGrad) {
    stats.dispose();
    if (ownLabels) lab.dispose();
    return loss;
  }
  // The tape keeps stats and the labels alive until backward; they belong to the node (freed with the scope).
  return record('softmaxCrossEntropy', [logits], loss, { logits, labels: lab, stats, B, C });
}
defineBackward('softmaxCrossEntropy', (node, gy) => {
  const { logits, labels, stats, B, C } = node.ctx as { logits: Tensor; labels: Tensor; stats: Tensor; B: number; C: number };
  const d = Tensor.empty([B, C]);
  if (B * C > 0) {
    runtime().dispatch(
      { file: 'loss.wgsl', entry: 'ce_backward', overrides: { WG: wg() } },
      { bindings: { logits: logits.buffer, labels: labels.buffer, rowStats: stats.buffer, dloss: gy.buffer, dlogits: d.buffer }, params: { B, C, scale: 1 / B }, workgroups: grid1d(B * C, wg()) },
    );
  }
  return [d];
});
