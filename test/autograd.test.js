// The tape itself, with two tiny ops defined here on the util kernels (the real op families have their own tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { Tensor, record, defineBackward, backward, scope, clone, accumulateInto } = tq;

function scale(x, s) {
  const y = Tensor.empty(x.shape);
  tq.runtime().dispatch({ file: 'util.wgsl', entry: 'scale_copy' }, { bindings: { x: x.buffer, y: y.buffer }, params: { n: x.size, value: s }, workgroups: tq.ops.grid1d(x.size, 64) });
  return record('test_scale', [x], y, { s });
}
defineBackward('test_scale', (node, gy) => [scale(gy, node.ctx.s)]);

function add(a, b) {
  const y = clone(a);
  accumulateInto(y, b);
  return record('test_add', [a, b], y);
}
defineBackward('test_add', (_node, gy) => [gy, gy]);

test.before(async () => {
  await tq.init();
});

test('one tensor used in two places accumulates both gradients', async () => {
  const xs = [0.5, -1.25, 3, 7.5, -2];
  const x = Tensor.from(xs, [5]);
  x.requiresGrad = true;
  scope(() => {
    const y = add(scale(x, 2), tq.ops.reshape(scale(tq.ops.reshape(x, [1, 5]), 3), [5]));
    backward(y, tq.full([5], 1));
  });
  assert.equal(Array.from(await x.grad.toArray()), [5, 5, 5, 5, 5]);
  // A second backward adds to the existing gradient (grad += …, never overwritten).
  scope(() => backward(scale(x, -0.5), tq.full([5], 2)));
  assert.equal(Array.from(await x.grad.toArray()), [4, 4, 4, 4, 4]);
  // add(x, x): the same gradient returned for both inputs must not alias.
  x.grad.dispose();
  x.grad = null;
  scope(() => backward(add(x, x), tq.full([5], 1)));
  assert.equal(Array.from(await x.grad.toArray()), [2, 2, 2, 2, 2]);
});

test('a gradient passed straight through never aliases the caller\'s seed', async () => {
  const x = Tensor.from([1, 2, 3], [3]);
  x.requiresGrad = true;
  const seed = Tensor.from([0.5, 0.25, 2], [3]);
  scope(() => backward(add(x, tq.full([3], 1)), seed));
  scope(() => backward(add(x, tq.full([3], 1)), seed));
  assert.equal(Array.from(await seed.toArray()), [0.5, 0.25, 2], 'seed unchanged');
  assert.equal(Array.from(await x.grad.toArray()), [1, 0.5, 4]);
});

test('an op without a backward rule is named', () => {
  const x = Tensor.from([1, 2], [2]);
  x.requiresGrad = true;
  assert.throws(() => record('no_such_op', [x], Tensor.empty([2])), /no_such_op.*no backward rule/);
});

test('scopes free intermediates; the pool stays flat over many steps', async () => {
  const rt = tq.runtime();
  const x = Tensor.from(Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i)), [1000]);
  x.requiresGrad = true;
  const step = () => scope(() => {
    const y = add(scale(x, 2), scale(scale(x, 3), 0.5));
    backward(y, tq.full([1000], 1));
  });
  // Step 1 creates x.grad; from step 2 on, the gradient accumulates in place and nothing new should be needed.
  step();
  step();
  rt.pool.resetPeaks();
  const first = rt.pool.report();
  for (let i = 0; i < 50; i++) step();
  const after = rt.pool.report();
  // The gradient of x is accumulated in place; intermediates go back to the pool every step.
  assert.is(after.peakAllocatedBytes, first.allocatedBytes, 'no growth of allocated bytes');
  assert.is(after.inUseBytes, first.inUseBytes, 'in-use bytes back to the same level');
  const g = await x.grad.toArray();
  assert.ok(Math.abs(g[0] - 52 * 3.5) < 1e-4, `accumulated gradient ${g[0]}`);
});

test('poison mode fills new tensors with NaN', async () => {
  tq.setPoison(true);
  const t = Tensor.empty([3, 7]);
  tq.setPoison(false);
  const v = await t.toArray();
  assert.is(v.length, 21);
  assert.ok(v.every(Number.isNaN), 'every element NaN');
  t.dispose();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
