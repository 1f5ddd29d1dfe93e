// Elementwise ops (scalar and vec4 kernel variants) and their backward rules against the float64 references in src/cpu.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, ops, cpu, scope } = tq;
const SIZES = [1, 3, 17, 33, 1000, 100003, 100004];
const f64 = (a) => Float64Array.from(a);
// Inputs are rounded to f32 first; the references then compute in float64 on exactly those values.
const input = (n, seed, scale = 1) => Float32Array.from(rand(n, seed, scale));
function poisoned(fn) {
  tq.setPoison(true);
  try { return fn(); } finally { tq.setPoison(false); }
}

// Bounds (relative error ‖gpu − ref‖/‖ref‖): one f32 rounding per element gives ≤ u = 6e-8, so 2e-7 for
// relu/scale/add/sub/mul/square/addScalar and the backward rules that are one product; two roundings (α·a + β·b) 3e-7.
// tanh: our own f32 tanh (series near 0, exp form elsewhere; see elementwise.wgsl) is within 5e-7 of the float64 value
// element by element (measured), bound 1e-6; its backward uses the GPU's own y, so the error of y enters: 2e-6.
const EXACT = 2e-7, TWO = 3e-7, TANH = 1e-6, TANH_BWD = 2e-6;

for (const variant of ['scalar', 'auto']) {
  test(`unary ops forward and backward, ${variant} kernels, sizes ${SIZES.join(', ')}`, async () => {
    ops.setElementwiseVariant(variant);
    try {
      for (const n of SIZES) {
        // Scale 4 (tanh reaches its saturated region) and a few values far past the clamp.
        const xs = input(n, n + 11, 4);
        if (n > 10) { xs[3] = 40; xs[7] = -35; }
        const dys = input(n, n + 12);
        const x64 = f64(xs), dy64 = f64(dys);
        const out = scope(() => {
          const x = Tensor.from(xs, [n]);
          x.requiresGrad = true;
          const dy = Tensor.from(dys, [n]);
          const r = {};
          for (const [name, fn] of [['relu', (t) => ops.relu(t)], ['tanh', (t) => ops.tanh(t)], ['scale', (t) => ops.scale(t, -1.7)], ['addScalar', (t) => ops.addScalar(t, 0.3)], ['square', (t) => ops.square(t)]]) {
            const y = poisoned(() => fn(x));
            x.grad = null;
            poisoned(() => tq.backward(y, tq.clone(dy)));
            r[name] = { y: y.keep(), dx: x.grad.keep() };
          }
          return r;
        });
        const want = {
          relu: { y: cpu.relu(x64), dx: cpu.reluBackward(dy64, cpu.relu(x64)), tol: EXACT },
          tanh: { y: cpu.tanh(x64), dx: cpu.tanhBackward(dy64, cpu.tanh(x64)), tol: TANH, tolB: TANH_BWD },
          scale: { y: cpu.scale(x64, -1.7), dx: cpu.scaleBackward(dy64, -1.7), tol: EXACT },
          addScalar: { y: x64.map((v) => v + 0.3), dx: dy64, tol: EXACT },
          square: { y: cpu.mul(x64, x64), dx: cpu.mulBackward(dy64, x64, x64).da.map((v) => 2 * v), tol: EXACT },
        };
        for (const [name, w] of Object.entries(want)) {
          assertClose(await out[name].y.toArray(), w.y, w.tol, `${name} n=${n}`);
          assertClose(await out[name].dx.toArray(), w.dx, w.tolB ?? w.tol, `${name} backward n=${n}`);
          out[name].y.dispose();
          out[name].dx.dispose();
        }
      }
    } finally {
      ops.setElementwiseVariant('auto');
    }
  });

  test(`binary ops forward and backward, ${variant} kernels`, async () => {
    ops.setElementwiseVariant(variant);
    try {
      for (const n of SIZES) {
        const as = input(n, 2 * n + 1), bs = input(n, 2 * n + 2, 3), dys = input(n, 2 * n + 3);
        const a64 = f64(as), b64 = f64(bs), dy64 = f64(dys);
        const out = scope(() => {
          const a = Tensor.from(as, [n]), b = Tensor.from(bs, [n]), dy = Tensor.from(dys, [n]);
          a.requiresGrad = b.requiresGrad = true;
          const r = {};
          for (const [name, fn] of [['add', ops.add], ['sub', ops.sub], ['mul', ops.mul], ['axpby', (u, v) => ops.axpby(0.7, u, -2.5, v)]]) {
            const y = poisoned(() => fn(a, b));
            a.grad = b.grad = null;
            poisoned(() => tq.backward(y, tq.clone(dy)));
            r[name] = [y.keep(), a.grad.keep(), b.grad.keep()];
          }
          return r;
        });
        const neg = dy64.map((v) => -v);
        const mb = cpu.mulBackward(dy64, a64, b64);
        const want = {
          add: [cpu.add(a64, b64), dy64, dy64, EXACT],
          sub: [a64.map((v, i) => v - b64[i]), dy64, neg, EXACT],
          mul: [cpu.mul(a64, b64), mb.da, mb.db, EXACT],
          axpby: [a64.map((v, i) => 0.7 * v - 2.5 * b64[i]), cpu.scale(dy64, 0.7), cpu.scale(dy64, -2.5), TWO],
        };
        for (const [name, [y, da, db, tol]] of Object.entries(want)) {
          const [gy, ga, gb] = out[name];
          assertClose(await gy.toArray(), y, tol, `${name} n=${n}`);
          assertClose(await ga.toArray(), da, tol, `${name} da n=${n}`);
          assertClose(await gb.toArray(), db, tol, `${name} db n=${n}`);
          for (const t of out[name]) t.dispose();
        }
      }
    } finally {
      ops.setElementwiseVariant('auto');
    }
  });

  test(`addBias per channel (NCHW) and per column, with dbias, ${variant} kernels`, async () => {
    ops.setElementwiseVariant(variant);
    try {
      for (const [shape, axis] of [[[2, 3, 5, 7], 1], [[3, 4, 4, 4], 1], [[33, 17], 1], [[1, 1], 0], [[130, 48], undefined], [[4, 6, 8], 2], [[5, 1000], 0]]) {
        const n = shape.reduce((p, d) => p * d, 1);
        const ax = axis ?? (shape.length === 4 ? 1 : shape.length - 1);
        const C = shape[ax];
        const inner = shape.slice(ax + 1).reduce((p, d) => p * d, 1), outer = n / (C * inner);
        const xs = input(n, n + 5), bs = input(C, C + 6), dys = input(n, n + 7);
        const [y, dx, db] = scope(() => {
          const x = Tensor.from(xs, shape), b = Tensor.from(bs, [C]), dy = Tensor.from(dys, shape);
          x.requiresGrad = b.requiresGrad = true;
          const y = poisoned(() => ops.addBias(x, b, axis));
          poisoned(() => tq.backward(y, tq.clone(dy)));
          return [y, x.grad, b.grad];
        });
        const yRef = new Float64Array(n);
        for (let i = 0; i < n; i++) yRef[i] = xs[i] + bs[Math.floor(i / inner) % C];
        // dbias = Σ over outer and inner: cpu.sumAxis twice, as [outer, C, inner].
        const dbRef = cpu.sumAxis(cpu.sumAxis(f64(dys), [outer, C, inner], 2), [outer, C], 0);
        assertClose(await y.toArray(), yRef, EXACT, `addBias [${shape}] axis ${ax}`);
        assertClose(await dx.toArray(), f64(dys), 0, `addBias dx [${shape}]`);
        // dbias is a sum of outer·inner ≤ 5000 terms: bound of reduce.ts, 2·63·u·Σ|dy| ≪ 1e-5 relative for these sizes.
        assertClose(await db.toArray(), dbRef, 1e-5, `addBias dbias [${shape}]`);
        assert.equal([...db.shape], [C]);
        for (const t of [y, dx, db]) t.dispose();
      }
    } finally {
      ops.setElementwiseVariant('auto');
    }
  });
}

test('tanh is accurate element by element, also near 0 where exp-based forms cancel', async () => {
  for (const variant of ['scalar', 'auto']) {
    ops.setElementwiseVariant(variant);
    for (const sc of [1e-3, 0.1, 0.5, 1, 4]) {
      const xs = input(4000, 99, sc);
      const y = scope(() => poisoned(() => ops.tanh(Tensor.from(xs, [xs.length]))));
      const got = await y.toArray();
      y.dispose();
      let worst = 0, at = 0;
      for (let i = 0; i < xs.length; i++) {
        const r = Math.tanh(xs[i]), e = Math.abs(got[i] - r) / Math.abs(r);
        if (!(e <= worst)) { worst = e; at = i; }
      }
      assert.ok(worst <= 1e-6, `tanh (${variant}) at scale ${sc}: relative error ${worst.toExponential(2)} at x = ${xs[at]}`);
    }
  }
  ops.setElementwiseVariant('auto');
});

test('one tensor used twice accumulates (mul(x, x) and add(x, x))', async () => {
  const xs = Float32Array.of(0.5, -1.5, 2, 3);
  const x = Tensor.from(xs, [4]);
  x.requiresGrad = true;
  scope(() => tq.backward(ops.sum(ops.add(ops.mul(x, x), x))));
  assertClose(await x.grad.toArray(), f64(xs).map((v) => 2 * v + 1), 0, 'd/dx Σ(x² + x)');
  x.dispose();
});

test('shape errors name the tensors and the fix', () => {
  scope(() => {
    const a = Tensor.from([1, 2, 3], [3], 'f32', 'a'), b = Tensor.from([1, 2, 3, 4], [2, 2], 'f32', 'b');
    assert.throws(() => ops.add(a, b), /add: a a \[3\] f32 and b b \[2, 2\] f32 must have the same shape/);
    assert.throws(() => ops.addBias(b, a), /bias a \[3\] f32 needs 2 elements/);
    assert.throws(() => ops.relu(Tensor.from(Uint32Array.of(1), [1])), /relu: x .* must be f32/);
  });
});

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
