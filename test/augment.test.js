// GPU batch assembly (gather + crop + flip + normalise) against a plain float64 reimplementation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { assertClose } from './util.js';

function mix32(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function reference(images, side, indices, { norm, pad, flip, seed, step }) {
  const hw = side * side, n = indices.length;
  const out = new Float64Array(n * 3 * hw);
  for (let b = 0; b < n; b++) {
    const r = mix32((mix32((seed ^ mix32(step)) >>> 0) ^ b) >>> 0);
    const span = 2 * pad + 1;
    const dy = (r % span) - pad, dx = (Math.floor(r / span) % span) - pad;
    const doFlip = flip && ((r >>> 24) & 1) === 1;
    for (let c = 0; c < 3; c++) for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
      const sx = (doFlip ? side - 1 - x : x) + dx, sy = y + dy;
      const v = sx >= 0 && sy >= 0 && sx < side && sy < side ? images[indices[b] * 3 * hw + c * hw + sy * side + sx] : 0;
      out[((b * 3 + c) * side + y) * side + x] = (v / 255 - norm.mean[c]) / norm.std[c];
    }
  }
  return out;
}

test.before(async () => {
  await tq.init();
});

test('augment: gather, crop, flip and normalise match the reference; crops and flips vary', async () => {
  for (const [count, side, n, pad] of [[13, 5, 7, 2], [40, 32, 33, 4], [3, 1, 3, 0]]) {
    const images = new Uint8Array(count * 3 * side * side);
    for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
    const store = new tq.ops.ImageStore(images, count, side);
    const indices = Uint32Array.from({ length: n }, (_, i) => (i * 7 + 3) % count);
    const opts = { norm: tq.ops.CIFAR10_NORM, pad, flip: true, seed: 1234, step: 17 };
    tq.setPoison(true);
    const t = store.batch(indices, opts);
    tq.setPoison(false);
    const got = await t.toArray();
    const ref = reference(images, side, indices, opts);
    assertClose(got, ref, 1e-6, `augment ${count}×${side}² batch ${n}`);
    if (pad > 0) {
      // The per-image choices really vary: distinct (dx, dy, flip) over the batch.
      const combos = new Set(Array.from({ length: n }, (_, b) => { const r = mix32((mix32((1234 ^ mix32(17)) >>> 0) ^ b) >>> 0); return `${r % (2 * pad + 1)},${Math.floor(r / (2 * pad + 1)) % (2 * pad + 1)},${(r >>> 24) & 1}`; }));
      assert.ok(combos.size >= Math.min(n, 5), `only ${combos.size} distinct crops/flips in ${n} images`);
    }
    t.dispose();
    store.dispose();
  }
});

test('augment: without crop/flip the batch is the normalised images; out-of-range index is named', async () => {
  const side = 4, count = 6;
  const images = Uint8Array.from({ length: count * 3 * side * side }, (_, i) => (i * 37) % 256);
  const store = new tq.ops.ImageStore(images, count, side);
  const t = store.batch(Uint32Array.from([5, 0]), { norm: { mean: [0, 0, 0], std: [1, 1, 1] } });
  const got = await t.toArray();
  const per = 3 * side * side;
  for (let i = 0; i < per; i++) {
    assert.ok(Math.abs(got[i] - images[5 * per + i] / 255) < 1e-7);
    assert.ok(Math.abs(got[per + i] - images[i] / 255) < 1e-7);
  }
  assert.throws(() => store.batch(Uint32Array.from([6]), { norm: tq.ops.CIFAR10_NORM }), /index 6 out of range/);
  // The same bytes at an offset that is not a whole word (copied, not viewed) give the same batch.
  const shifted = new Uint8Array(images.length + 1).subarray(1);
  shifted.set(images);
  const store2 = new tq.ops.ImageStore(shifted, count, side);
  const t2 = store2.batch(Uint32Array.from([5, 0]), { norm: { mean: [0, 0, 0], std: [1, 1, 1] } });
  assert.equal([...(await t2.toArray())], [...got]);
  t.dispose();
  t2.dispose();
  store.dispose();
  store2.dispose();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

test.run();
