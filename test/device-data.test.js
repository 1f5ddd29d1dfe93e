// bench/device-data.sh, which stages CIFAR-10 for a lent GPU machine: a subset of N records per file that fits a call
// (here), and there a full-size set made of the subset's records over and over (device.sh's 'fullrun', a full run's
// work without carrying 170 MB). Both must be read by the library with their checksums, records intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCifar } from './fixtures/synthetic.js';
import { data } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'tqhash-device-data-'));
const { RECORD_BYTES, TRAIN_FILES, TEST_FILE } = data;
const script = (...args) => spawnSync('bash', ['bench/device-data.sh', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
const record = (bytes, i) => Buffer.from(bytes.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES));

test('N records per file from the archive, with a checksum list the reader accepts', async () => {
  const fx = writeSyntheticCifar(join(dir, 'archive'), { perFile: 9, tarGz: true });
  const out = join(dir, 'sub-4');
  const r = script('4', fx.path, out);
  assert.is(r.status, 0, r.stderr);
  for (const f of [...TRAIN_FILES, TEST_FILE]) assert.ok(readFileSync(join(out, f)).equals(Buffer.from(fx.files[f].subarray(0, 4 * RECORD_BYTES))), f);
  const ds = await data.readCifar10(out, { checksums: join(out, 'CIFAR10.sha256'), recordsPerFile: 4 });
  assert.is(ds.train.labels.length, 20);
  assert.equal([...ds.test.labels], [...fx.expected.test.labels.subarray(0, 4)]);
});

test('--repeat: 10,000 records per file, record i the source record i mod n, checksums the reader accepts', async () => {
  const fx = writeSyntheticCifar(join(dir, 'folder'), { perFile: 7 });
  const out = join(dir, 'full');
  const r = script('--repeat', fx.path, out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'repeating the 7');
  for (const f of [...TRAIN_FILES, TEST_FILE]) {
    const bytes = readFileSync(join(out, f));
    assert.is(bytes.length, 10000 * RECORD_BYTES, f);
    for (const i of [0, 6, 7, 13, 4321, 9999]) assert.ok(record(bytes, i).equals(record(fx.files[f], i % 7)), `${f} record ${i}`);
  }
  const ds = await data.readCifar10(out, { checksums: join(out, 'CIFAR10.sha256') });
  assert.is(ds.train.labels.length, 50000);
  assert.is(ds.test.labels[9999], fx.expected.test.labels[9999 % 7]);
});

test('--repeat refuses a file that is not whole records, in one line, exit 2', () => {
  const fx = writeSyntheticCifar(join(dir, 'bad'), { perFile: 3 });
  truncateSync(join(fx.path, TEST_FILE), 2 * RECORD_BYTES + 5);
  const r = script('--repeat', fx.path, join(dir, 'bad-out'));
  assert.is(r.status, 2);
  assert.match(r.stderr, /^error: .*test_batch\.bin: 6151 bytes, not whole 3,073-byte records\n$/);
});

test.run();
