// safetensors I/O: exact byte layout, round trips, and corrupt/truncated files rejected with errors naming the file.
// The pure-TS part runs without the engine; the model save/load part uses a tiny module on the GPU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tq from '../dist/index.js';
import { rand } from './util.js';

const { nn } = tq;
const dir = mkdtempSync(join(tmpdir(), 'tqhash-st-'));

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await tq.gpu.disposeRuntime();
});

test('byte layout matches a hand-built file', () => {
  const bytes = nn.encodeSafetensors({ a: { shape: [2], data: new Float32Array([1.5, -2]) } }, { k: 'v' });
  let json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  while ((8 + json.length) % 8) json += ' ';
  const want = [];
  const n = json.length;
  for (let i = 0; i < 8; i++) want.push(i < 4 ? (n >>> (8 * i)) & 255 : 0);
  for (const c of json) want.push(c.charCodeAt(0));
  want.push(0x00, 0x00, 0xc0, 0x3f); // 1.5f little-endian
  want.push(0x00, 0x00, 0x00, 0xc0); // -2f
  assert.equal(Array.from(bytes), want);
});

test('round trip: several dtypes, shapes, empty tensor, metadata', () => {
  const t = {
    'features.0.weight': { shape: [3, 2, 5, 5], data: Float32Array.from(rand(150, 3)) },
    'features.0.bias': { shape: [3], data: Float32Array.from(rand(3, 4)) },
    scalar: { shape: [], data: new Float32Array([7.25]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
    d: { shape: [2, 2], data: Float64Array.from(rand(4, 5)) },
    i: { shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
    u: { shape: [1, 3], data: new Uint32Array([0, 1, 4294967295]) },
    b: { shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
  };
  const path = join(dir, 'rt.safetensors');
  nn.writeSafetensors(path, t, { step: '12', note: 'ünïcode ✓' });
  const back = nn.readSafetensors(path);
  assert.equal({ ...back.metadata }, { step: '12', note: 'ünïcode ✓' });
  assert.equal(Object.keys(back.tensors), Object.keys(t));
  for (const [name, v] of Object.entries(t)) {
    const r = back.tensors[name];
    assert.equal(r.shape, v.shape, name);
    assert.is(r.data.constructor, v.data.constructor, name);
    assert.equal(Array.from(r.data), Array.from(v.data), name);
  }
  // No temporary file is left next to the result (atomic write: temp + fsync + rename).
  assert.equal(readdirSync(dir).filter((f) => f.includes('rt')), ['rt.safetensors']);
});

test('corrupt and truncated files are rejected with the file named', () => {
  const good = nn.encodeSafetensors({ w: { shape: [2, 3], data: Float32Array.from(rand(6, 9)) }, b: { shape: [2], data: new Float32Array([1, 2]) } });
  const cases = [
    ['tiny', good.subarray(0, 5), /shorter than the 8-byte header length/],
    ['cut-header', good.subarray(0, 20), /header length \d+ bytes but the file has only/],
    ['cut-data', good.subarray(0, good.length - 3), /truncated/],
    ['trailing', Buffer.concat([good, Buffer.from([1, 2, 3, 4])]), /4 bytes after the last tensor/],
    ['huge-length', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(1n << 40n); return b; })(), /exceeds the limit of 8388608 bytes \(8 MiB/],
    ['not-json', (() => { const b = Buffer.from(good); b[8] = 0x41; return b; })(), /header is not UTF-8 JSON/],
    ['bad-dtype', Buffer.from(good.toString('latin1').replace('"F32"', '"X32"'), 'latin1'), /dtype "X32"/],
    ['bad-span', Buffer.from(good.toString('latin1').replace('[0,24]', '[0,20]'), 'latin1'), /needs 24 bytes, data_offsets span 20/],
  ];
  for (const [name, bytes, re] of cases) {
    const path = join(dir, `${name}.safetensors`);
    writeFileSync(path, bytes);
    assert.throws(() => nn.readSafetensors(path), (e) => e.message.includes(path) && re.test(e.message), name);
  }
  assert.throws(() => nn.readSafetensors(join(dir, 'nope.safetensors')), /nope\.safetensors: cannot open the safetensors file \(no such file\)/);
  // Writer-side validation.
  assert.throws(() => nn.encodeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } }), /holds 4 values, data has 3/);
  assert.throws(() => nn.encodeSafetensors({}, { n: 3 }), /metadata "n" must be a string/);
});

class Tiny extends nn.Module {
  constructor(k) {
    super();
    this.w = this.addParameter('weight', [4, k], { kind: 'const', value: 0 });
    this.rm = this.addBuffer('running_mean', [4], { kind: 'const', value: 0 });
  }
  forward(x) { return x; }
}
class Outer extends nn.Module {
  constructor(k) {
    super();
    this.addModule('features', new Tiny(k));
    this.b = this.addParameter('bias', [4], { kind: 'const', value: 0 });
  }
  forward(x) { return x; }
}

test('saveModel / loadModel: round trip, PyTorch names, shape mismatch named', async () => {
  const m = new Outer(3);
  const names = m.namedState().map(([n]) => n);
  assert.equal(names, ['bias', 'features.weight', 'features.running_mean']);
  // PyTorch's order: a module's own tensors, then its children's.
  assert.equal(m.namedParameters().map(([n]) => n), ['bias', 'features.weight']);
  const vals = {};
  for (const [n, t] of m.namedState()) {
    vals[n] = Float32Array.from(rand(t.size, n.length));
    tq.runtime().write(t.buffer, vals[n]);
  }
  const path = join(dir, 'model.safetensors');
  await nn.saveModel(m, path, { bits: '48' });
  const m2 = new Outer(3);
  const meta = nn.loadModel(m2, path);
  assert.equal({ ...meta }, { format: 'pt', bits: '48' });
  for (const [n, t] of m2.namedState()) assert.equal(Array.from(await t.toArray()), Array.from(vals[n]), n);

  const other = new Outer(5);
  assert.throws(() => nn.loadModel(other, path), (e) => e.message.includes(path) && e.message.includes('features.weight: file has [4, 3], model has [4, 5]'));
  // A file missing a tensor, and one with an extra tensor.
  const f = nn.readSafetensors(path);
  const { bias, ...noBias } = f.tensors;
  nn.writeSafetensors(join(dir, 'missing.safetensors'), noBias);
  assert.throws(() => nn.loadModel(m2, join(dir, 'missing.safetensors')), /missing\.safetensors[\s\S]*bias: missing from the file/);
  nn.writeSafetensors(join(dir, 'extra.safetensors'), { ...f.tensors, 'head.weight': bias });
  assert.throws(() => nn.loadModel(m2, join(dir, 'extra.safetensors')), /no tensor named "head\.weight"/);
  // The failed loads left m2 untouched.
  assert.equal(Array.from(await m2.b.toArray()), Array.from(vals.bias));
  m.dispose(); m2.dispose(); other.dispose();
});

test.run();
