// CodeDB: add/search, .tqhc save/load round trip, named errors for damaged files, FAISS and packed-byte exports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '../dist/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-codedb-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}
function randomCodes(n, bits, rnd) {
  return hash.codes.signPack(Float32Array.from({ length: n * bits }, () => rnd() - 0.5), n, bits);
}

test('add in parts, search = hammingTopK on the whole set, ids mapped', async () => {
  const rnd = lcg(1);
  const bits = 40, n = 90;
  const codes = randomCodes(n, bits, rnd);
  const db = new hash.codedb.CodeDB(bits);
  db.add(codes.subarray(0, 30 * 2), new Array(30).fill(3), Array.from({ length: 30 }, (_, i) => `img${i}`));
  db.add(codes.subarray(30 * 2), new Array(60).fill(4), Array.from({ length: 60 }, (_, i) => `img${30 + i}`));
  assert.is(db.size, n);
  const q = randomCodes(5, bits, rnd);
  const r = await db.search(q, 7);
  const ref = hash.codes.hammingTopK(q, codes, 5, n, bits, 7);
  assert.equal(Array.from(r.indices), Array.from(ref.indices));
  assert.equal(Array.from(r.distances), Array.from(ref.distances));
  assert.equal(r.ids, Array.from(ref.indices, (i) => `img${i}`));
  assert.throws(() => db.add(codes.subarray(0, 2)), /labels must be given on every add/);
});

test('an injected search function is used', async () => {
  const db = new hash.codedb.CodeDB(8, { search: (q, d, nq, ndb, bits, k) => ({ indices: new Uint32Array(nq * k).fill(1), distances: new Uint32Array(nq * k).fill(9) }) });
  db.add(new Uint32Array([1, 2, 3]));
  const r = await db.search(new Uint32Array([0]), 2);
  assert.equal(Array.from(r.distances), [9, 9]);
});

test('save/load round trip (codes, labels, ids, metadata); the file layout matches the documented header', () => {
  const rnd = lcg(2);
  const bits = 48, n = 33;
  const codes = randomCodes(n, bits, rnd);
  const labels = Uint32Array.from({ length: n }, (_, i) => i % 10);
  const db = new hash.codedb.CodeDB(bits);
  db.add(codes, labels, Array.from({ length: n }, (_, i) => 1000 + i));
  db.meta = { dataset: 'cifar10', protocol: 'dsh' };
  const path = join(dir, 'db.tqhc');
  db.save(path, { seed: 7 });
  const buf = readFileSync(path);
  assert.is(buf.toString('latin1', 0, 4), 'TQHC');
  assert.is(buf.readUInt32LE(4), 1);
  assert.is(buf.readUInt32LE(8), 48);
  assert.is(buf.readUInt32LE(12), 2);
  assert.is(Number(buf.readBigUInt64LE(16)), n);
  assert.is(buf.readUInt32LE(24), 1);
  const metaLen = buf.readUInt32LE(28);
  assert.is(buf.length, 32 + 4 * n * 2 + 4 * n + metaLen);
  assert.is(buf.readUInt32LE(32 + 4), codes[1]);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  const back = hash.codedb.CodeDB.load(path);
  assert.is(back.bits, bits);
  assert.equal(Array.from(back.data), Array.from(codes));
  assert.equal(Array.from(back.labels), Array.from(labels));
  assert.equal(back.ids, Array.from({ length: n }, (_, i) => 1000 + i));
  assert.equal(back.meta, { dataset: 'cifar10', protocol: 'dsh', seed: 7 });
  // Without labels or ids.
  const bare = new hash.codedb.CodeDB(12);
  bare.add(new Uint32Array([0xabc, 0x001]));
  bare.save(join(dir, 'bare.tqhc'));
  const b2 = hash.codedb.CodeDB.load(join(dir, 'bare.tqhc'));
  assert.equal(Array.from(b2.data), [0xabc, 0x001]);
  assert.is(b2.labels, undefined);
  assert.is(b2.ids, undefined);
});

test('damaged files give errors that name the file and the problem', () => {
  const db = new hash.codedb.CodeDB(12);
  db.add(new Uint32Array([1, 2, 3]), [0, 1, 2]);
  const good = join(dir, 'good.tqhc');
  db.save(good);
  const buf = readFileSync(good);
  const bad = (name, mutate, re) => {
    const b = Buffer.from(buf);
    const out = mutate(b) ?? b;
    const p = join(dir, name);
    writeFileSync(p, out);
    assert.throws(() => hash.codedb.CodeDB.load(p), (e) => e.message.includes(p) && re.test(e.message), name);
  };
  bad('magic.tqhc', (b) => void b.write('TQHX', 0, 'latin1'), /magic is "TQHX"/);
  bad('version.tqhc', (b) => void b.writeUInt32LE(2, 4), /version 2/);
  bad('words.tqhc', (b) => void b.writeUInt32LE(2, 12), /2 words per code/);
  bad('truncated.tqhc', (b) => b.subarray(0, b.length - 3), /truncated/);
  bad('short.tqhc', (b) => b.subarray(0, 10), /shorter than the 32-byte header/);
  bad('padbits.tqhc', (b) => void b.writeUInt32LE(0x1001, 32), /bits set above bit 11/);
  bad('meta.tqhc', (b) => void (b[b.length - 1] = 0x7b), /metadata/);
  assert.throws(() => hash.codedb.CodeDB.load(join(dir, 'missing.tqhc')), /missing\.tqhc: cannot open the code database \(no such file\)/);
});

test('FAISS IndexBinaryFlat export: header and codes byte for byte (12-bit codes padded to d = 16)', () => {
  const db = new hash.codedb.CodeDB(12);
  db.add(new Uint32Array([0xa01, 0x0ff, 0x800]));
  const path = join(dir, 'x.faissindex');
  db.exportFaissBinaryFlat(path);
  const got = Array.from(readFileSync(path));
  const want = [
    0x49, 0x42, 0x78, 0x46, // fourcc "IBxF"
    16, 0, 0, 0, // d = 16 (12 bits rounded up to a multiple of 8)
    2, 0, 0, 0, // code_size = 2 bytes
    3, 0, 0, 0, 0, 0, 0, 0, // ntotal = 3 (int64)
    1, // is_trained
    1, 0, 0, 0, // metric_type = METRIC_L2
    6, 0, 0, 0, 0, 0, 0, 0, // xb byte count = 3 × 2 (size_t)
    0x01, 0x0a, // 0xa01: bit i is bit i%8 of byte i/8
    0xff, 0x00,
    0x00, 0x08,
  ];
  assert.equal(got, want);
  assert.equal(Array.from(db.exportPackedBytes()), [0x01, 0x0a, 0xff, 0x00, 0x00, 0x08]);
  db.exportPackedBytes(join(dir, 'x.bin'), 'big');
  assert.equal(Array.from(readFileSync(join(dir, 'x.bin'))), [0x80, 0x50, 0xff, 0x00, 0x00, 0x10]);
});

test.run();
