// Codes, top-k and retrieval metrics on the CPU: hand-computed cases and a brute-force reference (full sort);
// a second, independent set of checks beside hash-eval/hash-codes/hash-codedb.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '../dist/index.js';
import { rand } from './util.js';

const close = (a, b, tol = 1e-12) => Math.abs(a - b) <= tol;

test('hand case: 4-bit codes, Hamming ranking with ties by index', () => {
  // Query 0000 (class 0). Database (index: code, class): 0: 0001 c0 (d1), 1: 0000 c1 (d0), 2: 0011 c0 (d2), 3: 0001 c1 (d1), 4: 1111 c0 (d4).
  // Ranking by (distance, index): 1, 0, 3, 2, 4 → relevant at ranks 2, 4, 5.
  const m = hash.evaluateRetrieval({
    queryCodes: Uint32Array.of(0b0000), dbCodes: Uint32Array.of(0b0001, 0b0000, 0b0011, 0b0001, 0b1111),
    queryLabels: [0], dbLabels: [0, 1, 0, 1, 0], bits: 4, topKs: [1, 5], mapAt: [3],
  });
  assert.ok(close(m.map, (1 / 2 + 2 / 4 + 3 / 5) / 3), `mAP ${m.map}`); // AP = (0.5 + 0.5 + 0.6) / 3
  assert.ok(close(m.mapAt['3'], 1 / 2), 'AP@3: one relevant in the top 3, at rank 2 → (1/2)/1');
  assert.equal(m.precisionAtK, [{ k: 1, precision: 0 }, { k: 5, precision: 3 / 5 }]);
  assert.ok(close(m.precisionRadius2, 2 / 4), 'within radius 2: items 1, 0, 3, 2 → 2 relevant of 4');
  const pr = m.pr.map((p) => [p.at, +p.precision.toFixed(6), +p.recall.toFixed(6)]);
  assert.equal(pr, [[0, 0, 0], [1, +(1 / 3).toFixed(6), +(1 / 3).toFixed(6)], [2, 0.5, +(2 / 3).toFixed(6)], [3, 0.5, +(2 / 3).toFixed(6)], [4, 0.6, 1]]);
});

test('hand case: a query with nothing within radius 2 has precision 0; R = 0 gives AP 0', () => {
  const m = hash.evaluateRetrieval({ queryCodes: Uint32Array.of(0, 0b111), dbCodes: Uint32Array.of(0b111, 0b111), queryLabels: [5, 1], dbLabels: [1, 1], bits: 3, topKs: [], mapAt: [] });
  // Query 0: class 5 has no relevant item → AP 0; nothing within radius 2 → precision 0. Query 1: both relevant at d0 → AP 1, precision 1.
  assert.ok(close(m.map, 0.5));
  assert.ok(close(m.precisionRadius2, 0.5));
});

function bruteForce(dist, ql, dl, nq, ndb, topKs, mapAt) {
  let map = 0;
  const mapk = mapAt.map(() => 0), pk = topKs.map(() => 0);
  for (let q = 0; q < nq; q++) {
    const order = Array.from({ length: ndb }, (_, j) => j).sort((a, b) => dist(q, a) - dist(q, b) || a - b);
    const rel = order.map((j) => dl[j] === ql[q]);
    const R = rel.filter(Boolean).length;
    let hits = 0, ap = 0;
    rel.forEach((r, i) => { if (r) { hits++; ap += hits / (i + 1); } });
    map += R ? ap / R : 0;
    mapAt.forEach((k, t) => {
      let h = 0, s = 0;
      for (let i = 0; i < k; i++) if (rel[i]) { h++; s += h / (i + 1); }
      mapk[t] += h ? s / h : 0;
    });
    topKs.forEach((k, t) => { pk[t] += rel.slice(0, k).filter(Boolean).length / k; });
  }
  return { map: map / nq, mapk: mapk.map((v) => v / nq), pk: pk.map((v) => v / nq) };
}

test('binary metrics equal a brute-force full sort on random 12-bit codes with many ties', () => {
  const nq = 23, ndb = 401, bits = 12;
  const r = rand(nq + ndb + nq + ndb, 7);
  // Few distinct codes (values < 64 in 12 bits) → many equal distances.
  const qc = Uint32Array.from({ length: nq }, (_, i) => Math.floor((r[i] + 1) * 32) & 63);
  const dc = Uint32Array.from({ length: ndb }, (_, i) => Math.floor((r[nq + i] + 1) * 32) & 63);
  const ql = Array.from({ length: nq }, (_, i) => Math.floor((r[nq + ndb + i] + 1) * 2) % 4);
  const dl = Array.from({ length: ndb }, (_, i) => Math.floor((r[2 * nq + ndb + i] + 1) * 2) % 4);
  const pc = (x) => x.toString(2).split('').filter((c) => c === '1').length;
  const topKs = [1, 7, 100, 401], mapAt = [1, 50, 400];
  const ref = bruteForce((q, j) => pc(qc[q] ^ dc[j]), ql, dl, nq, ndb, topKs, mapAt);
  const m = hash.evaluateRetrieval({ queryCodes: qc, dbCodes: dc, queryLabels: ql, dbLabels: dl, bits, topKs, mapAt });
  assert.ok(close(m.map, ref.map), `mAP ${m.map} vs ${ref.map}`);
  mapAt.forEach((k, t) => assert.ok(close(m.mapAt[String(k)], ref.mapk[t]), `mAP@${k}`));
  topKs.forEach((k, t) => assert.ok(close(m.precisionAtK[t].precision, ref.pk[t]), `P@${k}`));
});

test('real-valued metrics equal a brute-force full sort (integer features: exact distances, many ties)', () => {
  const nq = 17, ndb = 301, dim = 5;
  const r = rand((nq + ndb) * dim + nq + ndb, 11);
  const qf = Float32Array.from({ length: nq * dim }, (_, i) => Math.round(r[i] * 2));
  const df = Float32Array.from({ length: ndb * dim }, (_, i) => Math.round(r[nq * dim + i] * 2));
  const ql = Array.from({ length: nq }, (_, i) => Math.floor((r[(nq + ndb) * dim + i] + 1) * 1.5));
  const dl = Array.from({ length: ndb }, (_, i) => Math.floor((r[(nq + ndb) * dim + nq + i] + 1) * 1.5));
  const d2 = (q, j) => { let s = 0; for (let i = 0; i < dim; i++) s += (qf[q * dim + i] - df[j * dim + i]) ** 2; return s; };
  const topKs = [1, 10, 301], mapAt = [5, 100];
  const ref = bruteForce(d2, ql, dl, nq, ndb, topKs, mapAt);
  const m = hash.evaluateRetrieval({ queryFeatures: qf, dbFeatures: df, queryLabels: ql, dbLabels: dl, bits: dim, topKs, mapAt });
  assert.ok(close(m.map, ref.map), `mAP ${m.map} vs ${ref.map}`);
  mapAt.forEach((k, t) => assert.ok(close(m.mapAt[String(k)], ref.mapk[t]), `mAP@${k}`));
  topKs.forEach((k, t) => assert.ok(close(m.precisionAtK[t].precision, ref.pk[t]), `P@${k}`));
  assert.is(m.pr[m.pr.length - 1].recall, 1, 'recall 1 at the full cut-off');
});

test('euclideanRow: bit-identical to the one-row-at-a-time float64 formula, every database size mod 4', () => {
  for (const dim of [1, 5, 48]) {
    for (const ndb of [1, 2, 3, 4, 5, 6, 7, 8, 9, 301]) {
      const nq = 3;
      const r = rand((nq + ndb) * dim, 100 * dim + ndb);
      const qf = Float32Array.from({ length: nq * dim }, (_, i) => r[i] * 1.7);
      const df = Float32Array.from({ length: ndb * dim }, (_, i) => r[nq * dim + i] * 1.7);
      const norms = hash.metrics.rowNorms(df, ndb, dim);
      const out = new Float32Array(ndb).fill(NaN);
      for (let q = 0; q < nq; q++) {
        hash.metrics.euclideanRow(qf, q, df, norms, ndb, dim, out);
        let qn = 0;
        for (let c = 0; c < dim; c++) qn += qf[q * dim + c] * qf[q * dim + c];
        for (let j = 0; j < ndb; j++) {
          let xn = 0, dot = 0;
          for (let c = 0; c < dim; c++) {
            xn += df[j * dim + c] * df[j * dim + c];
            dot += qf[q * dim + c] * df[j * dim + c];
          }
          const want = Math.fround(Math.max(0, qn + xn - 2 * dot));
          if (out[j] !== want) assert.unreachable(`dim ${dim}, ndb ${ndb}, q ${q}, j ${j}: ${out[j]} vs ${want}`);
        }
      }
    }
  }
});

/** Random features (uniform in [−1, 1)), their sign codes, and labels of `classes` classes, for nq queries and ndb items. */
function randomRetrieval(nq, ndb, bits, classes, seed) {
  const r = rand(nq * bits + ndb * bits + nq + ndb, seed);
  const label = (i) => Math.floor((r[(nq + ndb) * bits + i] + 1) * (classes / 2));
  const qf = Float32Array.from({ length: nq * bits }, (_, i) => r[i]);
  const df = Float32Array.from({ length: ndb * bits }, (_, i) => r[nq * bits + i]);
  const ql = Array.from({ length: nq }, (_, i) => label(i));
  const dl = Array.from({ length: ndb }, (_, i) => label(nq + i));
  return { qf, df, ql, dl, qc: hash.signPackCpu(qf, nq, bits), dc: hash.signPackCpu(df, ndb, bits) };
}

test('onProgress reports every 250 queries and once at the end, for both rankings; metrics unchanged', () => {
  const nq = 613, ndb = 37, bits = 8;
  const { qf, df, ql, dl, qc, dc } = randomRetrieval(nq, ndb, bits, 3, 13);
  for (const input of [{ queryCodes: qc, dbCodes: dc }, { queryFeatures: qf, dbFeatures: df }]) {
    const calls = [];
    const base = { ...input, queryLabels: ql, dbLabels: dl, bits, topKs: [1, 10], mapAt: [20] };
    const m = hash.evaluateRetrieval({ ...base, onProgress: (done, total) => calls.push([done, total]) });
    assert.equal(calls, [[250, nq], [500, nq], [nq, nq]]);
    const plain = hash.evaluateRetrieval(base);
    assert.is(m.map, plain.map);
    assert.equal(m.precisionAtK, plain.precisionAtK);
  }
});

test('evaluateRetrievalParallel: the same metrics to the bit as evaluateRetrieval on 2 and 3 threads; progress; errors', async () => {
  // 1,013 queries = 4 full chunks of 250 and one of 13; a subsample of 777 picks queries across chunks.
  const nq = 1013, ndb = 301, bits = 12;
  const { qf, df, ql, dl, qc, dc } = randomRetrieval(nq, ndb, bits, 5, 29);
  const strip = ({ seconds, ...m }) => (void seconds, m);
  for (const input of [{ queryCodes: qc, dbCodes: dc }, { queryFeatures: qf, dbFeatures: df }]) {
    for (const sub of [{}, { queries: 777, seed: 3 }]) {
      const base = { ...input, ...sub, queryLabels: ql, dbLabels: dl, bits, topKs: [1, 10, 100], mapAt: [50, 200] };
      const serial = strip(hash.evaluateRetrieval(base));
      assert.ok(serial.map > 0 && serial.map < 1);
      for (const threads of [2, 3]) {
        const calls = [];
        const par = strip(await hash.evaluateRetrievalParallel({ ...base, onProgress: (d, t) => calls.push([d, t]) }, { threads }));
        assert.equal(par, serial, `${input.queryCodes ? 'binary' : 'real'}, ${threads} threads, ${sub.queries ?? nq} queries`);
        const total = sub.queries ?? nq;
        assert.equal(calls.at(-1), [total, total], 'ends with all queries done');
        assert.is(calls.filter(([d]) => d === total).length, 1, 'the end is reported once');
        for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0], 'progress rises');
      }
    }
  }
  // A bad input is refused on the caller's thread with evaluateRetrieval's message.
  try {
    await hash.evaluateRetrievalParallel({ queryCodes: qc, dbCodes: dc.subarray(1), queryLabels: ql, dbLabels: dl, bits }, { threads: 2 });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match(e.message, /dbCodes/);
  }
});

test('signPackCpu is exact at 12, 24, 32, 48, 64, 128 bits; 0 and −0 give 1', () => {
  for (const bits of [12, 24, 32, 48, 64, 128]) {
    const n = 9;
    const v = Array.from(rand(n * bits, bits), (x, i) => (i % 11 === 0 ? 0 : i % 13 === 0 ? -0 : x));
    const codes = hash.signPackCpu(Float64Array.from(v), n, bits);
    const W = Math.ceil(bits / 32);
    assert.is(codes.length, n * W);
    for (let r = 0; r < n; r++) for (let w = 0; w < W; w++) {
      let expect = 0;
      for (let b = 0; b < 32; b++) {
        const i = w * 32 + b;
        if (i < bits && !(v[r * bits + i] < 0)) expect = (expect | (1 << b)) >>> 0;
      }
      assert.is(codes[r * W + w] >>> 0, expect, `bits ${bits} code ${r} word ${w}`);
    }
    assert.equal(Array.from(hash.unpackCodes(codes, n, bits)), v.map((x) => (x < 0 ? -1 : 1)));
  assert.throws(() => hash.signPackCpu(Float64Array.of(NaN), 1, 1), /NaN/);
  }
});

test('hammingTopKCpu equals brute force with many ties; k > N clamps', () => {
  const bits = 40, W = 2, nq = 13, ndb = 517;
  const r = rand(nq * W + ndb * W, 3);
  const code = (x) => (Math.floor((x + 1) * 8) * 0x1111) >>> 0; // few distinct words → ties
  const qs = Uint32Array.from({ length: nq * W }, (_, i) => (i % 2 ? code(r[i]) & 0xff : code(r[i])));
  const db = Uint32Array.from({ length: ndb * W }, (_, i) => (i % 2 ? code(r[nq * W + i]) & 0xff : code(r[nq * W + i])));
  const pc = (x) => x.toString(2).split('').filter((c) => c === '1').length;
  for (const k of [1, 17, 100, 600]) {
    const got = hash.hammingTopKCpu(qs, db, nq, ndb, bits, k);
    const kk = Math.min(k, ndb);
    for (let q = 0; q < nq; q++) {
      const d = (j) => pc(qs[q * W] ^ db[j * W]) + pc(qs[q * W + 1] ^ db[j * W + 1]);
      const order = Array.from({ length: ndb }, (_, j) => j).sort((a, b) => d(a) - d(b) || a - b).slice(0, kk);
      assert.equal(Array.from(got.indices.subarray(q * kk, (q + 1) * kk)), order, `k=${k} q=${q}`);
      assert.equal(Array.from(got.distances.subarray(q * kk, (q + 1) * kk)), order.map(d));
    }
  }
});

test('CodeDB: add, query, save/load round trip, corrupt files named, FAISS layout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tqhash-codes-'));
  const db = new hash.CodeDB(12);
  db.add(Uint32Array.of(0b1, 0b11, 0b111), [4, 5, 6], [100, 101, 102]);
  db.add(Uint32Array.of(0), [7], [103]);
  const r = await db.search(Uint32Array.of(0b110), 2);
  assert.equal(Array.from(r.indices), [2, 1]); // d(110,111) = 1, d(110,011) = 2 = d(110,000): index 1 before 3
  assert.equal(Array.from(r.ids), [102, 101]);
  const p = join(dir, 'x.codes');
  db.save(p, { dataset: 'test' });
  const back = hash.CodeDB.load(p);
  assert.is(back.size, 4);
  assert.is(back.bits, 12);
  assert.equal(Array.from(back.data), [1, 3, 7, 0]);
  assert.is(back.labels[3], 7);
  assert.is(back.ids[0], 100);
  const bytes = readFileSync(p);
  writeFileSync(join(dir, 'short.codes'), bytes.subarray(0, bytes.length - 3));
  assert.throws(() => hash.CodeDB.load(join(dir, 'short.codes')), /short\.codes/);
  const bad = Buffer.from(bytes);
  bad[0] = 0x58;
  writeFileSync(join(dir, 'bad.codes'), bad);
  assert.throws(() => hash.CodeDB.load(join(dir, 'bad.codes')), /bad\.codes/);
  // FAISS IndexBinaryFlat: "IBxF", d = 16 (12 padded to a multiple of 8), code_size 2, ntotal 4 (i64), is_trained 1, metric 1, size 8 (u64), bytes.
  const f = db.faissBinaryFlatBytes();
  const expect = [0x49, 0x42, 0x78, 0x46, 16, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 7, 0, 0, 0];
  assert.equal(Array.from(f), expect);
});

test.run();
