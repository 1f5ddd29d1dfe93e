// The engine on the least adapter WebGPU allows at feature level core: 8 storage buffers per stage, 256 invocations
// and 16 KiB of shared memory per workgroup (TQHASH_LIMITS=default opens the device so). The adapters measured offer
// more (llvmpipe 16 storage buffers, the H200 16, 1,024 invocations), which let a kernel grow past the spec's floor
// unnoticed: the GPU ranking's last pass bound 10 storage buffers until 2026-12-02.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';
import { hash } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'tqhash-limits-'));
const SPEC_STORAGE_BUFFERS = 8;

test('every entry point of shaders/ binds at most 8 storage buffers (the spec default per stage)', () => {
  const files = readdirSync(join(root, 'shaders')).filter((f) => f.endsWith('.wgsl'));
  assert.ok(files.length >= 10, files.join(' '));
  const over = [];
  let entries = 0;
  for (const f of files) {
    const r = new WgslReflect(readFileSync(join(root, 'shaders', f), 'utf8'));
    for (const e of r.entry.compute) {
      entries++;
      const storage = e.resources.filter((x) => x.resourceType === ResourceType.Storage);
      if (storage.length > SPEC_STORAGE_BUFFERS) over.push(`${f}:${e.name} binds ${storage.length}: ${storage.map((x) => x.name).join(', ')}`);
    }
  }
  assert.ok(entries >= 50, `${entries} entry points reflected`);
  assert.equal(over, []);
});

test('TQHASH_LIMITS: default lowers the requested limits (its tuning key: test/knobs.test.js); another value is one error line', () => {
  const run = (value, args) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TQHASH_LIMITS: value } });
  const r = run('default', ['bench/info.js']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /maxStorageBuffersPerShaderStage\s+8\s/);
  assert.match(r.stdout, /TQHASH_LIMITS=default/, 'the flags line names it');
  const bad = run('low', ['bench/info.js']);
  assert.is(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^error: TQHASH_LIMITS=low: use default \(WebGPU's core default limits/);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('the kernel tests nearest the limits pass again at them (hamming, rank, tql), each a child process', () => {
  for (const file of ['hamming.test.js', 'rank.test.js', 'tql.test.js']) {
    const r = spawnSync(process.execPath, [join(root, 'test', file)], { cwd: root, encoding: 'utf8', timeout: 600_000, env: { ...process.env, TQHASH_LIMITS: 'default' } });
    assert.is(r.status, 0, `${file} at TQHASH_LIMITS=default:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /Passed:\s+[1-9]/, file);
  }
});

// One child per preset: a tiny training run (forward, backward, the triplet quantization loss, optimiser, quick
// validation), its evaluation (with the gpu preset the rankings run on the GPU) and a search, all at the spec's
// limits. The software preset is the one a CPU adapter takes; the gpu preset's kernels are the ones a GPU takes.
const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 9, learnable: true });
for (const preset of ['software', 'gpu']) {
  test(`train → eval → search at TQHASH_LIMITS=default, ${preset} preset`, () => {
    const env = { ...process.env, TQHASH_LIMITS: 'default', TQHASH_PRESET: preset, TQHASH_KNOBS: '', TQHASH_AUTOTUNE: '0' };
    const tqhash = (...args) => spawnSync(process.execPath, [join(root, 'bin/tqhash.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 600_000, env });
    const out = join(dir, preset);
    const t = tqhash('train', 'cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16',
      '--batch', '40', '--epochs', '1', '--train-limit', '160', '--eval-limit', '60', '--val-queries', '20', '--val-db', '60', '--quiet', '--out', out);
    assert.is(t.status, 0, t.stderr);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const lim = r.adapter.limits;
    assert.ok(lim.maxStorageBuffersPerShaderStage.requested <= SPEC_STORAGE_BUFFERS, JSON.stringify(lim.maxStorageBuffersPerShaderStage));
    assert.ok(lim.maxComputeInvocationsPerWorkgroup.requested <= 256, JSON.stringify(lim.maxComputeInvocationsPerWorkgroup));
    assert.ok(lim.maxComputeWorkgroupStorageSize.requested <= 16384, JSON.stringify(lim.maxComputeWorkgroupStorageSize));
    assert.ok(r.binary.map > 0 && r.binary.map <= 1 && r.real.map > 0 && r.real.map <= 1, `mAP ${r.binary.map} / ${r.real.map}`);
    const e = tqhash('eval', out, '--quiet');
    assert.is(e.status, 0, e.stderr);
    const ev = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    assert.ok(Math.abs(ev.binary.map - r.binary.map) < 1e-9, `eval ${ev.binary.map} vs the trainer's ${r.binary.map}`);
    if (preset === 'gpu') assert.match(ev.real.protocol, /on the GPU/);
    const q = hash.CodeDB.load(join(out, 'query.codes'));
    const s = tqhash('search', out, '--query', String(q.ids[0]), '--k', '5');
    assert.is(s.status, 0, s.stderr);
    assert.is(s.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d/.test(l)).length, 5, s.stdout);
  });
}

test.run();
