// The demo's parts that need no browser: the browser bundle holds no Node-only module, SwiftShader's fallback adapter
// gets the software knob preset, the static server stays inside its folder, and `tqhash demo` mistakes are one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpu, web, cli } from '../dist/index.js';
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

test.run();
