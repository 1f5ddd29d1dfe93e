// Sums and means (all elements, along an axis) and their backward rules against the float64 references in src/cpu.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, ops, cpu, scope } = tq;
const U = 2 ** -24;
const f64 = (a) => Float64Array.from(a);
const input = (n, seed, scale = 1) => Float32Array.from(rand(n, seed, scale));
const numelOf = (shape) => shape.reduce((p, d) => p * d, 1);
function poisoned(fn) {
  tq.setPoison(true);
  try { return fn(); } finally { tq.setPoison(false); }
}

// The bound of reduce.ts: |gpu − ref| ≤ L·(chunk − 1)·u·Σ|x| (+ 2u relative for a mean), L = ⌈log_chunk n⌉,
// checked element by element against Σ|x| of each output. Symmetric inputs cancel, so Σ|x| ≫ |Σx|: a relative
// bound on Σx alone would not hold for any f32 summation order.
function checkSums(got, ref, absRef, n, what, mean = false) {
  const factor = ops.sumErrorFactor(n) + (mean ? 2 : 0);
  let worst = 0;
  for (let j = 0; j < ref.length; j++) {
    const err = Math.abs(got[j] - ref[j]);
    const bound = factor * U * absRef[j] + 1e-30;
    if (!(err <= bound)) throw new Error(`${what}: output ${j}: got ${got[j]}, want ${ref[j]}, |err| ${err.toExponential(3)} > bound ${bound.toExponential(3)} (${factor}·u·Σ|x|)`);
    worst = Math.max(worst, err / (U * absRef[j] + 1e-30));
  }
  return worst; // the measured error in units of u·Σ|x|
}

test('sum and mean of all elements: n = 1 … 10⁶, within the stated bound; backward', async () => {
  const seen = [];
  for (const n of [1, 3, 17, 33, 64, 65, 1000, 4097, 100003, 1000000]) {
    const xs = input(n, n + 1, 2);
    const x64 = f64(xs), abs = x64.map(Math.abs);
    const [s, m, dxs, dxm] = scope(() => {
      const x = Tensor.from(xs, [n]);
      x.requiresGrad = true;
      const s = poisoned(() => ops.sum(x));
      const m = poisoned(() => ops.mean(x));
      poisoned(() => tq.backward(s, Tensor.from([0.75], [1])));
      const dxs = x.grad;
      x.grad = null;
      poisoned(() => tq.backward(m, Tensor.from([0.75], [1])));
      return [s, m, dxs, x.grad];
    });
    assert.equal([...s.shape], [1]);
    const ws = checkSums(await s.toArray(), [cpu.sum(x64)], [cpu.sum(abs)], n, `sum n=${n}`);
    const wm = checkSums(await m.toArray(), [cpu.mean(x64)], [cpu.mean(abs)], n, `mean n=${n}`, true);
    seen.push(`n=${n}: ${ws.toFixed(2)}/${wm.toFixed(2)}`);
    // Backward: a broadcast times a scalar, one rounding.
    assertClose(await dxs.toArray(), cpu.sumBackward(0.75, n), 0, `sum backward n=${n}`);
    assertClose(await dxm.toArray(), cpu.meanBackward(0.75, n), 1e-7, `mean backward n=${n}`);
    for (const t of [s, m, dxs, dxm]) t.dispose();
  }
  // Measured error in units of u·Σ|x| (sum/mean), for the record (the bound allows 63·L).
  console.log(`    sum/mean error / (u·Σ|x|): ${seen.join('; ')}`);
});

test('sumAxis and meanAxis along every axis, odd shapes, several chunk lengths; backward', async () => {
  const shapes = [[1, 1], [3, 17], [17, 3], [33, 1000], [1000, 33], [2, 3, 5, 7], [130, 48], [4099, 2], [1, 100003]];
  for (const chunk of [64, 3]) {
    ops.setReduceChunk(chunk);
    try {
      for (const shape of shapes) {
        const n = numelOf(shape);
        const xs = input(n, n + 7 + chunk, 3);
        const x64 = f64(xs), abs = x64.map(Math.abs);
        for (const axis of [...shape.keys(), -1]) {
          const ax = axis < 0 ? axis + shape.length : axis;
          const outN = n / shape[ax];
          const gys = input(outN, outN + 3);
          const [s, m, dxs, dxm] = scope(() => {
            const x = Tensor.from(xs, shape);
            x.requiresGrad = true;
            const s = poisoned(() => ops.sumAxis(x, axis));
            const m = poisoned(() => ops.meanAxis(x, axis));
            poisoned(() => tq.backward(s, Tensor.from(gys, s.shape)));
            const dxs = x.grad;
            x.grad = null;
            poisoned(() => tq.backward(m, Tensor.from(gys, m.shape)));
            return [s, m, dxs, x.grad];
          });
          const what = `[${shape}] axis ${axis} chunk ${chunk}`;
          assert.equal([...s.shape], shape.filter((_, i) => i !== ax), `${what}: shape`);
          const absSum = cpu.sumAxis(abs, shape, ax);
          checkSums(await s.toArray(), cpu.sumAxis(x64, shape, ax), absSum, shape[ax], `sumAxis ${what}`);
          checkSums(await m.toArray(), cpu.meanAxis(x64, shape, ax), cpu.scale(absSum, 1 / shape[ax]), shape[ax], `meanAxis ${what}`, true);
          assertClose(await dxs.toArray(), cpu.sumAxisBackward(f64(gys), shape, ax), 0, `sumAxis backward ${what}`);
          assertClose(await dxm.toArray(), cpu.meanAxisBackward(f64(gys), shape, ax), 2e-7, `meanAxis backward ${what}`);
          for (const t of [s, m, dxs, dxm]) t.dispose();
        }
      }
    } finally {
      ops.setReduceChunk(64);
    }
  }
});

test('sums are deterministic (bit-identical across runs)', async () => {
  const xs = input(300001, 5, 10);
  const x = Tensor.from(xs, [300001]);
  const a = await scope(() => ops.sum(x)).toArray();
  for (let r = 0; r < 3; r++) {
    const b = scope(() => ops.sum(x));
    assert.is((await b.toArray())[0], a[0]);
    b.dispose();
  }
  x.dispose();
});

test('empty reductions give 0; bad axes are named', async () => {
  const e = Tensor.empty([0]);
  const s = ops.sum(e), m = ops.mean(e);
  assert.equal(Array.from(await s.toArray()), [0]);
  assert.equal(Array.from(await m.toArray()), [0]);
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], 'f32', 'x');
  assert.throws(() => ops.sumAxis(x, 2), /sumAxis: axis 2 is out of range for x x \[2, 3\] f32/);
  for (const t of [e, s, m, x]) t.dispose();
});

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
