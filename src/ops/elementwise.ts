// Op family elementwise: relu, tanh, scale, addScalar, square, add, sub, mul, addBias — each forward beside its
// backward rule. Kernels in shaders/elementwise.wgsl: a scalar and a vec4 variant of every map (vec4 when the size
// is a multiple of 4; memory-bound, so one vec4 per invocation moves 4× the bytes per lane).
import { defineBackward, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { sumAxesKeep } from './reduce.js';
import { knob, setKnobs, type KnobValues } from '../gpu/knobs.js';

/** Which kernel variant the elementwise ops use: 'auto' (vec4 when the size allows), or forced (tests, benchmarks). */
export type ElementwiseVariant = KnobValues['elementwise.variant'];
const wg = (): number => knob('ops.WG');

/** Selects the elementwise kernel variant (knob elementwise.variant; tests run both; 'vec4' still falls back to scalar when n % 4 ≠ 0). */
export function setElementwiseVariant(v: ElementwiseVariant): void {
  setKnobs({ 'elementwise.variant': v });
}

const U = { relu: 0, tanh: 1, affine: 2, square: 3 } as const;
const B = { axpby: 0, mul: 1, reluBackward: 2, tanhBackward: 3 } as const;

function useVec4(n: number): boolean {
  return knob('elementwise.variant') !== 'scalar' && n % 4 === 0;
}

function params(n: number, alpha = 0, beta = 0, inner = 1, C = 1) {
  return { n, alpha, beta, inner, C };
}

function checkF32(x: Tensor, op: string, what = 'x'): void {
  if (x.dtype !== 'f32') throw new Error(`${op}: ${what} ${x.describe()} must be f32`);
}

/** y = map(x) without recording (used by forwards and backward rules alike). */
function unaryRaw(op: number, x: Tensor, alpha = 0, beta = 0): Tensor {
  const y = Tensor.empty(x.shape);
  const n = x.size;
  if (n === 0) return y;
  if (useVec4(n)) {
    runtime().dispatch({ file: 'elementwise.wgsl', entry: 'unary_v4', overrides: { WG: wg(), OP: op } }, { bindings: { y4: y.buffer, a4: x.buffer }, params: params(n / 4, alpha, beta), workgroups: grid1d(n / 4, wg()) });
  } else {
    runtime().dispatch({ file: 'elementwise.wgsl', entry: 'unary', overrides: { WG: wg(), OP: op } }, { bindings: { y: y.buffer, a: x.buffer }, params: params(n, alpha, beta), workgroups: grid1d(n, wg()) });
  }
  return y;
}

/** y = map(a, b) without recording; a and b have the same size. */
function binaryRaw(op: number, a: Tensor, b: Tensor, alpha = 0, beta = 0): Tensor {
  const y = Tensor.empty(a.shape);
  const n = a.size;
  if (n === 0) return y;
  if (useVec4(n)) {
    runtime().dispatch({ file: 'elementwise.wgsl', entry: 'binary_v4', overrides: { WG: wg(), OP: op } }, { bindings: { y4: y.buffer, a4: a.buffer, b4: b.buffer }, params: params(n / 4, alpha, beta), workgroups: grid1d(n / 4, wg()) });
  } else {
    runtime().dispatch({ file: 'elementwise.wgsl', entry: 'binary', overrides: { WG: wg(), OP: op } }, { bindings: { y: y.buffer, a: a.buffer, b: b.buffer }, params: params(n, alpha, beta), workgroups: grid1d(n, wg()) });
  }
  return y;
}

function sameShape(a: Tensor, b: Tensor, op: string): void {
  checkF32(a, op, 'a');
  checkF32(b, op, 'b');
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: a ${a.describe()} and b ${b.describe()} must have the same shape (no broadcasting; use addBias for a per-channel bias, or reshape)`);
  }
}

/** y = max(x, 0). */
export function relu(x: Tensor): Tensor {
  checkF32(x, 'relu');
  const y = unaryRaw(U.relu, x);
  return record('relu', [x], y, { y });
}
// Uses the output (y > 0 ⇔ x > 0), so x need not be kept; the gradient at 0 is 0 (PyTorch).
defineBackward('relu', (node, gy) => [binaryRaw(B.reluBackward, gy, node.ctx.y as Tensor)]);

/** y = tanh(x). */
export function tanh(x: Tensor): Tensor {
  checkF32(x, 'tanh');
  const y = unaryRaw(U.tanh, x);
  return record('tanh', [x], y, { y });
}
defineBackward('tanh', (node, gy) => [binaryRaw(B.tanhBackward, gy, node.ctx.y as Tensor)]);

/** y = s·x for a host scalar s. */
export function scale(x: Tensor, s: number): Tensor {
  checkF32(x, 'scale');
  return record('scale', [x], unaryRaw(U.affine, x, s, 0), { s });
}
defineBackward('scale', (node, gy) => [unaryRaw(U.affine, gy, node.ctx.s as number, 0)]);

/** y = x + c for a host scalar c. */
export function addScalar(x: Tensor, c: number): Tensor {
  checkF32(x, 'addScalar');
  return record('addScalar', [x], unaryRaw(U.affine, x, 1, c));
}
defineBackward('addScalar', (_node, gy) => [gy]);

/** y = x². */
export function square(x: Tensor): Tensor {
  checkF32(x, 'square');
  return record('square', [x], unaryRaw(U.square, x), { x });
}
defineBackward('square', (node, gy) => [binaryRaw(B.mul, gy, node.ctx.x as Tensor, 2)]);

/** y = a + b (same shape). */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  return record('add', [a, b], binaryRaw(B.axpby, a, b, 1, 1));
}
defineBackward('add', (_node, gy) => [gy, gy]);

/** y = a − b (same shape). */
export function sub(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'sub');
  return record('sub', [a, b], binaryRaw(B.axpby, a, b, 1, -1));
}
defineBackward('sub', (node, gy) => [gy, node.inputs[1]?.requiresGrad ? unaryRaw(U.affine, gy, -1, 0) : null]);

/** y = α·a + β·b (same shape; host scalars). */
export function axpby(alpha: number, a: Tensor, beta: number, b: Tensor): Tensor {
  sameShape(a, b, 'axpby');
  return record('axpby', [a, b], binaryRaw(B.axpby, a, b, alpha, beta), { alpha, beta });
}
defineBackward('axpby', (node, gy) => [
  node.inputs[0]?.requiresGrad ? unaryRaw(U.affine, gy, node.ctx.alpha as number, 0) : null,
  node.inputs[1]?.requiresGrad ? unaryRaw(U.affine, gy, node.ctx.beta as number, 0) : null,
]);

/** y = a ⊙ b (same shape). */
export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  return record('mul', [a, b], binaryRaw(B.mul, a, b, 1), { a, b });
}
defineBackward('mul', (node, gy) => {
  const [a, b] = [node.ctx.a as Tensor, node.ctx.b as Tensor];
  return [node.inputs[0]?.requiresGrad ? binaryRaw(B.mul, gy, b, 1) : null, node.inputs[1]?.requiresGrad ? binaryRaw(B.mul, gy, a, 1) : null];
});

/**
 * y = x + bias broadcast along `axis` of x (bias has length x.shape[axis]): axis 1 of NCHW is a per-channel bias,
 * the last axis of [B, F] a per-feature bias. Default axis: 1 for 4-D x, else the last.
 */
export function addBias(x: Tensor, bias: Tensor, axis?: number): Tensor {
  checkF32(x, 'addBias');
  checkF32(bias, 'addBias', 'bias');
  const ax = axis ?? (x.shape.length === 4 ? 1 : x.shape.length - 1);
  if (!Number.isInteger(ax) || ax < 0 || ax >= x.shape.length) throw new Error(`addBias: axis ${axis} is out of range for x ${x.describe()}`);
  const C = x.shape[ax];
  if (bias.size !== C) throw new Error(`addBias: bias ${bias.describe()} needs ${C} elements (x.shape[${ax}] of ${x.describe()})`);
  let inner = 1;
  for (let i = ax + 1; i < x.shape.length; i++) inner *= x.shape[i];
  const y = Tensor.empty(x.shape);
  const n = x.size;
  if (n > 0) {
    if (useVec4(n) && inner % 4 === 0) {
      runtime().dispatch({ file: 'elementwise.wgsl', entry: 'add_bias_v4', overrides: { WG: wg() } }, { bindings: { y4: y.buffer, a4: x.buffer, b: bias.buffer }, params: params(n / 4, 0, 0, inner, C), workgroups: grid1d(n / 4, wg()) });
    } else {
      runtime().dispatch({ file: 'elementwise.wgsl', entry: 'add_bias', overrides: { WG: wg() } }, { bindings: { y: y.buffer, a: x.buffer, b: bias.buffer }, params: params(n, 0, 0, inner, C), workgroups: grid1d(n, wg()) });
    }
  }
  return record('addBias', [x, bias], y, { C, inner, outer: C ? n / (C * inner) : 0, biasShape: bias.shape });
}
// dbias = Σ of gy over every axis but the bias axis: [outer, C, inner] → [C] (two deterministic passes).
defineBackward('addBias', (node, gy) => {
  const { outer, C, inner, biasShape } = node.ctx as { outer: number; C: number; inner: number; biasShape: number[] };
  const db = node.inputs[1]?.requiresGrad ? sumAxesKeep(gy, outer, C, inner).reshapeInto(biasShape) : null;
  return [gy, db];
});
