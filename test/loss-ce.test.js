// Softmax cross-entropy: loss and dlogits against cpu.softmaxCrossEntropy(/Backward), stability, label checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, ops, cpu, scope } = tq;
const f64 = (a) => Float64Array.from(a);
function poisoned(fn) {
  tq.setPoison(true);
  try { return fn(); } finally { tq.setPoison(false); }
}
function labelsFor(B, C, seed) {
  return Uint32Array.from(rand(B, seed), (v) => Math.min(C - 1, Math.floor(((v + 1) / 2) * C)));
}

// Bounds: each row's loss is max + log Σ exp(x − max) − x[label] in f32 (C exps, a sum of C terms, one log), then a
// deterministic mean: relative error ≲ (C + few)·u on the loss; 1e-5 allows C up to ~100 at the worst case and is
// met with a wide margin at C = 1000 (errors are random-signed). dlogits: one exp and a product per element: 1e-5.
const TOL = 1e-5;

test('loss and dlogits match the float64 reference (odd B, C; host and GPU labels; ∂L/∂loss ≠ 1)', async () => {
  for (const [B, C, scale, shift] of [[1, 1, 1, 0], [1, 3, 2, 0], [3, 17, 3, 0], [33, 10, 5, 0], [130, 10, 4, 0], [17, 1000, 3, 0], [64, 48, 20, 0], [5, 7, 3, 1000]]) {
    const xs = Float32Array.from(rand(B * C, B * 31 + C, scale), (v) => v + shift);
    const labels = labelsFor(B, C, B + C);
    const ref = cpu.softmaxCrossEntropy(f64(xs), labels, B, C);
    for (const gpuLabels of [false, true]) {
      const [loss, dx] = scope(() => {
        const x = Tensor.from(xs, [B, C]);
        x.requiresGrad = true;
        const lab = gpuLabels ? Tensor.from(labels, [B], 'u32') : Array.from(labels);
        const loss = poisoned(() => ops.softmaxCrossEntropy(x, lab));
        poisoned(() => tq.backward(loss, Tensor.from([0.6], [1])));
        return [loss, x.grad];
      });
      const what = `B=${B} C=${C} scale=${scale} shift=${shift} ${gpuLabels ? 'GPU' : 'host'} labels`;
      assert.equal([...loss.shape], [1]);
      assertClose(await loss.toArray(), [ref.loss], TOL, `loss ${what}`);
      assertClose(await dx.toArray(), cpu.softmaxCrossEntropyBackward(f64(xs), labels, B, C, 0.6), TOL, `dlogits ${what}`);
      loss.dispose();
      dx.dispose();
    }
  }
});

test('large logits do not overflow (max-subtracted)', async () => {
  const xs = Float32Array.of(1e4, -1e4, 0, 88, 89, 90);
  const loss = scope(() => ops.softmaxCrossEntropy(Tensor.from(xs, [2, 3]), [1, 2]));
  const got = await loss.item();
  assert.ok(Number.isFinite(got), `loss ${got}`);
  assertClose([got], [cpu.softmaxCrossEntropy(f64(xs), [1, 2], 2, 3).loss], TOL, 'loss');
  loss.dispose();
});

test('labels: host labels out of range throw; GPU labels out of range give NaN, never a stray read', async () => {
  const x = Tensor.from(Float32Array.from(rand(12, 4)), [4, 3], 'f32', 'logits');
  assert.throws(() => ops.softmaxCrossEntropy(x, [0, 3, 1, 2]), /labels\[1\] = 3 is not a class index in \[0, 3\)/);
  assert.throws(() => ops.softmaxCrossEntropy(x, [0, 1]), /2 labels for logits logits \[4, 3\] f32; need 4/);
  assert.throws(() => ops.softmaxCrossEntropy(x, Tensor.from(Uint32Array.of(0, 1, 2), [3], 'u32')), /must be u32 \[4\]/);
  x.requiresGrad = true;
  const [loss, dx] = scope(() => {
    const loss = ops.softmaxCrossEntropy(x, Tensor.from(Uint32Array.of(0, 7, 1, 2), [4], 'u32'));
    tq.backward(loss);
    return [loss, x.grad];
  });
  assert.ok(Number.isNaN(await loss.item()), 'loss is NaN');
  const d = await dx.toArray();
  assert.ok([3, 4, 5].every((i) => Number.isNaN(d[i])), 'the bad row’s gradient is NaN');
  assert.ok([0, 1, 2, 6, 7, 8, 9, 10, 11].every((i) => Number.isFinite(d[i])), 'other rows stay finite');
  for (const t of [x, loss, dx]) t.dispose();
});

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
