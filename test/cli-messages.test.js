// Bad input on the command line gets one `error:` line naming the flag or both files, exit code 2, no stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hash } from '../dist/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-cli-'));
// The time limit only guards a regression that measures before it fails.
const node = (args, env = {}) => spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });

/** Asserts exit code 2 and a first stderr line `error: …` matching `re`, with no stack trace anywhere. */
function oneError(r, re) {
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr.split('\n')[0], /^error: /);
  assert.match(r.stderr, re);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
}

test('TQHASH_BACKEND=foo says that foo is not a backend, and lists the backends', () => {
  oneError(node(['bench/train.js', 'cifar10'], { TQHASH_BACKEND: 'foo' }), /TQHASH_BACKEND=foo: foo is not a Dawn backend; use one of vulkan, opengles/);
  oneError(node(['bench/train.js', 'cifar10'], { TQHASH_FEATURE_LEVEL: 'full' }), /TQHASH_FEATURE_LEVEL=full is not a feature level/);
});

test('a TQHASH_* variable that rules out every adapter is named, not answered with install instructions', () => {
  const r = node(['bin/tqhash.js', 'info'], { TQHASH_ADAPTER: 'no-such-adapter' });
  assert.is(r.status, 2, r.stderr);
  // (Dawn may print its own adapter warnings first: the instances it rejected are torn down outside the muted window.)
  assert.match(r.stderr, /^error: no WebGPU adapter matches TQHASH_ADAPTER=no-such-adapter: unset it to let tqhash choose/m);
  assert.not.match(r.stderr, /apt-get/);
});

test('a bad TQHASH_KNOBS is a flag error like the others: one line, exit 2', () => {
  oneError(node(['bin/tqhash.js', 'info'], { TQHASH_KNOBS: 'garbage' }), /TQHASH_KNOBS: 'garbage' is not name=value/);
  oneError(node(['bin/tqhash.js', 'info'], { TQHASH_KNOBS: 'nope.x=1' }), /TQHASH_KNOBS: unknown knob 'nope\.x'; knobs: conv\.variant/);
});

test('--checksums with a missing file names the flag', () => {
  const r = node(['bench/train.js', 'cifar10', '--checksums', '/missing.sha256', '--out', join(dir, 'ck')]);
  oneError(r, /--checksums \/missing\.sha256: no such file; .*leave --checksums out/);
  assert.not.match(r.stderr, /checksums: false/);
});

test('bench/search.js: --bits 0, and query codes of another length than the index name both files and lengths', () => {
  oneError(node(['bench/search.js', '--bits', '0']), /--bits 0: must be ≥ 1/);
  oneError(node(['bench/search.js', '--n', '1000.5']), /--n 1000\.5: expected a whole number/);
  oneError(node(['bench/search.js', '--n', '1e3', '--k', '5000']), /--k 5000: more neighbours than the 1000 database codes \(--n\); use --k ≤ 1000/);
  for (const [qBits, dbBits] of [[48, 12], [12, 48]]) {
    const run = join(dir, `run-${qBits}-${dbBits}`);
    mkdirSync(run);
    const db = new hash.CodeDB(dbBits);
    db.add(new Uint32Array(2 * Math.ceil(dbBits / 32)), [0, 1], [10, 11]);
    db.save(join(run, 'db.codes'));
    const q = new hash.CodeDB(qBits);
    q.add(new Uint32Array(Math.ceil(qBits / 32)), [0], [5]);
    q.save(join(run, 'query.codes'));
    oneError(node(['bench/search.js', '--index', join(run, 'db.codes'), '--query', '5']),
      new RegExp(`${run}/query\\.codes holds ${qBits}-bit codes but --index ${run}/db\\.codes holds ${dbBits}-bit codes`));
  }
});

/** Each benchmark at CI size, so that a regression that measures before it fails still ends soon. */
const BENCHES = new Map([
  ['kernels', ['--quick', '--filter', 'fc1']],
  ['step', ['--quick', '--batch', '8', '--steps', '1', '--no-breakdown']],
  ['search', ['--n', '1000', '--q', '10', '--repeats', '1']],
  ['metrics', ['--n', '300', '--q', '30', '--real-q', '10', '--repeats', '1']],
]);

test('bench --json: a path that cannot be written stops before anything is measured, naming --json and the fix', () => {
  const photo = join(dir, 'photo.jpg');
  writeFileSync(photo, 'a file, not a folder');
  for (const [name, small] of BENCHES) {
    const under = node([`bench/${name}.js`, ...small, '--json', join(photo, 'x.json')]);
    oneError(under, /--json .*photo\.jpg is a file, not a folder: choose another --json/);
    assert.is(under.stdout, '', `${name}: nothing measured`);
    const folder = node([`bench/${name}.js`, ...small, '--json', dir]);
    oneError(folder, new RegExp(`--json ${dir} is a folder: name a file, e\\.g\\. --json ${dir}/${name}\\.json`));
    assert.is(folder.stdout, '', `${name}: nothing measured`);
  }
});

test('bench --peer FILE: a missing file, or one without this benchmark\'s part, stops before anything is measured', () => {
  const search = join(dir, 'peer-search.json');
  writeFileSync(search, JSON.stringify({ search: { engine: 'FAISS', config: { n: 1000, q: 10, bits: 64, k: 100 }, ms: 5, qps: 2000 } }));
  for (const name of ['kernels', 'step', 'search']) {
    const missing = node([`bench/${name}.js`, ...BENCHES.get(name), '--peer', join(dir, 'nofile.json')]);
    oneError(missing, /--peer .*nofile\.json: no such file; pass a JSON report of bench\/peers\/peers\.py, or --peer alone to run it here/);
    assert.is(missing.stdout, '', `${name}: nothing measured`);
  }
  const other = node(['bench/step.js', ...BENCHES.get('step'), '--peer', search]);
  oneError(other, /--peer .*peer-search\.json: no "step" in it \(bench\/peers\/peers\.py step writes them\)/);
  assert.is(other.stdout, '');
});

test.run();
