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
  // The 'rows' kernels (k 3, stride 2, padding 1, W % 8 = 0, H even): an odd count of 4-output blocks per row, a short plane.
  [3, 5, 16, 24, 3, 2, 1],
  [2, 3, 6, 8, 3, 2, 1],
  [1, 7, 8, 16, 3, 2, 1],
];

// Max-pool forward copies values (exact); its backward adds at most ⌈k/s⌉² f32 values: exact up to rounding (1e-6).
// Avg-pool: sums of ≤ 25 f32 values ÷ k²: a few ulps (1e-6).
const TOL = 1e-6;

for (const [variant, rows] of [['gather', false], ['plane', false], ['plane', true]]) test(`maxPool2d forward (values and argmax${rows ? ', rows' : ''}) and backward (${variant}) vs float64`, async () => {
  ops.POOL_KNOBS.maxBackward = variant;
  ops.POOL_KNOBS.rows = rows;
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
  ops.POOL_KNOBS.rows = true;
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

for (const rows of [false, true]) test(`avgPool2d forward and backward vs float64 (count_include_pad = true${rows ? ', rows' : ''})`, async () => {
  ops.POOL_KNOBS.rows = rows;
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
  ops.POOL_KNOBS.rows = true;
});

test('maxPool2d rows: ties and constant planes go to the first maximum in row-major order, like the reference', async () => {
  // Values from {0, 1}: most windows hold several maxima; a constant plane makes every tap a tie.
  for (const [H, W, seed] of [[8, 8, 7], [6, 16, 8], [4, 8, 0]]) {
    const xs = Float64Array.from({ length: 2 * H * W }, (_, i) => (seed === 0 ? 0 : ((i * 2654435761 + seed) >>> 29) & 1));
    const shape = { N: 1, C: 2, H, W, kernel: 3, stride: 2, padding: 1 };
    const y = tq.noGrad(() => ops.maxPool2d(Tensor.from(Float32Array.from(xs), [1, 2, H, W]), { k: 3, stride: 2, padding: 1 }));
    const ref = cpu.maxPool2d(xs, shape);
    assert.equal(Array.from(await y.toArray()), Array.from(ref.y), `${H}×${W} seed ${seed} y`);
    const x = Tensor.from(Float32Array.from(xs), [1, 2, H, W]);
    x.requiresGrad = true;
    const yg = ops.maxPool2d(x, { k: 3, stride: 2, padding: 1 });
    assert.equal(Array.from(await yg.node.ctx.argmax.toArray()), Array.from(ref.argmax), `${H}×${W} seed ${seed} argmax`);
  }
});

test('pools: the rows kernels run where they fit (k 3, stride 2, padding 1, W % 8 = 0, H even), the general ones elsewhere', () => {
  const rt = tq.runtime();
  const entries = (fn) => {
    const seen = [];
    const orig = rt.dispatch;
    rt.dispatch = function (k, a) { seen.push(k.entry); return orig.call(this, k, a); };
    try { fn(); } finally { rt.dispatch = orig; }
    return seen.join(' ');
  };
  const run = (pool, H, W, k, stride, padding) => entries(() => tq.scope(() => {
    const x = Tensor.empty([2, 3, H, W]);
    x.requiresGrad = true;
    const y = pool(x, { k, stride, padding });
    tq.backward(y, Tensor.empty(y.shape));
  }));
  assert.is(run(ops.avgPool2d, 16, 16, 3, 2, 1), 'avg_fwd_rows avg_bwd_rows');
  assert.is(run(ops.maxPool2d, 16, 16, 3, 2, 1), 'max_fwd_rows max_bwd_plane');
  assert.is(run(ops.avgPool2d, 16, 12, 3, 2, 1), 'avg_fwd avg_bwd');
  assert.is(run(ops.maxPool2d, 7, 6, 3, 2, 1), 'max_fwd max_bwd');
  assert.is(run(ops.avgPool2d, 16, 16, 2, 2, 0), 'avg_fwd avg_bwd');
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
