// Locating CIFAR-10 and downloading it: a local HTTP server on 127.0.0.1 serves a small fake archive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data } from '../dist/index.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const root = mkdtempSync(join(tmpdir(), 'tqhash-dl-'));
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const PER = 40;
const syn = writeSyntheticCifar(join(root, 'src'), { perFile: PER, tarGz: true, seed: 8 });
const archive = readFileSync(syn.path);
const md5 = createHash('md5').update(archive).digest('hex');

let server;
let base;
test.before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      // Several writes so progress is reported more than once.
      for (let i = 0; i < archive.length; i += 16384) res.write(archive.subarray(i, i + 16384));
      res.end();
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 5000), () => res.destroy());
    } else {
      res.writeHead(404).end('no');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
test.after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
});

async function rejects(fn, code, ...patterns) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err && data.isDataError(err), `expected DataError(${code}), got ${err && err.stack}`);
  assert.is(err.code, code, err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

test('download: md5 checked, progress reported, atomic rename, no temp file left', async () => {
  const dir = fresh();
  const progress = [];
  const path = await data.downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, md5, destDir: dir, onProgress: (d, t) => progress.push([d, t]) });
  assert.is(path, join(dir, 'cifar-10-binary.tar.gz'));
  assert.ok(readFileSync(path).equals(archive));
  assert.equal(readdirSync(dir), ['cifar-10-binary.tar.gz']);
  assert.ok(progress.length > 1, 'progress called more than once');
  assert.equal(progress.at(-1), [archive.length, archive.length]);
  assert.ok(progress.every((p, i) => i === 0 || p[0] > progress[i - 1][0]), 'bytes done increase');
});

test('download: md5 mismatch → named error, temp file removed, nothing installed', async () => {
  const dir = fresh();
  await rejects(() => data.downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, md5: '0'.repeat(32), destDir: dir }), 'checksum', new RegExp(`has md5 ${md5}, expected 0{32}`), /discarded/);
  assert.equal(readdirSync(dir), []);
  // The default md5 is the official archive's.
  await rejects(() => data.downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, destDir: dir }), 'checksum', /expected c32a1d4ab5d03f1284b67883e8d87530/);
  assert.equal(readdirSync(dir), []);
});

test('download: connection refused, HTTP 404, connection cut mid-body, failing fetcher → network errors', async () => {
  const dir = fresh();
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  await rejects(() => data.downloadCifar10({ url: `http://127.0.0.1:${deadPort}/x.tar.gz`, md5, destDir: dir }), 'network', /could not download/, /ECONNREFUSED/);
  await rejects(() => data.downloadCifar10({ url: `${base}/missing`, md5, destDir: dir }), 'network', /HTTP 404/);
  await rejects(() => data.downloadCifar10({ url: `${base}/cut`, md5, destDir: dir }), 'network', /could not download .*\/cut after \d+ bytes|stopped at \d+ of/);
  const fetcher = async () => {
    throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } });
  };
  await rejects(() => data.downloadCifar10({ url: 'https://example.invalid/a.tgz', fetcher, destDir: dir }), 'network', /ENOTFOUND/);
  assert.equal(readdirSync(dir), [], 'no temp files left');
});

test('loadCifar10: nothing found, no network → says where to put the archive (the exact folders searched)', async () => {
  const a = fresh();
  const b = fresh();
  const closed = `http://127.0.0.1:1/cifar-10-binary.tar.gz`;
  await rejects(() => data.loadCifar10({ env: {}, searchDirs: [a, b], url: closed, checksums: false }), 'network', new RegExp(`one of: ${a}, ${b}`), /--data PATH/, /CIFAR10_DIR/);
  await rejects(() => data.loadCifar10({ env: {}, searchDirs: [a, b], download: false }), 'missing', new RegExp(`one of: ${a}, ${b}`));
});

test('loadCifar10: downloads into the first search folder, then reads it', async () => {
  const a = fresh();
  const ds = await data.loadCifar10({ env: {}, searchDirs: [a], url: `${base}/cifar-10-binary.tar.gz`, md5, checksums: syn.checksums, recordsPerFile: PER });
  assert.ok(existsSync(join(a, 'cifar-10-binary.tar.gz')));
  assert.ok(Buffer.from(ds.test.images).equals(Buffer.from(syn.expected.test.images)));
  // Second call finds it: no server needed.
  const again = await data.loadCifar10({ env: {}, searchDirs: [a], url: 'http://127.0.0.1:1/x', checksums: syn.checksums, recordsPerFile: PER });
  assert.is(again.source, join(a, 'cifar-10-binary.tar.gz'));
});

test('locate: --data, then CIFAR10_DIR, then search folders (extracted folder before archive); bad paths are errors', () => {
  const a = fresh();
  const b = fresh();
  const folder = writeSyntheticCifar(b, { perFile: 10 }).path;
  writeSyntheticCifar(b, { perFile: 10, tarGz: true });
  assert.equal(data.locateCifar10({ env: {}, searchDirs: [a, b] }), { path: folder, from: 'search' });
  assert.equal(data.locateCifar10({ env: { CIFAR10_DIR: a }, searchDirs: [b] }), { path: a, from: 'CIFAR10_DIR' });
  assert.equal(data.locateCifar10({ data: syn.path, env: { CIFAR10_DIR: a }, searchDirs: [b] }), { path: syn.path, from: '--data' });
  assert.is(data.locateCifar10({ env: {}, searchDirs: [a] }), null);
  assert.throws(() => data.locateCifar10({ data: join(a, 'nope.tar.gz'), env: {} }), (e) => e.code === 'missing' && /--data .*nope\.tar\.gz: no such file/.test(e.message));
  assert.throws(() => data.locateCifar10({ env: { CIFAR10_DIR: join(a, 'x') } }), (e) => e.code === 'missing' && /CIFAR10_DIR/.test(e.message));
  // The defaults: <repo>/data and <repo>/../shared/data.
  const dirs = data.defaultSearchDirs();
  assert.is(dirs.length, 2);
  assert.match(dirs[0], /[/\\]data$/);
  assert.match(dirs[1], /[/\\]shared[/\\]data$/);
  assert.ok(existsSync(join(dirs[0], 'CIFAR10.sha256')), 'repo data/ folder holds the checksum list');
});

test.run();
