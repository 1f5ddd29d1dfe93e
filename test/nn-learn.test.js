// A tiny network learns a small separable problem on the GPU: 8×8 images with a vertical bar (target +1) or a
// horizontal bar (target −1) at a random position, plus noise; conv → ReLU → max-pool → linear → tanh, squared error,
// SGD with momentum. The loss must fall at least 10× within the step budget, and held-out images be classified ≥ 90 %.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand } from './util.js';

const { nn, Tensor } = tq;

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

function bars(n, seed) {
  const noise = rand(n * 64, seed, 0.2);
  const pos = rand(n, seed + 1);
  const x = new Float32Array(n * 64), t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const vertical = i % 2 === 0, p = Math.floor((pos[i] + 1) * 4) % 8;
    t[i] = vertical ? 1 : -1;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) x[i * 64 + r * 8 + c] = noise[i * 64 + r * 8 + c] + ((vertical ? c : r) === p ? 1 : 0);
  }
  return { x, t };
}

test('bars: loss falls ≥ 10× within 150 SGD steps', async () => {
  const N = 32, MAX_STEPS = 150;
  const model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 1), new nn.Tanh());
  nn.initParameters(model, { seed: 1 });
  const { x: xs, t } = bars(N, 7);
  const x = Tensor.from(xs, [N, 1, 8, 8]);
  const tT = Tensor.from(t, [N, 1]);
  const opt = new tq.optim.SGD(model.namedParameters(), { lr: 0.05, momentum: 0.9 });
  let first = 0, last = 0, steps = 0;
  const t0 = performance.now();
  for (; steps < MAX_STEPS; steps++) {
    // Squared-error gradient (f − t)/N on the GPU, backward in the same scope as the forward; loss read back after.
    model.zeroGrad();
    const y = tq.scope(() => {
      const f = model.forward(x);
      tq.backward(f, tq.noGrad(() => tq.ops.axpby(1 / N, f, -1 / N, tT)));
      return f;
    });
    const f = await y.toArray();
    y.dispose();
    let loss = 0;
    for (let i = 0; i < N; i++) loss += 0.5 * (f[i] - t[i]) ** 2 / N;
    if (steps === 0) first = loss;
    last = loss;
    if (loss * 10 <= first) break;
    opt.step();
  }
  console.log(`  loss ${first.toFixed(4)} → ${last.toFixed(5)} in ${steps} steps (${((performance.now() - t0) / Math.max(1, steps)).toFixed(1)} ms/step)`);
  assert.ok(last * 10 <= first, `loss fell only from ${first} to ${last} in ${MAX_STEPS} steps`);
  // And it generalises: fresh images (another noise and position draw) are classified by the sign of the output.
  const held = bars(64, 99);
  const xh = Tensor.from(held.x, [64, 1, 8, 8]);
  const yh = tq.noGrad(() => tq.scope(() => model.forward(xh)));
  const fh = await yh.toArray();
  yh.dispose();
  const correct = fh.filter((v, i) => Math.sign(v) === held.t[i]).length;
  console.log(`  held-out accuracy ${correct}/64`);
  assert.ok(correct >= 58, `held-out accuracy ${correct}/64 < 58/64 (90 %)`);
  xh.dispose();
  opt.dispose();
  model.dispose();
  x.dispose();
  tT.dispose();
});

test.run();
