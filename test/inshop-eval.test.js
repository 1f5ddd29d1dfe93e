// In-shop's top-k accuracy on hand-computed cases (binary and real-valued, ties by gallery index), against a
// brute-force full sort on random data; the area resize on hand cases; JPEG round trip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadInshopModule } from './inshop-util.js';

const m = await loadInshopModule();

test('topKAccuracy, binary: hand case with ties by gallery index', () => {
  // 4-bit codes; gallery items A=0, B=1, A, C=2, B.
  const galleryCodes = Uint32Array.from([0b0000, 0b0001, 0b0011, 0b0111, 0b1111]);
  const galleryItems = [0, 1, 0, 2, 1];
  // q0 0000 item B: d = 0 1 2 3 4, first B at j1 (d 1) → rank 2.
  // q1 0011 item C: d = 2 1 0 1 2, C at j3 (d 1); j2 (d 0) and j1 (d 1, lower index) rank before it → rank 3.
  // q2 0001 item A: d = 1 0 1 2 3, A at j0 and j2 (both d 1) → j0 wins the tie; only j1 (d 0) before → rank 2.
  // q3 item D=3: no gallery image → 0 (a miss at every k).
  // q4 1111 item B: d = 4 3 2 1 0, B at j4 (d 0) → rank 1.
  const queryCodes = Uint32Array.from([0b0000, 0b0011, 0b0001, 0b0101, 0b1111]);
  const r = m.topKAccuracy({ queryCodes, galleryCodes, bits: 4, queryItems: [1, 2, 0, 3, 1], galleryItems, ks: [3, 1, 2] });
  assert.equal(Array.from(r.firstHit), [2, 3, 2, 0, 1]);
  assert.equal(r.accuracy, [
    { k: 1, accuracy: 1 / 5 },
    { k: 2, accuracy: 3 / 5 },
    { k: 3, accuracy: 4 / 5 },
  ]);
  assert.is(r.noRelevant, 1);
  assert.is(r.ranking, 'hamming');
  assert.equal([r.queries, r.gallery], [5, 5]);
  // Default ks are the paper's.
  assert.equal(m.topKAccuracy({ queryCodes, galleryCodes, bits: 4, queryItems: [1, 2, 0, 3, 1], galleryItems }).accuracy.map((a) => a.k), [1, 10, 20, 30, 40, 50]);
});

test('topKAccuracy, real-valued: hand case (squared Euclidean, ties by gallery index)', () => {
  // 1-D features: gallery 0, 1, 2, 3 with items A B A B.
  const galleryFeatures = Float32Array.from([0, 1, 2, 3]);
  const galleryItems = [0, 1, 0, 1];
  // 1.4 item A: d² = 1.96 .16 .36 2.56 → A's nearest is j2; j1 is nearer → rank 2.
  // 1.5 item A: d² = 2.25 .25 .25 2.25 → j2 ties with j1, which has the lower index → rank 2.
  // 1.5 item B: j1 (.25) is B and first of the tie → rank 1.
  // 3.0 item A: d² = 9 4 1 0 → A's nearest is j2 (1), after j3 (0) → rank 2.
  const queryFeatures = Float32Array.from([1.4, 1.5, 1.5, 3]);
  const r = m.topKAccuracy({ queryFeatures, galleryFeatures, dim: 1, queryItems: [0, 0, 1, 0], galleryItems, ks: [1, 2] });
  assert.equal(Array.from(r.firstHit), [2, 2, 1, 2]);
  assert.equal(r.accuracy, [
    { k: 1, accuracy: 0.25 },
    { k: 2, accuracy: 1 },
  ]);
  assert.is(r.ranking, 'euclidean');
  assert.is(r.noRelevant, 0);
});

test('topKAccuracy agrees with a brute-force full sort on random codes and features', () => {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const nq = 37, ng = 101, bits = 40, W = 2, dim = 5, items = 9;
  const qc = Uint32Array.from({ length: nq * W }, (_, i) => (i % 2 ? (rnd() * 256) >>> 0 : (rnd() * 2 ** 32) >>> 0));
  const gc = Uint32Array.from({ length: ng * W }, (_, i) => (i % 2 ? (rnd() * 256) >>> 0 : (rnd() * 2 ** 32) >>> 0));
  const qf = Float32Array.from({ length: nq * dim }, () => Math.round(rnd() * 8 - 4) / 2); // coarse: many ties
  const gf = Float32Array.from({ length: ng * dim }, () => Math.round(rnd() * 8 - 4) / 2);
  const qi = Array.from({ length: nq }, () => Math.floor(rnd() * (items + 1))); // item 9 never in the gallery
  const gi = Array.from({ length: ng }, () => Math.floor(rnd() * items));
  const pop = (x) => x.toString(2).split('').filter((b) => b === '1').length;
  const ham = (q, j) => pop((qc[q * W] ^ gc[j * W]) >>> 0) + pop((qc[q * W + 1] ^ gc[j * W + 1]) >>> 0);
  const euc = (q, j) => Math.fround([...Array(dim)].reduce((a, _, c) => a + (qf[q * dim + c] - gf[j * dim + c]) ** 2, 0));
  const ks = [1, 3, 10, 50];
  for (const [dist, input] of [
    [ham, { queryCodes: qc, galleryCodes: gc, bits }],
    [euc, { queryFeatures: qf, galleryFeatures: gf, dim }],
  ]) {
    const hits = ks.map(() => 0);
    for (let q = 0; q < nq; q++) {
      const order = [...Array(ng).keys()].sort((a, b) => dist(q, a) - dist(q, b) || a - b);
      const r = order.findIndex((j) => gi[j] === qi[q]);
      ks.forEach((k, t) => (hits[t] += r >= 0 && r < k ? 1 : 0));
    }
    const got = m.topKAccuracy({ ...input, queryItems: qi, galleryItems: gi, ks });
    assert.equal(got.accuracy.map((a) => a.accuracy), hits.map((h) => h / nq), got.ranking);
  }
});

test('topKAccuracy: bad input is refused', () => {
  assert.throws(() => m.topKAccuracy({ queryItems: [0], galleryItems: [0] }), /pass codes/);
  assert.throws(() => m.topKAccuracy({ queryCodes: new Uint32Array(1), bits: 4, queryItems: [0], galleryItems: [0] }), /binary needs/);
  assert.throws(() => m.topKAccuracy({ queryFeatures: new Float32Array(3), galleryFeatures: new Float32Array(2), dim: 2, queryItems: [0], galleryItems: [0] }), /3 query values/);
  assert.throws(() => m.topKAccuracy({ queryCodes: new Uint32Array(1), galleryCodes: new Uint32Array(1), bits: 4, queryItems: [0], galleryItems: [0], ks: [0] }), /k must be/);
});

test('resizeToChw: exact area averages on hand cases, CHW output', () => {
  // 4×4 → 2×2: each output is the mean of a 2×2 block. Channels: R = v, G = 2v, B = 255 − v.
  const v = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150];
  const rgb = Uint8Array.from(v.flatMap((x) => [x, 2 * x > 255 ? 255 : 2 * x, 255 - x]));
  const out = m.resizeToChw({ width: 4, height: 4, rgb }, 2);
  const R = [25, 45, 105, 125]; // (0+10+40+50)/4, (20+30+60+70)/4, …
  assert.equal(Array.from(out.subarray(0, 4)), R);
  assert.equal(Array.from(out.subarray(8, 12)), R.map((x) => 255 - x));
  // 3×3 → 2×2: per axis, output 0 covers source pixel 0 (weight 1) and half of pixel 1.
  const g3 = [0, 30, 60, 90, 120, 150, 180, 210, 240];
  const img3 = { width: 3, height: 3, rgb: Uint8Array.from(g3.flatMap((x) => [x, x, x])) };
  const o3 = m.resizeToChw(img3, 2);
  // Top-left: (1·1·0 + ½·1·30 + 1·½·90 + ½·½·120) / 2.25 = (0 + 15 + 45 + 30) / 2.25 = 40.
  // Bottom-right: (¼·120 + ½·150 + ½·210 + 1·240) / 2.25 = (30 + 75 + 105 + 240) / 2.25 = 200.
  assert.equal([o3[0], o3[3]], [40, 200]);
  // Upscaling repeats pixels; 'crop' takes the centred square of a 4×2 image.
  assert.equal(Array.from(m.resizeToChw({ width: 1, height: 1, rgb: Uint8Array.from([7, 8, 9]) }, 2)), [7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9]);
  const wide = { width: 4, height: 2, rgb: Uint8Array.from([0, 100, 200, 250, 0, 100, 200, 250].flatMap((x) => [x, x, x])) };
  assert.equal(Array.from(m.resizeToChw(wide, 1, 'crop').subarray(0, 1)), [150]); // mean of the middle columns 100, 200
  assert.equal(Array.from(m.resizeToChw(wide, 1, 'stretch').subarray(0, 1)), [138]); // mean of all: 137.5 → 138
});

test('JPEG round trip: a flat colour decodes to itself (within JPEG error); damaged files throw', () => {
  const w = 24, h = 16;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([200, 40, 90], i * 3);
  const jpg = m.encodeJpeg(rgb, w, h, 95);
  assert.equal([jpg[0], jpg[1]], [0xff, 0xd8]);
  const img = m.decodeJpeg(jpg);
  assert.equal([img.width, img.height, img.rgb.length], [w, h, w * h * 3]);
  for (let i = 0; i < img.rgb.length; i++) assert.ok(Math.abs(img.rgb[i] - rgb[i]) <= 3, `byte ${i}: ${img.rgb[i]} vs ${rgb[i]}`);
  assert.throws(() => m.decodeJpeg(jpg.subarray(0, jpg.length >> 1)));
  assert.throws(() => m.decodeJpeg(new TextEncoder().encode('not a jpeg')));
});

test.run();
