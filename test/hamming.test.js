// Hamming top-k: every kernel variant exact against the CPU top-k (ties by lower index) on random codes with many ties,
// odd code lengths, several database segments, small chunks and blocks, k > N, and the gpuHammingTopK drop-in.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { Tensor, ops, scope } = tq;

test.before(async () => { await tq.init(); });
test.after(async () => { await tq.gpu.disposeRuntime(); });

function randomCodes(n, bits, seed) {
  const W = Math.ceil(bits / 32);
  const out = new Uint32Array(n * W);
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    a ^= a >>> 13;
    out[i] = a;
  }
  if (bits % 32) for (let r = 0; r < n; r++) out[r * W + W - 1] &= 2 ** (bits % 32) - 1;
  return out;
}

const popcount = (x) => { let c = 0; while (x) { x &= x - 1; c++; } return c; };

// Plain reference: every distance, then a stable sort by distance (ties stay in index order).
function cpuTopK(queries, db, nq, ndb, bits, k) {
  if (tq.hash.hammingTopKCpu) return tq.hash.hammingTopKCpu(queries, db, nq, ndb, bits, k);
  const W = Math.ceil(bits / 32), kk = Math.min(k, ndb);
  const indices = new Uint32Array(nq * kk), distances = new Uint32Array(nq * kk);
  for (let q = 0; q < nq; q++) {
    const d = new Uint32Array(ndb);
    for (let j = 0; j < ndb; j++) for (let w = 0; w < W; w++) d[j] += popcount((queries[q * W + w] ^ db[j * W + w]) >>> 0);
    const order = Array.from({ length: ndb }, (_, j) => j).sort((x, y) => d[x] - d[y] || x - y);
    for (let i = 0; i < kk; i++) { indices[q * kk + i] = order[i]; distances[q * kk + i] = d[order[i]]; }
  }
  return { indices, distances };
}

async function gpuTopK(queries, segments, nq, bits, k, knobs) {
  const W = Math.ceil(bits / 32);
  const r = scope(() => {
    tq.setPoison(true);
    try {
      const segs = segments.map((s) => Tensor.from(s, [s.length / W, W], 'u32'));
      return ops.hammingTopK(Tensor.from(queries, [nq, W], 'u32'), segs.length === 1 ? segs[0] : segs, bits, k, knobs);
    } finally { tq.setPoison(false); }
  });
  const out = { indices: await r.indices.toArray(), distances: await r.distances.toArray(), shape: [...r.indices.shape] };
  r.indices.dispose(); r.distances.dispose();
  return out;
}

// Every variant (STYLE 6), each also with small tiles so that sizes straddle chunks and blocks.
const VARIANTS = [
  ['hist', { variant: 'hist' }],
  ['hist small', { variant: 'hist', CH: 256, BLK: 64 }],
  ['bmin', { variant: 'bmin' }],
  ['bmin small', { variant: 'bmin', CH: 128, MBLK: 16, QV: 1, WX: 8 }],
  ['bmin QV 2', { variant: 'bmin', CH: 512, MBLK: 32, QV: 2 }],
  ['bmin thresh hist', { variant: 'bmin', thresh: 'hist' }],
  ['bmin small thresh hist', { variant: 'bmin', CH: 128, MBLK: 16, QV: 1, thresh: 'hist' }],
];

function assertSame(got, want, what) {
  for (const key of ['indices', 'distances']) {
    assert.is(got[key].length, want[key].length, `${what}: ${key} length`);
    for (let i = 0; i < want[key].length; i++) {
      if (got[key][i] !== want[key][i]) assert.unreachable(`${what}: ${key}[${i}] = ${got[key][i]}, want ${want[key][i]} (query ${Math.floor(i / (want[key].length / 1))})`);
    }
  }
}

test('12-bit codes (many ties), N = 10,007, Q = 33, k = 1, 17, 100: exact, ties by lower index, every variant', async () => {
  const bits = 12, N = 10007, Q = 33;
  const db = randomCodes(N, bits, 1), queries = randomCodes(Q, bits, 2);
  for (const k of [1, 17, 100]) {
    const want = cpuTopK(queries, db, Q, N, bits, k);
    for (const [name, knobs] of VARIANTS) {
      const got = await gpuTopK(queries, [db], Q, bits, k, knobs);
      assert.equal(got.shape, [Q, k]);
      assertSame(got, want, `12 bits k=${k} ${name}`);
    }
  }
});

test('odd sizes, bits 12/24/48/64/128, fresh random codes: every variant exact, k > N clamps', async () => {
  // N is a multiple of no chunk or block size; Q of no workgroup width; k above the block count and above N.
  const seed = (Date.now() >>> 0) | 1;
  for (const [bits, N, Q, ks] of [[12, 1237, 7, [5, 300]], [24, 4099, 19, [1, 100]], [48, 2053, 37, [64, 2053]], [64, 9001, 131, [100, 611]], [128, 777, 5, [9, 1000]]]) {
    const db = randomCodes(N, bits, seed + bits), queries = randomCodes(Q, bits, seed + 7 * bits);
    for (const k of ks) {
      const want = cpuTopK(queries, db, Q, N, bits, k);
      for (const [name, knobs] of VARIANTS) {
        const got = await gpuTopK(queries, [db], Q, bits, k, knobs);
        assert.equal(got.shape, [Q, Math.min(k, N)]);
        assertSame(got, want, `bits=${bits} N=${N} Q=${Q} k=${k} ${name} (seed ${seed})`);
      }
    }
  }
});

test('code lengths 1..256 bits, small chunks, several segments, k > N clamps to N', async () => {
  for (const [bits, N, Q, k, knobs] of [
    [1, 300, 5, 7, {}], [13, 2000, 9, 50, { CH: 64, BLK: 64, MBLK: 32 }], [32, 5000, 17, 33, { CH: 128, BLK: 32, MBLK: 16 }],
    [48, 3001, 8, 100, {}], [64, 20000, 21, 100, { CH: 256, BLK: 64, MBLK: 64 }], [100, 999, 3, 10, {}], [256, 1500, 4, 64, { CH: 64, BLK: 16, MBLK: 8 }],
    [24, 50, 6, 100, {}],
  ]) {
    const db = randomCodes(N, bits, bits + N), queries = randomCodes(Q, bits, bits * 7 + 1);
    const want = cpuTopK(queries, db, Q, N, bits, k);
    for (const [variant, thresh] of [['hist'], ['bmin', 'swar'], ['bmin', 'hist']]) {
      const kn = { ...knobs, variant, ...(thresh ? { thresh } : {}) };
      const got = await gpuTopK(queries, [db], Q, bits, k, kn);
      assert.equal(got.shape, [Q, Math.min(k, N)]);
      assertSame(got, want, `bits=${bits} N=${N} k=${k} ${JSON.stringify(kn)}`);
      // The same database as three segments (uneven sizes) gives the same answer with global indices.
      const W = Math.ceil(bits / 32), a = Math.floor(N / 3), b = Math.floor((2 * N) / 3) + 1;
      const segs = [db.subarray(0, a * W), db.subarray(a * W, b * W), db.subarray(b * W)];
      assertSame(await gpuTopK(queries, segs, Q, bits, k, kn), want, `bits=${bits} segmented ${variant}`);
    }
  }
});

test('the nearest code is the last one, past the vec4 groups of its block: every variant, one and three segments', async () => {
  // Blocks past the end of a segment must stay empty: a block-minimum pass that read the tail code for them made
  // phantom blocks at distance 0 (caught here and by the segmented test).
  const bits = 64;
  for (const N of [1001, 4097, 2051]) {
    const Q = 3, k = 40;
    const db = randomCodes(N, bits, N), queries = randomCodes(Q, bits, N + 1);
    for (let q = 0; q < Q; q++) { db[2 * (N - 1 - q)] = queries[2 * q]; db[2 * (N - 1 - q) + 1] = queries[2 * q + 1]; }
    const want = cpuTopK(queries, db, Q, N, bits, k);
    for (const [name, knobs] of [...VARIANTS, ['bmin MBLK 8', { variant: 'bmin', CH: 64, BLK: 64, MBLK: 8 }]]) {
      assertSame(await gpuTopK(queries, [db], Q, bits, k, knobs), want, `N=${N} ${name}`);
      const a = Math.floor(N / 3) | 1, b = a + (Math.floor(N / 3) | 1);
      assertSame(await gpuTopK(queries, [db.subarray(0, 2 * a), db.subarray(2 * a, 2 * b), db.subarray(2 * b)], Q, bits, k, knobs), want, `N=${N} segmented ${name}`);
    }
  }
});

test('exactly k blocks hold near codes (threshold boundaries of the block-minimum search), ties inside blocks', async () => {
  // Far codes (24–40 bits from query 0) everywhere; m blocks get near codes at distance 5 (two per block, tied) and
  // every third of them also one at distance 6; k around m puts #(blocks of minimum ≤ c) exactly at k for some c.
  const bits = 64, N = 5003, Q = 2;
  const queries = randomCodes(Q, bits, 77);
  let a = 12345;
  const rnd = (m) => { a = (Math.imul(a, 1664525) + 1013904223) >>> 0; return a % m; };
  const flip = (q, nbits) => {
    const w = [queries[2 * q], queries[2 * q + 1]];
    const seen = new Set();
    while (seen.size < nbits) seen.add(rnd(64));
    for (const b of seen) w[b >> 5] ^= 1 << (b & 31);
    return w.map((x) => x >>> 0);
  };
  for (const [mblk, m] of [[64, 30], [16, 50]]) {
    const db = new Uint32Array(2 * N);
    for (let i = 0; i < N; i++) { const w = flip(i % Q, 24 + rnd(17)); db[2 * i] = w[0]; db[2 * i + 1] = w[1]; }
    const nblk = Math.ceil(N / mblk);
    for (let j = 0; j < m; j++) {
      const b = Math.floor((j * nblk) / m), base = b * mblk;
      for (const [off, d] of [[3, 5], [7, 5], ...(j % 3 === 0 ? [[1, 6]] : [])]) {
        const i = Math.min(base + off, N - 1);
        const w = flip(0, d); // near query 0; query 1 sees them as far codes
        db[2 * i] = w[0]; db[2 * i + 1] = w[1];
      }
    }
    for (const k of [m - 1, m, m + 1, 2 * m, 2 * m + 1]) {
      const want = cpuTopK(queries, db, Q, N, bits, k);
      for (const [name, knobs] of [['bmin', { variant: 'bmin', MBLK: mblk, CH: 4096 }], ['bmin thresh hist', { variant: 'bmin', MBLK: mblk, CH: 4096, thresh: 'hist' }], ['hist', { variant: 'hist' }]]) {
        assertSame(await gpuTopK(queries, [db], Q, bits, k, knobs), want, `MBLK ${mblk} m=${m} k=${k} ${name}`);
      }
    }
  }
});

test('the k-th distance is the largest possible (last bucket of every threshold sweep): 256 and 48 bits', async () => {
  // Query 0 and database codes of all ones (distance = bits) except a few near-complements at the very end: the top-k
  // is those, then the lowest indices at distance = bits.
  for (const [bits, N, k] of [[256, 3000, 20], [48, 2000, 30], [64, 5000, 100]]) {
    const W = Math.ceil(bits / 32), mask = bits % 32 ? 2 ** (bits % 32) - 1 : 0xffffffff;
    const db = new Uint32Array(N * W).fill(0xffffffff);
    for (let i = 0; i < N; i++) db[i * W + W - 1] = mask;
    for (const i of [N - 1, N - 70, N - 140, N - 300, N - 333]) db[i * W] = 0xffffffc0; // distance bits − 6
    const queries = new Uint32Array(2 * W);
    queries.fill(0xffffffff, W); // query 1: equal to the far codes
    queries[2 * W - 1] = mask;
    const want = cpuTopK(queries, db, 2, N, bits, k);
    for (const [name, knobs] of [...VARIANTS, ['bmin MBLK 16', { variant: 'bmin', MBLK: 16 }]]) {
      assertSame(await gpuTopK(queries, [db], 2, bits, k, knobs), want, `bits=${bits} k=${k} ${name}`);
    }
  }
});

test('duplicates and identical codes: a query equal to many database codes, every variant', async () => {
  const bits = 64, N = 3000, Q = 4;
  const db = randomCodes(N, bits, 5);
  for (let i = 0; i < N; i += 7) { db[2 * i] = 0xdeadbeef; db[2 * i + 1] = 0x12345678; }
  const queries = Uint32Array.from([0xdeadbeef, 0x12345678, 0xdeadbeef, 0x12345679, 0, 0, 0xffffffff, 0xffffffff]);
  for (const k of [1, 100, 500]) {
    const want = cpuTopK(queries, db, Q, N, bits, k);
    for (const [name, knobs] of VARIANTS) assertSame(await gpuTopK(queries, [db], Q, bits, k, knobs), want, `duplicates k=${k} ${name}`);
  }
  // Every code identical: all distances tie, the answer is indices 0..k-1.
  const same = new Uint32Array(2 * N).fill(0x0f0f0f0f);
  for (const [name, knobs] of VARIANTS) assertSame(await gpuTopK(queries, [same], Q, bits, 100, knobs), cpuTopK(queries, same, Q, N, bits, 100), `all equal ${name}`);
});

test('gpuHammingTopK is a drop-in for the CPU top-k (host and GPU databases)', async () => {
  if (!tq.hash.gpuHammingTopK) { console.log('  (skipped: src/hash/index.ts does not export gpuHammingTopK yet)'); return; }
  const bits = 48, N = 4099, Q = 11, k = 25;
  const db = randomCodes(N, bits, 9), queries = randomCodes(Q, bits, 10);
  const want = cpuTopK(queries, db, Q, N, bits, k);
  assertSame(await tq.hash.gpuHammingTopK(queries, db, Q, N, bits, k), want, 'host db');
  const t = Tensor.from(db, [N, 2], 'u32');
  assertSame(await tq.hash.gpuHammingTopK(queries, t, Q, N, bits, k), want, 'GPU db');
  t.dispose();
  // Empty database and k = 0 behave like the CPU top-k.
  const empty = await tq.hash.gpuHammingTopK(queries, new Uint32Array(0), Q, 0, bits, k);
  assert.is(empty.k, 0); assert.is(empty.indices.length, 0);
});

test('large k (k = N = 40,000, mAP@all style): exact; on software adapters the preset takes hist, explicit bmin is refused', async () => {
  // llvmpipe ends an invocation after 65,535 loop iterations in total (src/ops/hamming.ts SOFTWARE_LOOP_CAP); bmin's
  // per-query selection loops over up to K'·MBLK candidates twice, so k = N is beyond it here, and hist is not.
  const bits = 64, N = 40000, Q = 3;
  const db = randomCodes(N, bits, 41), queries = randomCodes(Q, bits, 42);
  for (const k of [N, 1000]) {
    const want = cpuTopK(queries, db, Q, N, bits, k);
    assertSame(await gpuTopK(queries, [db], Q, bits, k), want, `preset k=${k}`);
    assertSame(await gpuTopK(queries, [db], Q, bits, k, { variant: 'hist' }), want, `hist k=${k}`);
    if (tq.runtime().info.software) {
      let err = null;
      try { await gpuTopK(queries, [db], Q, bits, k, { variant: 'bmin' }); } catch (e) { err = e; }
      assert.match(String(err?.message), /loop iterations in one invocation/);
    } else {
      assertSame(await gpuTopK(queries, [db], Q, bits, k, { variant: 'bmin' }), want, `bmin k=${k}`);
    }
  }
});

test('hammingLoopIterations matches the measured cap: bmin at 4 M × 64 bits fits, 12 M (wrong results when tried) does not', () => {
  const shape = (N, k, bits = 64) => ({ nchunks: Math.ceil(N / 4096), N, ranges: 1, bits, k });
  const bmin = { ...ops.HAMMING_KNOBS, variant: 'bmin' }, hist = { ...ops.HAMMING_KNOBS, variant: 'hist' };
  assert.ok(ops.hammingLoopIterations(bmin, shape(4e6, 100)) <= ops.SOFTWARE_LOOP_CAP);
  assert.ok(ops.hammingLoopIterations(bmin, shape(12e6, 100)) > ops.SOFTWARE_LOOP_CAP);
  assert.ok(ops.hammingLoopIterations(bmin, shape(40000, 40000)) > ops.SOFTWARE_LOOP_CAP);
  assert.ok(ops.hammingLoopIterations(hist, shape(40000, 40000)) <= ops.SOFTWARE_LOOP_CAP);
  // The first variant's scan grows with chunks × bits: 1 M × 256 bits and 4 M × 64 bits were wrong on llvmpipe.
  assert.ok(ops.hammingLoopIterations(hist, shape(1e6, 100, 256)) > ops.SOFTWARE_LOOP_CAP);
  assert.ok(ops.hammingLoopIterations(hist, shape(4e6, 100)) > ops.SOFTWARE_LOOP_CAP);
  assert.ok(ops.hammingLoopIterations(hist, shape(1e6, 100)) <= ops.SOFTWARE_LOOP_CAP);
});

test('knob presets by adapter: bmin on software adapters (measured on llvmpipe), hist on hardware GPUs', () => {
  assert.is(tq.gpu.presetKnobs('software')['hamming.variant'], 'bmin');
  assert.is(tq.gpu.presetKnobs('gpu')['hamming.variant'], 'hist');
  assert.equal(Object.keys(ops.HAMMING_KNOBS).sort(), ['BLK', 'CH', 'MBLK', 'QV', 'WX', 'thresh', 'variant']);
});

test('bad arguments are rejected with the fix (the bmin-only rules with bmin named: the GPU preset takes hist)', () => {
  scope(() => {
    const q = Tensor.from(new Uint32Array(4), [2, 2], 'u32'), db = Tensor.from(new Uint32Array(8), [4, 2], 'u32');
    assert.throws(() => ops.hammingTopK(q, db, 64, -1), /non-negative integer/);
    assert.equal([...ops.hammingTopK(q, db, 64, 0).indices.shape], [2, 0]);
    assert.throws(() => ops.hammingTopK(q, db, 32, 3), /must be u32 \[nq, 1\]/);
    assert.throws(() => ops.hammingTopK(q, db, 300, 3), /1\.\.256 bits/);
    assert.throws(() => ops.hammingTopK(q, db, 64, 3, { CH: 100 }), /multiple/);
    assert.throws(() => ops.hammingTopK(q, db, 64, 3, { variant: 'bmin', CH: 128, BLK: 64, MBLK: 128 }), /2·MBLK/);
    assert.throws(() => ops.hammingTopK(q, db, 64, 3, { variant: 'heap' }), /'bmin' or 'hist'/);
    assert.throws(() => ops.hammingTopK(q, db, 64, 3, { variant: 'bmin', thresh: 'sort' }), /'swar' or 'hist'/);
    assert.throws(() => ops.hammingTopK(q, db, 64, 3, { variant: 'bmin', MBLK: 30, CH: 960, BLK: 64 }), /multiple of 4/);
  });
});

test.run();
