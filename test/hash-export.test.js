// Exports (src/hash/export.ts, bench/export.js): every format byte for byte against bytes written out by hand for
// two tiny databases, the engines' own documented examples, FAISS and numpy reading the files back where Python has
// them, and the command's errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '../dist/index.js';

const X = hash.exporters;
const dir = mkdtempSync(join(tmpdir(), 'tqhash-export-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PY = '/usr/bin/python3';
const hasPy = (mod) => spawnSync(PY, ['-c', `import ${mod}`]).status === 0;
const HAS_FAISS = hasPy('faiss');
const HAS_NUMPY = hasPy('numpy');
if (!HAS_FAISS) console.log('hash-export: python3 faiss not installed (apt-get install python3-faiss): the FAISS round trip is skipped');
if (!HAS_NUMPY) console.log('hash-export: python3 numpy not installed: reading the .npy files back with numpy is skipped');

// 3 codes of 12 bits (D = 16, 2 bytes) with integer ids, and 2 codes of 48 bits (D = 48, 6 bytes) with string ids.
function db12() {
  const db = new hash.CodeDB(12);
  db.add(new Uint32Array([0xa01, 0x0ff, 0x800]), [2, 0, 7], [10, 11, 12]);
  return db;
}
function db48() {
  const db = new hash.CodeDB(48);
  db.add(new Uint32Array([0x80000001, 0x00008001, 0x12345678, 0x0000abcd]), [1, 3], ['a', 'bé']);
  return db;
}
// Code bytes by hand. Least significant bit first: byte b of the code is byte b of its little-endian words.
//   0xa01 → 01 0a; 0x0ff → ff 00; 0x800 → 00 08.   [0x80000001, 0x8001] → 01 00 00 80 01 80;
//   [0x12345678, 0xabcd] → 78 56 34 12 cd ab.
// Most significant bit first: each of those bytes with its 8 bits reversed (0x01 → 0x80, 0x0a = 0000 1010 →
// 0101 0000 = 0x50, 0x08 → 0x10, 0x78 = 0111 1000 → 0001 1110 = 0x1e, 0x56 → 0x6a, 0x34 → 0x2c, 0x12 → 0x48,
// 0xcd = 1100 1101 → 1011 0011 = 0xb3, 0xab = 1010 1011 → 1101 0101 = 0xd5); as int8, bytes ≥ 128 minus 256.
const LSB12 = [[0x01, 0x0a], [0xff, 0x00], [0x00, 0x08]];
const MSB12 = [[0x80, 0x50], [0xff, 0x00], [0x00, 0x10]];
const INT8_12 = [[-128, 80], [-1, 0], [0, 16]];
const LSB48 = [[0x01, 0x00, 0x00, 0x80, 0x01, 0x80], [0x78, 0x56, 0x34, 0x12, 0xcd, 0xab]];
const MSB48 = [[0x80, 0x00, 0x00, 0x01, 0x80, 0x01], [0x1e, 0x6a, 0x2c, 0x48, 0xb3, 0xd5]];
const INT8_48 = [[-128, 0, 0, 1, -128, 1], [30, 106, 44, 72, -77, -43]];

const cat = (parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const file = (files, name) => {
  assert.ok(files.has(name), `missing ${name}; got ${[...files.keys()]}`);
  return cat(files.get(name));
};
const text = (files, name) => file(files, name).toString('utf8');
const le = (v, n) => Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));

test('the bit-order table: FAISS and Milvus least significant bit first, OpenSearch/Elasticsearch and numpy most', () => {
  assert.equal([...hash.EXPORT_TARGETS.keys()], ['faiss', 'milvus', 'opensearch', 'npy']);
  assert.equal([...hash.EXPORT_TARGETS.values()].map((t) => t.bitOrder), ['little', 'little', 'big', 'big']);
  assert.equal([...hash.EXPORT_FORMATS], ['faiss', 'milvus', 'opensearch', 'npy']);
  assert.equal([1, 8, 12, 48, 49].map(hash.paddedDim), [8, 8, 16, 48, 56]);
});

test('FAISS IndexBinaryFlat: 48-bit codes byte for byte (the 12-bit case is in hash-codedb)', () => {
  const got = [...file(X.exportFiles(db48(), 'faiss'), 'db.faissindex')];
  const want = [
    0x49, 0x42, 0x78, 0x46, // "IBxF"
    ...le(48, 4), ...le(6, 4), ...le(2, 8), // d, code_size, ntotal
    1, ...le(1, 4), ...le(12, 8), // is_trained, METRIC_L2, 2 × 6 bytes follow
    ...LSB48.flat(),
  ];
  assert.equal(got, want);
});

test('Milvus: insert rows (id, label, uint8 vector, LSB first) and the collection body, byte for byte', () => {
  const a = X.exportFiles(db12(), 'milvus');
  const v = (bytes) => bytes.join(', ');
  assert.is(text(a, 'milvus-rows.json'), `[\n  {"id": 10, "label": 2, "vector": [${v(LSB12[0])}]},\n  {"id": 11, "label": 0, "vector": [${v(LSB12[1])}]},\n  {"id": 12, "label": 7, "vector": [${v(LSB12[2])}]}\n]\n`);
  assert.equal(JSON.parse(text(a, 'milvus-collection.json')), {
    collectionName: 'tqhash',
    schema: { autoId: false, enableDynamicField: false, fields: [
      { fieldName: 'id', dataType: 'Int64', isPrimary: true },
      { fieldName: 'label', dataType: 'Int64' },
      { fieldName: 'vector', dataType: 'BinaryVector', elementTypeParams: { dim: 16 } },
    ] },
    indexParams: [{ fieldName: 'vector', indexName: 'vector', metricType: 'HAMMING' }],
  });
  const b = X.exportFiles(db48(), 'milvus');
  assert.is(text(b, 'milvus-rows.json'), `[\n  {"id": "a", "label": 1, "vector": [${v(LSB48[0])}]},\n  {"id": "bé", "label": 3, "vector": [${v(LSB48[1])}]}\n]\n`);
  const fields = JSON.parse(text(b, 'milvus-collection.json')).schema.fields;
  // "bé" is 3 UTF-8 bytes: the longest id.
  assert.equal(fields[0], { fieldName: 'id', dataType: 'VarChar', isPrimary: true, elementTypeParams: { max_length: 3 } });
  assert.equal(fields[2].elementTypeParams, { dim: 48 });
});

test('OpenSearch / Elasticsearch: bulk NDJSON (signed int8, MSB first) and both index bodies, byte for byte', () => {
  const a = X.exportFiles(db12(), 'opensearch');
  assert.is(text(a, 'bulk.ndjson'), `{"index":{"_id":"10"}}\n{"vector":[${INT8_12[0]}],"label":2}\n{"index":{"_id":"11"}}\n{"vector":[${INT8_12[1]}],"label":0}\n{"index":{"_id":"12"}}\n{"vector":[${INT8_12[2]}],"label":7}\n`);
  assert.equal(JSON.parse(text(a, 'opensearch-index.json')), {
    settings: { index: { knn: true } },
    mappings: { properties: { vector: { type: 'knn_vector', dimension: 16, data_type: 'binary', space_type: 'hamming', method: { name: 'hnsw', engine: 'faiss' } }, label: { type: 'long' } } },
  });
  assert.equal(JSON.parse(text(a, 'elasticsearch-index.json')), {
    mappings: { properties: { vector: { type: 'dense_vector', element_type: 'bit', dims: 16, index: true, similarity: 'l2_norm' }, label: { type: 'long' } } },
  });
  const b = X.exportFiles(db48(), 'opensearch');
  assert.is(text(b, 'bulk.ndjson'), `{"index":{"_id":"a"}}\n{"vector":[${INT8_48[0]}],"label":1}\n{"index":{"_id":"bé"}}\n{"vector":[${INT8_48[1]}],"label":3}\n`);
});

// np.save's header: magic, version 1.0, u16 length 118, the dict padded with spaces and a newline to 128 bytes.
const npyHead = (dict) => [0x93, ...Buffer.from('NUMPY'), 1, 0, 118, 0, ...Buffer.from(dict.padEnd(117) + '\n', 'latin1')];

test('numpy: codes.npy (uint8, packbits order), ids.npy and labels.npy, byte for byte', () => {
  const a = X.exportFiles(db12(), 'npy');
  assert.equal([...file(a, 'codes.npy')], [...npyHead("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2), }"), ...MSB12.flat()]);
  assert.equal([...file(a, 'ids.npy')], [...npyHead("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"), ...le(10, 8), ...le(11, 8), ...le(12, 8)]);
  assert.equal([...file(a, 'labels.npy')], [...npyHead("{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }"), ...le(2, 4), ...le(0, 4), ...le(7, 4)]);
  const b = X.exportFiles(db48(), 'npy');
  assert.equal([...file(b, 'codes.npy')], [...npyHead("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 6), }"), ...MSB48.flat()]);
  // '<U2': two UTF-32LE code points per id, zero-padded ('a' → 61, 0; 'bé' → 62, e9).
  assert.equal([...file(b, 'ids.npy')], [...npyHead("{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }"), ...le(0x61, 4), ...le(0, 4), ...le(0x62, 4), ...le(0xe9, 4)]);
  assert.equal([...file(b, 'labels.npy')], [...npyHead("{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }"), ...le(1, 4), ...le(3, 4)]);
});

test('without labels or ids: no label field, ids are the positions', () => {
  const db = new hash.CodeDB(8);
  db.add(new Uint32Array([0x01, 0x80]));
  const m = X.exportFiles(db, 'milvus');
  assert.is(text(m, 'milvus-rows.json'), '[\n  {"id": 0, "vector": [1]},\n  {"id": 1, "vector": [128]}\n]\n');
  assert.equal(JSON.parse(text(m, 'milvus-collection.json')).schema.fields.map((f) => f.fieldName), ['id', 'vector']);
  assert.is(text(X.exportFiles(db, 'opensearch'), 'bulk.ndjson'), '{"index":{"_id":"0"}}\n{"vector":[-128]}\n{"index":{"_id":"1"}}\n{"vector":[1]}\n');
  const n = X.exportFiles(db, 'npy');
  assert.not.ok(n.has('labels.npy'));
  assert.equal([...file(n, 'ids.npy')].slice(128), [...le(0, 8), ...le(1, 8)]);
  const empty = X.exportFiles(new hash.CodeDB(8), 'milvus');
  assert.is(text(empty, 'milvus-rows.json'), '[]\n');
});

test('string ids of a large database (no per-id spread into Math.max: it overflows the stack)', () => {
  const n = 300000;
  const db = new hash.CodeDB(8);
  db.add(new Uint32Array(n), undefined, Array.from({ length: n }, (_, i) => `i${i}`));
  assert.equal(JSON.parse(text(X.exportFiles(db, 'milvus'), 'milvus-collection.json')).schema.fields[0].elementTypeParams, { max_length: 7 });
  assert.match(file(X.exportFiles(db, 'npy'), 'ids.npy').subarray(0, 128).toString('latin1'), /'descr': '<U7'/);
});

// A code whose bit i is bits[i] (code bit i = dimension i, as signPack packs value i).
const codeOf = (bits) => hash.codes.signPack(Float32Array.from(bits, (b) => (b ? 1 : -1)), 1, bits.length);

test("the engines' documented examples come out as documented", () => {
  // Milvus binary-vector docs, "Insert data": 1,0,0,1,1,0,1,1, 0,1,0,1,0,1,0,0 (+ zeros) packs to 0xD9, 0x2A.
  const m = new hash.CodeDB(16);
  m.add(codeOf([1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0]));
  assert.equal([...X.exportBytes(m, 'milvus')], [0xd9, 0x2a]);
  // OpenSearch binary-vector blog: 0,1,1,0,1,1,0,0, 1,0,0,0,1,1,0,0 → [108, -116]; 0,0,0,0,0,1,1,1, 0,0,0,0,1,0,0,0 → [7, 8].
  const o = new hash.CodeDB(16);
  o.add(codeOf([0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]));
  o.add(codeOf([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0]));
  assert.is(text(X.exportFiles(o, 'opensearch'), 'bulk.ndjson'), '{"index":{"_id":"0"}}\n{"vector":[108,-116]}\n{"index":{"_id":"1"}}\n{"vector":[7,8]}\n');
});

function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}
// A training run folder as bench/train.js leaves it (db.codes with labels, ids and the run's tag).
function makeRun(name, n = 300, bits = 40) {
  const run = join(dir, name);
  mkdirSync(run, { recursive: true });
  const rnd = lcg(7);
  const values = Float32Array.from({ length: n * bits }, () => rnd() - 0.5);
  const db = new hash.CodeDB(bits);
  db.add(hash.codes.signPack(values, n, bits), Array.from({ length: n }, (_, i) => i % 10), Array.from({ length: n }, (_, i) => 5000 + i));
  db.save(join(run, 'db.codes'), { tag: `test · ${bits} bits`, role: 'database' });
  return { run, db, values };
}
const cli = (...args) => spawnSync(process.execPath, ['bench/export.js', ...args], { encoding: 'utf8' });
const py = (code, ...args) => spawnSync(PY, ['-c', code, ...args], { encoding: 'utf8' });

(HAS_FAISS ? test : test.skip)('FAISS reads the exported index: same distances as CodeDB.search, and faiss packs bits as we do', async () => {
  const { run, db, values } = makeRun('run-faiss');
  const r = cli(run, '--format', 'faiss');
  assert.is(r.status, 0, r.stderr);
  const index = join(run, 'export-faiss', 'db.faissindex');
  // Queries: 25 database codes with a few bits flipped, so distances are small and varied.
  const nq = 25, k = 10, W = db.words;
  const q = new Uint32Array(nq * W);
  for (let i = 0; i < nq; i++) {
    for (let w = 0; w < W; w++) q[i * W + w] = db.data[(i * 11) * W + w];
    q[i * W] ^= 1 << (i % 32);
    q[i * W + 1] ^= (i % 3) << 2;
  }
  const res = await db.search(q, k);
  writeFileSync(join(dir, 'q.bin'), hash.codes.packedBytes(q, nq, db.bits, 'little'));
  const rows = (a) => Array.from({ length: nq }, (_, i) => Array.from(a.subarray(i * k, (i + 1) * k)));
  writeFileSync(join(dir, 'want.json'), JSON.stringify({ k, distances: rows(res.distances), indices: rows(res.indices) }));
  const c = spawnSync(PY, ['scripts/check-faiss.py', index, join(dir, 'q.bin'), join(dir, 'want.json')], { encoding: 'utf8' });
  assert.is(c.status, 0, c.stderr + c.stdout);
  assert.match(c.stdout, /distances equal/);
  // FAISS's own packer (fvecs2bitvecs: value >= 0 → 1) on the real values gives the code bytes of the exported file.
  writeFileSync(join(dir, 'values.f32'), Buffer.from(values.buffer));
  const p = py(
    `import sys, faiss, numpy as np
x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, 40)
b = np.zeros((x.shape[0], 5), dtype=np.uint8)
faiss.fvecs2bitvecs(faiss.swig_ptr(x), faiss.swig_ptr(b), 40, x.shape[0])
ix = faiss.read_index_binary(sys.argv[2])
stored = np.fromfile(sys.argv[2], dtype=np.uint8)[-b.size:].reshape(b.shape)
print(int(ix.d), int(ix.ntotal), int((stored == b).all()))`,
    join(dir, 'values.f32'),
    index,
  );
  assert.is(p.status, 0, p.stderr);
  assert.is(p.stdout.trim(), `40 ${db.size} 1`);
});

(HAS_NUMPY ? test : test.skip)('numpy reads the .npy files: np.unpackbits gives the code bits, np.save writes the same bytes', () => {
  const { run, db } = makeRun('run-npy');
  const r = cli(run, '--format', 'npy', '--out', join(dir, 'npy-out'));
  assert.is(r.status, 0, r.stderr);
  const out = join(dir, 'npy-out');
  const p = py(
    `import sys, io, numpy as np
d = sys.argv[1]
ok = True
for name in ['codes', 'ids', 'labels']:
    a = np.load(f'{d}/{name}.npy')
    b = io.BytesIO(); np.save(b, a)
    ok = ok and b.getvalue() == open(f'{d}/{name}.npy', 'rb').read()
c = np.load(f'{d}/codes.npy')
bits = np.unpackbits(c, axis=1)
print(c.dtype, c.shape, int(ok), int(bits[:, 40:].any()))
print(''.join(map(str, bits[:, :40].ravel())))
print(','.join(map(str, np.load(f'{d}/ids.npy')[:3])), ','.join(map(str, np.load(f'{d}/labels.npy')[:12])))`,
    out,
  );
  assert.is(p.status, 0, p.stderr);
  const [head, bitLine, tail] = p.stdout.trim().split('\n');
  assert.is(head, `uint8 (${db.size}, 5) 1 0`);
  const want = Array.from(hash.codes.unpack(db.data, db.size, db.bits), (v) => (v > 0 ? '1' : '0')).join('');
  assert.is(bitLine, want);
  assert.is(tail, '5000,5001,5002 0,1,2,3,4,5,6,7,8,9,0,1');
});

test('bench/export.js: every format into RUN/export-F with export.json; errors are one line and exit 2', () => {
  const { run, db } = makeRun('run-cli', 20, 12);
  for (const f of hash.EXPORT_FORMATS) {
    const r = cli(run, '--format', f);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /test · 12 bits: 20 codes of 12 bits/);
    const m = JSON.parse(readFileSync(join(run, `export-${f}`, 'export.json'), 'utf8'));
    assert.equal([m.format, m.bits, m.dim, m.count, m.meta.tag], [f, 12, 16, 20, 'test · 12 bits']);
    assert.is(m.bitOrder, hash.EXPORT_TARGETS.get(f).bitOrder === 'little' ? 'least significant bit first' : 'most significant bit first');
  }
  const rows = JSON.parse(readFileSync(join(run, 'export-milvus', 'milvus-rows.json'), 'utf8'));
  assert.equal(rows[3].vector, [...X.exportBytes(db, 'milvus').subarray(6, 8)]);
  assert.is(cli('--help').status, 0);
  const bad = (args, re) => {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  bad([run, '--format', 'parquet'], /unknown format "parquet"; one of faiss, milvus, opensearch, npy/);
  bad([run], /--format missing; one of faiss, milvus, opensearch, npy/);
  bad([run, '--formt', 'npy'], /unknown option --formt \(did you mean --format\?\)/);
  bad(['--format', 'npy'], /RUN folder missing/);
  const missing = join(dir, 'no-such-run');
  bad([missing, '--format', 'npy'], new RegExp(`${missing}: not a training run folder \\(no such folder`));
  const empty = join(dir, 'empty-run');
  mkdirSync(empty);
  bad([empty, '--format', 'faiss'], new RegExp(`${join(empty, 'db.codes')}: no such file`));
  const corrupt = join(dir, 'corrupt-run');
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, 'db.codes'), readFileSync(join(run, 'db.codes')).subarray(0, 40));
  bad([corrupt, '--format', 'milvus'], new RegExp(`${join(corrupt, 'db.codes')}: not a valid tqhash code database.*truncated`));
  // --out on a file, or under one: the flag and the fix, not mkdir's EEXIST / ENOTDIR.
  const photo = join(dir, 'photo.jpg');
  writeFileSync(photo, 'not a folder');
  bad([run, '--format', 'milvus', '--out', photo], new RegExp(`^error: --out ${photo} is a file, not a folder: choose another --out, or move the file away$`, 'm'));
  bad([run, '--format', 'milvus', '--out', join(photo, 'x')], new RegExp(`^error: cannot write --out ${join(photo, 'x')} \\(ENOTDIR\\): a file stands where a folder is needed`, 'm'));
  // A folder with the user's own files of those names is not written over; an earlier export of ours is.
  const mine = join(dir, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'codes.npy'), 'my data');
  bad([run, '--format', 'npy', '--out', mine], /mine already holds codes\.npy, not written by tqhash export: an export would write over them; choose another --out, or move them away/);
  assert.is(readFileSync(join(mine, 'codes.npy'), 'utf8'), 'my data');
  assert.is(cli(run, '--format', 'npy').status, 0, 'exporting again into RUN/export-npy replaces the earlier export');
});

test.run();
