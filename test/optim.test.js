// Optimiser kernels against cpu.sgdStep / cpu.adamStep stepping the same gradients; state save/restore; schedules;
// and a small quadratic that SGD and Adam must actually minimise through the autograd ops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, ops, cpu, optim, scope } = tq;
const f64 = (a) => Float64Array.from(a);
const SIZES = [1, 3, 17, 1000, 100003, 100004];

// Bound: every step rounds w, m, v in f32 (a few u per step, errors random-signed) and the GPU works from its own
// f32 state while the reference carries float64: after 6 steps relErr ≤ 1e-6 on w and the state buffers. Adam's
// update divides by √v̂ + eps, so a tiny v amplifies errors; gradients in [−1, 1] keep v̂ well above eps here.
const TOL = 1e-6;
const STEPS = 6;

/** Runs the GPU optimiser and the float64 reference on the same gradients; lr changes every step (setLr). */
async function compare(kind, opts, n, seed) {
  const w0 = Float32Array.from(rand(n, seed, 2));
  const p = Tensor.from(w0, [n]);
  const opt = kind === 'sgd' ? new optim.SGD([['w', p]], opts) : new optim.Adam([['w', p]], opts);
  let w = f64(w0), m = new Float64Array(n), v = new Float64Array(n);
  for (let t = 1; t <= STEPS; t++) {
    const lr = opts.lr * (1 - 0.1 * t);
    const g = Float32Array.from(rand(n, seed * 100 + t));
    p.grad = Tensor.from(g, [n]).keep();
    opt.setLr(lr);
    opt.step();
    opt.zeroGrad();
    assert.is(p.grad, null, 'zeroGrad clears the gradient');
    const o = { ...opts, lr };
    if (kind === 'sgd') ({ w, v: m } = cpu.sgdStep(w, f64(g), m, o));
    else ({ w, m, v } = cpu.adamStep(w, f64(g), m, v, t, { ...o, beta1: opts.betas?.[0], beta2: opts.betas?.[1] }));
  }
  const what = `${kind} ${JSON.stringify(opts)} n=${n}`;
  assertClose(await p.toArray(), w, TOL, `w: ${what}`);
  const st = opt.stateTensors();
  if (kind === 'sgd' && opts.momentum) assertClose(await st['w.momentum_buffer'].toArray(), m, TOL, `momentum: ${what}`);
  if (kind === 'adam') {
    assertClose(await st['w.exp_avg'].toArray(), m, TOL, `m: ${what}`);
    assertClose(await st['w.exp_avg_sq'].toArray(), v, TOL, `v: ${what}`);
  }
  opt.dispose();
  p.dispose();
}

test('SGD (plain, momentum, weight decay, Nesterov; scalar and vec4 kernels) matches cpu.sgdStep over several steps', async () => {
  const configs = [{ lr: 0.1 }, { lr: 0.05, momentum: 0.9 }, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }, { lr: 0.02, momentum: 0.8, weightDecay: 1e-2, nesterov: true }];
  for (const variant of ['scalar', 'auto']) {
    optim.setOptimVariant(variant);
    for (const opts of configs) for (const n of SIZES) await compare('sgd', opts, n, n + 3);
  }
  optim.setOptimVariant('auto');
});

test('Adam and AdamW (bias-corrected, L2 vs decoupled decay; scalar and vec4 kernels) match cpu.adamStep over several steps', async () => {
  const configs = [{ lr: 1e-3 }, { lr: 1e-2, weightDecay: 1e-2 }, { lr: 1e-2, weightDecay: 1e-2, decoupled: true }, { lr: 3e-3, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 5e-4, decoupled: true }];
  for (const variant of ['scalar', 'auto']) {
    optim.setOptimVariant(variant);
    for (const opts of configs) for (const n of SIZES) await compare('adam', opts, n, n + 5);
  }
  optim.setOptimVariant('auto');
  const a = new optim.AdamW([Tensor.from([1], [1], 'f32', 'x')], { lr: 1 });
  assert.ok(a.decoupled, 'AdamW is decoupled');
  a.dispose();
});

test('state save/restore resumes exactly: 3 steps + checkpoint + 3 steps = 6 steps (bit-identical)', async () => {
  for (const make of [(ps) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 1e-3, decoupled: true }), (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })]) {
    const n = 1003, w0 = Float32Array.from(rand(n, 77)), b0 = Float32Array.from(rand(7, 78));
    const grads = Array.from({ length: 6 }, (_, t) => [Float32Array.from(rand(n, 200 + t)), Float32Array.from(rand(7, 300 + t))]);
    const run = (opt, w, b, from, to) => {
      for (let t = from; t < to; t++) {
        w.grad = Tensor.from(grads[t][0], [n]).keep();
        b.grad = t === 4 ? null : Tensor.from(grads[t][1], [7]).keep(); // b has no gradient at step 4: skipped, its step count stays
        opt.step();
        opt.zeroGrad();
      }
    };
    const wA = Tensor.from(w0, [n]), bA = Tensor.from(b0, [7]);
    const A = make([['fc.weight', wA], ['fc.bias', bA]]);
    run(A, wA, bA, 0, 6);
    const wB = Tensor.from(w0, [n]), bB = Tensor.from(b0, [7]);
    const B1 = make([['fc.weight', wB], ['fc.bias', bB]]);
    run(B1, wB, bB, 0, 3);
    const saved = await B1.stateDict();
    const paramsB = [await wB.toArray(), await bB.toArray()];
    B1.dispose();
    // A fresh optimiser over fresh parameter tensors, as after a restart.
    const wC = Tensor.from(paramsB[0], [n]), bC = Tensor.from(paramsB[1], [7]);
    const C = make([['fc.weight', wC], ['fc.bias', bC]]);
    C.loadState(saved);
    run(C, wC, bC, 3, 6);
    assert.equal(Array.from(await wC.toArray()), Array.from(await wA.toArray()), 'weights after resume');
    assert.equal(Array.from(await bC.toArray()), Array.from(await bA.toArray()), 'biases after resume');
    const sa = await A.stateDict(), sc = await C.stateDict();
    assert.equal(Object.keys(sc).sort(), Object.keys(sa).sort());
    for (const k of Object.keys(sa)) assert.equal(Array.from(sc[k].data), Array.from(sa[k].data), `state ${k}`);
    if (sa['fc.bias.step']) assert.equal([sa['fc.weight.step'].data[0], sa['fc.bias.step'].data[0]], [6, 5]);
    // Mismatches are reported before anything is written.
    assert.throws(() => C.loadState({ ...saved, extra: saved[Object.keys(saved)[0]] }), /no state named "extra"/);
    const bad = { ...saved };
    const first = Object.keys(bad).find((k) => bad[k].dtype === 'F32');
    bad[first] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
    assert.throws(() => C.loadState(bad), new RegExp(`${first.replace('.', '\\.')}: saved \\[2\\]`));
    for (const t of [wA, bA, wB, bB, wC, bC]) t.dispose();
    A.dispose();
    C.dispose();
  }
});

// f(w) = ½·Σ a_i (w_i − c_i)² with curvatures a_i in [0.5, 2] (condition number 4), gradient through the autograd
// ops (sub, square, mul, sum, scale). Measured on llvmpipe: SGD+momentum cuts f by ~10¹² in 60 steps, Adam (lr 0.3) by ~10³; the
// test asks for 10⁶ and 10².
test('SGD and Adam minimise a small quadratic through autograd', async () => {
  const n = 33;
  const a = Float32Array.from(rand(n, 5), (v) => 1.25 + 0.75 * v), c = Float32Array.from(rand(n, 6, 3));
  for (const [name, make, factor] of [['SGD momentum', (ps) => new optim.SGD(ps, { lr: 0.3, momentum: 0.5 }), 1e6], ['Adam', (ps) => new optim.Adam(ps, { lr: 0.3 }), 1e2]]) {
    const w = Tensor.from(new Float32Array(n), [n], 'f32', 'w');
    w.requiresGrad = true;
    const A = Tensor.from(a, [n]), Cc = Tensor.from(c, [n]);
    const opt = make([w]);
    const lossOf = () => ops.scale(ops.sum(ops.mul(A, ops.square(ops.sub(w, Cc)))), 0.5);
    const value = async () => {
      const l = scope(() => tq.noGrad(lossOf));
      const v = await l.item();
      l.dispose();
      return v;
    };
    const f0 = await value();
    const sched = optim.cosineLr({ base: opt.lr, total: 60, warmup: 5, min: opt.lr * 0.01 });
    for (let s = 0; s < 60; s++) {
      opt.setLr(sched(s));
      scope(() => {
        tq.backward(lossOf());
        opt.step();
        opt.zeroGrad();
      });
    }
    const f1 = await value();
    console.log(`    ${name}: f ${f0.toExponential(3)} → ${f1.toExponential(3)} in 60 steps`);
    assert.ok(f1 * factor < f0, `${name}: f went from ${f0} to ${f1}, not down by ${factor}`);
    for (const t of [w, A, Cc]) t.dispose();
    opt.dispose();
  }
});

test('learning-rate schedules: warm-up, cosine, step', () => {
  const cos = optim.cosineLr({ base: 1, total: 110, warmup: 10, min: 0.1 });
  assert.is(cos(0), 0.1);
  assert.is(cos(9), 1);
  assert.is(cos(10), 1);
  assertClose([cos(60)], [0.55], 1e-12, 'cosine midpoint');
  assertClose([cos(110), cos(500)], [0.1, 0.1], 1e-12, 'cosine end');
  const st = optim.stepLr({ base: 0.1, stepSize: 30, gamma: 0.5, warmup: 2 });
  assert.equal([st(0), st(1), st(2), st(31), st(32), st(62)], [0.05, 0.1, 0.1, 0.1, 0.05, 0.025]);
  assert.is(optim.constantLr(0.3)(1000), 0.3);
  assert.throws(() => cos(-1), /step must be an integer ≥ 0/);
});

test('bad options are named', () => {
  const p = Tensor.from([1, 2], [2], 'f32', 'p');
  assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new optim.Adam([p], { lr: 0.1, betas: [1, 0.9] }), /betas\[0\] must be in \[0, 1\)/);
  assert.throws(() => new optim.Adam([p, p], { lr: 0.1 }), /listed twice/);
  const opt = new optim.SGD([p], { lr: 0.1 });
  p.grad = Tensor.from([1, 2, 3], [3]).keep();
  assert.throws(() => opt.step(), /gradient .* does not match parameter p/);
  opt.zeroGrad();
  p.dispose();
});

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
