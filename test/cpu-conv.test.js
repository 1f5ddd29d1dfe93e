// CPU references: conv2d, max/avg pool, batch norm 2d.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../dist/index.js';
import { rand, assertClose } from './util.js';

const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
const F = (...v) => Float64Array.from(v);
const range = (n) => Float64Array.from({ length: n }, (_, i) => i + 1);
const FD_TOL = 1e-6;

test('conv2d: hand cases (plain, bias, padding, stride, dilation)', () => {
  const x = range(9); // 1×1×3×3 = [[1,2,3],[4,5,6],[7,8,9]]
  // w = [[1,0],[0,−1]]: y = x[i][j] − x[i+1][j+1] = −4 everywhere; bias 0.5.
  assertClose(cpu.conv2d(x, F(1, 0, 0, -1), F(0.5), { N: 1, Cin: 1, H: 3, W: 3, Cout: 1, KH: 2, KW: 2 }), F(-3.5, -3.5, -3.5, -3.5), 0, 'plain');
  // 3×3 ones, padding 1, stride 2: window sums at the four corners of the padded image.
  assertClose(cpu.conv2d(x, new Float64Array(9).fill(1), null, { N: 1, Cin: 1, H: 3, W: 3, Cout: 1, KH: 3, KW: 3, stride: 2, padding: 1 }), F(12, 16, 24, 28), 0, 'stride+pad');
  // 2×2 ones with dilation 2 read the four corners: 1 + 3 + 7 + 9.
  assertClose(cpu.conv2d(x, F(1, 1, 1, 1), null, { N: 1, Cin: 1, H: 3, W: 3, Cout: 1, KH: 2, KW: 2, dilation: 2 }), F(20), 0, 'dilation');
  // Two input channels, two output channels: channel 1 of x is 10·(channel 0); w[co][ci] is a 1×1 scalar.
  const x2 = F(1, 2, 3, 4, 10, 20, 30, 40);
  const y2 = cpu.conv2d(x2, F(1, 0, 2, -0.1), F(0, 1), { N: 1, Cin: 2, H: 2, W: 2, Cout: 2, KH: 1, KW: 1 });
  assertClose(y2, F(1, 2, 3, 4, 2 - 1 + 1, 4 - 2 + 1, 6 - 3 + 1, 8 - 4 + 1), 1e-15, 'channels');
  assert.equal(cpu.conv2dOutShape({ N: 1, Cin: 1, H: 32, W: 32, Cout: 1, KH: 5, KW: 5, padding: 2 }), { OH: 32, OW: 32 });
  assert.throws(() => cpu.conv2d(x, F(1), null, { N: 1, Cin: 1, H: 3, W: 3, Cout: 1, KH: 5, KW: 5 }), /output would be/);
});

/** Independent path: im2col written from the definition, then cpu.gemm with the weights as a [Cout, Cin·KH·KW] matrix. */
function convByIm2col(x, w, bias, g) {
  const s = g.stride ?? 1, p = g.padding ?? 0, d = g.dilation ?? 1;
  const OH = Math.floor((g.H + 2 * p - d * (g.KH - 1) - 1) / s) + 1, OW = Math.floor((g.W + 2 * p - d * (g.KW - 1) - 1) / s) + 1;
  const Kc = g.Cin * g.KH * g.KW, y = new Float64Array(g.N * g.Cout * OH * OW);
  for (let n = 0; n < g.N; n++) {
    const cols = new Float64Array(Kc * OH * OW);
    for (let ci = 0; ci < g.Cin; ci++) for (let kh = 0; kh < g.KH; kh++) for (let kw = 0; kw < g.KW; kw++)
      for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        const ih = oh * s - p + kh * d, iw = ow * s - p + kw * d;
        const inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
        cols[((ci * g.KH + kh) * g.KW + kw) * OH * OW + oh * OW + ow] = inside ? x[((n * g.Cin + ci) * g.H + ih) * g.W + iw] : 0;
      }
    const yn = cpu.gemm(w, cols, { M: g.Cout, N: OH * OW, K: Kc });
    for (let co = 0; co < g.Cout; co++) for (let i = 0; i < OH * OW; i++) y[(n * g.Cout + co) * OH * OW + i] = yn[co * OH * OW + i] + (bias ? bias[co] : 0);
  }
  return y;
}

const convCases = [
  { N: 1, Cin: 1, H: 1, W: 1, Cout: 1, KH: 1, KW: 1 },
  { N: 3, Cin: 3, H: 7, W: 5, Cout: 5, KH: 3, KW: 3, padding: 1 },
  { N: 1, Cin: 5, H: 7, W: 7, Cout: 3, KH: 3, KW: 3, stride: 2, padding: 1 },
  { N: 3, Cin: 1, H: 5, W: 7, Cout: 3, KH: 2, KW: 2, dilation: 2 },
  { N: 1, Cin: 3, H: 7, W: 5, Cout: 1, KH: 3, KW: 1, stride: 3, padding: 2 },
  { N: 1, Cin: 3, H: 5, W: 5, Cout: 3, KH: 5, KW: 5, padding: 2 },
];

for (const g of convCases) {
  const tag = JSON.stringify(g);
  test(`conv2d forward = im2col·GEMM, backward vs finite differences ${tag}`, () => {
    const x = rand(g.N * g.Cin * g.H * g.W, 1), w = rand(g.Cout * g.Cin * g.KH * g.KW, 2), b = rand(g.Cout, 3);
    const y = cpu.conv2d(x, w, b, g);
    assertClose(y, convByIm2col(x, w, b, g), 1e-13, 'forward');
    const r = rand(y.length, 4);
    assertClose(cpu.conv2dBackwardData(r, w, g), cpu.numericalGrad((z) => dot(cpu.conv2d(z, w, b, g), r), x), FD_TOL, 'dx');
    const { dw, db } = cpu.conv2dBackwardWeights(x, r, g);
    assertClose(dw, cpu.numericalGrad((z) => dot(cpu.conv2d(x, z, b, g), r), w), FD_TOL, 'dw');
    assertClose(db, cpu.numericalGrad((z) => dot(cpu.conv2d(x, w, z, g), r), b), FD_TOL, 'db');
  });
}

test('maxPool2d: hand case, argmax plane indices, first maximum wins ties', () => {
  const x = F(1, 5, 2, 0, 3, 4, 7, 7, 9, 1, 0, -1, 2, 2, -3, -2); // 1×1×4×4
  const { y, argmax } = cpu.maxPool2d(x, { N: 1, C: 1, H: 4, W: 4, kernel: 2 });
  assertClose(y, F(5, 7, 9, 0), 0, 'y');
  // Window 1 = {2, 0, 7, 7}: the first 7 (index 6) wins; window 3 = {0, −1, −3, −2} → 0 at index 10.
  assert.equal([...argmax], [1, 6, 8, 10]);
  const dx = cpu.maxPool2dBackward(F(1, 2, 3, 4), argmax, { N: 1, C: 1, H: 4, W: 4, kernel: 2 });
  assertClose(dx, F(0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0), 0, 'dx');
  // Constant input: every window's first position in row-major order.
  const c = cpu.maxPool2d(new Float64Array(9).fill(2), { N: 1, C: 1, H: 3, W: 3, kernel: 2, stride: 1 });
  assert.equal([...c.argmax], [0, 1, 3, 4]);
  // Padding never wins, even over negative values.
  const neg = cpu.maxPool2d(F(-5, -6, -7, -8), { N: 1, C: 1, H: 2, W: 2, kernel: 2, stride: 1, padding: 1 });
  assertClose(neg.y, F(-5, -5, -6, -5, -5, -6, -7, -7, -8), 0, 'padded');
  assert.throws(() => cpu.maxPool2d(F(1, 2, 3, 4), { N: 1, C: 1, H: 2, W: 2, kernel: 2, padding: 2 }), /kernel\/2/);
});

test('avgPool2d: hand case with padding (count_include_pad = true)', () => {
  // 2×2 ones, kernel 2, stride 1, padding 1 → 3×3: each output counts its in-bounds ones over 4.
  const y = cpu.avgPool2d(new Float64Array(4).fill(1), { N: 1, C: 1, H: 2, W: 2, kernel: 2, stride: 1, padding: 1 });
  assertClose(y, F(0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25), 0, 'y');
  assertClose(cpu.avgPool2d(range(16), { N: 1, C: 1, H: 4, W: 4, kernel: 2 }), F(3.5, 5.5, 11.5, 13.5), 0, 'no padding');
});

const poolCases = [
  { N: 1, C: 1, H: 1, W: 1, kernel: 1 },
  { N: 3, C: 3, H: 7, W: 5, kernel: 3, stride: 2 },
  { N: 1, C: 5, H: 7, W: 7, kernel: 3, stride: 2, padding: 1 },
  { N: 3, C: 1, H: 5, W: 7, kernel: 2, stride: 1 },
];
for (const g of poolCases) {
  test(`pool backward vs finite differences ${JSON.stringify(g)}`, () => {
    // Distinct values (a shuffled ramp plus noise) keep every window's maximum clear of ties.
    const n = g.N * g.C * g.H * g.W;
    const x = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n + 0.001 * rand(n, 5)[i]);
    const { y, argmax } = cpu.maxPool2d(x, g);
    const r = rand(y.length, 6);
    assertClose(cpu.maxPool2dBackward(r, argmax, g), cpu.numericalGrad((z) => dot(cpu.maxPool2d(z, g).y, r), x, 1e-7), FD_TOL, 'max');
    assertClose(cpu.avgPool2dBackward(r, g), cpu.numericalGrad((z) => dot(cpu.avgPool2d(z, g), r), x), FD_TOL, 'avg');
  });
}

test('batchNorm2d: training forward normalises per channel; running update and eval by hand', () => {
  const s = { N: 3, C: 2, H: 1, W: 1 };
  const x = F(1, 10, 2, 20, 3, 60); // channel 0: 1,2,3; channel 1: 10,20,60
  const { y, mean, var: v, invStd } = cpu.batchNorm2dTrain(x, F(2, 1), F(0.5, 0), s);
  assertClose(mean, F(2, 30), 0, 'mean');
  assertClose(v, F(2 / 3, (400 + 100 + 900) / 3), 1e-15, 'biased var');
  assertClose(invStd, F(1 / Math.sqrt(2 / 3 + 1e-5), 1 / Math.sqrt(1400 / 3 + 1e-5)), 1e-15, 'invStd');
  assertClose(F(y[0], y[2], y[4]), F(-1, 0, 1).map((d) => 2 * d * invStd[0] + 0.5), 1e-15, 'y channel 0');
  // running: mean 0.9·0 + 0.1·2 = 0.2; var 0.9·1 + 0.1·(2/3)·3/2 = 1.0
  const run = cpu.batchNorm2dUpdateRunning(F(0, 0), F(1, 1), mean, v, 3, 0.1);
  assertClose(run.runMean, F(0.2, 3), 1e-15, 'runMean');
  assertClose(run.runVar, F(1, 0.9 + 0.1 * 700), 1e-14, 'runVar (unbiased)');
  const ye = cpu.batchNorm2dEval(F(3, 0), F(2, 1), F(0.5, 0), F(1, 0), F(3, 4), { N: 1, C: 2, H: 1, W: 1, eps: 0 });
  assertClose(ye, F(2 * 2 / Math.sqrt(3) + 0.5, 0), 1e-15, 'eval');
  assert.throws(() => cpu.batchNorm2dUpdateRunning(F(0), F(1), F(0), F(0), 1), /at least 2/);
});

for (const s of [{ N: 3, C: 1, H: 1, W: 1 }, { N: 1, C: 3, H: 3, W: 5 }, { N: 5, C: 3, H: 1, W: 3, eps: 1e-3 }]) {
  test(`batchNorm2dBackward vs finite differences ${JSON.stringify(s)}`, () => {
    const n = s.N * s.C * s.H * s.W;
    const x = rand(n, 7, 2), gamma = rand(s.C, 8), beta = rand(s.C, 9), r = rand(n, 10);
    const f = cpu.batchNorm2dTrain(x, gamma, beta, s);
    const g = cpu.batchNorm2dBackward(r, x, gamma, f.mean, f.invStd, s);
    assertClose(g.dx, cpu.numericalGrad((z) => dot(cpu.batchNorm2dTrain(z, gamma, beta, s).y, r), x), FD_TOL, 'dx');
    assertClose(g.dgamma, cpu.numericalGrad((z) => dot(cpu.batchNorm2dTrain(x, z, beta, s).y, r), gamma), FD_TOL, 'dgamma');
    assertClose(g.dbeta, cpu.numericalGrad((z) => dot(cpu.batchNorm2dTrain(x, gamma, z, s).y, r), beta), FD_TOL, 'dbeta');
  });
}

test.run();
