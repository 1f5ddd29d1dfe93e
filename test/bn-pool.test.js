// BatchNorm2d (+ ReLU) + pool as one op (ops/bn-pool.ts): the forward against float64, and everything (output,
// running statistics, dx, dγ, dβ) bit for bit against the three ops run one after another, whose backward
// norm.test.js and pool.test.js check against float64; then nn Sequential's fusion of the layers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, cpu, ops, nn } = tq;
const f64 = (a) => Float64Array.from(a);
const T = (a, shape) => Tensor.from(Float32Array.from(a), shape);
const POOL = { k: 3, stride: 2, padding: 1 };

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

// [N, C, H, W] where the 'rows' pool kernels fit (W % 8 = 0, H even): odd batch and channel counts, an odd count of
// 4-output blocks per row (W 24), a plane of 2 rows.
const SHAPES = [[3, 5, 6, 16], [1, 3, 2, 8], [2, 7, 10, 24], [5, 2, 4, 32]];

function assertSame(a, b, what) {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: [${i}] fused ${a[i]}, ops one by one ${b[i]}`);
}

for (const kind of ['max', 'avg']) for (const relu of [true, false]) for (const training of [true, false]) {
  test(`batchNorm2dPool2d ${kind}${relu ? ' + ReLU' : ''}, ${training ? 'training' : 'eval'}: y vs float64; y, running stats and gradients equal to the ops one by one`, async () => {
    let seed = kind === 'max' ? 10 : 50;
    for (const [N, C, H, W] of SHAPES) {
      const what = `[${N},${C},${H},${W}]`;
      assert.ok(ops.bnPoolFits(Tensor.empty([N, C, H, W]), { kind, ...POOL }), `${what} fits`);
      const xs = rand(N * C * H * W, seed++).map((v, i) => 1 + 2 * v + (Math.floor(i / (H * W)) % C));
      const gs = rand(C, seed++), bs = rand(C, seed++), rm = rand(C, seed++), rv = rand(C, seed++).map((v) => 1 + 0.5 * v);
      const OH = H / 2, OW = W / 2;
      const dys = rand(N * C * OH * OW, seed++);
      const results = [];
      for (const fused of [true, false]) {
        const x = T(xs, [N, C, H, W]), gamma = T(gs, [C]), beta = T(bs, [C]), runMean = T(rm, [C]), runVar = T(rv, [C]);
        x.requiresGrad = gamma.requiresGrad = beta.requiresGrad = true;
        const bn = { training, momentum: 0.1, eps: 1e-5, relu };
        tq.setPoison(true);
        const y = fused
          ? ops.batchNorm2dPool2d(x, gamma, beta, runMean, runVar, bn, { kind, ...POOL })
          : (kind === 'max' ? ops.maxPool2d : ops.avgPool2d)(ops.batchNorm2d(x, gamma, beta, runMean, runVar, bn), POOL);
        tq.backward(y, T(dys, y.shape));
        tq.setPoison(false);
        results.push(await Promise.all([y, runMean, runVar, x.grad, gamma.grad, beta.grad].map((t) => t.toArray())));
      }
      const [f, u] = results;
      ['y', 'runningMean', 'runningVar', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => assertSame(f[i], u[i], `${what} ${name}`));
      // The forward against float64: pool(relu?(bn(x))) with the batch's statistics or the running ones.
      const s = { N, C, H, W, eps: 1e-5 };
      const xf = f64(Float32Array.from(xs));
      let z = training ? cpu.batchNorm2dTrain(xf, gs, bs, s).y : cpu.batchNorm2dEval(xf, gs, bs, rm, rv, s);
      if (relu) z = z.map((v) => Math.max(v, 0));
      const shape = { N, C, H, W, kernel: 3, stride: 2, padding: 1 };
      const ref = kind === 'max' ? cpu.maxPool2d(z, shape).y : cpu.avgPool2d(z, shape);
      assertClose(f64(f[0]), ref, 1e-5, `${what} y`);
    }
  });
}

test('batchNorm2dPool2d refuses a pool without a fused kernel, and names the way out', () => {
  const x = Tensor.empty([2, 3, 6, 12]); // W % 8 ≠ 0
  assert.not.ok(ops.bnPoolFits(x, { kind: 'max', ...POOL }));
  const c = Tensor.empty([3]);
  assert.throws(() => ops.batchNorm2dPool2d(x, c, c, c, c, {}, { kind: 'max', ...POOL }), /no fused kernel.*one after another/);
  // A window that cannot fit is the pool's own error, as when the layers run one by one.
  assert.throws(() => ops.bnPoolFits(Tensor.empty([1, 2, 2, 2]), { kind: 'avg', k: 5, stride: 1, padding: 1 }), /^avgPool2d: a 5×5 window does not fit/);
});

// The DSH stage (conv, BN, ReLU, pool) × 2 in a Sequential, fused and not: the same loss and gradients bit for bit, and
// the fused one runs no BN apply pass where the pool fits (the 12-wide second input does not: there it falls back).
test('Sequential fuses BatchNorm2d, ReLU, pool into one op where it fits: same values, no BN apply pass', async () => {
  const build = () => new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(3, { stride: 2, padding: 1 }),
    new nn.Conv2d(4, 5, 3, { padding: 1 }), new nn.BatchNorm2d(5), new nn.AvgPool2d(3, { stride: 2, padding: 1 }),
  );
  for (const [H, W, fits] of [[16, 16, true], [16, 12, false]]) {
    const out = [];
    for (const fuse of [true, false]) {
      const m = build();
      nn.initParameters(m, { seed: 7 });
      m.fuse = fuse;
      const x = T(rand(3 * 3 * H * W, 99), [3, 3, H, W]);
      const cap = tq.bench.capture(() => {
        const y = m.forward(x);
        tq.backward(y, T(rand(y.size, 5), y.shape));
        return y;
      });
      const names = cap.commands.map((c) => tq.bench.commandName(c));
      cap.release();
      if (fuse) assert.is(names.some((n) => n.includes('norm.wgsl:apply')), !fits, `${H}×${W}: BN apply pass ${fits ? 'absent' : 'present'}`);
      out.push(await Promise.all([cap.result, ...m.parameters().map((p) => p.grad)].map((t) => t.toArray())));
    }
    out[0].forEach((a, i) => assertSame(a, out[1][i], `${H}×${W} ${i === 0 ? 'y' : `grad ${i - 1}`}`));
  }
});

test.run();
