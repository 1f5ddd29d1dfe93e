// Whole-network gradient check: a small conv → BN → ReLU → max-pool → linear network's GPU gradients (tape autograd
// over our kernels) against central finite differences of a float64 CPU forward composed from the src/cpu references,
// and against that composition's analytic backward. Loss = Σ c·y, a fixed random linear functional of the output.
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

// N = 2, C = 3, 7×7: conv 3×3 pad 1 → BN → ReLU → max-pool 3/2 pad 1 (7 → 4) → flatten (4·16) → linear 64 → 5.
// The conv before BN has no bias (BN subtracts the channel mean, so that bias would get an exactly-zero gradient);
// the smooth variant (conv with bias → tanh → avg-pool → linear) keeps one to check that path.
function smallNet(smooth) {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1, bias: smooth }),
    ...(smooth ? [] : [new nn.BatchNorm2d(4)]),
    smooth ? new nn.Tanh() : new nn.ReLU(),
    smooth ? new nn.AvgPool2d(3, { stride: 2, padding: 1 }) : new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
    new nn.Flatten(),
    new nn.Linear(64, 5),
  );
}

// Distance of the float64 forward from the kinks of ReLU (pre-activation 0) and max-pool (a tie for the maximum): finite
// differences with step eps are exact only when every such margin is well above eps.
function kinkMargin(model, P, x, shape) {
  let margin = Infinity;
  const conv = model.layers[0], bn = model.layers[1];
  const [N, C, H, W] = shape;
  const g = { N, Cin: C, H, W, Cout: conv.cout, KH: 3, KW: 3, padding: 1 };
  const z = cpu.batchNorm2dTrain(cpu.conv2d(x, P.get('0.weight'), null, g), P.get('1.weight'), P.get('1.bias'), { N, C: conv.cout, H, W }).y;
  for (const v of z) margin = Math.min(margin, Math.abs(v));
  const r = cpu.relu(z);
  // Max-pool windows: gap between the largest and second-largest values (padding never wins).
  for (let nc = 0; nc < N * conv.cout; nc++)
    for (let oh = 0; oh < 4; oh++)
      for (let ow = 0; ow < 4; ow++) {
        const vals = [];
        for (let kh = 0; kh < 3; kh++)
          for (let kw = 0; kw < 3; kw++) {
            const ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) vals.push(r[nc * H * W + ih * W + iw]);
          }
        vals.sort((a, b) => b - a);
        // Ties at 0 (several ReLU-clipped values) do not move under a small step, so only a positive maximum counts.
        if (vals[0] > 0) margin = Math.min(margin, vals[0] - vals[1]);
      }
  void bn;
  return margin;
}

async function check(smooth) {
  const shape = [2, 3, 7, 7];
  const xs = rand(2 * 3 * 49, 11);
  const c = rand(2 * 5, 12);
  // Draw seeds until the float64 forward keeps a margin of 1e-3 from every kink (1000× the finite-difference step).
  let seed = 1, model, P;
  for (;;) {
    model = smallNet(smooth);
    nn.initParameters(model, { seed });
    P = await readState(model);
    if (smooth || kinkMargin(model, P, xs, shape) > 1e-3) break;
    model.dispose();
    seed++;
    if (seed > 50) throw new Error('no seed keeps the network away from its kinks');
  }
  const x = Tensor.from(Float32Array.from(xs), shape);
  x.requiresGrad = true;
  tq.scope(() => {
    const y = model.forward(x);
    tq.backward(y, Tensor.from(Float32Array.from(c), [2, 5]));
  });
  const names = model.namedParameters().map(([n]) => n);
  // The float64 parameters are the f32 values the GPU used.
  const loss = (name) => (v) => {
    const Q = new Map(P);
    let xin = xs;
    if (name === 'x') xin = v;
    else Q.set(name, v);
    const y = cpuForward(model, Q, xin, shape).y;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += c[i] * y[i];
    return s;
  };
  const ref = cpuForward(model, P, xs, shape).backward(c);
  // Bounds: f32 forward and backward through BN over 98 values per channel; measured worst relative error per tensor
  // ≈ 2e-7, bound 1e-5 (f32 rounding of sums of ≤ 64 terms with some cancellation). Central differences in float64,
  // step 1e-6, are accurate to ~1e-9 on this smooth (or kink-free) function: the float64 backward gets 1e-6.
  const tol = 1e-5;
  let worstGpu = 0, worstCpu = 0;
  for (const name of [...names, 'x']) {
    const t = name === 'x' ? x : model.namedParameters().find(([n]) => n === name)[1];
    const got = await t.grad.toArray();
    const fd = cpu.numericalGrad(loss(name), name === 'x' ? xs : P.get(name), 1e-6);
    const an = name === 'x' ? ref.dx : ref.grads.get(name);
    worstCpu = Math.max(worstCpu, assertClose(an, fd, 1e-6, `${name}: float64 backward vs finite differences`));
    worstGpu = Math.max(worstGpu, assertClose(got, fd, tol, `${name}: GPU gradient vs finite differences`));
  }
  console.log(`  seed ${seed}: worst relative error, GPU vs finite differences ${worstGpu.toExponential(2)}; float64 backward ${worstCpu.toExponential(2)}`);
  model.dispose();
  x.dispose();
  return seed;
}

test('conv (with bias) → tanh → avg-pool → linear: every gradient vs finite differences of the float64 forward', async () => {
  await check(true);
});

test('conv → BN → ReLU → max-pool → linear (draws ≥ 1e-3 from every kink): every gradient vs finite differences', async () => {
  await check(false);
});

test.run();
