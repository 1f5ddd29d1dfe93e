// Parameter init: the Philox normal stream, Kaiming/Xavier statistics, constants, determinism for a seed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';

const { nn, cpu } = tq;

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

// A module with a conv-shaped weight, a linear-shaped weight, a bias and a BN-style buffer.
class Net extends nn.Module {
  constructor(scheme = 'kaiming') {
    super();
    this.conv = this.addParameter('conv', [64, 32, 5, 5], { kind: 'weight', fanIn: 32 * 25, fanOut: 64 * 25, scheme });
    this.fc = this.addParameter('fc', [500, 1024], { kind: 'weight', fanIn: 1024, fanOut: 500, scheme });
    this.bias = this.addParameter('bias', [33], { kind: 'const', value: 0 });
    this.var = this.addBuffer('running_var', [33], { kind: 'const', value: 1 });
  }
  forward(x) { return x; }
}

function stats(a) {
  let s = 0, s2 = 0, in1 = 0;
  for (const v of a) s += v;
  const mean = s / a.length;
  for (const v of a) s2 += (v - mean) ** 2;
  const std = Math.sqrt(s2 / a.length);
  for (const v of a) if (Math.abs(v - mean) <= std) in1++;
  return { mean, std, in1: in1 / a.length };
}

test('Generator: the Philox normal stream, bit-exact with cpu.philoxNormal, advancing by whole blocks', () => {
  const g = new nn.Generator(12345);
  const a = g.normal(7); // takes 8 (two blocks)
  const b = g.normal(1001);
  assert.equal(Array.from(a), Array.from(cpu.philoxNormal(12345, 0, 7)));
  assert.equal(Array.from(b), Array.from(cpu.philoxNormal(12345, 8, 1001)));
  assert.is(g.offset, 8 + 1004);
  assert.throws(() => new nn.Generator(-1), /seed must be an integer/);
});

test('Kaiming-normal (fan_in, gain √2) and Xavier-normal statistics; constants exact', async () => {
  const t0 = performance.now();
  const m = new Net();
  nn.initParameters(m, { seed: 3 });
  const ms = performance.now() - t0;
  // Tolerances: the sample std of n normals has relative standard error 1/√(2n) (0.31 % for the conv's 51,200, 0.1 %
  // for the fc's 512,000); 2 % is > 6 σ. The mean gets 6 standard errors (6·std/√n). The fraction within one std of a
  // normal is 0.6827, standard error √(p(1−p)/n) ≤ 0.2 %: ±1 % checks the shape, not only the scale.
  for (const [t, fanIn] of [[m.conv, 800], [m.fc, 1024]]) {
    const want = Math.sqrt(2 / fanIn);
    const s = stats(await t.toArray());
    assert.ok(Math.abs(s.std / want - 1) < 0.02, `${t.name}: std ${s.std}, want ${want}`);
    assert.ok(Math.abs(s.mean) < (6 * want) / Math.sqrt(t.size), `${t.name}: mean ${s.mean}`);
    assert.ok(Math.abs(s.in1 - 0.6827) < 0.01, `${t.name}: ${s.in1} within one std`);
  }
  assert.ok((await m.bias.toArray()).every((v) => v === 0));
  assert.ok((await m.var.toArray()).every((v) => v === 1));

  const x = new Net('xavier');
  nn.initParameters(x, { seed: 3 });
  const sx = stats(await x.fc.toArray());
  const want = Math.sqrt(2 / (1024 + 500));
  assert.ok(Math.abs(sx.std / want - 1) < 0.02, `xavier fc: std ${sx.std}, want ${want}`);
  // The scheme option overrides each weight's own.
  nn.initParameters(x, { seed: 3, scheme: 'kaiming' });
  assert.equal(Array.from(await x.fc.toArray()), Array.from(await m.fc.toArray()));
  console.log(`  init of ${(m.parameterCount() / 1e6).toFixed(2)} M parameters: ${ms.toFixed(0)} ms`);
  m.dispose();
  x.dispose();
});

test('determinism: a seed gives the same values (draws in state-dict order, exactly the Philox stream); another seed differs', async () => {
  const a = new Net(), b = new Net();
  nn.initParameters(a, { seed: 42 });
  nn.initParameters(b, { seed: 42 });
  for (const [[n, ta], [, tb]] of a.namedState().map((e, i) => [e, b.namedState()[i]])) {
    assert.equal(Array.from(await ta.toArray()), Array.from(await tb.toArray()), n);
  }
  // conv draws the first 51,200 numbers, fc the next 512,000; each is the float32 normal times the float64 std, rounded to float32.
  const z = cpu.philoxNormal(42, 51200, 16);
  const fc = (await a.fc.toArray()).slice(0, 16);
  assert.equal(Array.from(fc), Array.from(z, (v) => Math.fround(v * Math.sqrt(2 / 1024))));
  nn.initParameters(b, { seed: 43 });
  const c = await b.conv.toArray(), d = await a.conv.toArray();
  assert.ok(c.some((v, i) => v !== d[i]));
  a.dispose();
  b.dispose();
});

test.run();
