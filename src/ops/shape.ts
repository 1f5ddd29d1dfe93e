// Shape ops that move no data.
import { clone, defineBackward, record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

/** x with another shape of the same size (a view sharing x's buffer, so it must not outlive x; differentiable). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return record('reshape', [x], x.reshapeView(shape), { shape: x.shape });
}
// The tape frees gradients, so the gradient must own its buffer: copy, then take the copy's buffer.
defineBackward('reshape', (node, gy) => [clone(gy).reshapeInto(node.ctx.shape as number[])]);
