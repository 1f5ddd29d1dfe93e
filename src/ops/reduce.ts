// Op family reduce: sum and mean over all elements or along one axis, each forward beside its backward rule.
// Deterministic: no float atomics. x is viewed as [outer, size, inner]; each pass of shaders/reduce.wgsl adds
// chunks of `chunk` consecutive axis entries in order, and passes repeat on the partials until one is left.
//
// Precision (f32 inputs, f32 accumulation, vs the float64 sum of the same f32 values): a tree of depth
// L = ⌈log_chunk n⌉ whose nodes each add ≤ chunk terms in order has |error| ≤ L·(chunk − 1)·u·Σ|x| (u = 2⁻²⁴, to
// first order); a mean adds 2u relative (the f32 1/n and the scaling). With chunk = 64 and n ≤ 10⁶ (L ≤ 4):
// |error| ≤ 252·u·Σ|x| ≈ 1.5e-5·Σ|x|. Measured errors are far smaller (random rounding: ~1e-7·Σ|x|; test/reduce.test.js).
import { defineBackward, full, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';

const wg = (): number => knob('ops.WG');
let CHUNK = 64;

/** Sets the chunk length of the reduction passes (a knob for tests and benchmarks; default 64). */
export function setReduceChunk(chunk: number): void {
  if (!Number.isInteger(chunk) || chunk < 2) throw new Error(`setReduceChunk: chunk must be an integer ≥ 2, got ${chunk}`);
  CHUNK = chunk;
}

/** The error bound of a sum of n f32 terms as a multiple of u·Σ|x| (see the top of reduce.ts). */
export function sumErrorFactor(n: number, chunk = CHUNK): number {
  let levels = 0;
  for (let m = n; m > 1; m = Math.ceil(m / chunk)) levels++;
  return Math.max(1, levels) * (chunk - 1);
}

/** out[o, i] = alpha · Σ_a x[o, a, i] for x viewed as [outer, size, inner] (deterministic; not recorded) → a flat [outer·inner] tensor. */
export function reduceAxis(x: Tensor, outer: number, size: number, inner: number, alpha: number): Tensor {
  if (outer * inner === 0) return Tensor.empty([outer * inner]);
  if (size === 0) return full([outer * inner], 0);
  const rt = runtime();
  let src = x;
  let n = size;
  for (;;) {
    const chunks = Math.ceil(n / CHUNK);
    const last = chunks === 1;
    const out = Tensor.empty([outer * chunks * inner]);
    const count = outer * chunks * inner;
    rt.dispatch(
      { file: 'reduce.wgsl', entry: 'sum_axis', overrides: { WG: wg() } },
      { bindings: { y: out.buffer, x: src.buffer }, params: { n: count, size: n, inner, chunks, chunk: CHUNK, alpha: last ? alpha : 1 }, workgroups: grid1d(count, wg()) },
    );
    // Freeing after recording is safe: the GPU runs recorded work in order.
    if (src !== x) src.dispose();
    if (last) return out;
    src = out;
    n = chunks;
  }
}

/** dx[o, a, i] = alpha · dy[o, i] for dx of [outer, size, inner]; not recorded. */
function broadcastRaw(dy: Tensor, shape: readonly number[], outer: number, size: number, inner: number, alpha: number): Tensor {
  const dx = Tensor.empty(shape);
  const n = outer * size * inner;
  if (n === 0) return dx;
  runtime().dispatch(
    { file: 'reduce.wgsl', entry: 'broadcast_axis', overrides: { WG: wg() } },
    { bindings: { y: dx.buffer, x: dy.buffer }, params: { n, size, inner, chunks: 1, chunk: 1, alpha }, workgroups: grid1d(n, wg()) },
  );
  return dx;
}

/** Σ over the outer and inner axes of x viewed as [outer, C, inner] → [C] (bias gradients); not recorded. */
export function sumAxesKeep(x: Tensor, outer: number, C: number, inner: number): Tensor {
  if (inner === 1) return reduceAxis(x, 1, outer, C, 1);
  const rows = reduceAxis(x, outer * C, inner, 1, 1);
  if (outer === 1) return rows;
  const out = reduceAxis(rows, 1, outer, C, 1);
  rows.dispose();
  return out;
}

function checkX(x: Tensor, op: string): void {
  if (x.dtype !== 'f32') throw new Error(`${op}: x ${x.describe()} must be f32`);
}

function splitAxis(x: Tensor, axis: number, op: string): { outer: number; size: number; inner: number; ax: number; outShape: number[] } {
  const r = x.shape.length;
  const ax = axis < 0 ? axis + r : axis;
  if (!Number.isInteger(axis) || ax < 0 || ax >= r) throw new Error(`${op}: axis ${axis} is out of range for x ${x.describe()} (use 0..${r - 1} or negative from the end)`);
  let outer = 1, inner = 1;
  for (let i = 0; i < ax; i++) outer *= x.shape[i];
  for (let i = ax + 1; i < r; i++) inner *= x.shape[i];
  const outShape = x.shape.filter((_, i) => i !== ax);
  return { outer, size: x.shape[ax], inner, ax, outShape };
}

/** Σ of all elements → a one-element tensor [1]. */
export function sum(x: Tensor): Tensor {
  checkX(x, 'sum');
  const y = reduceAxis(x, 1, x.size, 1, 1);
  return record('sum', [x], y, { shape: x.shape, alpha: 1 });
}

/** Mean of all elements → a one-element tensor [1] (0 for an empty x, like cpu.mean). */
export function mean(x: Tensor): Tensor {
  checkX(x, 'mean');
  const alpha = x.size ? 1 / x.size : 0;
  const y = reduceAxis(x, 1, x.size, 1, alpha);
  return record('mean', [x], y, { shape: x.shape, alpha });
}

const fullBackward = (node: { ctx: Record<string, unknown> }, gy: Tensor) => {
  const shape = node.ctx.shape as number[];
  const n = shape.reduce((p, d) => p * d, 1);
  return [broadcastRaw(gy, shape, 1, n, 1, node.ctx.alpha as number)];
};
defineBackward('sum', fullBackward);
defineBackward('mean', fullBackward);

/** Σ along one axis (negative counts from the end): the result has x's shape without that axis. */
export function sumAxis(x: Tensor, axis: number): Tensor {
  checkX(x, 'sumAxis');
  const s = splitAxis(x, axis, 'sumAxis');
  const y = reduceAxis(x, s.outer, s.size, s.inner, 1).reshapeInto(s.outShape);
  return record('sumAxis', [x], y, { ...s, shape: x.shape, alpha: 1 });
}

/** Mean along one axis (divides by x.shape[axis]): the result has x's shape without that axis. */
export function meanAxis(x: Tensor, axis: number): Tensor {
  checkX(x, 'meanAxis');
  const s = splitAxis(x, axis, 'meanAxis');
  const alpha = s.size ? 1 / s.size : 0;
  const y = reduceAxis(x, s.outer, s.size, s.inner, alpha).reshapeInto(s.outShape);
  return record('meanAxis', [x], y, { ...s, shape: x.shape, alpha });
}

const axisBackward = (node: { ctx: Record<string, unknown> }, gy: Tensor) => {
  const c = node.ctx as { outer: number; size: number; inner: number; shape: number[]; alpha: number };
  return [broadcastRaw(gy, c.shape, c.outer, c.size, c.inner, c.alpha)];
};
defineBackward('sumAxis', axisBackward);
defineBackward('meanAxis', axisBackward);

