// Retrieval metrics: hand-computed cases (arithmetic in the comments) and agreement with a plain full-sort reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from '../dist/index.js';

const close = (a, b, what, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: got ${a}, want ${b}`);

function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

// Database of 6 items, labels [0,1,0,0,1,0]; 4-bit codes, three queries given as Hamming distance rows.
const DB_LABELS = [0, 1, 0, 0, 1, 0];
const ROWS = new Uint8Array([
  2, 0, 1, 2, 1, 4, // q0, label 0
  0, 3, 3, 3, 3, 3, // q1, label 1
  4, 4, 4, 4, 4, 4, // q2, label 0
]);
const Q_LABELS = [0, 1, 0];

test('binary metrics: hand case with ties', () => {
  const m = hash.metrics.mapFromDistanceRows([{ distances: ROWS, queryLabels: Q_LABELS }], DB_LABELS, 4, { topKs: [1, 3, 5], mapAt: [1, 3] });
  // q0: order by (d, idx): 1(0) 2(1) 4(1) 0(2) 3(2) 5(4); relevant (label 0) at ranks 2,4,5,6; R = 4
  //   AP = (1/2 + 2/4 + 3/5 + 4/6)/4 = 0.5666667; AP@3: one hit at rank 2 → (1/2)/1 = 0.5; AP@1 = 0
  //   P@1 = 0, P@3 = 1/3, P@5 = 3/5
  // q1: order 0 1 2 3 4 5; relevant (label 1) at ranks 2, 5; R = 2
  //   AP = (1/2 + 2/5)/2 = 0.45; AP@3 = 0.5; AP@1 = 0; P@1 = 0, P@3 = 1/3, P@5 = 2/5
  // q2: all tied → order 0..5; relevant at ranks 1,3,4,6
  //   AP = (1 + 2/3 + 3/4 + 4/6)/4 = 0.7708333; AP@3 = (1 + 2/3)/2 = 0.8333333; AP@1 = 1; P@1 = 1, P@3 = 2/3, P@5 = 3/5
  close(m.map, (0.5 + 0.5 + 0.6 + 4 / 6) / 4 / 3 + 0.45 / 3 + (1 + 2 / 3 + 0.75 + 4 / 6) / 4 / 3, 'mAP');
  close(m.map, 0.5958333333333333, 'mAP literal', 1e-15);
  close(m.mapAt['3'], (0.5 + 0.5 + 5 / 6) / 3, 'mAP@3');
  close(m.mapAt['1'], 1 / 3, 'mAP@1');
  assert.equal(m.precisionAtK.map((p) => p.k), [1, 3, 5]);
  close(m.precisionAtK[0].precision, 1 / 3, 'P@1');
  close(m.precisionAtK[1].precision, (1 / 3 + 1 / 3 + 2 / 3) / 3, 'P@3');
  close(m.precisionAtK[2].precision, (3 / 5 + 2 / 5 + 3 / 5) / 3, 'P@5');
  // PR per radius (precision over queries retrieving something, recall over queries with R > 0):
  //   r=0: q0 1 item 0 rel, q1 1 item 0 rel, q2 none → P = 0 (2 queries), R = 0
  //   r=1: q0 3 items 1 rel (P 1/3, R 1/4), q1 P 0, q2 none → P = 1/6, R = (1/4)/3
  //   r=2: q0 5 items 3 rel (3/5, 3/4), q1 0 → P = 0.3, R = 0.25
  //   r=3: q0 (3/5, 3/4), q1 6 items 2 rel (1/3, 1) → P = (0.6 + 1/3)/2, R = (0.75 + 1)/3
  //   r=4: q0 (4/6, 1), q1 (2/6, 1), q2 (4/6, 1) → P = (10/6)/3, R = 1
  const want = [
    [0, 0, 2],
    [1 / 6, 1 / 12, 2],
    [0.3, 0.25, 2],
    [(0.6 + 1 / 3) / 2, 1.75 / 3, 2],
    [10 / 18, 1, 3],
  ];
  assert.is(m.pr.length, 5);
  m.pr.forEach((p, r) => {
    assert.is(p.at, r);
    close(p.precision, want[r][0], `PR precision r=${r}`);
    close(p.recall, want[r][1], `PR recall r=${r}`);
    assert.is(p.queries, want[r][2]);
  });
  // precision within radius 2: q0 3/5, q1 0/1 = 0, q2 nothing retrieved → 0; mean 0.2
  close(m.precisionRadius2, 0.2, 'precision r<=2');
  assert.is(m.ranking, 'hamming');
  assert.is(m.tieRule, 'database index ascending');
  assert.is(m.queries, 3);
  JSON.parse(JSON.stringify(m));
});

test('binary metrics from codes equal the distance-row path (4-bit codes realising the hand distances)', () => {
  // q0 = 0000; db codes with popcounts [2,0,1,2,1,4] → q0 row [2,0,1,2,1,4]
  const db = new Uint32Array([0b0011, 0b0000, 0b0001, 0b0101, 0b1000, 0b1111]);
  const m = hash.metrics.evaluateRetrieval({ queryCodes: new Uint32Array([0]), dbCodes: db, queryLabels: [0], dbLabels: DB_LABELS, bits: 4, topKs: [3], mapAt: [3] });
  close(m.map, (0.5 + 0.5 + 0.6 + 4 / 6) / 4, 'AP q0');
  close(m.mapAt['3'], 0.5, 'AP@3 q0');
  close(m.precisionRadius2, 0.6, 'P r<=2 q0');
});

test('real-valued metrics: hand case where the tie rule decides', () => {
  // query (0,0), label 1; db: (1,0) l0 d=1, (0,2) l1 d=4, (-1,0) l1 d=1, (0,0.5) l0 d=0.25
  // order: 3 (0.25), 0 (1), 2 (1, tie → after index 0), 1 (4); relevant at ranks 3, 4; R = 2
  // AP = (1/3 + 2/4)/2 = 0.4166667 (ties broken the other way would give (1/2 + 2/4)/2 = 0.5)
  // AP@2 = 0 (no hit in top 2); P@1 = 0, P@3 = 1/3; PR at cut-offs 1..4: P 0, 0, 1/3, 1/2; R 0, 0, 1/2, 1
  const m = hash.metrics.evaluateRetrieval({
    queryFeatures: new Float32Array([0, 0]),
    dbFeatures: new Float32Array([1, 0, 0, 2, -1, 0, 0, 0.5]),
    queryLabels: [1],
    dbLabels: [0, 1, 1, 0],
    bits: 2,
    topKs: [1, 3],
    mapAt: [2],
    prCutoffs: [1, 2, 3, 4],
  });
  close(m.map, (1 / 3 + 0.5) / 2, 'AP');
  close(m.mapAt['2'], 0, 'AP@2');
  close(m.precisionAtK[0].precision, 0, 'P@1');
  close(m.precisionAtK[1].precision, 1 / 3, 'P@3');
  assert.equal(m.pr.map((p) => p.at), [1, 2, 3, 4]);
  [0, 0, 1 / 3, 1 / 2].forEach((p, i) => close(m.pr[i].precision, p, `PR P@${i + 1}`));
  [0, 0, 1 / 2, 1].forEach((r, i) => close(m.pr[i].recall, r, `PR R@${i + 1}`));
  assert.is(m.ranking, 'euclidean');
  assert.is(m.precisionRadius2, undefined);
});

test('a query whose class is absent from the database has AP 0 and counts in the mean', () => {
  const m = hash.metrics.mapFromDistanceRows([{ distances: new Uint8Array([0, 1, 0, 1]), queryLabels: [5, 0] }], [0, 1], 2, { topKs: [1], mapAt: [1] });
  // q0 (label 5): R = 0 → AP 0. q1 (label 0): order 0 (d 0), 1 (d 1): relevant at rank 1 → AP 1. mAP = 0.5
  close(m.map, 0.5, 'mAP');
  close(m.precisionAtK[0].precision, 0.5, 'P@1');
});

// ---- plain reference: full sort of (distance, index) ----
function refMetrics(distRows, nq, ndb, qLabels, dbLabels, bits, topKs, mapAt) {
  let sAp = 0;
  const sAt = mapAt.map(() => 0), sP = topKs.map(() => 0), prP = new Array((bits ?? 0) + 1).fill(0), prN = new Array((bits ?? 0) + 1).fill(0), prR = new Array((bits ?? 0) + 1).fill(0);
  let nR = 0, sR2 = 0;
  for (let q = 0; q < nq; q++) {
    const pairs = [];
    for (let j = 0; j < ndb; j++) pairs.push([distRows[q * ndb + j], j]);
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const rel = pairs.map(([, j]) => dbLabels[j] === qLabels[q]);
    const R = rel.filter(Boolean).length;
    const apAt = (k) => {
      let h = 0, s = 0;
      for (let r = 0; r < k; r++) if (rel[r]) s += ++h / (r + 1);
      return [h, s];
    };
    const [, all] = apAt(ndb);
    sAp += R ? all / R : 0;
    mapAt.forEach((k, i) => {
      const [h, s] = apAt(k);
      sAt[i] += h ? s / h : 0;
    });
    topKs.forEach((k, i) => (sP[i] += apAt(k)[0] / k));
    if (bits !== undefined) {
      for (let r = 0; r <= bits; r++) {
        const within = pairs.filter((p) => p[0] <= r);
        const hit = within.filter(([, j]) => dbLabels[j] === qLabels[q]).length;
        if (within.length) {
          prP[r] += hit / within.length;
          prN[r]++;
        }
        if (R) prR[r] += hit / R;
        if (r === 2) sR2 += within.length ? hit / within.length : 0;
      }
      if (R) nR++;
    }
  }
  return { map: sAp / nq, mapAt: sAt.map((s) => s / nq), p: sP.map((s) => s / nq), prP: prP.map((s, r) => (prN[r] ? s / prN[r] : 0)), prR: prR.map((s) => (nR ? s / nR : 0)), r2: sR2 / nq };
}

test('binary metrics equal the full-sort reference on random 12-bit codes with many ties', () => {
  const rnd = lcg(5);
  const bits = 12, ndb = 300, nq = 40, W = 1;
  // Few distinct codes: 6 prototypes, so whole blocks of the database tie.
  const protos = Array.from({ length: 6 }, () => (rnd() * 4096) >>> 0);
  const db = Uint32Array.from({ length: ndb }, () => protos[Math.floor(rnd() * 6)]);
  const q = Uint32Array.from({ length: nq }, () => protos[Math.floor(rnd() * 6)] ^ (rnd() < 0.5 ? 1 << Math.floor(rnd() * 12) : 0));
  const dbLabels = Array.from({ length: ndb }, () => Math.floor(rnd() * 4));
  const qLabels = Array.from({ length: nq }, () => Math.floor(rnd() * 5)); // label 4 never in the database
  const dist = new Uint8Array(nq * ndb);
  for (let i = 0; i < nq; i++) for (let j = 0; j < ndb; j++) dist[i * ndb + j] = hash.codes.hammingDistance(q, i, db, j, W);
  const topKs = [1, 5, 50, 299, 300], mapAt = [1, 10, 100, 300];
  const ref = refMetrics(dist, nq, ndb, qLabels, dbLabels, bits, topKs, mapAt);
  const m = hash.metrics.evaluateRetrieval({ queryCodes: q, dbCodes: db, queryLabels: qLabels, dbLabels, bits, topKs, mapAt });
  close(m.map, ref.map, 'mAP', 1e-12);
  mapAt.forEach((k, i) => close(m.mapAt[String(k)], ref.mapAt[i], `mAP@${k}`));
  topKs.forEach((k, i) => close(m.precisionAtK[i].precision, ref.p[i], `P@${k}`));
  for (let r = 0; r <= bits; r++) {
    close(m.pr[r].precision, ref.prP[r], `PR P r=${r}`);
    close(m.pr[r].recall, ref.prR[r], `PR R r=${r}`);
  }
  close(m.precisionRadius2, ref.r2, 'P r<=2');
  // The chunked distance-row path gives the same numbers.
  const m2 = hash.metrics.mapFromDistanceRows(
    [
      { distances: dist.subarray(0, 17 * ndb), queryLabels: qLabels.slice(0, 17) },
      { distances: Uint32Array.from(dist.subarray(17 * ndb)), queryLabels: qLabels.slice(17) },
    ],
    dbLabels,
    bits,
    { topKs, mapAt },
  );
  close(m2.map, m.map, 'rows mAP', 0);
  close(m2.precisionRadius2, m.precisionRadius2, 'rows r2', 0);
});

test('real-valued metrics equal the full-sort reference with many exact ties', () => {
  const rnd = lcg(9);
  const dim = 5, ndb = 257, nq = 23;
  // Features in {-1, 0, 1}: squared distances are small integers, so ties are frequent and exact.
  const tern = (n) => Float32Array.from({ length: n }, () => Math.floor(rnd() * 3) - 1);
  const qf = tern(nq * dim), df = tern(ndb * dim);
  const dbLabels = Array.from({ length: ndb }, () => Math.floor(rnd() * 3));
  const qLabels = Array.from({ length: nq }, () => Math.floor(rnd() * 3));
  const dist = new Float64Array(nq * ndb);
  for (let i = 0; i < nq; i++) for (let j = 0; j < ndb; j++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += (qf[i * dim + c] - df[j * dim + c]) ** 2;
    dist[i * ndb + j] = s;
  }
  const topKs = [1, 7, 100, 257], mapAt = [3, 50, 257];
  const ref = refMetrics(dist, nq, ndb, qLabels, dbLabels, undefined, topKs, mapAt);
  const m = hash.metrics.evaluateRetrieval({ queryFeatures: qf, dbFeatures: df, queryLabels: qLabels, dbLabels, bits: dim, topKs, mapAt });
  close(m.map, ref.map, 'mAP');
  mapAt.forEach((k, i) => close(m.mapAt[String(k)], ref.mapAt[i], `mAP@${k}`));
  topKs.forEach((k, i) => close(m.precisionAtK[i].precision, ref.p[i], `P@${k}`));
  const m2 = hash.metrics.mapFromDistanceRows([{ distances: dist, queryLabels: qLabels }], dbLabels, dim, { topKs, mapAt });
  close(m2.map, m.map, 'rows mAP', 0);
});

test('query subsampling is seeded, documented in the result, and evaluates the chosen queries', () => {
  const rnd = lcg(2);
  const ndb = 50, nq = 30, bits = 12;
  const db = Uint32Array.from({ length: ndb }, () => (rnd() * 4096) >>> 0);
  const q = Uint32Array.from({ length: nq }, () => (rnd() * 4096) >>> 0);
  const dbLabels = Array.from({ length: ndb }, () => Math.floor(rnd() * 3));
  const qLabels = Array.from({ length: nq }, () => Math.floor(rnd() * 3));
  const pick = hash.metrics.subsampleQueries(nq, 10, 42);
  assert.equal(Array.from(pick), Array.from(hash.metrics.subsampleQueries(nq, 10, 42)));
  assert.not.equal(Array.from(pick), Array.from(hash.metrics.subsampleQueries(nq, 10, 43)));
  const m = hash.metrics.evaluateRetrieval({ queryCodes: q, dbCodes: db, queryLabels: qLabels, dbLabels, bits, queries: 10, seed: 42, topKs: [5], mapAt: [] });
  const sub = hash.metrics.evaluateRetrieval({
    queryCodes: Uint32Array.from(pick, (i) => q[i]),
    dbCodes: db,
    queryLabels: Array.from(pick, (i) => qLabels[i]),
    dbLabels,
    bits,
    topKs: [5],
    mapAt: [],
  });
  assert.is(m.queries, 10);
  assert.equal(m.subsample && [m.subsample.of, m.subsample.seed], [30, 42]);
  close(m.map, sub.map, 'subsampled mAP', 0);
});

test('input errors are named', () => {
  assert.throws(() => hash.metrics.evaluateRetrieval({ queryLabels: [0], dbLabels: [0], bits: 4 }), /either queryCodes/);
  assert.throws(() => hash.metrics.evaluateRetrieval({ queryCodes: new Uint32Array(1), dbCodes: new Uint32Array(2), queryLabels: [0], dbLabels: [0], bits: 4 }), /dbCodes/);
  assert.throws(() => hash.metrics.mapFromDistanceRows([{ distances: new Uint8Array([5]), queryLabels: [0] }], [0], 4), /exceeds 4 bits/);
});

test.run();
