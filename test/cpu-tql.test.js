// CPU reference of the paper's losses (tqlLoss): hand cases, edge cases, and gradients vs finite differences away from kinks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../dist/index.js';
import { rand, assertClose } from './util.js';

const F = (...v) => Float64Array.from(v);
const FD_TOL = 1e-6;

// B = 3, k = 2, labels [0, 0, 1]. d01 = 0.40, d02 = 1.30, d12 = 0.90; b = [[1,−1], [1,1], [−1,1]].
// Valid triplets: (0,1,2) with z_t = 0.40 − 1.30 + 1 = 0.10 and (1,0,2) with z_t = 0.40 − 0.90 + 1 = 0.50.
const f3 = F(0.5, -0.2, 0.3, 0.4, -0.6, 0.1), y3 = [0, 0, 1];
const hand = { margin: 1, marginQ: 1, lambda: 1 };

test('tql asym, hand case B=3 k=2', () => {
  // asym: (0,1,2): 1.69 − 3.69 + 1 < 0 → 0; (1,0,2): d(f1,b0) − d(f1,b2) + 1 = 2.45 − 2.05 + 1 = 1.40.
  // loss = (0.10 + 0.50 + 1.40) / 2 active. grad: l_t terms plus 2(b2 − b0) = (−4, 4) on f1, all / 2.
  const r = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'tql', form: 'asym' });
  assertClose(F(r.loss), F(1.0), 1e-14, 'loss');
  assert.is(r.active, 2); assert.is(r.valid, 2);
  assertClose(r.grad, F(-0.7, -0.9, -3.3, 2.9, 2.0, 0), 1e-14, 'grad');
});

test('tql ste, triplet, triplet+quant: hand case B=3 k=2', () => {
  // ste: (0,1,2): 4 − 8 + 1 < 0; (1,0,2): 4 − 4 + 1 = 1, gradient (−4,4) to f1, (0,−4) to f0, (4,0) to f2.
  const s = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'tql', form: 'ste' });
  assertClose(F(s.loss), F(0.8), 1e-14, 'ste loss');
  assertClose(s.grad, F(-0.7, -2.9, -3.3, 2.9, 4.0, 0), 1e-14, 'ste grad');
  const t = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'triplet' });
  assertClose(F(t.loss), F(0.3), 1e-14, 'triplet loss');
  assertClose(t.grad, F(-0.7, -0.9, -1.3, 0.9, 2.0, 0), 1e-14, 'triplet grad');
  // quant: Σ(f − b)² = 0.89 + 0.85 + 0.97 = 2.71 over B·k = 6 entries; grad 2(f − b)/6.
  const q = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'triplet+quant', lambda: 2 });
  assertClose(F(q.loss), F(0.3 + 2 * 2.71 / 6), 1e-14, 'triplet+quant loss');
  const fb = F(-0.5, 0.8, -0.7, -0.6, 0.4, -0.9);
  assertClose(q.grad, t.grad.map((g, i) => g + 2 * 2 * fb[i] / 6), 1e-14, 'triplet+quant grad');
});

test('asym-ste, hand case B=3 k=2: the asym loss, with the gradient also to p and n through their codes', () => {
  // Only (1,0,2) fires its quantisation hinge (z_q = 1.40, as in asym): a = f1 gets 2(b2 − b0) = (−4, 4) as in asym,
  // p = f0 gets 2(b0 − f1) = (1.4, −2.8) and n = f2 gets 2(f1 − b2) = (2.6, −1.2); all / 2 active.
  const r = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'tql', form: 'asym-ste' });
  assertClose(F(r.loss), F(1.0), 1e-14, 'loss');
  assertClose(r.grad, F(0.0, -2.3, -3.3, 2.9, 3.3, -0.6), 1e-14, 'grad');
  // Beyond |f| = 1 the straight-through is 0 for p and n, but the anchor (real-valued f_a, no code) keeps its gradient.
  const f = F(1.5, 0.5, -1.5), y = [0, 0, 1], o = { margin: 10, marginQ: 10 };
  const tql = cpu.tqlLoss(f, y, 3, 1, { ...o, loss: 'tql', form: 'asym-ste' });
  const tri = cpu.tqlLoss(f, y, 3, 1, { ...o, loss: 'triplet' });
  // b = [1, 1, −1]; (0,1,2): a 2(b2 − b1) = −4, p 2(b1 − f0) = −1, n masked; (1,0,2): a −4, p masked, n masked.
  assertClose(tql.grad.map((g, i) => g - tri.grad[i]), F(-2, -2.5, 0), 1e-14, 'masked l_q gradient');
});

test('smooth, hand case k=1 (β = 2), and β → ∞ gives the ste loss without a quantisation gradient', () => {
  // c = tanh(2f) = (tanh 1, tanh 0.6, tanh −1.2); with m = 10 and m_q = 3 both triplets fire both hinges.
  const f = F(0.5, 0.3, -0.6), y = [0, 0, 1], c = [Math.tanh(1), Math.tanh(0.6), Math.tanh(-1.2)];
  const zt = (a, p, n) => (f[a] - f[p]) ** 2 - (f[a] - f[n]) ** 2 + 10;
  const zq = (a, p, n) => (c[a] - c[p]) ** 2 - (c[a] - c[n]) ** 2 + 3;
  const r = cpu.tqlLoss(f, y, 3, 1, { loss: 'tql', form: 'smooth', beta: 2, margin: 10, marginQ: 3, lambda: 0.5 });
  assert.is(r.active, 2);
  assertClose(F(r.loss), F((zt(0, 1, 2) + zt(1, 0, 2) + 0.5 * (zq(0, 1, 2) + zq(1, 0, 2))) / 2), 1e-14, 'loss');
  // β = 1000: tanh(β·f) = ±1 exactly in float64 for these f and cosh² overflows to ∞: ste's value, triplet's gradient.
  const big = cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'tql', form: 'smooth', beta: 1000 });
  assertClose(F(big.loss), F(cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'tql', form: 'ste' }).loss), 1e-15, 'β → ∞ loss');
  assertClose(big.grad, cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'triplet' }).grad, 1e-15, 'β → ∞ grad');
  // triplet+quant's pointwise term keeps sign(f), whatever the form.
  const q = (form) => cpu.tqlLoss(f3, y3, 3, 2, { ...hand, loss: 'triplet+quant', form, beta: 2 }).loss;
  assert.is(q('smooth'), q('asym'));
});

test('ste kink: z_q = 0 is counted, and neither fires nor makes the triplet active', () => {
  // m_q = 0: (1,0,2) has d(b1,b0) − d(b1,b2) = 4 − 4 = 0, exactly on the kink; (0,1,2) has 4 − 8 < 0.
  const r = cpu.tqlLoss(f3, y3, 3, 2, { margin: 1, marginQ: 0, loss: 'tql', form: 'ste' });
  const t = cpu.tqlLoss(f3, y3, 3, 2, { margin: 1, loss: 'triplet' });
  assert.is(r.kinks, 1);
  assert.is(r.loss, t.loss);
  assert.equal([...r.grad], [...t.grad]);
  // A margin of 0 and a triplet whose only hinge is the kink: not active (l = 0).
  const k = cpu.tqlLoss(f3, y3, 3, 2, { margin: -5, marginQ: 0, loss: 'tql', form: 'ste' });
  assert.equal([k.active, k.valid, k.kinks, k.loss], [0, 2, 1, 0]);
});

test('batch-all averages over active triplets only', () => {
  // margin 0.6: (0,1,2) has z_t = −0.3 (inactive), (1,0,2) has z_t = 0.1 → loss 0.1 / 1, not / 2.
  const r = cpu.tqlLoss(f3, y3, 3, 2, { loss: 'triplet', margin: 0.6 });
  assert.is(r.valid, 2); assert.is(r.active, 1);
  assertClose(F(r.loss), F(0.1), 1e-14, 'loss');
  assertClose(r.grad, F(0.4, -1.2, -2.2, 0.6, 1.8, 0.6), 1e-14, 'grad');
});

test('semihard selection, hand case: margin 0.6 keeps only (1,0,2)', () => {
  // (0,1,2): d_an = 1.30 ≥ 0.40 + 0.6 → out; (1,0,2): 0.40 < 0.90 < 1.00 → in; z_t = 0.1, z_q (m_q = 1) = 1.4.
  const r = cpu.tqlLoss(f3, y3, 3, 2, { margin: 0.6, marginQ: 1, select: 'semihard' });
  assert.is(r.valid, 1); assert.is(r.active, 1);
  assertClose(F(r.loss), F(1.5), 1e-14, 'loss');
  // grad: l_t of (1,0,2): f1 (−2.2, 0.6), f0 (0.4, −1.2), f2 (1.8, 0.6); l_q: f1 += (−4, 4).
  assertClose(r.grad, F(0.4, -1.2, -6.2, 4.6, 1.8, 0.6), 1e-14, 'grad');
});

test('batch-hard, hand case k=1: farthest positive, nearest negative, ties to the lowest index', () => {
  // f in eighths so distances are exact; anchor 4 (0.5) has negatives 1 and 2 both at 0.0625 → n* = 1.
  const f = F(0.125, 0.25, 0.75, -0.5, 0.5), y = [0, 0, 0, 1, 1];
  const r = cpu.tqlLoss(f, y, 5, 1, { loss: 'triplet', select: 'hard', margin: 1 });
  // triplets (0,2,4) 1.25, (1,2,4) 1.1875, (2,0,4) 1.328125, (3,4,0) 1.609375, (4,3,1) 1.9375; mean over 5 anchors.
  assert.is(r.valid, 5); assert.is(r.active, 5);
  assertClose(F(r.loss), F(7.3125 / 5), 1e-15, 'loss');
  assertClose(r.grad, F(-0.6, 0, 0.6, -0.55, 0.55), 1e-15, 'grad');
  // Hard averages over anchors, not only active ones: margin −0.5 leaves only (3,4,0) and (4,3,1) active.
  const h = cpu.tqlLoss(f, y, 5, 1, { loss: 'triplet', select: 'hard', margin: -0.5 });
  assert.is(h.valid, 5); assert.is(h.active, 2);
  assertClose(F(h.loss), F((0.109375 + 0.4375) / 5), 1e-14, 'loss over all anchors');
});

test('edge cases: one class, singleton classes, no active triplet', () => {
  const f = rand(12, 3, 0.9);
  for (const select of ['all', 'semihard', 'hard']) {
    for (const loss of ['tql', 'triplet']) {
      const one = cpu.tqlLoss(f, [2, 2, 2, 2], 4, 3, { loss, select });
      assert.equal([one.loss, one.active, one.valid], [0, 0, 0], `one class ${loss} ${select}`);
      assert.ok(one.grad.every((g) => g === 0));
      const single = cpu.tqlLoss(f, [0, 1, 2, 3], 4, 3, { loss, select });
      assert.equal([single.loss, single.active, single.valid], [0, 0, 0], `singletons ${loss} ${select}`);
    }
    // triplet+quant with one class: only the quantisation term, λ·mean (f − b)².
    const q = cpu.tqlLoss(f, [2, 2, 2, 2], 4, 3, { loss: 'triplet+quant', select, lambda: 0.5 });
    const b = cpu.signCodes(f);
    assertClose(F(q.loss), F(0.5 * f.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / 12), 1e-15, 'quant only');
    assertClose(q.grad, f.map((v, i) => 0.5 * 2 * (v - b[i]) / 12), 1e-15, 'quant grad');
    assert.is(q.valid, 0);
  }
  // A class with one image supplies negatives but no anchors: labels [0, 0, 1] → 2 valid triplets (hard: 2 anchors).
  assert.is(cpu.tqlLoss(f3, y3, 3, 2, { select: 'all' }).valid, 2);
  assert.is(cpu.tqlLoss(f3, y3, 3, 2, { select: 'hard' }).valid, 2);
  // Well separated classes, small margins: valid triplets but none active → 0.
  const sep = F(0.9, 0.9, 0.8, 0.9, -0.9, -0.9, -0.8, -0.9);
  for (const select of ['all', 'hard']) {
    const r = cpu.tqlLoss(sep, [0, 0, 1, 1], 4, 2, { select, margin: 0.1, marginQ: 0.1 });
    assert.is(r.valid, select === 'all' ? 8 : 4);
    assert.is(r.active, 0);
    assert.is(r.loss, 0);
    assert.ok(r.grad.every((g) => g === 0));
  }
  assert.is(cpu.signCodes(F(0, -0, -1e-9, 2))[0], 1, 'sign(0) = +1');
});

test('ste: the straight-through derivative is 0 where |f| > 1', () => {
  // Large margins keep every triplet active in both runs, so tql − triplet is the l_q gradient / 2 active.
  const f = F(1.5, 0.5, -0.5), y = [0, 0, 1], o = { margin: 10, marginQ: 10 };
  const tql = cpu.tqlLoss(f, y, 3, 1, { ...o, loss: 'tql', form: 'ste' });
  const tri = cpu.tqlLoss(f, y, 3, 1, { ...o, loss: 'triplet' });
  // b = [1, 1, −1]; (0,1,2): a 2(b2 − b1) = −4 masked to 0, n +4; (1,0,2): a −4, n +4.
  assertClose(tql.grad.map((g, i) => g - tri.grad[i]), F(0, -2, 4), 1e-14, 'masked l_q gradient');
});

// ---- gradients vs finite differences on random draws, skipping draws near any kink ----

const dist = (f, i, g, j, k) => { let s = 0; for (let c = 0; c < k; c++) s += (f[i * k + c] - g[j * k + c]) ** 2; return s; };

/** True when no f entry, hinge argument, semi-hard boundary or batch-hard ranking is within `gap` of a kink. */
function clearOfKinks(f, y, B, k, m, mq, beta, gap = 1e-3) {
  if (f.some((v) => Math.abs(v) < gap)) return false;
  const b = cpu.signCodes(f), c = f.map((v) => Math.tanh(beta * v));
  for (let a = 0; a < B; a++) {
    const pos = [], neg = [];
    for (let j = 0; j < B; j++) if (j !== a) (y[j] === y[a] ? pos : neg).push(dist(f, a, f, j, k));
    const sortedP = [...pos].sort((u, v) => v - u), sortedN = [...neg].sort((u, v) => u - v);
    if (sortedP.length > 1 && sortedP[0] - sortedP[1] < gap) return false;
    if (sortedN.length > 1 && sortedN[1] - sortedN[0] < gap) return false;
    for (let p = 0; p < B; p++) {
      if (p === a || y[p] !== y[a]) continue;
      for (let n = 0; n < B; n++) {
        if (y[n] === y[a]) continue;
        const dap = dist(f, a, f, p, k), dan = dist(f, a, f, n, k);
        const args = [dap - dan + m, dist(f, a, b, p, k) - dist(f, a, b, n, k) + mq, dist(b, a, b, p, k) - dist(b, a, b, n, k) + mq, dist(c, a, c, p, k) - dist(c, a, c, n, k) + mq, dan - dap, dan - dap - m];
        if (args.some((z) => Math.abs(z) < gap)) return false;
      }
    }
  }
  return true;
}

const draws = [
  { B: 7, k: 3, y: [0, 1, 0, 2, 1, 0, 2] },
  { B: 5, k: 1, y: [0, 0, 1, 1, 1] },
  { B: 5, k: 5, y: [3, 3, 3, 7, 7] },
];
const variants = [];
for (const select of ['all', 'semihard', 'hard']) {
  variants.push({ loss: 'tql', form: 'asym', select }, { loss: 'tql', form: 'ste', select }, { loss: 'tql', form: 'asym-ste', select }, { loss: 'tql', form: 'smooth', select }, { loss: 'triplet', select }, { loss: 'triplet+quant', select });
}

for (const v of variants) {
  test(`gradient vs finite differences: ${JSON.stringify(v)}`, () => {
    let checked = 0, activeSeen = 0;
    for (const { B, k, y } of draws) {
      // β = 3: tanh(β·f) is far from linear over these f, so a smooth gradient missing its chain factor shows.
      const o = { ...v, margin: k / 2, marginQ: k / 4, lambda: 0.7, beta: 3 };
      let found = 0;
      for (let seed = 1; seed < 400 && found < 3; seed++) {
        const f = rand(B * k, 1000 * k + seed, 0.95);
        if (!clearOfKinks(f, y, B, k, o.margin, o.marginQ, o.beta)) continue;
        found++;
        const r = cpu.tqlLoss(f, y, B, k, o);
        activeSeen += r.active;
        // ste, asym-ste: finite differences of a surrogate whose codes move with f at slope 1 (b = b0 + f − f0): the
        // straight-through rule. smooth: the loss itself (its codes are a smooth function of f).
        const b0 = cpu.signCodes(f);
        const fn = v.form === 'ste' || v.form === 'asym-ste'
          ? (z) => cpu.tqlLoss(z, y, B, k, { ...o, codes: z.map((zi, i) => b0[i] + zi - f[i]) }).loss
          : (z) => cpu.tqlLoss(z, y, B, k, o).loss;
        assertClose(r.grad, cpu.numericalGrad(fn, f), FD_TOL, `B ${B} k ${k} seed ${seed}`);
      }
      assert.ok(found === 3, `only ${found} kink-free draws for B ${B} k ${k}`);
      checked += found;
    }
    assert.ok(activeSeen > 0, 'some draws must have active triplets, or the test checks nothing');
  });
}

test('input checks name the problem', () => {
  assert.throws(() => cpu.tqlLoss(F(1, 2, 3), [0, 1], 2, 2), /f has length 3, expected 4/);
  assert.throws(() => cpu.tqlLoss(F(1, 2), [0], 2, 1), /labels has length 1/);
});

test.run();
