// CPU references: GEMM, elementwise ops and reductions, softmax cross-entropy, optimisers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../dist/index.js';
import { rand, assertClose } from './util.js';

const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
const F = (...v) => Float64Array.from(v);
const FD_TOL = 1e-6;

test('gemm: hand case with alpha, bias and activations', () => {
  const A = F(1, 2, 3, 4, 5, 6); // 2×3
  const B = F(1, 0, 0, 1, -1, 1); // 3×2
  // A·B = [[1−3, 2+3], [4−6, 5+6]] = [[−2, 5], [−2, 11]]
  assertClose(cpu.gemm(A, B, { M: 2, N: 2, K: 3 }), F(-2, 5, -2, 11), 0, 'plain');
  // 2·A·B + [1, −20] = [[−3, −10], [−3, 2]]
  const o = { M: 2, N: 2, K: 3, alpha: 2, bias: F(1, -20) };
  assertClose(cpu.gemm(A, B, o), F(-3, -10, -3, 2), 0, 'alpha+bias');
  assertClose(cpu.gemm(A, B, { ...o, activation: 'relu' }), F(0, 0, 0, 2), 0, 'relu');
  assertClose(cpu.gemm(A, B, { ...o, activation: 'tanh' }), F(-3, -10, -3, 2).map(Math.tanh), 1e-15, 'tanh');
});

function transpose(x, rows, cols) {
  const y = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[j * rows + i] = x[i * cols + j];
  return y;
}

test('gemm: transA/transB equal the product of explicitly transposed operands', () => {
  const M = 3, N = 5, K = 7;
  const A = rand(M * K, 11), B = rand(K * N, 12);
  const ref = cpu.gemm(A, B, { M, N, K });
  assertClose(cpu.gemm(transpose(A, M, K), B, { M, N, K, transA: true }), ref, 1e-14, 'transA');
  assertClose(cpu.gemm(A, transpose(B, K, N), { M, N, K, transB: true }), ref, 1e-14, 'transB');
  assertClose(cpu.gemm(transpose(A, M, K), transpose(B, K, N), { M, N, K, transA: true, transB: true }), ref, 1e-14, 'both');
});

test('gemm: batched with strides, including a broadcast operand (stride 0)', () => {
  const M = 3, N = 1, K = 5, batch = 3;
  const A = rand(batch * M * K, 21), B = rand(K * N, 22);
  const C = cpu.gemm(A, B, { M, N, K, batch, strideB: 0 });
  assert.is(C.length, batch * M * N);
  for (let b = 0; b < batch; b++) {
    const one = cpu.gemm(A.subarray(b * M * K, (b + 1) * M * K), B, { M, N, K });
    assertClose(C.subarray(b * M * N, (b + 1) * M * N), one, 0, `batch ${b}`);
  }
  assert.throws(() => cpu.gemm(A, B, { M, N, K, batch: 4, strideB: 0 }), /A has length/);
});

for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
  test(`gemmBackward vs finite differences (transA ${transA}, transB ${transB}, batched, B broadcast)`, () => {
    const M = 3, N = 5, K = 7, batch = 3, alpha = 0.7;
    const o = { M, N, K, transA, transB, alpha, batch, strideB: 0, bias: rand(N, 5) };
    const A = rand(batch * M * K, 31), B = rand(K * N, 32), R = rand(batch * M * N, 33);
    const { dA, dB, dbias } = cpu.gemmBackward(A, B, R, o);
    assertClose(dA, cpu.numericalGrad((a) => dot(cpu.gemm(a, B, o), R), A), FD_TOL, 'dA');
    assertClose(dB, cpu.numericalGrad((b) => dot(cpu.gemm(A, b, o), R), B), FD_TOL, 'dB');
    assertClose(dbias, cpu.numericalGrad((bi) => dot(cpu.gemm(A, B, { ...o, bias: bi }), R), o.bias), FD_TOL, 'dbias');
  });
}

test('gemmBackward: M = N = K = 1 and refuses an activation', () => {
  const { dA, dB, dbias } = cpu.gemmBackward(F(3), F(-2), F(5), { M: 1, N: 1, K: 1, alpha: 2 });
  assertClose(dA, F(-20), 0, 'dA');
  assertClose(dB, F(30), 0, 'dB');
  assertClose(dbias, F(5), 0, 'dbias');
  assert.throws(() => cpu.gemmBackward(F(3), F(-2), F(5), { M: 1, N: 1, K: 1, activation: 'relu' }), /activation/);
});

test('relu/tanh backward (given y) vs finite differences, away from relu\'s kink', () => {
  const x = rand(7, 41).map((v) => (Math.abs(v) < 0.01 ? 0.5 : v));
  const r = rand(7, 42);
  assertClose(cpu.reluBackward(r, cpu.relu(x)), cpu.numericalGrad((z) => dot(cpu.relu(z), r), x), FD_TOL, 'relu');
  assertClose(cpu.tanhBackward(r, cpu.tanh(x)), cpu.numericalGrad((z) => dot(cpu.tanh(z), r), x), FD_TOL, 'tanh');
  assertClose(cpu.reluBackward(F(2, 3), F(0, 1)), F(0, 3), 0, 'relu gradient at 0 is 0');
});

test('scale, add, mul and their backwards', () => {
  const a = rand(5, 51), b = rand(5, 52), r = rand(5, 53);
  assertClose(cpu.scale(F(1, -2), 3), F(3, -6), 0, 'scale');
  assertClose(cpu.add(F(1, -2), F(0.5, 4)), F(1.5, 2), 0, 'add');
  assertClose(cpu.mul(F(1, -2), F(0.5, 4)), F(0.5, -8), 0, 'mul');
  const { da, db } = cpu.mulBackward(r, a, b);
  assertClose(da, cpu.numericalGrad((z) => dot(cpu.mul(z, b), r), a), FD_TOL, 'mul da');
  assertClose(db, cpu.numericalGrad((z) => dot(cpu.mul(a, z), r), b), FD_TOL, 'mul db');
  const add = cpu.addBackward(r);
  assertClose(add.da, cpu.numericalGrad((z) => dot(cpu.add(z, b), r), a), FD_TOL, 'add da');
  assertClose(add.db, r, 0, 'add db');
  assertClose(cpu.scaleBackward(r, -1.5), cpu.numericalGrad((z) => dot(cpu.scale(z, -1.5), r), a), FD_TOL, 'scale');
  assert.throws(() => cpu.add(F(1), F(1, 2)), /no broadcasting/);
});

test('sum/mean reductions (all and along an axis): hand case and backward', () => {
  const x = F(1, 2, 3, 4, 5, 6); // [2, 3]
  assert.is(cpu.sum(x), 21);
  assert.is(cpu.mean(x), 3.5);
  assertClose(cpu.sumAxis(x, [2, 3], 0), F(5, 7, 9), 0, 'sum axis 0');
  assertClose(cpu.sumAxis(x, [2, 3], 1), F(6, 15), 0, 'sum axis 1');
  assertClose(cpu.meanAxis(x, [2, 3], 1), F(2, 5), 0, 'mean axis 1');
  const shape = [3, 5, 1, 7], y = rand(105, 61);
  for (let axis = 0; axis < 4; axis++) {
    const outN = 105 / shape[axis], r = rand(outN, 62 + axis);
    assertClose(cpu.sumAxisBackward(r, shape, axis), cpu.numericalGrad((z) => dot(cpu.sumAxis(z, shape, axis), r), y), FD_TOL, `sumAxis ${axis}`);
    assertClose(cpu.meanAxisBackward(r, shape, axis), cpu.numericalGrad((z) => dot(cpu.meanAxis(z, shape, axis), r), y), FD_TOL, `meanAxis ${axis}`);
  }
  assertClose(cpu.sumBackward(2, 105), cpu.numericalGrad((z) => 2 * cpu.sum(z), y), FD_TOL, 'sum');
  assertClose(cpu.meanBackward(2, 105), cpu.numericalGrad((z) => 2 * cpu.mean(z), y), FD_TOL, 'mean');
  assert.throws(() => cpu.sumAxis(x, [2, 3], 2), /out of range/);
});

test('softmax cross-entropy: hand case and backward vs finite differences', () => {
  // Equal logits: loss = ln C for every row.
  assertClose(F(cpu.softmaxCrossEntropy(new Float64Array(8), [0, 3], 2, 4).loss), F(Math.log(4)), 1e-15, 'uniform');
  // One row [0, ln 3]: p = [1/4, 3/4]; label 1 → −ln(3/4).
  assertClose(F(cpu.softmaxCrossEntropy(F(0, Math.log(3)), [1], 1, 2).loss), F(-Math.log(0.75)), 1e-15, 'two classes');
  for (const [B, C] of [[1, 1], [3, 5], [5, 7]]) {
    const logits = rand(B * C, 70 + B, 3);
    const labels = Array.from({ length: B }, (_, b) => (b * 3) % C);
    const g = cpu.softmaxCrossEntropyBackward(logits, labels, B, C, 1.5);
    assertClose(g, cpu.numericalGrad((z) => 1.5 * cpu.softmaxCrossEntropy(z, labels, B, C).loss, logits), FD_TOL, `B ${B} C ${C}`);
  }
  // Large logits stay finite (max-subtraction).
  assert.ok(Number.isFinite(cpu.softmaxCrossEntropy(F(1000, -1000), [1], 1, 2).loss));
  assert.throws(() => cpu.softmaxCrossEntropy(F(0, 0), [2], 1, 2), /labels\[0\]/);
});

test('sgdStep: hand-computed steps (momentum, weight decay, nesterov)', () => {
  const w = F(1, -2), g = F(0.5, 0.25), v = F(0.1, -0.2);
  const o = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
  // g' = g + 0.01·w = [0.51, 0.23]; v' = 0.9·v + g' = [0.6, 0.05]; w' = w − 0.1·v' = [0.94, −2.005]
  const s = cpu.sgdStep(w, g, v, o);
  assertClose(s.v, F(0.6, 0.05), 1e-15, 'v');
  assertClose(s.w, F(0.94, -2.005), 1e-15, 'w');
  // nesterov: step = g' + 0.9·v' = [1.05, 0.275]; w' = [0.895, −2.0275]
  assertClose(cpu.sgdStep(w, g, v, { ...o, nesterov: true }).w, F(0.895, -2.0275), 1e-15, 'nesterov');
  assertClose(w, F(1, -2), 0, 'inputs untouched');
  assertClose(cpu.sgdStep(w, g, F(0, 0), { lr: 0.5 }).w, F(0.75, -2.125), 0, 'plain SGD');
});

test('adamStep / adamwStep: hand-computed steps', () => {
  // t = 1 from zero state: m̂ = g, v̂ = g², so w' = w − lr·g/(|g| + eps).
  const s1 = cpu.adamStep(F(1), F(0.5), F(0), F(0), 1, { lr: 0.1 });
  assertClose(s1.m, F(0.05), 1e-15, 'm');
  assertClose(s1.v, F(0.00025), 1e-15, 'v');
  assertClose(s1.w, F(1 - 0.1 * 0.5 / (0.5 + 1e-8)), 1e-15, 'w t=1');
  // t = 2 with g = 0.3: m = 0.075, v = 0.00033975, m̂ = 0.075/0.19, v̂ = 0.00033975/0.001999.
  const s2 = cpu.adamStep(s1.w, F(0.3), s1.m, s1.v, 2, { lr: 0.1 });
  assertClose(s2.m, F(0.075), 1e-14, 'm t=2');
  assertClose(s2.v, F(0.00033975), 1e-14, 'v t=2');
  assertClose(s2.w, F(s1.w[0] - 0.0957490153), 1e-10, 'w t=2'); // 0.1·0.3947368421/(0.4122620283 + 1e-8)
  // Adam's L2 decay enters the gradient: g = 0.5 + 0.1·1 = 0.6.
  assertClose(cpu.adamStep(F(1), F(0.5), F(0), F(0), 1, { lr: 0.1, weightDecay: 0.1 }).w, F(1 - 0.1 * 0.6 / (0.6 + 1e-8)), 1e-15, 'adam wd');
  // AdamW decays the weight directly: w = 1·(1 − 0.1·0.1) = 0.99, then the plain step.
  assertClose(cpu.adamwStep(F(1), F(0.5), F(0), F(0), 1, { lr: 0.1, weightDecay: 0.1 }).w, F(0.99 - 0.1 * 0.5 / (0.5 + 1e-8)), 1e-15, 'adamw');
  assert.throws(() => cpu.adamStep(F(1), F(1), F(0), F(0), 0, { lr: 0.1 }), /step number/);
});

test.run();
