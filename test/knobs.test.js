// The knob registry (src/gpu/knobs.ts) and autotune (src/gpu/autotune.ts): overrides parse or fail with one line
// naming the knob, presets follow the adapter class, autotune keeps the faster candidate and caches it per key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpu, ops, init } from '../dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tqhash-knobs-'));
let saved;

test.before(async () => {
  await init();
  saved = gpu.snapshotKnobs();
});
test.after.each(() => gpu.restoreKnobs(saved));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The message of what fn throws (fails when it does not throw). */
function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e.message;
  }
  assert.unreachable('should have thrown');
}

test('overrides parse to typed values', () => {
  const p = gpu.parseKnobOverrides(' conv.WGX=16, gemm.variant=regblock ,norm.vec4=false,conv.DW_CO_B=4,conv.variant=rb');
  assert.equal(p, { 'conv.WGX': 16, 'gemm.variant': 'regblock', 'norm.vec4': false, 'conv.DW_CO_B': 4, 'conv.variant': 'rb' });
  assert.equal(gpu.parseKnobOverrides(''), {});
});

test('bad overrides fail with one line naming the knob and what it takes', () => {
  const cases = [
    ['conv.WGY=16', /unknown knob 'conv\.WGY'; knobs: conv\.variant, conv\.WGX/],
    ['conv.WGX=abc', /conv\.WGX=abc is not allowed; conv\.WGX takes an integer in 1\.\.1024/],
    ['conv.WGX=0', /conv\.WGX=0 is not allowed/],
    ['gemm.TM=5', /gemm\.TM takes 4 \| 8 \| 12 \| 16/],
    ['gemm.variant=fast', /gemm\.variant takes naive \| tiled \| regblock \| unrolled/],
    ['hamming.CH=100', /a multiple of 64/],
    ['conv.WGX', /'conv\.WGX' is not name=value/],
    ['__proto__=1', /unknown knob '__proto__'/],
  ];
  for (const [text, re] of cases) {
    const msg = thrown(() => gpu.parseKnobOverrides(text));
    assert.match(msg, /^TQHASH_KNOBS: /, text);
    assert.match(msg, re, text);
    assert.not.match(msg, /\n/, `${text}: one line`);
  }
});

test('presets are chosen by adapter class; GEMM is the knob that differs', () => {
  assert.is(gpu.adapterClass({ software: true }), 'software');
  assert.is(gpu.adapterClass({ software: false }), 'gpu');
  const sw = gpu.presetKnobs('software'), hw = gpu.presetKnobs('gpu');
  assert.equal(Object.keys(sw), gpu.KNOB_NAMES);
  // llvmpipe values as measured before the registry (no behaviour change).
  assert.equal([sw['conv.variant'], sw['conv.WGX'], sw['conv.DW_INVOCATIONS'], sw['conv.DW_CO_B']], ['unrolled', 8, 1024, 'auto']);
  assert.equal([sw['gemm.variant'], sw['gemm.TM'], sw['gemm.TN'], sw['gemm.WX'], sw['gemm.WY']], ['unrolled', 16, 16, 8, 2]);
  assert.equal([sw['hamming.CH'], sw['hamming.BLK'], sw['hamming.WX']], [4096, 128, 8]);
  assert.equal([hw['gemm.variant'], hw['gemm.TM'], hw['gemm.WX']], ['regblock', 4, 16]);
  // Measured on llvmpipe only (2026-12-01): a GPU keeps one input channel per backward-weights invocation and the scalar loss kernels.
  assert.equal([sw['conv.DW_CI_B'], sw['tql.variant'], hw['conv.DW_CI_B'], hw['tql.variant']], ['auto', 'blocked', 1, 'scalar']);
  gpu.selectKnobs('gpu');
  assert.is(gpu.knob('gemm.variant'), 'regblock');
  assert.is(gpu.knobClass(), 'gpu');
});

test('the runtime selected the preset of its own adapter class, and the header says so', () => {
  gpu.restoreKnobs(saved);
  return gpu.getRuntime().then((rt) => {
    const cls = gpu.presetClass(rt.info); // the adapter's class unless TQHASH_PRESET names one
    assert.is(cls, process.env.TQHASH_PRESET || gpu.adapterClass(rt.info));
    assert.is(gpu.knobClass(), cls);
    assert.match(gpu.formatAdapterInfo(rt.info), new RegExp(`knobs\\s+${cls} preset`));
    assert.match(gpu.formatAdapterInfo(rt.info), /conv\.WGX=\d+/);
  });
});

test('layers: overrides win over autotuned values, which win over the preset; the header names what changed', () => {
  gpu.selectKnobs('software', { tuned: { 'conv.WGX': 16, 'gemm.TM': 4 }, tunedFrom: 'cache.json', overrides: { 'conv.WGX': 32 } });
  assert.is(gpu.knob('conv.WGX'), 32);
  assert.is(gpu.knob('gemm.TM'), 4);
  assert.is(gpu.knob('gemm.TN'), 16);
  const text = gpu.formatKnobs();
  assert.match(text, /conv\.WGX \(TQHASH_KNOBS\)/);
  assert.match(text, /gemm\.TM \(autotune\)/);
  assert.match(text, /autotune cache cache\.json/);
  assert.not.match(text, /gemm\.TN \(/);
});

test('setKnobs checks, returns the previous values; the op modules\' holders are views of the registry', () => {
  assert.match(thrown(() => gpu.setKnobs({ 'conv.WGX': 2.5 })), /setKnobs: conv\.WGX = 2\.5 must be an integer/);
  assert.match(thrown(() => gpu.setKnobs({ 'conv.nope': 1 })), /unknown knob 'conv\.nope'/);
  const prev = gpu.setKnobs({ 'conv.DW_CO_B': 8, 'hamming.CH': 8192 });
  assert.equal(prev, { 'conv.DW_CO_B': saved.values.get('conv.DW_CO_B'), 'hamming.CH': saved.values.get('hamming.CH') });
  assert.is(ops.CONV_KNOBS.DW_CO_B, 8);
  assert.is(ops.HAMMING_KNOBS.CH, 8192);
  const k = (n) => gpu.knob(`hamming.${n}`);
  assert.equal({ ...ops.HAMMING_KNOBS }, { variant: k('variant'), CH: 8192, BLK: k('BLK'), WX: k('WX'), QV: k('QV'), MBLK: k('MBLK'), thresh: k('thresh') });
  ops.POOL_KNOBS.maxBackward = 'gather';
  assert.is(gpu.knob('pool.maxBackward'), 'gather');
  assert.throws(() => { ops.NORM_KNOBS.vec4 = 'yes'; }, /norm\.vec4 = "yes" must be true or false/);
  ops.setElementwiseVariant('scalar');
  assert.is(gpu.knob('elementwise.variant'), 'scalar');
  gpu.setKnobs(prev);
  assert.is(ops.CONV_KNOBS.DW_CO_B, saved.values.get('conv.DW_CO_B'));
});

/** A task whose stub timer reads the knob set by the candidate: regblock 1 ms, unrolled 2 ms. */
function stubTask(calls) {
  return {
    name: 'gemm (stub)',
    candidates: [
      { label: 'unrolled', knobs: { 'gemm.variant': 'unrolled', 'gemm.TM': 8 } },
      { label: 'regblock 4', knobs: { 'gemm.variant': 'regblock', 'gemm.TM': 4 } },
    ],
    run: async () => {
      calls.push(gpu.knob('gemm.variant'));
      return gpu.knob('gemm.variant') === 'regblock' ? 1 : 2;
    },
  };
}

test('autotune keeps the faster candidate, caches it per key, and the cache is used without timing', async () => {
  const file = join(dir, 'a', 'autotune.json');
  gpu.selectKnobs('software');
  const calls = [];
  const r = await gpu.autotune([stubTask(calls)], { key: 'adapter A', cacheFile: file, rounds: 2, log: () => {} });
  // One untimed run each, then two rounds, the second in rotated order.
  assert.equal(calls, ['unrolled', 'regblock', 'unrolled', 'regblock', 'regblock', 'unrolled']);
  assert.is(r.cached, false);
  assert.equal(r.knobs, { 'gemm.variant': 'regblock', 'gemm.TM': 4 });
  assert.is(gpu.knob('gemm.variant'), 'regblock');
  assert.is(gpu.knob('gemm.TM'), 4);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  assert.is(j.format, 'tqhash-autotune 1');
  assert.equal(j.entries['adapter A'].knobs, { 'gemm.variant': 'regblock', 'gemm.TM': 4 });
  assert.equal(j.entries['adapter A'].tasks[0].ms, { unrolled: 2, 'regblock 4': 1 });

  gpu.selectKnobs('software');
  const again = [];
  const r2 = await gpu.autotune([stubTask(again)], { key: 'adapter A', cacheFile: file, log: () => {} });
  assert.equal(again, [], 'nothing timed on a cache hit');
  assert.is(r2.cached, true);
  assert.is(gpu.knob('gemm.variant'), 'regblock');

  // Another adapter gets its own entry; the first stays.
  gpu.selectKnobs('software');
  await gpu.autotune([stubTask([])], { key: 'adapter B', cacheFile: file, log: () => {} });
  assert.equal(Object.keys(JSON.parse(readFileSync(file, 'utf8')).entries).sort(), ['adapter A', 'adapter B']);
});

test('autotune writes its cache after each task: a run stopped part-way keeps its winners and the next one resumes', async () => {
  const file = join(dir, 'resume.json');
  gpu.selectKnobs('software');
  const first = stubTask([]);
  const stopped = { ...stubTask([]), name: 'second (stub)', run: async () => { throw new Error('stopped (a time limit)'); } };
  let err;
  try {
    await gpu.autotune([first, stopped], { key: 'k', cacheFile: file, rounds: 1, log: () => {} });
  } catch (e) {
    err = e;
  }
  assert.match(err?.message ?? 'resolved', /stopped \(a time limit\)/);
  const part = gpu.readTuneCache(file, 'k');
  assert.is(part.partial, true);
  assert.equal(part.tasks.map((t) => t.name), ['gemm (stub)']);
  assert.equal(part.knobs, { 'gemm.variant': 'regblock', 'gemm.TM': 4 });

  // The next run sets the cached winners and times only the task left.
  gpu.selectKnobs('software');
  const again = [], logs = [];
  const second = { ...stubTask(again), name: 'second (stub)' };
  const r = await gpu.autotune([stubTask([]), second], { key: 'k', cacheFile: file, rounds: 1, log: (s) => logs.push(s) });
  assert.equal(again, ['unrolled', 'regblock', 'unrolled', 'regblock'], 'the second task only: one untimed run each, one round');
  assert.match(logs[0], /resuming a run stopped part-way .*: 1 task\(s\) cached, 1 to time/);
  assert.is(r.partial, undefined);
  assert.equal(r.tasks.map((t) => t.name), ['gemm (stub)', 'second (stub)']);
  const whole = gpu.readTuneCache(file, 'k');
  assert.is(whole.partial, undefined, 'complete now');
  assert.equal(whole.tasks.length, 2);
  // Complete: a cache hit, nothing timed.
  const none = [];
  assert.is((await gpu.autotune([stubTask(none), { ...stubTask(none), name: 'second (stub)' }], { key: 'k', cacheFile: file, log: () => {} })).cached, true);
  assert.equal(none, []);
});

test('TQHASH_AUTOTUNE=cached sets the cached winners, a part-way run\'s too, and times nothing; other values stop with one line', () => {
  const cache = mkdtempSync(join(dir, 'xdg-'));
  const code = `const t = await import('./dist/index.js'); await t.init();
    const r = await t.ops.autotuneIfAsked(() => {});
    console.log(JSON.stringify({ key: t.gpu.tuneKey(t.runtime().info), TM: t.gpu.knob('gemm.TM'), tuned: r !== undefined }));
    await t.gpu.disposeRuntime();`;
  const child = (at) => {
    const env = { ...process.env, XDG_CACHE_HOME: cache, TQHASH_KNOBS: '' };
    delete env.TQHASH_AUTOTUNE;
    if (at !== undefined) env.TQHASH_AUTOTUNE = at;
    return spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  };
  const plain = child(undefined);
  assert.is(plain.status, 0, plain.stderr);
  const { key, TM } = JSON.parse(plain.stdout.trim().split('\n').pop());
  const other = TM === 8 ? 12 : 8;
  const file = join(cache, 'tqhash', 'autotune.json');
  mkdirSync(join(cache, 'tqhash'), { recursive: true });
  const text = JSON.stringify({ format: 'tqhash-autotune 1', entries: { [key]: { date: 'x', knobs: { 'gemm.TM': other }, tasks: [{ name: 'gemm', winner: `TM ${other}`, ms: {} }], partial: true } } });
  writeFileSync(file, text);
  const r = child('cached');
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.is(out.TM, other, 'the part-way winner is in force');
  assert.is(out.tuned, false, 'nothing timed');
  assert.is(readFileSync(file, 'utf8'), text, 'the cache left as it was');
  const bad = spawnSync(process.execPath, ['bench/info.js'], { cwd: root, env: { ...process.env, TQHASH_AUTOTUNE: 'yes' }, encoding: 'utf8', timeout: 60_000 });
  assert.is(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^error: TQHASH_AUTOTUNE=yes: use 1 .*, cached .* or 0/);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('autotune interleaves its timings: a machine slowing down during the task does not pick whichever ran first', async () => {
  // regblock is faster by 0.2 ms, but every run takes 0.5 ms longer than the one before (a host getting busier, a
  // clock ramping down). Timed one candidate after the other, unrolled (first) would win with a median of 2.2 ms
  // against 4.0; interleaved, both see the drift and the faster one wins.
  gpu.selectKnobs('software');
  let n = 0;
  const task = {
    ...stubTask([]),
    run: async () => (gpu.knob('gemm.variant') === 'regblock' ? 1 : 1.2) + 0.5 * n++,
  };
  const r = await gpu.autotune([task], { key: 'drift', cacheFile: join(dir, 'drift.json'), force: true, log: () => {} });
  assert.is(n, 2 + 2 * 3, 'one untimed run each, then 3 rounds by default');
  assert.is(r.tasks[0].winner, 'regblock 4');
  assert.is(gpu.knob('gemm.variant'), 'regblock');
});

test('autotune keeps the setting in force unless another candidate is 5 % faster', async () => {
  const race = (other) => ({
    name: 'gemm variant (stub)',
    candidates: [
      { label: 'regblock', knobs: { 'gemm.variant': 'regblock' } },
      { label: 'unrolled', knobs: { 'gemm.variant': 'unrolled' } }, // the software preset's
    ],
    run: async () => (gpu.knob('gemm.variant') === 'unrolled' ? 1 : other),
  });
  for (const [other, winner] of [[0.97, 'unrolled'], [0.9, 'regblock']]) {
    gpu.selectKnobs('software');
    assert.is(gpu.knob('gemm.variant'), 'unrolled');
    const r = await gpu.autotune([race(other)], { key: `margin ${other}`, cacheFile: join(dir, 'margin.json'), log: () => {} });
    assert.is(r.tasks[0].winner, winner, `regblock at ${other} ms against 1`);
    assert.is(gpu.knob('gemm.variant'), winner);
  }
});

test('autotune leaves TQHASH_KNOBS overrides alone and skips tasks that ask to be skipped', async () => {
  const file = join(dir, 'b.json');
  gpu.selectKnobs('software', { overrides: { 'gemm.variant': 'unrolled' } });
  const calls = [];
  const skipped = { ...stubTask([]), name: 'skipped', skip: () => 'not needed', run: async () => assert.unreachable('skipped task timed') };
  const r = await gpu.autotune([stubTask(calls), skipped], { key: 'k', cacheFile: file, rounds: 1, log: () => {} });
  assert.equal(calls, ['unrolled', 'unrolled'], 'the candidate contradicting the override is not timed');
  assert.is(gpu.knob('gemm.variant'), 'unrolled');
  assert.match(gpu.formatKnobs(), /knobs\s+software preset/);
  assert.equal(r.tasks.map((t) => t.name), ['gemm (stub)']);
});

test('a cache file that is not one is an error naming it; an entry with a stale knob is ignored', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"hello": 1}');
  assert.match(thrown(() => gpu.readTuneCache(bad, 'k')), /bad\.json: not a "tqhash-autotune 1" file; delete it to retune/);
  const stale = join(dir, 'stale.json');
  writeFileSync(stale, JSON.stringify({ format: 'tqhash-autotune 1', entries: { k: { date: 'x', knobs: { 'gemm.gone': 1 }, tasks: [] } } }));
  const err = console.error;
  console.error = () => {};
  try {
    assert.is(gpu.readTuneCache(stale, 'k'), undefined);
  } finally {
    console.error = err;
  }
});

test('TQHASH_KNOBS reaches the report header; a mistake stops the program with its one-line message', () => {
  const env = (v) => ({ ...process.env, TQHASH_KNOBS: v });
  const ok = spawnSync(process.execPath, ['bench/info.js'], { cwd: root, env: env('conv.WGX=16'), encoding: 'utf8', timeout: 60_000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /changed: conv\.WGX \(TQHASH_KNOBS\)/);
  assert.match(ok.stdout, /conv\.WGX=16/);
  assert.match(ok.stdout, new RegExp(`^cpu +.+ × ${cpus().length}( \\(.+\\))?$`, 'm'), 'the adapter block names the CPU');
  const bad = spawnSync(process.execPath, ['bench/info.js'], { cwd: root, env: env('conv.WGX=sixteen'), encoding: 'utf8', timeout: 60_000 });
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /TQHASH_KNOBS: conv\.WGX=sixteen is not allowed; conv\.WGX takes an integer in 1\.\.1024/);
});

test('TQHASH_PRESET starts from the named preset whatever the adapter and refuses other names', () => {
  const run = (preset) => spawnSync(process.execPath, ['bench/info.js'], { cwd: root, env: { ...process.env, TQHASH_PRESET: preset, TQHASH_KNOBS: '' }, encoding: 'utf8', timeout: 60_000 });
  for (const cls of ['gpu', 'software']) {
    const r = run(cls);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`knobs\\s+${cls} preset`));
    assert.match(r.stdout, new RegExp(`gemm\\.variant=${gpu.presetKnobs(cls)['gemm.variant']} `));
    assert.match(r.stdout, new RegExp(`TQHASH_PRESET=${cls}`), 'the flags line names it');
  }
  const bad = run('fast');
  assert.is(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^error: TQHASH_PRESET=fast is not a knob preset: use software or gpu/);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
});

// The tuning key of one adapter in a child process with these TQHASH_* flags and no others of its kind (flags are
// read once per process).
function tuneKeyWith(set) {
  const info = { name: 'llvmpipe', backend: 'opengles', featureLevel: 'compatibility', webgpuPackage: '0.6.2', software: true };
  const code = `import('./dist/index.js').then((t) => console.log(t.gpu.tuneKey(${JSON.stringify(info)})))`;
  const env = { ...process.env };
  delete env.TQHASH_PRESET;
  delete env.TQHASH_LIMITS;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, env: { ...env, ...set }, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('a forced preset (TQHASH_PRESET) and the default limits (TQHASH_LIMITS=default) each tune under a key of their own', () => {
  const own = tuneKeyWith({});
  assert.not.match(own, / · (preset|limits) /);
  for (const [set, part] of [[{ TQHASH_PRESET: 'gpu' }, ' · preset gpu'], [{ TQHASH_LIMITS: 'default' }, ' · limits default']]) {
    const key = tuneKeyWith(set);
    assert.ok(key.includes(`${part} · `), key);
    assert.is(key.replace(part, ''), own, 'the same key otherwise');
  }
});

test('the tuning key names the CPU for a software adapter only (llvmpipe has one name on every host)', () => {
  const info = { name: 'llvmpipe', backend: 'opengles', featureLevel: 'compatibility', webgpuPackage: '0.6.2' };
  const model = cpus()[0].model.trim().replace(/\s+/g, ' ');
  const sw = gpu.tuneKey({ ...info, software: true });
  assert.ok(sw.includes(`· CPU ${model} × ${cpus().length}`), sw);
  assert.not.match(gpu.tuneKey({ ...info, name: 'NVIDIA H200', software: false }), /CPU/);
  // The driver tunes apart: llvmpipe keeps its name from Mesa 22.3 to 25, its machine code does not.
  const mesa = (v) => gpu.tuneKey({ ...info, software: true, description: `OpenGL version OpenGL ES 3.2 Mesa ${v}` });
  assert.is.not(mesa('22.3.6'), mesa('25.0.7'));
  assert.ok(mesa('22.3.6').startsWith('llvmpipe [OpenGL version OpenGL ES 3.2 Mesa 22.3.6] (opengles'), mesa('22.3.6'));
  assert.is(gpu.tuneKey({ ...info, software: true, description: 'llvmpipe' }), sw, 'a description equal to the name adds nothing');
  const saved = process.env.LP_NUM_THREADS;
  process.env.LP_NUM_THREADS = '1';
  try {
    assert.is.not(gpu.tuneKey({ ...info, software: true }), sw, 'one llvmpipe thread tunes apart from all of them');
  } finally {
    if (saved === undefined) delete process.env.LP_NUM_THREADS;
    else process.env.LP_NUM_THREADS = saved;
  }
});

test.run();
