// The demo's parts that need no browser: the browser bundle holds no Node-only module, SwiftShader's fallback adapter
// gets the software knob preset, the static server stays inside its folder, and `tqhash demo` mistakes are one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu, web, cli, hash, nn } from '../dist/index.js';
import { quietly } from './util.js';

test('the browser bundle has the navigator.gpu adapter and none of Dawn, the worker threads or file-reading adapter code', () => {
  const bundle = readFileSync(new URL('../dist/web/tqhash-web.js', import.meta.url), 'utf8');
  const modules = [...bundle.matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]);
  for (const m of ['src/web/adapter.ts', 'src/web/engine.ts', 'src/gpu/runtime.ts', 'src/ops/conv.ts', 'src/ops/hamming.ts', 'tqhash-shaders:shaders']) assert.ok(modules.includes(m), `bundle has ${m}`);
  for (const m of modules) assert.not.match(m, /src\/gpu\/adapter\.ts|native-stderr|rank-|node_modules\/webgpu|src\/data\/(tar|cifar10|jpeg)|src\/train\/(run|main)/, `bundle must not hold ${m}`);
  // Node modules reach the bundle only as empty stand-ins; a new one is a new Node dependency of the page to review.
  const empty = modules.filter((m) => m.startsWith('tqhash-empty:')).map((m) => m.slice(13)).sort();
  assert.equal(empty, ['node:child_process', 'node:fs', 'node:os', 'node:path', 'node:url']);
  assert.ok(bundle.includes('@compute'), 'shaders are inlined as text');
});

test('SwiftShader (fallback adapter) and the CPU rasterizers are software adapters; a GPU is not', () => {
  const info = (o) => ({ vendor: '', architecture: '', device: '', description: '', ...o });
  assert.ok(gpu.softwareReason(info({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true })));
  assert.ok(gpu.softwareReason(info({ vendor: 'google', description: 'Google SwiftShader' })));
  assert.ok(gpu.softwareReason(info({ vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' })));
  assert.is(gpu.softwareReason(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })), undefined);
  assert.is(gpu.adapterClass({ software: gpu.softwareReason(info({ architecture: 'swiftshader', isFallbackAdapter: true })) !== undefined }), 'software');
});

test('the demo server serves the folder and nothing outside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tqhash-serve-'));
  writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
  const { server, url } = await web.serveSite(dir, 0);
  try {
    const home = await fetch(url);
    assert.is(home.status, 200);
    assert.is(await home.text(), '<p>hi</p>');
    assert.match(home.headers.get('content-type'), /text\/html/);
    for (const p of ['missing.js', '..%2F..%2Fetc%2Fpasswd', '%2e%2e/%2e%2e/etc/passwd']) assert.is((await fetch(url + p)).status, 404, p);
  } finally {
    server.close();
  }
});

test('tqhash demo: mistakes are one line and exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tqhash-demo-cli-'));
  for (const [argv, msg] of [
    [[], /RUN folder missing/],
    [[dir], /not a tqhash training run folder|no such file/],
    [[join(dir, 'nope')], /no such folder/],
    [[dir, '--port', '9000'], /--port needs --serve/],
  ]) {
    const { code, errs } = await quietly(() => cli.run('demo', argv));
    assert.is(code, 2, `${argv.join(' ')}: ${errs}`);
    assert.is(errs.split('\n').length, 1, errs);
    assert.match(errs, /^error: /);
    assert.match(errs, msg);
  }
});

/** A finished 16-bit run folder as far as `tqhash demo` reads it before the data: checkpoint/state.json, the model
 *  (a valid safetensors file unless `model` is given) and the two code files. No data set is needed to reach --out. */
const fakeRuns = [];
test.after(() => fakeRuns.forEach((d) => rmSync(d, { recursive: true, force: true })));
function fakeRun(model) {
  const run = mkdtempSync(join(tmpdir(), 'tqhash-demo-run-'));
  fakeRuns.push(run);
  mkdirSync(join(run, 'checkpoint'));
  const config = { dataset: 'cifar10', data: join(run, 'no-data.tar.gz'), bits: 16, model: 'dsh', bn: true, seed: 1, epochs: 1, out: run };
  writeFileSync(join(run, 'checkpoint', 'state.json'), JSON.stringify({
    version: 1, epoch: 1, step: 0, globalStep: 1, config, lossHistory: [], epochLog: [], trainSeconds: 0, imagesSeen: 0,
    files: { model: 'model-1.safetensors', optimizer: 'optimizer-1.safetensors' }, savedAt: '2025-01-01T00:00:00Z',
  }));
  writeFileSync(join(run, 'model.safetensors'), model ?? nn.encodeSafetensors({ w: { shape: [4, 100], data: new Float32Array(400) } }));
  for (const [name, ids] of [['db.codes', [0, 1, 2]], ['query.codes', [3]]]) {
    const db = new hash.CodeDB(16);
    db.add(new Uint32Array(ids.length), ids.map(() => 0), ids);
    db.save(join(run, name));
  }
  return run;
}

/** Asserts exit code 2 and exactly one stderr line `error: …` matching `re`. */
async function oneError(argv, re) {
  const { code, errs } = await quietly(() => cli.run('demo', argv));
  assert.is(code, 2, `${argv.join(' ')}: exit ${code}: ${errs}`);
  assert.is(errs.split('\n').length, 1, errs);
  assert.match(errs, re);
}

test('tqhash demo: a truncated model.safetensors is one line naming it, exit 2, and no site is written', async () => {
  const whole = nn.encodeSafetensors({ w: { shape: [4, 100], data: new Float32Array(400) } });
  const run = fakeRun(whole.subarray(0, whole.length - 100));
  await oneError([run], new RegExp(`^error: ${join(run, 'model.safetensors')}: not a valid safetensors file: tensor "w" F32 \\[4, 100\\] needs 1600 bytes, more than the file's 1500`));
  assert.not.ok(existsSync(join(run, 'demo')), 'no site folder for a damaged run');
});

test('tqhash demo: --out on a file, or under one, names --out and the fix before the data is read', async () => {
  const run = fakeRun();
  const photo = join(run, 'photo.jpg');
  writeFileSync(photo, 'not a folder');
  await oneError([run, '--out', photo], new RegExp(`^error: --out ${photo} is a file, not a folder: choose another --out, or move the file away$`));
  await oneError([run, '--out', join(photo, 'x')], new RegExp(`^error: cannot write --out ${join(photo, 'x')} \\(ENOTDIR\\): a file stands where a folder is needed`));
});

test("tqhash demo: a folder holding the user's own index.html is not written over; an earlier site's folder is", async () => {
  const run = fakeRun();
  const mine = join(run, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'index.html'), 'my page');
  await oneError([run, '--out', mine], /mine already holds index\.html, not a site tqhash demo wrote: the site would write over them; choose another --out, or move them away/);
  assert.is(readFileSync(join(mine, 'index.html'), 'utf8'), 'my page');
  // A site.json of ours marks the folder as a site: the check passes and the demo goes on to the data (absent here).
  writeFileSync(join(mine, 'site.json'), JSON.stringify({ tag: 't', side: 32, queries: {} }));
  await oneError([run, '--out', mine], /no-data\.tar\.gz/);
});

test.run();
