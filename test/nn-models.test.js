// dshNet: structure (names, shapes, pool sizes 32 → 16 → 8 → 4), forward and backward vs the float64 CPU composition,
// eval mode, checkpoint round trip through safetensors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';
import { cpuForward, readState } from './nn-ref.js';

const { nn, Tensor } = tq;
const dir = mkdtempSync(join(tmpdir(), 'tqhash-models-'));

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await tq.gpu.disposeRuntime();
});

test('dshNet: PyTorch names and shapes, parameter count', () => {
  const m = nn.dshNet({ bits: 48, batchNorm: true });
  const shapes = Object.fromEntries(m.namedState().map(([n, t]) => [n, t.shape]));
  assert.equal(shapes['features.0.weight'], [32, 3, 5, 5]);
  assert.equal(shapes['features.1.running_var'], [32]);
  assert.equal(shapes['features.4.weight'], [32, 32, 5, 5]);
  assert.equal(shapes['features.8.weight'], [64, 32, 5, 5]);
  assert.equal(shapes['hash.0.weight'], [500, 1024]);
  assert.equal(shapes['hash.2.weight'], [48, 500]);
  assert.equal(shapes['hash.2.bias'], [48]);
  // convs 2,400 + 25,600 + 51,200 (no bias before BN); BN 2·(32 + 32 + 64); linears 512,500 + 24,048.
  assert.is(m.parameterCount(), 2400 + 25600 + 51200 + 256 + 512500 + 24048);
  assert.not.ok(shapes['features.0.bias']);
  const plain = nn.dshNet({ bits: 12 });
  assert.equal(plain.namedParameters().map(([n]) => n), [
    'features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight', 'features.6.bias',
    'hash.0.weight', 'hash.0.bias', 'hash.2.weight', 'hash.2.bias',
  ]);
  assert.throws(() => nn.dshNet({ bits: 0 }), /bits must be a positive integer/);
  m.dispose();
  plain.dispose();
});

async function againstFloat64(batchNorm) {
  const m = nn.dshNet({ bits: 12, batchNorm, seed: 9 });
  const shape = [2, 3, 32, 32];
  const xs = rand(2 * 3 * 1024, 31);
  const c = rand(2 * 12, 32);
  const x = Tensor.from(Float32Array.from(xs), shape);
  const P = await readState(m);
  const ref = cpuForward(m, P, xs, shape);
  assert.equal(ref.shape, [2, 12]);
  const y = tq.scope(() => {
    const y = m.forward(x);
    tq.backward(y, Tensor.from(Float32Array.from(c), y.shape));
    return y;
  });
  assert.equal(y.shape, [2, 12]);
  // Bounds: f32 sums of up to 1,024 products per output (through 3 BN layers when present); measured worst ≈ 1e-6
  // relative per tensor, bound 1e-5.
  let worst = assertClose(await y.toArray(), ref.y, 1e-5, 'dshNet forward');
  const { grads } = ref.backward(c);
  for (const [n, t] of m.namedParameters()) worst = Math.max(worst, assertClose(await t.grad.toArray(), grads.get(n), 1e-5, `gradient of ${n}`));
  for (const [n, v] of ref.running) worst = Math.max(worst, assertClose(await m.namedState().find(([k]) => k === n)[1].toArray(), v, 1e-5, `${n} after one step`));
  if (batchNorm) {
    // Eval: the running statistics (updated once above) normalise, as in the float64 eval forward.
    m.eval();
    const P2 = await readState(m);
    const e = tq.noGrad(() => m.forward(x));
    worst = Math.max(worst, assertClose(await e.toArray(), cpuForward(m, P2, xs, shape, false).y, 1e-5, 'dshNet eval forward'));
    e.dispose();
  }
  console.log(`  dshNet${batchNorm ? ' + BN' : ''}: worst relative error (output, ${m.namedParameters().length} gradients${batchNorm ? ', running stats, eval output' : ''}) ${worst.toExponential(2)}`);
  assert.throws(() => m.forward(Tensor.empty([2, 3, 28, 28])), /must be \[N, 3, 32, 32\]/);
  m.dispose();
  x.dispose();
  y.dispose();
}

test('dshNet forward and backward (batch 2; convs and linear fused with ReLU) vs float64', async () => {
  await againstFloat64(false);
});

test('dshNet + BN forward and backward (batch 2), running stats, eval mode vs float64', async () => {
  await againstFloat64(true);
});

for (const bn of [false, true]) test(`fused Conv2d/Linear${bn ? '/BatchNorm2d' : ''} + ReLU equals the unfused layers (forward and gradients)`, async () => {
  const m = nn.dshNet({ bits: 12, seed: 4, batchNorm: bn });
  const x = Tensor.from(Float32Array.from(rand(2 * 3 * 1024, 51)), [2, 3, 32, 32]);
  const c = Tensor.from(Float32Array.from(rand(24, 52)), [2, 12]);
  const run = async (fuse) => {
    for (const [, s] of m.namedModules()) if (s instanceof nn.Sequential) s.fuse = fuse;
    m.zeroGrad();
    const y = tq.scope(() => {
      const y = m.forward(x);
      tq.backward(y, c);
      return y;
    });
    const out = [await y.toArray(), ...(await Promise.all(m.parameters().map((p) => p.grad.toArray())))];
    y.dispose();
    return out;
  };
  const fused = await run(true), plain = await run(false);
  // Same arithmetic up to where the activation is applied: 1e-6.
  fused.forEach((a, i) => assertClose(a, plain[i], 1e-6, i ? `gradient ${m.namedParameters()[i - 1][0]}` : 'output'));
  m.dispose();
  x.dispose();
  c.dispose();
});

test('resnet (ResNet-8, width 4, + a 1×1-conv shortcut per stage change): names, forward and gradients vs float64', async () => {
  const m = nn.resnet({ bits: 6, width: 4, seed: 3 });
  const names = m.namedState().map(([n]) => n);
  assert.ok(names.includes('blocks.1.shortcut.0.weight') && names.includes('blocks.0.main.3.weight') && !names.includes('blocks.0.shortcut.0.weight'));
  assert.equal(m.namedState().find(([n]) => n === 'hash.weight')[1].shape, [6, 16]);
  const shape = [2, 3, 32, 32];
  const xs = rand(2 * 3 * 1024, 61), c = rand(12, 62);
  const x = Tensor.from(Float32Array.from(xs), shape);
  const P = await readState(m);
  const ref = cpuForward(m, P, xs, shape);
  const y = tq.scope(() => {
    const y = m.forward(x);
    tq.backward(y, Tensor.from(Float32Array.from(c), y.shape));
    return y;
  });
  // 9 BN layers (some over only 2·8·8 = 128 values per channel) and residual sums: measured worst 4.6e-6 relative per
  // tensor, bound 5e-5.
  let worst = assertClose(await y.toArray(), ref.y, 5e-5, 'resnet forward');
  const { grads } = ref.backward(c);
  for (const [n, t] of m.namedParameters()) worst = Math.max(worst, assertClose(await t.grad.toArray(), grads.get(n), 5e-5, `gradient of ${n}`));
  console.log(`  resnet-8 (width 4): worst relative error (output, ${m.namedParameters().length} gradients) ${worst.toExponential(2)}`);
  m.dispose();
  x.dispose();
  y.dispose();
});

test('checkpoint: save, load into a fresh model, same outputs; a 12-bit file does not load into a 48-bit model', async () => {
  const a = nn.dshNet({ bits: 12, batchNorm: true, seed: 1 }).eval();
  const b = nn.dshNet({ bits: 12, batchNorm: true, seed: 2 }).eval();
  const path = join(dir, 'dsh12.safetensors');
  await nn.saveModel(a, path, { bits: '12', seed: '1' });
  assert.equal({ ...nn.loadModel(b, path) }, { format: 'pt', bits: '12', seed: '1' }); // a null-prototype record
  const x = Tensor.from(Float32Array.from(rand(3 * 3 * 1024, 41)), [3, 3, 32, 32]);
  const ya = await tq.noGrad(() => a.forward(x)).toArray();
  const yb = await tq.noGrad(() => b.forward(x)).toArray();
  assert.equal(Array.from(yb), Array.from(ya));
  const c = nn.dshNet({ bits: 48, batchNorm: true });
  assert.throws(() => nn.loadModel(c, path), (e) => e.message.includes(path) && e.message.includes('hash.2.weight: file has [12, 500], model has [48, 500]'));
  a.dispose(); b.dispose(); c.dispose();
});

test.run();
