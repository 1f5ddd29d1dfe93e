// Binary codes: sign + pack layout, unpack, popcount, Hamming top-k against a plain full-sort reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from '../dist/index.js';

function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

const bitOf = (codes, W, j, i) => (codes[j * W + (i >>> 5)] >>> (i & 31)) & 1;

test('signPack: hand case (bit i of word i/32, value >= 0 gives 1, -0 gives 1)', () => {
  // values -1, 0, 2, -0 → bits 0,1,1,1 → word 0b1110 = 14
  assert.equal(Array.from(hash.codes.signPack(new Float32Array([-1, 0, 2, -0]), 1, 4)), [14]);
  // 33 bits: bit 32 lands in bit 0 of word 1; all others negative
  const v = new Float64Array(33).fill(-1);
  v[32] = 0.5;
  v[31] = 0;
  assert.equal(Array.from(hash.codes.signPack(v, 1, 33)), [0x80000000, 1]);
});

test('signPack is exact at k = 12, 24, 32, 48, 64, 128 (random values with exact zeros), unpack inverts it', () => {
  const rnd = lcg(7);
  for (const k of [12, 24, 32, 48, 64, 128]) {
    const n = 37;
    const W = Math.ceil(k / 32);
    const v = new Float32Array(n * k);
    for (let i = 0; i < v.length; i++) {
      const u = rnd();
      v[i] = u < 0.15 ? 0 : u < 0.2 ? -0 : 2 * rnd() - 1;
    }
    const c = hash.codes.signPack(v, n, k);
    assert.is(c.length, n * W);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < k; i++) {
        const want = v[j * k + i] >= 0 ? 1 : 0;
        if (bitOf(c, W, j, i) !== want) assert.unreachable(`k=${k} row ${j} bit ${i}: value ${v[j * k + i]}`);
      }
      for (let i = k; i < W * 32; i++) if (bitOf(c, W, j, i) !== 0) assert.unreachable(`k=${k} row ${j}: unused bit ${i} set`);
    }
    const u = hash.codes.unpack(c, n, k);
    for (let i = 0; i < n * k; i++) if (u[i] !== (v[i] >= 0 ? 1 : -1)) assert.unreachable(`unpack k=${k} at ${i}`);
  }
});

test('signPack: NaN throws with its position', () => {
  assert.throws(() => hash.codes.signPack(new Float32Array([1, NaN, 0]), 1, 3), /NaN at row 0, column 1/);
});

test('popcount32 and hammingDistance', () => {
  assert.is(hash.codes.popcount32(0), 0);
  assert.is(hash.codes.popcount32(0xffffffff), 32);
  assert.is(hash.codes.popcount32(0x80000001), 2);
  const rnd = lcg(3);
  for (let t = 0; t < 1000; t++) {
    const x = (rnd() * 4294967296) >>> 0;
    let c = 0;
    for (let b = 0; b < 32; b++) c += (x >>> b) & 1;
    assert.is(hash.codes.popcount32(x), c);
  }
  const a = new Uint32Array([0b1011, 0xffffffff, 1]);
  const b = new Uint32Array([0b0001, 0, 1]);
  assert.is(hash.codes.hammingDistance(a, 0, b, 0, 3), 2 + 32);
});

// Plain reference: full sort of (distance, index) pairs.
function bruteRank(q, db, ndb, W, qi) {
  const pairs = [];
  for (let j = 0; j < ndb; j++) {
    let d = 0;
    for (let w = 0; w < W; w++) {
      let x = q[qi * W + w] ^ db[j * W + w];
      for (let b = 0; b < 32; b++) d += (x >>> b) & 1;
    }
    pairs.push([d, j]);
  }
  pairs.sort((s, t) => s[0] - t[0] || s[1] - t[1]);
  return pairs;
}

function tiedCodes(n, bits, rnd, distinct) {
  const W = Math.ceil(bits / 32);
  const pool = Array.from({ length: distinct }, () => hash.codes.signPack(Float32Array.from({ length: bits }, () => rnd() - 0.5), 1, bits));
  const out = new Uint32Array(n * W);
  for (let j = 0; j < n; j++) out.set(pool[Math.floor(rnd() * distinct)], j * W);
  return out;
}

test('hammingTopK equals the full-sort reference with many ties (12, 40, 64, 300 bits; k = 0, 1, 7, N, > N)', () => {
  const rnd = lcg(11);
  for (const bits of [12, 40, 64, 300]) {
    const W = Math.ceil(bits / 32);
    const ndb = 211, nq = 9;
    const db = tiedCodes(ndb, bits, rnd, 5);
    const q = tiedCodes(nq, bits, rnd, 7);
    for (const k of [0, 1, 7, ndb, ndb + 5]) {
      const r = hash.codes.hammingTopK(q, db, nq, ndb, bits, k);
      const kk = Math.min(k, ndb);
      assert.is(r.k, kk);
      assert.is(r.indices.length, nq * kk);
      for (let i = 0; i < nq; i++) {
        const ref = bruteRank(q, db, ndb, W, i).slice(0, kk);
        assert.equal(Array.from(r.indices.subarray(i * kk, (i + 1) * kk)), ref.map((p) => p[1]), `bits ${bits} k ${k} query ${i} indices`);
        assert.equal(Array.from(r.distances.subarray(i * kk, (i + 1) * kk)), ref.map((p) => p[0]), `bits ${bits} k ${k} query ${i} distances`);
      }
    }
  }
});

test('hammingTopK: hand case with ties resolved by lower index', () => {
  // 4-bit codes; query 0b0000. Distances: [2, 1, 1, 0, 2] → order 3 (0), 1 (1), 2 (1), 0 (2), 4 (2)
  const db = new Uint32Array([0b0011, 0b1000, 0b0100, 0b0000, 0b1010]);
  const r = hash.codes.hammingTopK(new Uint32Array([0]), db, 1, 5, 4, 4);
  assert.equal(Array.from(r.indices), [3, 1, 2, 0]);
  assert.equal(Array.from(r.distances), [0, 1, 1, 2]);
});

test('packedBytes: little (FAISS) and big (numpy packbits) bit orders', () => {
  // 12-bit code with bits 0, 9, 11 set: word 0b1010_0000_0001 = 0xA01 → bytes LE 0x01, 0x0A
  const c = new Uint32Array([0xa01]);
  assert.equal(Array.from(hash.codes.packedBytes(c, 1, 12)), [0x01, 0x0a]);
  // big: byte bits reversed: 0x01 → 0x80, 0x0A (00001010) → 01010000 = 0x50
  assert.equal(Array.from(hash.codes.packedBytes(c, 1, 12, 'big')), [0x80, 0x50]);
});

test('checkCodes rejects set bits above the code length', () => {
  assert.throws(() => hash.codes.checkCodes(new Uint32Array([0x1000]), 1, 12, 'db'), /db: code 0 has bits set above bit 11/);
  hash.codes.checkCodes(new Uint32Array([0xfff]), 1, 12);
});

test.run();
