// Memory is bounded: training steps of the real network (forward, TQL loss, backward, Adam) do not grow GPU memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { Tensor, scope, backward, nn, ops, optim } = tq;

test.before(async () => {
  await tq.init();
});

test('the pool stops growing after the first steps of dshNet + TQL + Adam', async () => {
  const rt = tq.runtime();
  const model = nn.dshNet({ bits: 16, batchNorm: true, seed: 3 });
  const opt = new optim.Adam(model.namedParameters(), { lr: 1e-3 });
  const B = 8;
  const x = Tensor.from(Float32Array.from({ length: B * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)), [B, 3, 32, 32]).keep();
  const labels = Uint32Array.from({ length: B }, (_, i) => i % 2);
  const losses = [];
  const step = async () => {
    const loss = scope(() => {
      const { loss } = ops.tripletQuantLoss(model.forward(x), labels, {});
      backward(loss);
      opt.step();
      opt.zeroGrad();
      return loss;
    });
    losses.push(await loss.item());
    loss.dispose();
  };
  await step();
  await step();
  const after2 = rt.pool.report();
  rt.pool.resetPeaks();
  for (let i = 0; i < 6; i++) await step();
  const after8 = rt.pool.report();
  assert.is(after8.peakAllocatedBytes, after2.allocatedBytes, `allocated grew from ${after2.allocatedBytes} to ${after8.peakAllocatedBytes} bytes`);
  assert.is(after8.inUseBytes, after2.inUseBytes, 'in-use bytes back to the same level after each step');
  assert.ok(losses.every(Number.isFinite), `finite losses ${losses}`);
  x.dispose();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
