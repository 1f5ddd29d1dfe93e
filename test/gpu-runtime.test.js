import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gpu } from '../dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('adapter is found and reported', async () => {
  const rt = await gpu.getRuntime();
  assert.ok(rt.info.name.length > 0, 'adapter name');
  assert.ok(['core', 'compatibility'].includes(rt.info.featureLevel));
  const text = gpu.formatAdapterInfo(rt.info);
  assert.match(text, /adapter\s+\S/);
  assert.match(text, /maxStorageBufferBindingSize/);
  // A software adapter must say so in the block.
  if (rt.info.software) assert.match(text, /SOFTWARE\s+yes/);
  // The engine asked for the adapter's own limits, not the defaults (TQHASH_LIMITS=default: the lower of the two).
  const atDefaults = process.env.TQHASH_LIMITS === 'default';
  for (const [name, l] of Object.entries(rt.info.limits)) assert.is(l.requested, atDefaults ? Math.min(l.adapter, l.default) : l.adapter, name);
});

test('a trivial kernel result is read back exactly', async () => {
  const rt = await gpu.getRuntime();
  const n = 1000;
  const x = new Float32Array(n).map((_, i) => (i % 7) - 3.25);
  const xb = rt.upload(x);
  const yb = rt.alloc(n * 4);
  rt.write(yb, new Float32Array(n).fill(NaN));
  rt.dispatch({ file: 'util.wgsl', entry: 'scale_copy' }, { bindings: { x: xb, y: yb }, params: { n, value: 2 }, workgroups: Math.ceil(n / 64) });
  const y = await rt.readF32(yb);
  for (let i = 0; i < n; i++) assert.is(y[i], x[i] * 2, `y[${i}]`);
  rt.free(xb);
  rt.free(yb);
});

test('paced read-backs, one step late as the trainer reads its loss: each holds its own submit\'s values', async () => {
  const rt = await gpu.getRuntime();
  const n = 4096;
  const xb = rt.upload(new Float32Array(n).map((_, i) => i));
  const ys = [rt.alloc(n * 4), rt.alloc(n * 4)];
  let prev, got = [];
  // Step k writes x·k into one of two buffers and reads it back later; the timer sleep before Dawn's wait (pace) must
  // not let a read-back see another step's submit.
  for (let k = 1; k <= 12; k++) {
    const y = ys[k % 2];
    rt.dispatch({ file: 'util.wgsl', entry: 'scale_copy' }, { bindings: { x: xb, y }, params: { n, value: k }, workgroups: Math.ceil(n / 64) });
    const next = rt.readLater(y, n * 4, 'test-step').then((b) => [k, new Float32Array(b)]);
    if (prev) got.push(await prev);
    prev = next;
  }
  got.push(await prev);
  assert.equal(got.map(([k]) => k), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  for (const [k, y] of got) for (const i of [0, 1, 777, n - 1]) assert.is(y[i], i * k, `step ${k}, y[${i}]`);
  rt.free(xb);
  for (const y of ys) rt.free(y);
});

test('params a dispatch does not name are 0; the ring slot reused after a full struct holds no stale value', async () => {
  const rt = await gpu.getRuntime();
  const n = 64;
  const xb = rt.upload(new Float32Array(n).fill(3));
  const yb = rt.alloc(n * 4);
  rt.dispatch({ file: 'util.wgsl', entry: 'scale_copy' }, { bindings: { x: xb, y: yb }, params: { n, value: 2 }, workgroups: 1 });
  assert.is((await rt.readF32(yb))[5], 6);
  rt.dispatch({ file: 'util.wgsl', entry: 'scale_copy' }, { bindings: { x: xb, y: yb }, params: { n }, workgroups: 1 });
  const y = await rt.readF32(yb);
  for (let i = 0; i < n; i++) assert.is(y[i], 0, `y[${i}] = x · value with value not named`);
  rt.free(xb);
  rt.free(yb);
});

test('1,000 dispatches in one submit run in order', async () => {
  const rt = await gpu.getRuntime();
  const n = 37;
  const yb = rt.alloc(n * 4);
  const submits = rt.counters.submits;
  rt.dispatch({ file: 'util.wgsl', entry: 'fill' }, { bindings: { y: yb }, params: { n, value: 0.5 }, workgroups: 1 });
  for (let i = 0; i < 1000; i++) rt.dispatch({ file: 'util.wgsl', entry: 'add_scalar' }, { bindings: { y: yb }, params: { n, value: i % 2 ? 1 : -0.5 }, workgroups: 1 });
  const y = await rt.readF32(yb);
  assert.is(rt.counters.submits - submits, 1, 'one submit');
  for (let i = 0; i < n; i++) assert.is(y[i], 0.5 + 500 * 1 - 500 * 0.5);
  rt.free(yb);
});

test('a WGSL syntax error yields file:line:column', async () => {
  const rt = await gpu.getRuntime();
  rt.kernels.registerSource('broken.wgsl', '@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  y[0] = 1.0 +;\n}\n');
  let err;
  try {
    await rt.compile({ file: 'broken.wgsl', entry: 'main' });
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'compile must throw');
  assert.is(err.name, 'KernelError');
  assert.match(err.message, /broken\.wgsl:4:\d+/);
});

test('a wrong binding yields a named error', async () => {
  const rt = await gpu.getRuntime();
  const b = rt.alloc(64);
  const k = { file: 'util.wgsl', entry: 'scale_copy' };
  assert.throws(() => rt.dispatch(k, { bindings: { y: b }, params: { n: 1, value: 1 }, workgroups: 1 }), /scale_copy.*binding "x".*missing/);
  assert.throws(() => rt.dispatch(k, { bindings: { x: b, y: b, z: b }, params: { n: 1, value: 1 }, workgroups: 1 }), /binding "z" does not exist/);
  assert.throws(() => rt.dispatch(k, { bindings: { x: b, y: b }, params: { n: 1, value: 1 }, workgroups: 1 }), /share a buffer/);
  const c = rt.alloc(64);
  assert.throws(() => rt.dispatch(k, { bindings: { x: b, y: c }, params: { n: 1, valeu: 1 }, workgroups: 1 }), /params\.valeu is not a field of .*fields: n, value/);
  assert.throws(() => rt.dispatch(k, { bindings: { x: b, y: c }, params: { n: -1, value: 1 }, workgroups: 1 }), /params\.n = -1 is not a u32/);
  assert.throws(() => rt.dispatch(k, { bindings: { x: b, y: c }, params: { n: 1, value: 1 }, workgroups: 1e6 }), /workgroups in one dimension/);
  rt.free(b);
  rt.free(c);
});

// Buffers read through textures (DispatchArgs.texels): one row or less, a row and a part, whole rows only; two
// dispatches of one submit that share the texture (each copies its buffer in first), the outputs poisoned.
test('texels: a buffer read through a texture holds its values at every size, in submit order', async () => {
  const rt = await gpu.getRuntime();
  const R = gpu.TEXEL_ROW;
  rt.kernels.registerSource('texels-test.wgsl', `@group(0) @binding(0) var src4t: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<f32>>;
struct P { n: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn copy(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { y4[g.x] = textureLoad(src4t, vec2u(g.x % ${R}u, g.x / ${R}u), 0); }
}`);
  const k = { file: 'texels-test.wgsl', entry: 'copy' };
  for (const n of [3, R, R + 5, 2 * R, 3 * R - 1]) {
    const a = Float32Array.from({ length: 4 * n }, (_, i) => i * 0.5 - n), b = a.map((v) => -3 * v + 1);
    const ab = rt.upload(a), bb = rt.upload(b), ya = rt.alloc(16 * n), yb = rt.alloc(16 * n);
    rt.write(ya, new Float32Array(4 * n).fill(NaN));
    rt.write(yb, new Float32Array(4 * n).fill(NaN));
    rt.dispatch(k, { bindings: { y4: ya }, texels: { src4t: ab }, params: { n }, workgroups: Math.ceil(n / 64) });
    rt.dispatch(k, { bindings: { y4: yb }, texels: { src4t: bb }, params: { n }, workgroups: Math.ceil(n / 64) });
    const [ga, gb] = [await rt.readF32(ya), await rt.readF32(yb)];
    for (let i = 0; i < 4 * n; i++) {
      if (ga[i] !== a[i]) assert.unreachable(`${n} vec4, first dispatch: [${i}] = ${ga[i]}, expected ${a[i]}`);
      if (gb[i] !== b[i]) assert.unreachable(`${n} vec4, second dispatch: [${i}] = ${gb[i]}, expected ${b[i]}`);
    }
    for (const x of [ab, bb, ya, yb]) rt.free(x);
  }
  const y = rt.alloc(64), x = rt.alloc(64), odd = rt.alloc(36);
  assert.throws(() => rt.dispatch(k, { bindings: { y4: y }, params: { n: 1 }, workgroups: 1 }), /texture binding "src4t" is missing/);
  assert.throws(() => rt.dispatch(k, { bindings: { y4: y }, texels: { src4t: x, other: x }, params: { n: 1 }, workgroups: 1 }), /texture binding "other" does not exist/);
  assert.throws(() => rt.dispatch(k, { bindings: { y4: y }, texels: { src4t: odd }, params: { n: 1 }, workgroups: 1 }), /multiples of 16/);
  assert.ok(rt.texelsFit(16 * R * rt.limits.maxTextureDimension2D) && !rt.texelsFit(16 * R * rt.limits.maxTextureDimension2D + 16), 'texelsFit: rows up to the largest 2D texture');
  for (const b of [y, x, odd]) rt.free(b);
});

test('the pool reuses a released buffer and counts bytes', async () => {
  const rt = await gpu.getRuntime();
  const before = rt.pool.report();
  const a = rt.alloc(3000);
  const mid = rt.pool.report();
  assert.is(mid.inUseBytes - before.inUseBytes, gpu.sizeClass(3000));
  rt.free(a);
  const b = rt.alloc(2900); // same size class
  assert.is(b.buffer, a.buffer, 'same GPUBuffer reused');
  const after = rt.pool.report();
  assert.is(after.allocations, mid.allocations, 'no new allocation');
  assert.ok(after.peakInUseBytes >= mid.inUseBytes);
  rt.free(b);
  assert.throws(() => rt.free(b), /released twice/);
});

test('a script using the runtime exits by itself', () => {
  const script = `import { gpu } from ${JSON.stringify(root + 'dist/index.js')};
const rt = await gpu.getRuntime(); const b = rt.upload(new Float32Array([1,2,3]));
const y = await rt.readF32(b); console.log('read', y.join(','));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60000, encoding: 'utf8' });
  assert.is(r.signal, null, `killed by ${r.signal}: the process did not exit`);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /read 1,2,3/);
});

test.after(async () => {
  await gpu.disposeRuntime();
});

test('Mesa variables: EGL_PLATFORM when unset, a shader cache per llvmpipe vector width, the user\'s own kept', () => {
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h' }), { EGL_PLATFORM: 'surfaceless' });
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', EGL_PLATFORM: 'x11' }), {});
  // Mesa 22.3's cache key omits LP_NATIVE_VECTOR_WIDTH: each width gets its own directory.
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', EGL_PLATFORM: 'x11', LP_NATIVE_VECTOR_WIDTH: '512' }), { MESA_SHADER_CACHE_DIR: '/h/.cache/mesa_shader_cache-lp512' });
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', XDG_CACHE_HOME: '/c', EGL_PLATFORM: 'x11', LP_NATIVE_VECTOR_WIDTH: '256' }).MESA_SHADER_CACHE_DIR, '/c/mesa_shader_cache-lp256');
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', EGL_PLATFORM: 'x11', LP_NATIVE_VECTOR_WIDTH: '../512' }).MESA_SHADER_CACHE_DIR, '/h/.cache/mesa_shader_cache-lp512');
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', EGL_PLATFORM: 'x11', LP_NATIVE_VECTOR_WIDTH: '512', MESA_SHADER_CACHE_DIR: '/mine' }), {});
  assert.equal(gpu.mesaEnvDefaults({ HOME: '/h', EGL_PLATFORM: 'x11', LP_NATIVE_VECTOR_WIDTH: '512', MESA_SHADER_CACHE_DISABLE: 'true' }), {});
});

test.run();
