// CIFAR-10 reader: synthetic data sets in the official layout, read back exactly; every bad input gets a named DataError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { data } from '../dist/index.js';
import { writeSyntheticCifar, SYNTHETIC_CLASS_NAMES } from './fixtures/synthetic.js';

const root = mkdtempSync(join(tmpdir(), 'tqhash-data-'));
let n = 0;
const fresh = () => join(root, `d${n++}`);
const PER = 120;

/** Awaits `fn`, asserts it throws a DataError with `code` whose message matches every pattern. */
async function rejects(fn, code, ...patterns) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a DataError(${code}), nothing was thrown`);
  assert.ok(data.isDataError(err), `expected a DataError, got ${err && err.stack}`);
  assert.is(err.code, code, err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

function assertSame(got, syn) {
  assert.is(got.train.labels.length, 5 * syn.recordsPerFile);
  assert.is(got.test.labels.length, syn.recordsPerFile);
  assert.ok(Buffer.from(got.train.images).equals(Buffer.from(syn.expected.train.images)), 'train images');
  assert.ok(Buffer.from(got.train.labels).equals(Buffer.from(syn.expected.train.labels)), 'train labels');
  assert.ok(Buffer.from(got.test.images).equals(Buffer.from(syn.expected.test.images)), 'test images');
  assert.ok(Buffer.from(got.test.labels).equals(Buffer.from(syn.expected.test.labels)), 'test labels');
  assert.equal(got.classNames, SYNTHETIC_CLASS_NAMES);
}

test('folder: read back exactly, from the bin folder and from its parent, checksums verified', async () => {
  const dir = fresh();
  const syn = writeSyntheticCifar(dir, { perFile: PER, seed: 3 });
  const opts = { checksums: syn.checksums, recordsPerFile: PER };
  const a = await data.readCifar10(syn.path, opts);
  assertSame(a, syn);
  assert.ok(a.verified);
  assertSame(await data.readCifar10(dir, { ...opts, checksums: syn.checksumFile }), syn);
  // The records are split CHW as stored: record 7 of data_batch_2 is pooled image PER + 7.
  const rec = syn.files['data_batch_2.bin'].subarray(7 * 3073, 8 * 3073);
  assert.is(a.train.labels[PER + 7], rec[0]);
  assert.ok(Buffer.from(data.imageAt(a, PER + 7)).equals(Buffer.from(rec.subarray(1))));
  // The test images follow the training images in the pooled index space.
  assert.ok(Buffer.from(data.imageAt(a, 5 * PER + 2)).equals(Buffer.from(syn.files['test_batch.bin'].subarray(2 * 3073 + 1, 3 * 3073))));
});

test('tar.gz: read back exactly, identical to the folder version', async () => {
  const dir = fresh();
  const syn = writeSyntheticCifar(dir, { perFile: PER, seed: 3, tarGz: true });
  assert.ok(syn.path.endsWith('cifar-10-binary.tar.gz'));
  const a = await data.readCifar10(syn.path, { checksums: syn.checksums, recordsPerFile: PER });
  assertSame(a, syn);
  // A folder holding only the archive is read through the archive.
  assertSame(await data.readCifar10(dir, { checksums: syn.checksums, recordsPerFile: PER }), syn);
  // Same seed, same bytes as the folder writer.
  const folder = writeSyntheticCifar(fresh(), { perFile: PER, seed: 3 });
  assert.equal(folder.checksums, syn.checksums);
});

test('tar reader: chunk boundaries anywhere, GNU long names and pax paths', () => {
  const long = 'x'.repeat(120) + '/data.bin';
  const payload = Uint8Array.from({ length: 1500 }, (_, i) => (i * 31) & 255);
  const pax = (k, v) => {
    let rec = ` ${k}=${v}\n`;
    let len = rec.length + 1;
    while (String(len).length + rec.length !== len) len = String(len).length + rec.length;
    return new TextEncoder().encode(`${len}${rec}`);
  };
  const tarBytes = Buffer.concat([
    data.writeTar([{ path: '././@LongLink', data: new TextEncoder().encode(long + '\0') }]).subarray(0, -1024),
    data.writeTar([{ path: 'short', data: payload }]).subarray(0, -1024),
    data.writeTar([{ path: 'PaxHeader', data: pax('path', 'pax/renamed.bin') }]).subarray(0, -1024),
    data.writeTar([{ path: 'plain', data: payload.subarray(0, 10) }]),
  ]);
  // Flip the type flags of the two meta entries to 'L' and 'x' (and fix their header checksums).
  const fixType = (off, t) => {
    tarBytes[off + 156] = t.charCodeAt(0);
    tarBytes.fill(0x20, off + 148, off + 156);
    let s = 0;
    for (let k = 0; k < 512; k++) s += tarBytes[off + k];
    tarBytes.write(s.toString(8).padStart(6, '0') + '\0 ', off + 148, 'ascii');
  };
  fixType(0, 'L');
  const paxOff = 1024 + 512 + Math.ceil(1500 / 512) * 512;
  fixType(paxOff, 'x');
  for (const chunk of [1, 7, 511, 512, 513, 4096]) {
    const got = [];
    const r = new data.TarReader('t.tar', (e) => {
      const parts = [];
      got.push({ e, parts });
      return { write: (c) => parts.push(Buffer.from(c)), end: () => {} };
    });
    for (let i = 0; i < tarBytes.length; i += chunk) r.push(tarBytes.subarray(i, i + chunk));
    r.finish();
    assert.equal(got.map((g) => g.e.path), [long, 'pax/renamed.bin'], `chunk ${chunk}`);
    assert.ok(Buffer.concat(got[0].parts).equals(Buffer.from(payload)), `payload, chunk ${chunk}`);
    assert.ok(Buffer.concat(got[1].parts).equals(Buffer.from(payload.subarray(0, 10))));
  }
});

test('missing file in a folder: names the file and the fix', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER });
  rmSync(join(syn.path, 'data_batch_4.bin'));
  await rejects(() => data.readCifar10(syn.path, { checksums: false, recordsPerFile: PER }), 'missing', /data_batch_4\.bin/, /tar xzf/);
  await rejects(() => data.readCifar10(join(root, 'nope'), { checksums: false }), 'missing', /nope does not exist/, /--data/);
});

test('truncated file: not a multiple of 3073, or the wrong record count', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER });
  const f = join(syn.path, 'data_batch_2.bin');
  truncateSync(f, PER * 3073 - 100);
  await rejects(() => data.readCifar10(syn.path, { checksums: false, recordsPerFile: PER }), 'truncated', /data_batch_2\.bin/, /3073-byte records/, /cut after 2973 bytes/);
  truncateSync(f, (PER - 1) * 3073);
  await rejects(() => data.readCifar10(syn.path, { checksums: false, recordsPerFile: PER }), 'truncated', /data_batch_2\.bin/, /holds 119 records, expected 120/);
  // The real data set expects 10,000 records per file.
  await rejects(() => data.readCifar10(syn.path, { checksums: false }), 'truncated', /data_batch_1\.bin: holds 120 records, expected 10000/);
});

test('truncated entry inside a tar.gz', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER });
  const tar = data.writeTar([
    { path: 'cifar-10-batches-bin/batches.meta.txt', data: syn.files['batches.meta.txt'] },
    { path: 'cifar-10-batches-bin/data_batch_1.bin', data: syn.files['data_batch_1.bin'] },
  ]);
  const file = join(fresh() + '.tar.gz');
  writeFileSync(file, gzipSync(tar.subarray(0, 512 * 4 + 3000))); // ends inside data_batch_1.bin
  await rejects(() => data.readCifar10(file, { checksums: false, recordsPerFile: PER }), 'corrupt', /ends in the middle of an entry/);
  // A complete archive without the other files: all missing ones named.
  writeFileSync(file, gzipSync(tar));
  await rejects(() => data.readCifar10(file, { checksums: false, recordsPerFile: PER }), 'missing', /data_batch_2\.bin, data_batch_3\.bin, data_batch_4\.bin, data_batch_5\.bin, test_batch\.bin/);
});

test('label 11 → named error with file and record', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER });
  const f = join(syn.path, 'test_batch.bin');
  const b = readFileSync(f);
  b[37 * 3073] = 11;
  writeFileSync(f, b);
  await rejects(() => data.readCifar10(syn.path, { checksums: false, recordsPerFile: PER }), 'label', /test_batch\.bin: record 37/, /label 11/, /0\.\.9/);
});

test('checksum mismatch → named error; missing checksum entry too', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER, tarGz: true });
  const bad = { ...syn.checksums, 'data_batch_3.bin': '0'.repeat(64) };
  await rejects(() => data.readCifar10(syn.path, { checksums: bad, recordsPerFile: PER }), 'checksum', /data_batch_3\.bin: sha256 [0-9a-f]{64} does not match 0{64}/, /download/);
  const partial = { ...syn.checksums };
  delete partial['test_batch.bin'];
  await rejects(() => data.readCifar10(syn.path, { checksums: partial, recordsPerFile: PER }), 'checksum', /no sha256 for test_batch\.bin/);
  // The default list is the repo's data/CIFAR10.sha256 (the real data set's), which synthetic data cannot match.
  await rejects(() => data.readCifar10(syn.path, { recordsPerFile: PER }), 'checksum', /CIFAR10\.sha256/);
  // A flipped pixel in one .bin file is caught.
  const syn2 = writeSyntheticCifar(fresh(), { perFile: PER });
  const f = join(syn2.path, 'data_batch_5.bin');
  const b = readFileSync(f);
  b[5000] ^= 1;
  writeFileSync(f, b);
  await rejects(() => data.readCifar10(syn2.path, { checksums: syn2.checksums, recordsPerFile: PER }), 'checksum', /data_batch_5\.bin/);
});

test('checksum file format: the repo list parses to the six .bin names and batches.meta.txt', () => {
  const sums = data.loadChecksums(data.defaultChecksumFile());
  assert.equal(Object.keys(sums).sort(), ['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']);
  assert.is(sums['test_batch.bin'], '8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b');
  assert.is(sums['batches.meta.txt'], '2ce042b1e0b48db4bb214408e6414ba18b2731c24af244f2d6c112fddf31af00');
  assert.throws(() => data.parseChecksums('abc  x.bin\n', 'f.sha256'), (e) => e.code === 'format' && /f\.sha256, line 1/.test(e.message));
});

test('corrupt gzip, truncated gzip, not an archive, bad tar header → named errors', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER, tarGz: true });
  const gz = readFileSync(syn.path);
  const opts = { checksums: false, recordsPerFile: PER };
  const flipped = Buffer.from(gz);
  for (let i = 1000; i < 1100; i++) flipped[i] ^= 0x5a;
  const f1 = join(fresh() + '.tar.gz');
  writeFileSync(f1, flipped);
  await rejects(() => data.readCifar10(f1, opts), 'corrupt', /gzip stream is corrupt/, /download it again/);
  writeFileSync(f1, gz.subarray(0, gz.length >> 1));
  await rejects(() => data.readCifar10(f1, opts), 'corrupt', /gzip stream is corrupt|ends in the middle/);
  writeFileSync(f1, 'hello, this is not an archive');
  await rejects(() => data.readCifar10(f1, opts), 'format', /neither a gzip file nor a tar archive/);
  const tar = data.writeTar([{ path: 'cifar-10-batches-bin/batches.meta.txt', data: syn.files['batches.meta.txt'] }]);
  tar[10] ^= 0xff; // damage the name: header checksum no longer matches
  writeFileSync(f1, gzipSync(tar));
  await rejects(() => data.readCifar10(f1, opts), 'corrupt', /bad tar header at byte 0/);
});

test('uncompressed .tar is read too', async () => {
  const syn = writeSyntheticCifar(fresh(), { perFile: PER });
  const names = ['batches.meta.txt', ...data.TRAIN_FILES, data.TEST_FILE];
  const f = join(fresh() + '.tar');
  writeFileSync(f, data.writeTar(names.map((nm) => ({ path: `cifar-10-batches-bin/${nm}`, data: syn.files[nm] }))));
  assertSame(await data.readCifar10(f, { checksums: syn.checksums, recordsPerFile: PER }), syn);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
