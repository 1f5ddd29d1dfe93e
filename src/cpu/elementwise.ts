// Elementwise ops and reductions (same-shape operands, no broadcasting), each forward beside its backward.
import { expectInt, expectLength } from './check.js';

function sameLength(a: Float64Array, b: Float64Array, name: string): void {
  if (a.length !== b.length) throw new Error(`cpu.${name}: operands have lengths ${a.length} and ${b.length}; they must match (no broadcasting)`);
}

/** y = max(x, 0): x [n] → y [n]. */
export function relu(x: Float64Array): Float64Array {
  return x.map((v) => (v > 0 ? v : 0));
}

/** dx = dy where y > 0, else 0 (given the forward output y; the gradient at 0 is 0): dy, y [n] → dx [n]. */
export function reluBackward(dy: Float64Array, y: Float64Array): Float64Array {
  sameLength(dy, y, 'reluBackward');
  return dy.map((g, i) => (y[i] > 0 ? g : 0));
}

/** y = tanh(x): x [n] → y [n]. */
export function tanh(x: Float64Array): Float64Array {
  return x.map(Math.tanh);
}

/** dx = dy·(1 − y²) (given the forward output y = tanh(x)): dy, y [n] → dx [n]. */
export function tanhBackward(dy: Float64Array, y: Float64Array): Float64Array {
  sameLength(dy, y, 'tanhBackward');
  return dy.map((g, i) => g * (1 - y[i] * y[i]));
}

/** y = a·x for a scalar a: x [n] → y [n]. */
export function scale(x: Float64Array, a: number): Float64Array {
  return x.map((v) => a * v);
}

/** dx = a·dy: dy [n] → dx [n]. */
export function scaleBackward(dy: Float64Array, a: number): Float64Array {
  return scale(dy, a);
}

/** y = a + b: a, b [n] → y [n]. */
export function add(a: Float64Array, b: Float64Array): Float64Array {
  sameLength(a, b, 'add');
  return a.map((v, i) => v + b[i]);
}

/** da = db = dy (copies): dy [n] → { da, db } [n]. */
export function addBackward(dy: Float64Array): { da: Float64Array; db: Float64Array } {
  return { da: dy.slice(), db: dy.slice() };
}

/** y = a ⊙ b: a, b [n] → y [n]. */
export function mul(a: Float64Array, b: Float64Array): Float64Array {
  sameLength(a, b, 'mul');
  return a.map((v, i) => v * b[i]);
}

/** da = dy ⊙ b, db = dy ⊙ a: dy, a, b [n] → { da, db } [n]. */
export function mulBackward(dy: Float64Array, a: Float64Array, b: Float64Array): { da: Float64Array; db: Float64Array } {
  sameLength(a, b, 'mulBackward');
  sameLength(dy, a, 'mulBackward');
  return { da: dy.map((g, i) => g * b[i]), db: dy.map((g, i) => g * a[i]) };
}

/** Σ x (plain left-to-right float64 sum): x [n] → scalar. */
export function sum(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** dx = dy everywhere: scalar dy → dx [n]. */
export function sumBackward(dy: number, n: number): Float64Array {
  return new Float64Array(n).fill(dy);
}

/** Σ x / n (0 for an empty x): x [n] → scalar. */
export function mean(x: Float64Array): number {
  return x.length > 0 ? sum(x) / x.length : 0;
}

/** dx = dy / n everywhere: scalar dy → dx [n]. */
export function meanBackward(dy: number, n: number): Float64Array {
  return new Float64Array(n).fill(dy / n);
}

/** Splits a row-major shape around `axis` into (outer, size, inner) so that x[o, a, i] = x[(o·size + a)·inner + i]. */
function around(x: ArrayLike<number>, shape: readonly number[], axis: number, name: string): { outer: number; size: number; inner: number } {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new Error(`cpu.${name}: axis ${axis} is out of range for shape [${shape.join(', ')}]`);
  for (const d of shape) expectInt(d, `${name} shape entry`, 0);
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  expectLength(x, outer * shape[axis] * inner, `${name} x`, `[${shape.join(', ')}]`);
  return { outer, size: shape[axis], inner };
}

/** Sum along one axis of a row-major array: x of `shape` → y of `shape` without that axis. */
export function sumAxis(x: Float64Array, shape: readonly number[], axis: number): Float64Array {
  const { outer, size, inner } = around(x, shape, axis, 'sumAxis');
  const y = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let a = 0; a < size; a++)
      for (let i = 0; i < inner; i++) y[o * inner + i] += x[(o * size + a) * inner + i];
  return y;
}

/** Broadcasts dy back along the summed axis: dy of `shape` without `axis` → dx of `shape`. */
export function sumAxisBackward(dy: Float64Array, shape: readonly number[], axis: number): Float64Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const { outer, size, inner } = around(new Float64Array(n), shape, axis, 'sumAxisBackward');
  expectLength(dy, outer * inner, 'sumAxisBackward dy', 'shape without the axis');
  const dx = new Float64Array(n);
  for (let o = 0; o < outer; o++)
    for (let a = 0; a < size; a++)
      for (let i = 0; i < inner; i++) dx[(o * size + a) * inner + i] = dy[o * inner + i];
  return dx;
}

/** Mean along one axis (divides by shape[axis]): x of `shape` → y of `shape` without that axis. */
export function meanAxis(x: Float64Array, shape: readonly number[], axis: number): Float64Array {
  return scale(sumAxis(x, shape, axis), 1 / shape[axis]);
}

/** Broadcasts dy / shape[axis] back along the axis: dy of `shape` without `axis` → dx of `shape`. */
export function meanAxisBackward(dy: Float64Array, shape: readonly number[], axis: number): Float64Array {
  return scale(sumAxisBackward(dy, shape, axis), 1 / shape[axis]);
}
