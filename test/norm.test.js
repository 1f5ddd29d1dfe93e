// BatchNorm2d: training forward (batch statistics, running-stat update), eval forward, backward, vs float64.
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
const T = (a, shape) => Tensor.from(Float32Array.from(a), shape);

// y, running stats: sums of ≤ 867 f32 terms in a two-level tree, then a division and rsqrt: measured ≤ ~1e-6; bound 1e-5.
// Gradients: dγ, dβ are sums like the above; dx subtracts the two means from M·dy, which loses a little: bound 1e-5.
const TOL = 1e-5;

// [N, C, H, W]. Not M = N·H·W = 2: there x̂ = ±1 and dx cancels to ~1e-8, so a relative bound is meaningless.
const SHAPES = [[3, 2, 1, 1], [3, 3, 7, 7], [1, 5, 9, 9], [3, 5, 17, 17], [3, 1, 9, 7], [1, 3, 1, 17],
  // H·W % 4 = 0: the vec4 kernels (the others run the scalar ones in both settings)
  [2, 3, 4, 4], [3, 2, 8, 6], [2, 5, 2, 2], [3, 3, 16, 16], [2, 3, 2, 12]];

// run: vec4 per invocation of apply and dx (4: up to 4 per plane, e.g. 3 where HW/4 = 6; 1: one each).
// relu: BatchNorm2d + ReLU fused (the reference is relu(bn(x)), and its backward masks dy where the output is 0).
for (const [vec4, run, relu] of [[false, 4, false], [true, 1, false], [true, 4, false], [false, 4, true], [true, 4, true]]) test(`batchNorm2d training (${vec4 ? `vec4 kernels, run ${run}` : 'scalar kernels'}${relu ? ', fused ReLU' : ''}): y, running stats, and backward (dx, dγ, dβ) vs float64`, async () => {
  ops.NORM_KNOBS.vec4 = vec4;
  ops.NORM_KNOBS.run = run;
  let seed = 1, clipped = 0, kept = 0;
  for (const [N, C, H, W] of SHAPES) {
    const s = { N, C, H, W, eps: 1e-5 };
    const what = `[${N},${C},${H},${W}]`;
    // An offset and scale per channel: the variance is computed about a mean far from zero.
    const xs = rand(N * C * H * W, seed++).map((v, i) => 3 + 2 * v + Math.floor(i / (H * W)) % C);
    const gs = rand(C, seed++), bs = rand(C, seed++), rm = rand(C, seed++), rv = rand(C, seed++).map((v) => 1 + 0.5 * v);
    const dys = rand(xs.length, seed++);
    const x = T(xs, [N, C, H, W]), gamma = T(gs, [C]), beta = T(bs, [C]), runMean = T(rm, [C]), runVar = T(rv, [C]);
    x.requiresGrad = gamma.requiresGrad = beta.requiresGrad = true;
    tq.setPoison(true);
    const y = ops.batchNorm2d(x, gamma, beta, runMean, runVar, { training: true, momentum: 0.1, eps: 1e-5, relu });
    tq.backward(y, T(dys, y.shape));
    tq.setPoison(false);
    const xf = f64(Float32Array.from(xs));
    const ref = cpu.batchNorm2dTrain(xf, gs, bs, s);
    const ys = f64(await y.toArray());
    assertClose(ys, relu ? ref.y.map((v) => Math.max(v, 0)) : ref.y, TOL, `${what} y`);
    const run = cpu.batchNorm2dUpdateRunning(rm, rv, ref.mean, ref.var, N * H * W, 0.1);
    assertClose(f64(await runMean.toArray()), run.runMean, TOL, `${what} runningMean`);
    assertClose(f64(await runVar.toArray()), run.runVar, TOL, `${what} runningVar`);
    // The ReLU's backward passes dy where the output is > 0 (the kernel's own y: a value within rounding of 0 could
    // take either side in float64, and the test must not depend on that).
    clipped += ys.filter((v) => v === 0).length;
    kept += ys.filter((v) => v > 0).length;
    const g = cpu.batchNorm2dBackward(relu ? dys.map((d, i) => (ys[i] > 0 ? d : 0)) : dys, xf, gs, ref.mean, ref.invStd, s);
    assertClose(f64(await x.grad.toArray()), g.dx, TOL, `${what} dx`);
    assertClose(f64(await gamma.grad.toArray()), g.dgamma, TOL, `${what} dgamma`);
    assertClose(f64(await beta.grad.toArray()), g.dbeta, TOL, `${what} dbeta`);
  }
  // With the ReLU both sides of the kink are exercised (without it no output is exactly 0).
  if (relu) assert.ok(clipped > 100 && kept > 100, `the ReLU clipped ${clipped} values and kept ${kept}`);
  else assert.is(clipped, 0);
  ops.NORM_KNOBS.vec4 = true;
  ops.NORM_KNOBS.run = 4;
});

for (const [N, C, H, W, relu] of [[3, 5, 7, 9, false], [3, 5, 4, 6, false], [3, 5, 7, 9, true], [3, 5, 4, 6, true]]) test(`batchNorm2d eval [${N},${C},${H},${W}]${relu ? ', fused ReLU' : ''}: running statistics; backward dx = dy·γ/√(var + eps), dγ, dβ`, async () => {
  const xs = rand(N * C * H * W, 50), gs = rand(C, 51), bs = rand(C, 52), rm = rand(C, 53), rv = rand(C, 54).map((v) => 1 + 0.5 * v);
  const dys0 = rand(xs.length, 55);
  const x = T(xs, [N, C, H, W]), gamma = T(gs, [C]), beta = T(bs, [C]), runMean = T(rm, [C]), runVar = T(rv, [C]);
  x.requiresGrad = gamma.requiresGrad = beta.requiresGrad = true;
  tq.setPoison(true);
  const y = ops.batchNorm2d(x, gamma, beta, runMean, runVar, { training: false, eps: 1e-3, relu });
  tq.backward(y, T(dys0, y.shape));
  tq.setPoison(false);
  const ref = cpu.batchNorm2dEval(xs, gs, bs, rm, rv, { N, C, H, W, eps: 1e-3 });
  const ys = f64(await y.toArray());
  assertClose(ys, relu ? ref.map((v) => Math.max(v, 0)) : ref, TOL, 'y');
  if (relu) assert.ok(ys.some((v) => v === 0) && ys.some((v) => v > 0), 'the ReLU clips some values and keeps others');
  // With the ReLU, dy reaches the normalisation only where the output is > 0.
  const dys = relu ? dys0.map((d, i) => (ys[i] > 0 ? d : 0)) : dys0;
  // The running statistics are untouched in eval mode.
  assertClose(f64(await runMean.toArray()), rm, 1e-7, 'runningMean unchanged');
  const HW = H * W, inv = rv.map((v) => 1 / Math.sqrt(v + 1e-3));
  const dx = dys.map((d, i) => d * gs[Math.floor(i / HW) % C] * inv[Math.floor(i / HW) % C]);
  const dg = new Float64Array(C), db = new Float64Array(C);
  dys.forEach((d, i) => { const c = Math.floor(i / HW) % C; db[c] += d; dg[c] += d * (xs[i] - rm[c]) * inv[c]; });
  assertClose(f64(await x.grad.toArray()), dx, TOL, 'dx');
  assertClose(f64(await gamma.grad.toArray()), dg, TOL, 'dgamma');
  assertClose(f64(await beta.grad.toArray()), db, TOL, 'dbeta');
});

test('batchNorm2d statistics at the largest batch (256·32·32 = 262,144 values per channel) stay within 1e-5 of float64', async () => {
  const [N, C, H, W] = [256, 2, 32, 32];
  // Mean 5 and spread 1: a one-pass E[x²] − E[x]² in f32 would lose ~3 digits here; Welford's running mean and M2 (one pass, no such cancellation) keep them.
  const xs = rand(N * C * H * W, 77).map((v) => 5 + v);
  const x = T(xs, [N, C, H, W]);
  const ones = T([1, 1], [2]), zeros = T([0, 0], [2]);
  const rm = T([0, 0], [2]), rv = T([1, 1], [2]);
  const y = tq.noGrad(() => ops.batchNorm2d(x, ones, zeros, rm, rv, { training: true, momentum: 1 }));
  const ref = cpu.batchNorm2dTrain(f64(Float32Array.from(xs)), Float64Array.from([1, 1]), Float64Array.from([0, 0]), { N, C, H, W });
  // momentum 1: the running stats are the batch mean and the unbiased variance.
  const M = N * H * W;
  const em = assertClose(f64(await rm.toArray()), ref.mean, 1e-6, 'mean');
  const ev = assertClose(f64(await rv.toArray()), ref.var.map((v) => v * M / (M - 1)), 1e-5, 'variance');
  const ey = assertClose(f64(await y.toArray()), ref.y, 1e-5, 'y');
  assert.ok(em <= 1e-6 && ev <= 1e-5 && ey <= 1e-5);
});

test('batchNorm2d checks shapes up front and says the fix', () => {
  const c3 = Tensor.empty([3]);
  assert.throws(() => ops.batchNorm2d(Tensor.empty([2, 3, 4]), c3, c3, c3, c3), /must be 4-D/);
  assert.throws(() => ops.batchNorm2d(Tensor.empty([2, 4, 3, 3]), c3, c3, c3, c3), /gamma is .* expected \[4\]/);
  assert.throws(() => ops.batchNorm2d(Tensor.empty([1, 3, 1, 1]), c3, c3, c3, c3), /at least 2 values per channel .* use a larger batch or eval mode/);
});

test.run();
