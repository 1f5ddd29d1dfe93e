// max- and average-pool forward and backward against the float64 reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, cpu, ops } = tq;

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

const f64 = (a) => Float64Array.from(a);

// [N, C, H, W, k, stride, padding]: odd sizes, overlapping (stride < k) and disjoint windows, the network's 3/2/1.
const SHAPES = [
  [1, 1, 1, 1, 1, 1, 0],
  [3, 3, 7, 7, 3, 2, 1],
  [1, 5, 9, 9, 3, 1, 1],
  [3, 1, 17, 17, 5, 2, 2],
  [1, 3, 9, 7, 2, 2, 0],
  [3, 5, 17, 9, 3, 3, 0],
  [2, 4, 32, 32, 3, 2, 1],
  // H·W and OH·OW multiples of 4 (the 'plane' max-pool backward; the others fall back to 'gather'):
  [2, 3, 8, 6, 3, 2, 1],
  [1, 2, 4, 4, 2, 2, 0],
  [2, 3, 12, 8, 3, 1, 1],
];

// Max-pool forward copies values (exact); its backward adds at most ⌈k/s⌉² f32 values: exact up to rounding (1e-6).
// Avg-pool: sums of ≤ 25 f32 values ÷ k²: a few ulps (1e-6).
const TOL = 1e-6;

for (const variant of ['gather', 'plane']) test(`maxPool2d forward (values and argmax) and backward (${variant}) vs float64`, async () => {
  ops.POOL_KNOBS.maxBackward = variant;
  let seed = 1;
  for (const [N, C, H, W, k, stride, padding] of SHAPES) {
    const shape = { N, C, H, W, kernel: k, stride, padding };
    const what = `[${N},${C},${H},${W}] k${k} s${stride} p${padding}`;
    const xs = rand(N * C * H * W, seed++);
    const ref = cpu.maxPool2d(xs, shape);
    const dys = rand(ref.y.length, seed++);
    const x = Tensor.from(Float32Array.from(xs), [N, C, H, W]);
    x.requiresGrad = true;
    tq.setPoison(true);
    const y = ops.maxPool2d(x, { k, stride, padding });
    const argmax = await y.node.ctx.argmax.toArray();
    tq.backward(y, Tensor.from(Float32Array.from(dys), y.shape));
    tq.setPoison(false);
    // Values are copies of f32 inputs: exact against the float64 reference of the same f32 values.
    assertClose(f64(await y.toArray()), cpu.maxPool2d(f64(Float32Array.from(xs)), shape).y, 0, `${what} y`);
    assert.equal(Array.from(argmax), Array.from(ref.argmax), `${what} argmax`);
    assertClose(f64(await x.grad.toArray()), cpu.maxPool2dBackward(dys, ref.argmax, shape), TOL, `${what} dx`);
  }
  ops.POOL_KNOBS.maxBackward = 'plane';
});

test('maxPool2d: ties go to the first maximum (row-major), like the reference', async () => {
  const xs = Float64Array.from([1, 1, 1, 1, 2, 2, 0, 2, 2]);
  const shape = { N: 1, C: 1, H: 3, W: 3, kernel: 2, stride: 1, padding: 0 };
  const x = Tensor.from(Float32Array.from(xs), [1, 1, 3, 3]);
  x.requiresGrad = true;
  const y = ops.maxPool2d(x, { k: 2, stride: 1 });
  assert.equal(Array.from(await y.node.ctx.argmax.toArray()), Array.from(cpu.maxPool2d(xs, shape).argmax));
  tq.backward(y, tq.full(y.shape, 1));
  // Every window's first maximum is the centre (1, 1): it gets all four gradients.
  assert.equal(Array.from(await x.grad.toArray()), [0, 0, 0, 0, 4, 0, 0, 0, 0]);
});

test('avgPool2d forward and backward vs float64 (count_include_pad = true)', async () => {
  let seed = 100;
  for (const [N, C, H, W, k, stride, padding] of SHAPES) {
    const shape = { N, C, H, W, kernel: k, stride, padding };
    const what = `[${N},${C},${H},${W}] k${k} s${stride} p${padding}`;
    const xs = rand(N * C * H * W, seed++);
    const yRef = cpu.avgPool2d(xs, shape);
    const dys = rand(yRef.length, seed++);
    const x = Tensor.from(Float32Array.from(xs), [N, C, H, W]);
    x.requiresGrad = true;
    tq.setPoison(true);
    const y = ops.avgPool2d(x, { k, stride, padding });
    tq.backward(y, Tensor.from(Float32Array.from(dys), y.shape));
    tq.setPoison(false);
    assertClose(f64(await y.toArray()), yRef, TOL, `${what} y`);
    assertClose(f64(await x.grad.toArray()), cpu.avgPool2dBackward(dys, shape), TOL, `${what} dx`);
  }
});

test('the network pools map 32 → 16 → 8 → 4 (k 3, stride 2, padding 1)', () => {
  let x = Tensor.empty([2, 3, 32, 32]);
  for (const want of [16, 8, 4]) {
    x = tq.noGrad(() => ops.avgPool2d(x, { k: 3, stride: 2, padding: 1 }));
    assert.equal(x.shape, [2, 3, want, want]);
  }
});

test('pools check shapes up front and say the fix', () => {
  assert.throws(() => ops.maxPool2d(Tensor.empty([3, 8, 8]), { k: 2 }), /must be 4-D \[N, C, H, W\]/);
  assert.throws(() => ops.avgPool2d(Tensor.empty([1, 1, 8, 8]), { k: 3, padding: 2 }), /padding 2 exceeds k\/2 .* use padding ≤ 1/);
  assert.throws(() => ops.maxPool2d(Tensor.empty([1, 1, 2, 2]), { k: 3 }), /does not fit the 2×2 input/);
  assert.throws(() => ops.maxPool2d(Tensor.empty([1, 1, 4, 4]), { k: 2, stride: 0 }), /stride must be an integer ≥ 1/);
});

test.run();
