// Relevant ranks on the GPU (ops.hammingRelevantRanks, ops.euclideanRelevantRanks) against a plain reference (every
// distance, a stable sort), on random codes with many ties, odd code lengths, integer and random features, databases
// no tile divides, several query batches, poisoned outputs; and evaluateRetrievalGpu against the CPU's
// evaluateRetrieval: binary to the bit, real-valued to the bit on integer features and within float32 rounding else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { Tensor, ops, scope } = tq;

test.before(async () => { await tq.init(); });
test.after(async () => { await tq.gpu.disposeRuntime(); });

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    a ^= a >>> 13;
    return a >>> 0;
  };
}

// n codes of `bits` bits; the high bits of the last word are garbage, which every consumer must ignore.
function randomCodes(n, bits, seed) {
  const r = rng(seed);
  return new Uint32Array(n * Math.ceil(bits / 32)).map(r);
}

const popcount = (x) => { let c = 0; while (x) { x &= x - 1; c++; } return c; };
const lastMask = (bits) => (bits % 32 === 0 ? 0xffffffff : 2 ** (bits % 32) - 1);

// Plain reference: the ranking by (distance, index), then the 1-based positions of the items with the query's label.
function reference(queries, db, ql, dl, bits) {
  const W = Math.ceil(bits / 32), nq = ql.length, n = dl.length;
  const ranks = [], hist = [];
  for (let q = 0; q < nq; q++) {
    const d = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      for (let w = 0; w < W; w++) d[j] += popcount(((queries[q * W + w] ^ db[j * W + w]) & (w === W - 1 ? lastMask(bits) : 0xffffffff)) >>> 0);
    }
    const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => d[x] - d[y] || x - y);
    order.forEach((j, p) => { if (dl[j] === ql[q]) ranks.push(p + 1); });
    const h = new Array(bits + 1).fill(0);
    for (const x of d) h[x]++;
    hist.push(...h);
  }
  return { ranks, hist };
}

async function gpuRanks(queries, db, ql, dl, bits) {
  const W = Math.ceil(bits / 32);
  const count = new Map();
  for (const l of dl) count.set(l, (count.get(l) ?? 0) + 1);
  const relevant = Uint32Array.from(ql, (l) => count.get(l) ?? 0);
  const r = scope(() => {
    const Q = Tensor.from(queries, [ql.length, W], 'u32'), D = Tensor.from(db, [dl.length, W], 'u32');
    const QL = Tensor.from(Uint32Array.from(ql), [ql.length], 'u32'), DL = Tensor.from(Uint32Array.from(dl), [dl.length], 'u32');
    tq.setPoison(true);
    try { return ops.hammingRelevantRanks(Q, D, QL, DL, bits, relevant); } finally { tq.setPoison(false); }
  });
  const out = { ranks: [...(await r.ranks.toArray())], hist: [...(await r.hist.toArray())] };
  r.ranks.dispose(); r.hist.dispose();
  return out;
}

function assertList(got, want, what) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.unreachable(`${what}: [${i}] = ${got[i]}, want ${want[i]}`);
}

// The error a promise rejects with (fails when it resolves).
async function rejection(promise) {
  try { await promise; } catch (e) { return e; }
  assert.unreachable('expected a rejection');
}

async function withKnobs(knobs, fn) {
  const prev = tq.gpu.setKnobs(knobs);
  try { return await fn(); } finally { tq.gpu.setKnobs(prev); }
}

test('relevant ranks and histograms equal a stable sort: 5, 12, 33, 64, 100 bits, databases no tile divides, small tiles', async () => {
  const r = rng(7);
  for (const [bits, n, nq, classes] of [[5, 1003, 17, 3], [12, 2001, 9, 7], [33, 777, 13, 2], [64, 1500, 11, 10], [100, 301, 5, 4]]) {
    const queries = randomCodes(nq, bits, bits), db = randomCodes(n, bits, bits + 1000);
    const ql = Array.from({ length: nq }, () => r() % (classes + 1)); // label `classes` has no database item: R = 0
    const dl = Array.from({ length: n }, () => r() % classes);
    const want = reference(queries, db, ql, dl, bits);
    for (const [tile, wx] of [[256, 8], [16, 3], [48, 64]]) {
      const got = await withKnobs({ 'rank.TILE': tile, 'rank.WX': wx }, () => gpuRanks(queries, db, ql, dl, bits));
      const what = `${bits} bits, n ${n}, TILE ${tile}, WX ${wx}`;
      assertList(got.ranks, want.ranks, `${what}: ranks`);
      assertList(got.hist, want.hist, `${what}: histograms`);
    }
  }
});

test('several query batches (scratch full): 250 queries against 20,011 codes in tiles of 16', async () => {
  const bits = 64, n = 20011, nq = 250;
  const r = rng(11);
  const queries = randomCodes(nq, bits, 3), db = randomCodes(n, bits, 4);
  const ql = Array.from({ length: nq }, () => r() % 10), dl = Array.from({ length: n }, () => r() % 10);
  const want = reference(queries, db, ql, dl, bits);
  // 1,251 tiles × 65 bins × 4 bytes per query: 103 queries per batch of 32 MiB, so three batches.
  const got = await withKnobs({ 'rank.TILE': 16 }, () => gpuRanks(queries, db, ql, dl, bits));
  assertList(got.ranks, want.ranks, 'ranks');
  assertList(got.hist, want.hist, 'histograms');
});

test('evaluateRetrievalGpu: the same metrics to the bit as evaluateRetrieval (all queries, a subsample, launches of 7 queries), progress', async () => {
  const r = rng(5);
  const bits = 24, n = 3001, nq = 613;
  const input = {
    queryCodes: randomCodes(nq, bits, 8).map((x) => x & 0xffffff), dbCodes: randomCodes(n, bits, 9).map((x) => x & 0xffffff),
    queryLabels: Array.from({ length: nq }, () => r() % 6), dbLabels: Array.from({ length: n }, () => r() % 5),
    bits, topKs: [1, 10, 100, 1000], mapAt: [100, 1000],
  };
  const strip = (m) => JSON.stringify({ ...m, seconds: 0 });
  for (const [extra, piece] of [[{}, undefined], [{ queries: 300, seed: 3 }, undefined], [{}, 7]]) {
    const seen = [];
    const gpu = await tq.hash.evaluateRetrievalGpu({ ...input, ...extra, onProgress: (d, t) => seen.push([d, t]) }, { piece });
    const cpu = tq.hash.evaluateRetrieval({ ...input, ...extra });
    assert.is(strip(gpu), strip(cpu));
    assert.ok(gpu.map > 0 && gpu.map < 1, `mAP ${gpu.map}`);
    const nqe = extra.queries ?? nq;
    assert.equal(seen, Array.from({ length: Math.ceil(nqe / 250) }, (_, i) => [Math.min(nqe, (i + 1) * 250), nqe]));
  }
});

test('evaluateRetrievalGpu: non-finite features, bad input and an aborted signal are refused', async () => {
  const base = { queryLabels: [0, 1], dbLabels: [0, 1, 1], bits: 32 };
  const dbFeatures = new Float32Array(96);
  dbFeatures[70] = NaN;
  assert.match((await rejection(tq.hash.evaluateRetrievalGpu({ ...base, queryFeatures: new Float32Array(64), dbFeatures }))).message, /dbFeatures\[70\] = NaN: features must be finite/);
  assert.match((await rejection(tq.hash.evaluateRetrievalGpu({ ...base, queryCodes: new Uint32Array(1), dbCodes: new Uint32Array(3) }))).message, /queryCodes/);
  const ac = new AbortController();
  ac.abort();
  assert.is((await rejection(tq.hash.evaluateRetrievalGpu({ ...base, queryCodes: new Uint32Array(2), dbCodes: new Uint32Array(3) }, { signal: ac.signal }))).name, 'RankingAborted');
});

// Plain reference of the real-valued ranks: Σ (q − x)² in float64 (exact for small integers), a stable sort.
function euclidReference(qf, df, ql, dl, dim) {
  const ranks = [];
  for (let q = 0; q < ql.length; q++) {
    const d = dl.map((_, j) => { let s = 0; for (let c = 0; c < dim; c++) s += (qf[q * dim + c] - df[j * dim + c]) ** 2; return s; });
    const order = Array.from({ length: dl.length }, (_, j) => j).sort((x, y) => d[x] - d[y] || x - y);
    order.forEach((j, p) => { if (dl[j] === ql[q]) ranks.push(p + 1); });
  }
  return ranks;
}

async function gpuEuclidRanks(qf, df, ql, dl, dim) {
  const count = new Map();
  for (const l of dl) count.set(l, (count.get(l) ?? 0) + 1);
  const relevant = Uint32Array.from(ql, (l) => count.get(l) ?? 0);
  const r = scope(() => {
    const Q = Tensor.from(qf, [ql.length, dim]), D = Tensor.from(df, [dl.length, dim]);
    const QL = Tensor.from(Uint32Array.from(ql), [ql.length], 'u32'), DL = Tensor.from(Uint32Array.from(dl), [dl.length], 'u32');
    tq.setPoison(true);
    try { return ops.euclideanRelevantRanks(Q, D, QL, DL, relevant); } finally { tq.setPoison(false); }
  });
  const out = [...(await r.toArray())];
  r.dispose();
  return out;
}

test('real-valued relevant ranks equal a stable sort on integer features (many exact ties), radix over 4 passes, small tiles, several batches', async () => {
  const r = rng(21);
  for (const [dim, n, nq, range, tile] of [[3, 1001, 7, 4, 256], [48, 517, 5, 3, 16], [5, 20011, 160, 5, 16]]) {
    // Features in −range..range: every distance is a small integer, exact in float32 and float64; many tie.
    const qf = Float32Array.from({ length: nq * dim }, () => (r() % (2 * range + 1)) - range);
    const df = Float32Array.from({ length: n * dim }, () => (r() % (2 * range + 1)) - range);
    const ql = Array.from({ length: nq }, () => r() % 4), dl = Array.from({ length: n }, () => r() % 3);
    const want = euclidReference(qf, df, ql, dl, dim);
    // 20,011 items in tiles of 16: 1,251 tiles × 256 digits × 4 bytes per query, so 160 queries take 7 batches.
    const got = await withKnobs({ 'rank.TILE': tile, 'rank.WX': 3 }, () => gpuEuclidRanks(qf, df, ql, dl, dim));
    assertList(got, want, `dim ${dim}, n ${n}, TILE ${tile}`);
  }
});

test('evaluateRetrievalGpu, real-valued: the CPU metrics to the bit on integer features, within 1e-6 on random ones; the protocol says float32', async () => {
  const r = rng(9);
  const dim = 12, n = 2003, nq = 301;
  const labels = (k, c) => Array.from({ length: k }, () => r() % c);
  const ints = (k) => Float32Array.from({ length: k }, () => (r() % 7) - 3);
  const input = { queryFeatures: ints(nq * dim), dbFeatures: ints(n * dim), queryLabels: labels(nq, 5), dbLabels: labels(n, 5), bits: dim, topKs: [1, 10, 100], mapAt: [100, 1000] };
  const gpu = await tq.hash.evaluateRetrievalGpu(input);
  const cpu = tq.hash.evaluateRetrieval(input);
  assert.match(gpu.protocol, /float32 on the GPU/);
  assert.is(JSON.stringify({ ...gpu, seconds: 0, protocol: '' }), JSON.stringify({ ...cpu, seconds: 0, protocol: '' }));
  // Random features: a float32 sum can order two nearly equal distances differently.
  const rand = (k) => Float32Array.from({ length: k }, () => r() / 2 ** 31 - 1);
  const input2 = { ...input, queryFeatures: rand(nq * dim), dbFeatures: rand(n * dim) };
  const g2 = await tq.hash.evaluateRetrievalGpu(input2), c2 = tq.hash.evaluateRetrieval(input2);
  assert.ok(Math.abs(g2.map - c2.map) < 1e-6, `mAP ${g2.map} vs the CPU's ${c2.map}`);
  for (const [k, v] of Object.entries(c2.mapAt)) assert.ok(Math.abs(g2.mapAt[k] - v) < 1e-5, `mAP@${k} ${g2.mapAt[k]} vs ${v}`);
});

test('hammingRelevantRanks, euclideanRelevantRanks: bad arguments are rejected with the fix', () => {
  scope(() => {
    const q = Tensor.from(new Uint32Array(4), [2, 2], 'u32'), db = Tensor.from(new Uint32Array(8), [4, 2], 'u32');
    const ql = Tensor.from(new Uint32Array(2), [2], 'u32'), dl = Tensor.from(new Uint32Array(4), [4], 'u32');
    const rel = new Uint32Array([4, 4]);
    assert.throws(() => ops.hammingRelevantRanks(q, db, ql, dl, 32, rel), /must be u32 \[nq, 1\]/);
    assert.throws(() => ops.hammingRelevantRanks(q, db, ql, dl, 300, rel), /1\.\.256 bits/);
    assert.throws(() => ops.hammingRelevantRanks(q, db, dl, dl, 64, rel), /query labels .* must be u32 \[2\]/);
    assert.throws(() => ops.hammingRelevantRanks(q, db, ql, dl, 64, new Uint32Array(3)), /3 relevant counts for 2 queries/);
    assert.throws(() => ops.hammingRelevantRanks(q, db, ql, dl, 64, new Uint32Array([5, 0])), /5 relevant items in a database of 4/);
    const qf = Tensor.from(new Float32Array(6), [2, 3]), dbf = Tensor.from(new Float32Array(8), [4, 2]);
    assert.throws(() => ops.euclideanRelevantRanks(qf, dbf, ql, dl, rel), /database .* must be f32 \[n, 3\]/);
    assert.throws(() => ops.euclideanRelevantRanks(q, db, ql, dl, rel), /queries .* must be f32/);
  });
});

test.run();
