// Whole-model golden test (STYLE.md 9): a tiny dshNet-like network (conv/BN/ReLU/max-pool, conv/BN/ReLU/avg-pool,
// linear, ReLU, linear, tanh) trained for a few SGD steps on the GPU and in float64 on the CPU (src/cpu references):
// every parameter gradient at step 0, the loss at every step, the parameters and BN running stats at the end agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';
import { cpuForward, readState } from './nn-ref.js';

const { nn, cpu, Tensor } = tq;

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

// Like dshNet with batchNorm, the convs before BN have no bias. Input [4, 3, 8, 8]: 8 → 4 (max-pool 3/2 pad 1) → 2 (avg-pool 3/2 pad 1); flatten 6·2·2 = 24 → 10 → 6 bits.
function tinyDsh() {
  const pool = { stride: 2, padding: 1 };
  return nn.Sequential.named([
    ['features', new nn.Sequential(
      new nn.Conv2d(3, 5, 5, { padding: 2, bias: false }), new nn.BatchNorm2d(5), new nn.ReLU(), new nn.MaxPool2d(3, pool),
      new nn.Conv2d(5, 6, 5, { padding: 2, bias: false }), new nn.BatchNorm2d(6), new nn.ReLU(), new nn.AvgPool2d(3, pool),
    )],
    ['flatten', new nn.Flatten()],
    ['hash', new nn.Sequential(new nn.Linear(24, 10), new nn.ReLU(), new nn.Linear(10, 6))],
    ['tanh', new nn.Tanh()],
  ]);
}

const N = 4, BITS = 6, STEPS = 4, LR = 0.1, MOMENTUM = 0.9;

test('tiny dshNet: step-0 gradients, losses over 4 SGD steps, final parameters and running stats vs float64', async () => {
  const model = tinyDsh();
  nn.initParameters(model, { seed: 5 });
  const shape = [N, 3, 8, 8];
  const xs = rand(N * 3 * 64, 21);
  const target = rand(N * BITS, 22).map((v) => (v > 0 ? 1 : -1));
  const x = Tensor.from(Float32Array.from(xs), shape);
  const params = model.namedParameters();
  const opt = new tq.optim.SGD(params, { lr: LR, momentum: MOMENTUM });

  // Loss L = ½·Σ (f − t)² / N: its gradient (f − t)/N is computed on the GPU and seeds backward in the same scope as
  // the forward (which frees the saved activations at its end); L itself is evaluated on the host from the read-back f.
  const tT = Tensor.from(Float32Array.from(target), [N, BITS]);
  let P = await readState(model); // float64 state, starting from the GPU's f32 values
  const V = new Map(params.map(([n, t]) => [n, new Float64Array(t.size)]));
  for (let step = 0; step < STEPS; step++) {
    // GPU step.
    model.zeroGrad();
    const fOut = tq.scope(() => {
      const f = model.forward(x);
      tq.backward(f, tq.noGrad(() => tq.ops.axpby(1 / N, f, -1 / N, tT)));
      return f;
    });
    const f = await fOut.toArray();
    fOut.dispose();
    let gpuLoss = 0;
    for (let i = 0; i < f.length; i++) gpuLoss += 0.5 * (f[i] - target[i]) ** 2 / N;
    // CPU step in float64.
    const r = cpuForward(model, P, xs, shape);
    let cpuLoss = 0;
    const dy = new Float64Array(r.y.length);
    for (let i = 0; i < r.y.length; i++) {
      cpuLoss += 0.5 * (r.y[i] - target[i]) ** 2 / N;
      dy[i] = (r.y[i] - target[i]) / N;
    }
    const { grads } = r.backward(dy);
    // The loss sums 24 squared errors of tanh outputs; the f32 trajectory drifts from the float64 one by ~1e-7
    // relative over 4 steps (measured); bound 1e-5.
    assert.ok(Math.abs(gpuLoss - cpuLoss) <= 1e-5 * cpuLoss, `step ${step}: loss GPU ${gpuLoss} vs float64 ${cpuLoss}`);
    if (step === 0) {
      // Every parameter gradient at step 0 (same parameters on both sides): f32 forward + backward through two BN
      // layers; measured worst 6e-7 relative per tensor, bound 1e-5 (sums of ≤ 150 terms with cancellation in BN).
      let worst = 0;
      for (const [n, t] of params) worst = Math.max(worst, assertClose(await t.grad.toArray(), grads.get(n), 1e-5, `step 0 gradient of ${n}`));
      console.log(`  step 0: worst relative gradient error over ${params.length} parameters ${worst.toExponential(2)}`);
    }
    opt.step();
    for (const [n] of params) {
      const u = cpu.sgdStep(P.get(n), grads.get(n), V.get(n), { lr: LR, momentum: MOMENTUM });
      P.set(n, u.w);
      V.set(n, u.v);
    }
    for (const [n, v] of r.running) P.set(n, v);
    console.log(`  step ${step}: loss GPU ${gpuLoss.toFixed(7)}  float64 ${cpuLoss.toFixed(7)}`);
  }
  // Parameters and running statistics after the last step: measured worst 4e-7 relative per tensor, bound 1e-5.
  let worst = 0;
  for (const [n, t] of model.namedState()) worst = Math.max(worst, assertClose(await t.toArray(), P.get(n), 1e-5, `${n} after ${STEPS} steps`));
  console.log(`  after ${STEPS} steps: worst relative error of parameters and running stats ${worst.toExponential(2)}`);
  opt.dispose();
  model.dispose();
  x.dispose();
  tT.dispose();
});

test.run();
