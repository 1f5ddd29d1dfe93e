// Fused triplet(-quantization) loss: loss, ∂L/∂f through tq.backward and the [active, valid] stats against the float64
// reference cpu.tqlLoss, for every loss × form × selection, odd shapes, P×K batches and the documented edge cases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, ops, cpu, train, scope } = tq;

test.before(async () => { await tq.init(); });
test.after(async () => { await tq.gpu.disposeRuntime(); });

function poisoned(fn) {
  tq.setPoison(true);
  try { return fn(); } finally { tq.setPoison(false); }
}

// Descriptors as the network gives them (tanh of a symmetric range), rounded to f32 so both sides see the same inputs.
function descriptors(B, k, seed, scale = 2, squash = true) {
  return Float32Array.from(rand(B * k, seed, scale), (v) => (squash ? Math.tanh(v) : v));
}
const pk = (P, K) => Uint32Array.from({ length: P * K }, (_, i) => Math.floor(i / K));
const randomLabels = (B, C, seed) => Uint32Array.from(rand(B, seed), (v) => Math.min(C - 1, Math.floor(((v + 1) / 2) * C)));

// Runs the GPU op (outputs poisoned) with ∂(outer)/∂loss = seed; returns loss, grad, stats as host arrays.
async function runGpu(fs, labels, B, k, opts, seed = 0.6) {
  const [loss, grad, stats] = scope(() => {
    const f = Tensor.from(fs, [B, k]);
    f.requiresGrad = true;
    const { loss, stats } = poisoned(() => ops.tripletQuantLoss(f, labels, opts));
    poisoned(() => tq.backward(loss, Tensor.from([seed], [1])));
    return [loss, f.grad, stats];
  });
  const out = { loss: (await loss.toArray())[0], grad: await grad.toArray(), stats: await stats.toArray() };
  loss.dispose(); grad.dispose(); stats.dispose();
  return out;
}

// Bounds: the loss is a sum of up to ~10⁴ hinge values (each a difference of two k-term f32 distance sums) in f32 over a
// tree, divided by an exact count: ≲ 1e-6 relative at these sizes; 1e-5 states the brief's bound. The gradient is an
// integer-weighted sum of B rows per element, with cancellation between the positive and negative terms: ≲ 1e-6 seen.
// Random inputs put no hinge within ~1e-6 of its kink at these sizes (a flip would change the counts: stats are exact).
const TOL = 1e-5;

async function check(fs, labels, B, k, opts, what, seed = 0.6) {
  const ref = cpu.tqlLoss(Float64Array.from(fs), labels, B, k, opts);
  const got = await runGpu(fs, labels, B, k, opts, seed);
  const name = `${what} ${JSON.stringify(opts)}`;
  assert.equal([...got.stats], [ref.active, ref.valid], `stats ${name}`);
  assertClose([got.loss], [ref.loss], TOL, `loss ${name}`);
  assertClose(got.grad, ref.grad.map((g) => g * seed), TOL, `grad ${name}`);
  return { ref, got };
}

const LOSSES = ['tql', 'triplet', 'triplet+quant'];
const FORMS = ['asym', 'ste', 'asym-ste', 'smooth'];
const SELECTS = ['all', 'semihard', 'hard'];

test('every loss × form × selection matches the float64 reference (B = 3, 7, 4×5, 33; k = 12, 13, 48)', async () => {
  const cases = [
    [3, 12, Uint32Array.from([0, 0, 1])],
    [7, 13, Uint32Array.from([2, 0, 2, 1, 0, 2, 1])],
    [20, 12, pk(4, 5)],
    [33, 48, randomLabels(33, 5, 9)],
  ];
  for (const [B, k, labels] of cases) {
    const fs = descriptors(B, k, B * 7 + k);
    for (const loss of LOSSES) for (const form of loss === 'tql' ? FORMS : ['asym']) for (const select of SELECTS) {
      await check(fs, labels, B, k, { loss, form, select }, `B=${B} k=${k}`);
    }
  }
});

test('margins, λ, an odd P×K batch, ∂(outer)/∂loss, the straight-through mask beyond |f| = 1', async () => {
  const B = 30, k = 17, labels = pk(3, 10);
  const fs = descriptors(B, k, 5);
  await check(fs, labels, B, k, { margin: 1.5, marginQ: 7, lambda: 0.3 }, 'custom margins', -1.7);
  await check(fs, labels, B, k, { loss: 'triplet+quant', lambda: 2.5, margin: 2 }, 'triplet+quant λ');
  await check(fs, labels, B, k, { select: 'semihard', margin: 9 }, 'wide semihard window');
  // Not tanh'ed: some |f| > 1, where the straight-through derivative is 0.
  const wide = descriptors(B, k, 6, 1.6, false);
  for (const select of SELECTS) await check(wide, labels, B, k, { form: 'ste', select }, 'ste mask');
  // GPU labels work like host labels.
  const ref = cpu.tqlLoss(Float64Array.from(fs), labels, B, k, {});
  const [l] = scope(() => [ops.tripletQuantLoss(Tensor.from(fs, [B, k]), Tensor.from(labels, [B], 'u32')).loss]);
  assertClose([await l.item()], [ref.loss], TOL, 'GPU labels');
  l.dispose();
});

test('a NaN or infinite descriptor makes the loss NaN for every loss and selection (hinges would hide it)', async () => {
  const B = 12, k = 16, labels = pk(3, 4);
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const loss of LOSSES) {
      for (const select of SELECTS) {
        const fs = descriptors(B, k, 91);
        fs[5 * k + 3] = bad;
        const [l] = scope(() => [ops.tripletQuantLoss(Tensor.from(fs, [B, k]), labels, { loss, select }).loss]);
        const v = await l.item();
        l.dispose();
        assert.ok(Number.isNaN(v), `${loss}/${select} with a ${bad} descriptor: loss ${v}`);
      }
    }
  }
  // Finite inputs stay finite (the check does not fire on large but finite values).
  const fs = descriptors(B, k, 92);
  fs[0] = 3e38;
  const [l] = scope(() => [ops.tripletQuantLoss(Tensor.from(fs, [B, k]), labels, { loss: 'triplet' }).loss]);
  assert.ok(!Number.isNaN(await l.item()));
  l.dispose();
});

test('defaults live in tqlDefaults, one function for library, reference and trainer (m = m_q = max(k/4, 6), λ = 1, tql/asym/all)', async () => {
  const d = ops.tqlDefaults(48);
  assert.equal(d, { loss: 'tql', form: 'asym', select: 'all', margin: 12, marginQ: 12, lambda: 1, beta: 1 });
  assert.is(ops.tqlDefaults(12).margin, 6);
  assert.is(ops.tqlDefaults, cpu.tqlDefaults);
  assert.is(train.defaultMargin, cpu.defaultMargin);
  const B = 12, k = 48, labels = pk(3, 4), fs = descriptors(B, k, 77);
  const explicit = await runGpu(fs, labels, B, k, d);
  const implicit = await runGpu(fs, labels, B, k, {});
  assert.equal(explicit.loss, implicit.loss);
  await check(fs, labels, B, k, {}, 'defaults');
});

test('edge cases: one class, singleton classes, B = 1, no active triplet, ties in batch-hard', async () => {
  const k = 12;
  for (const loss of LOSSES) for (const select of SELECTS) {
    const opts = { loss, select };
    // One class only and all-singleton classes: no valid triplet → triplet part 0, grad 0 (quant term of triplet+quant stays).
    for (const [B, labels] of [[6, new Uint32Array(6)], [5, Uint32Array.from([0, 1, 2, 3, 4])], [1, Uint32Array.from([3])]]) {
      const { got } = await check(descriptors(B, k, B), labels, B, k, opts, `no valid triplets B=${B}`);
      assert.equal([...got.stats], [0, 0]);
      for (const v of [got.loss, ...got.grad]) assert.ok(Number.isFinite(v));
      if (loss !== 'triplet+quant') { assert.is(got.loss, 0); assert.ok(got.grad.every((g) => g === 0)); }
    }
    // Negative margins: valid triplets, none active → loss 0, grad 0.
    const { got } = await check(descriptors(8, k, 3), pk(2, 4), 8, k, { ...opts, margin: -1000, marginQ: -1000 }, 'no active');
    assert.is(got.stats[0], 0);
    if (loss !== 'triplet+quant') { assert.is(got.loss, 0); assert.ok(got.grad.every((g) => g === 0)); }
  }
  // Duplicate rows make distance ties: batch-hard must keep the lowest index, like the reference.
  const B = 8;
  const base = descriptors(4, k, 11);
  const fs = new Float32Array(B * k);
  for (let i = 0; i < B; i++) fs.set(base.subarray((i % 4) * k, (i % 4 + 1) * k), i * k);
  for (const form of FORMS) await check(fs, Uint32Array.from([0, 0, 1, 1, 0, 0, 1, 1]), B, k, { select: 'hard', form }, 'hard ties');
});

test('smooth at β = 0.3, 5, 300 and asym-ste past |f| = 1: odd batches against the reference', async () => {
  const B = 29, k = 19, labels = randomLabels(B, 4, 31);
  const fs = descriptors(B, k, 32);
  // β = 300 saturates most codes to ±1 and underflows their derivative; m_q = 6.3 keeps hinges off the lattice of
  // exact integer distances that saturated codes make (f32 and float64 round tanh(β·f) to 1 at different β·f).
  for (const beta of [0.3, 5, 300]) {
    for (const select of SELECTS) await check(fs, labels, B, k, { form: 'smooth', beta, select, marginQ: 6.3, lambda: 0.7 }, `smooth β ${beta}`, -0.9);
  }
  const wide = descriptors(B, k, 33, 1.6, false);
  for (const select of SELECTS) await check(wide, labels, B, k, { form: 'asym-ste', select }, 'asym-ste mask');
  assert.throws(() => scope(() => ops.tripletQuantLoss(Tensor.from(fs, [B, k]), labels, { form: 'smooth', beta: NaN })), /beta = NaN/);
});

// Runs the op with one tql.variant; returns runGpu's result and the entry points it dispatched.
async function runVariant(variant, fs, labels, B, k, opts, seed) {
  const prev = tq.gpu.setKnobs({ 'tql.variant': variant });
  try {
    const cap = tq.bench.capture(() => runGpu(fs, labels, B, k, opts, seed));
    const entries = cap.commands.filter((c) => c.kind === 'dispatch').map((c) => c.kernel.ref.entry);
    const out = await cap.result;
    cap.release();
    return { ...out, entries };
  } finally {
    tq.gpu.setKnobs(prev);
  }
}

test('blocked kernels (k % 4 = 0): bit-identical to the scalar ones, B not a multiple of 4 included, and B = 128, k = 48 against the reference', async () => {
  const cases = [[37, 12, randomLabels(37, 4, 41)], [6, 4, Uint32Array.from([1, 0, 1, 1, 0, 2])], [30, 24, pk(5, 6)], [128, 48, pk(16, 8)]];
  for (const [B, k, labels] of cases) {
    const fs = descriptors(B, k, B + 3 * k);
    const optsList = B === 128 ? [{}] : LOSSES.flatMap((loss) => (loss === 'tql' ? FORMS : ['asym']).flatMap((form) => SELECTS.map((select) => ({ loss, form, select }))));
    for (const opts of optsList) {
      const name = `B=${B} k=${k} ${JSON.stringify(opts)}`;
      const s = await runVariant('scalar', fs, labels, B, k, opts, -0.8);
      const b = await runVariant('blocked', fs, labels, B, k, opts, -0.8);
      assert.ok(s.entries.includes('tql_grad') && !s.entries.includes('tql_grad4'), `scalar ran ${s.entries}`);
      const pairs = opts.select === 'hard' ? 'tql_pairs' : 'tql_pairs4';
      for (const e of ['tql_dist4', pairs, 'tql_grad4']) assert.ok(b.entries.includes(e), `${name}: blocked ran ${b.entries}`);
      assert.equal([...b.stats], [...s.stats], `stats ${name}`);
      assert.is(Object.is(b.loss, s.loss), true, `loss ${name}: ${b.loss} vs ${s.loss}`);
      const diff = b.grad.findIndex((g, i) => !Object.is(g, s.grad[i]));
      assert.is(diff, -1, `grad ${name}: element ${diff} ${b.grad[diff]} vs ${s.grad[diff]}`);
    }
    if (B === 128) await check(fs, labels, B, k, {}, 'B=128 k=48 blocked');
  }
  // k % 4 ≠ 0 keeps the scalar kernels.
  const r = await runVariant('blocked', descriptors(9, 13, 4), randomLabels(9, 3, 5), 9, 13, {}, 1);
  assert.ok(r.entries.includes('tql_grad') && !r.entries.includes('tql_dist4'), `k = 13 ran ${r.entries}`);
});

test('bad inputs are rejected with messages naming the tensor', async () => {
  scope(() => {
    const f = Tensor.from(new Float32Array(12), [3, 4]);
    assert.throws(() => ops.tripletQuantLoss(f, [0, 1]), /2 labels .* need 3/);
    assert.throws(() => ops.tripletQuantLoss(f, [0, 1, -1]), /labels\[2\]/);
    assert.throws(() => ops.tripletQuantLoss(f, [0, 1, 1], { select: 'hardest' }), /select 'hardest'/);
    assert.throws(() => ops.tripletQuantLoss(f.reshapeView([12]), [0]), /must be f32 \[B, k\]/);
  });
});

test.run();
