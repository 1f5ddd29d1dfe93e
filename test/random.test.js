// The Philox4x32-10 GPU generator: uniforms bit-exact with cpu.philoxUniform, normals close to cpu.philoxNormal,
// any (seed, offset) including 64-bit halves and counter carries, statistics of 10⁶ samples.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { ops, cpu, scope } = tq;
function poisoned(fn) {
  tq.setPoison(true);
  try { return fn(); } finally { tq.setPoison(false); }
}
async function draw(fn) {
  const t = scope(() => poisoned(fn));
  const v = await t.toArray();
  t.dispose();
  return v;
}
function firstMismatch(a, b) {
  for (let i = 0; i < b.length; i++) if (!Object.is(a[i], b[i])) return `[${i}] got ${a[i]} want ${b[i]}`;
  return null;
}

// (seed, offset) cases: small, every offset mod 4, seeds and offsets with nonzero high 32-bit halves, and a block
// index that carries from the low into the high counter word inside one draw.
const CASES = [
  [0, 0], [1, 1], [7, 2], [123456789, 3], [42, 1001],
  [2 ** 40 + 7, 5], [2 ** 32, 2 ** 36 + 2], [99, 4 * (2 ** 32 - 3) + 1], [2 ** 53 - 1, 2 ** 50 + 3],
];

test('uniforms are bit-exact with cpu.philoxUniform (sizes 1 … 100003, offsets mod 4, 64-bit seeds and counters)', async () => {
  for (const n of [1, 3, 17, 33, 1000, 100003]) {
    for (const [seed, offset] of n > 1000 ? CASES.slice(0, 3).concat([CASES[7]]) : CASES) {
      const got = await draw(() => ops.randomUniform([n], seed, offset));
      const bad = firstMismatch(got, cpu.philoxUniform(seed, offset, n));
      assert.ok(!bad, `n=${n} seed=${seed} offset=${offset}: ${bad}`);
    }
  }
});

test('a draw at offset k continues the stream: the same numbers as the tail of a longer draw', async () => {
  const all = await draw(() => ops.randomUniform([3, 11], 5, 2));
  for (const k of [1, 2, 3, 4, 7]) {
    const tail = await draw(() => ops.randomUniform([33 - k], 5, 2 + k));
    assert.ok(!firstMismatch(tail, all.subarray(k)), `offset ${2 + k}`);
  }
});

test('uniform [lo, hi) is lo + (hi − lo)·u to within one f32 rounding', async () => {
  const n = 5003, lo = -2.5, hi = 7.25;
  const got = await draw(() => ops.randomUniform([n], 3, 9, lo, hi));
  const u = cpu.philoxUniform(3, 9, n);
  for (let i = 0; i < n; i++) {
    const want = lo + (hi - lo) * u[i];
    assert.ok(Math.abs(got[i] - want) <= 2 * 2 ** -24 * Math.max(Math.abs(lo), Math.abs(hi)), `[${i}] ${got[i]} vs ${want}`);
    assert.ok(got[i] >= lo && got[i] <= hi, `[${i}] ${got[i]} outside [${lo}, ${hi}]`);
  }
});

// Normals: f32 log/cos/sin on the GPU vs float64 on the CPU. Measured max |gpu − cpu| ≈ 7e-7 on llvmpipe;
// the bound is 2e-6·max(1, |z|), i.e. about 1e-6 relative to the output's scale.
test('normals agree with cpu.philoxNormal within 2e-6·max(1, |z|); mean and std scaling', async () => {
  let worst = 0;
  for (const n of [1, 3, 17, 33, 1000, 100003]) {
    for (const [seed, offset] of n > 1000 ? CASES.slice(0, 2) : CASES) {
      const got = await draw(() => ops.randomNormal([n], seed, offset));
      const want = cpu.philoxNormal(seed, offset, n);
      for (let i = 0; i < n; i++) {
        const err = Math.abs(got[i] - want[i]);
        worst = Math.max(worst, err);
        assert.ok(err <= 2e-6 * Math.max(1, Math.abs(want[i])), `n=${n} seed=${seed} offset=${offset} [${i}]: got ${got[i]} want ${want[i]}`);
      }
    }
  }
  console.log(`    normals: max |gpu − cpu| = ${worst.toExponential(2)}`);
  const z = cpu.philoxNormal(8, 0, 1000);
  const got = await draw(() => ops.randomNormal([10, 100], 8, 0, 3, 0.5));
  for (let i = 0; i < 1000; i++) assert.ok(Math.abs(got[i] - (3 + 0.5 * z[i])) <= 4e-6, `[${i}]`);
});

test('statistics of 10⁶ samples: uniform mean ½, variance 1/12; normal mean 0, variance 1, tails', async () => {
  const n = 1_000_000;
  const stats = (v) => {
    let s = 0, s2 = 0;
    for (let i = 0; i < v.length; i++) s += v[i];
    const m = s / v.length;
    for (let i = 0; i < v.length; i++) s2 += (v[i] - m) ** 2;
    return { m, v: s2 / (v.length - 1) };
  };
  // 5σ bands: σ(mean) = √(var/n); σ(var) ≈ √((μ4 − σ⁴)/n) (uniform μ4 = 1/80, normal 3).
  const u = stats(await draw(() => ops.randomUniform([n], 2024))), z = await draw(() => ops.randomNormal([n], 2024));
  assert.ok(Math.abs(u.m - 0.5) < 5 * Math.sqrt(1 / 12 / n), `uniform mean ${u.m}`);
  assert.ok(Math.abs(u.v - 1 / 12) < 5 * Math.sqrt((1 / 80 - 1 / 144) / n), `uniform variance ${u.v}`);
  const zs = stats(z);
  assert.ok(Math.abs(zs.m) < 5 / Math.sqrt(n), `normal mean ${zs.m}`);
  assert.ok(Math.abs(zs.v - 1) < 5 * Math.sqrt(2 / n), `normal variance ${zs.v}`);
  let beyond3 = 0;
  for (let i = 0; i < n; i++) if (Math.abs(z[i]) > 3) beyond3++;
  // P(|z| > 3) = 0.0026998; binomial σ ≈ 52 at n = 10⁶.
  assert.ok(Math.abs(beyond3 - 2699.8) < 5 * 52, `${beyond3} samples beyond 3σ`);
  assert.ok(z.every(Number.isFinite), 'all normals finite');
});

test('bad seeds and offsets are named', () => {
  assert.throws(() => ops.randomUniform([4], -1), /randomUniform: seed must be an integer/);
  assert.throws(() => ops.randomNormal([4], 1, 0.5), /randomNormal: offset must be an integer/);
  assert.throws(() => ops.randomUniform([4], 1, 2 ** 53 - 2), /passes 2⁵³/);
});

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
