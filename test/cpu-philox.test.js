// Philox4x32-10 reference: Random123 known answers, the 32×32 → high-32 multiply, the documented stream mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpu } from '../dist/index.js';

const hex = (a) => [...a].map((v) => v.toString(16).padStart(8, '0'));

test('Philox4x32-10 matches Random123 known-answer vectors (kat_vectors)', () => {
  assert.equal(hex(cpu.philox4x32([0, 0, 0, 0], [0, 0])), ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  assert.equal(hex(cpu.philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])), ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  // The third Random123 vector: counter and key from the hex digits of π.
  assert.equal(hex(cpu.philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])), ['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
});

test('mulhi32 equals the high word of the exact 64-bit product', () => {
  const cases = [[0, 0], [1, 1], [0xffffffff, 0xffffffff], [0xd2511f53, 0xffffffff], [0xcd9e8d57, 0x12345678], [0x80000000, 2], [0xffff, 0x10001]];
  let s = 12345;
  for (let i = 0; i < 200; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; const a = s; s = (Math.imul(s, 1103515245) + 12345) >>> 0; cases.push([a, s]); }
  for (const [a, b] of cases) assert.is(cpu.mulhi32(a, b), Number((BigInt(a) * BigInt(b)) >> 32n), `${a} × ${b}`);
});

test('philoxUniform: documented mapping, offsets, range', () => {
  const u = cpu.philoxUniform(7, 0, 11);
  assert.ok(u instanceof Float32Array);
  for (let e = 0; e < 11; e++) {
    const r = cpu.philox4x32([Math.floor(e / 4), 0, 0, 0], [7, 0]);
    assert.is(u[e], (r[e % 4] >>> 8) / 2 ** 24, `element ${e}`);
  }
  // seed 0, offset 0 → block of counter 0, key 0: 0x6627e8d5 >>> 8 = 0x6627e8.
  assert.is(cpu.philoxUniform(0, 0, 1)[0], 0x6627e8 / 2 ** 24);
  assert.equal([...cpu.philoxUniform(7, 5, 6)], [...u.subarray(5, 11)], 'offset continues the stream');
  // Seeds above 2³² go to the second key word; block indices above 2³² to the second counter word.
  const big = cpu.philoxUniform(2 ** 32 + 3, 4 * 2 ** 32 + 2, 1)[0];
  assert.is(big, (cpu.philox4x32([0, 1, 0, 0], [3, 1])[2] >>> 8) / 2 ** 24);
  const many = cpu.philoxUniform(1, 0, 20000);
  let sum = 0, sq = 0;
  for (const v of many) { assert.ok(v >= 0 && v < 1); sum += v; sq += v * v; }
  const mean = sum / many.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(sq / many.length - mean * mean - 1 / 12) < 0.005, 'variance ≈ 1/12');
  assert.not.equal([...cpu.philoxUniform(2, 0, 4)], [...cpu.philoxUniform(1, 0, 4)], 'seeds differ');
});

test('philoxNormal: Box–Muller on stream 1 as documented; moments', () => {
  const z = cpu.philoxNormal(9, 2, 6); // elements 2..7: the second pair of block 0, both pairs of block 1
  for (let i = 0; i < 6; i++) {
    const e = 2 + i, lane = e % 4, q = lane >> 1;
    const r = cpu.philox4x32([Math.floor(e / 4), 0, 1, 0], [9, 0]);
    const u1 = ((r[2 * q] >>> 8) + 1) / 2 ** 24, u2 = (r[2 * q + 1] >>> 8) / 2 ** 24;
    const rad = Math.sqrt(-2 * Math.log(u1)), th = 2 * Math.PI * u2;
    assert.is(z[i], Math.fround(lane % 2 ? rad * Math.sin(th) : rad * Math.cos(th)), `element ${e}`);
  }
  const many = cpu.philoxNormal(3, 0, 40000);
  let sum = 0, sq = 0;
  for (const v of many) { assert.ok(Number.isFinite(v)); sum += v; sq += v * v; }
  assert.ok(Math.abs(sum / many.length) < 0.02, `mean ${sum / many.length}`);
  assert.ok(Math.abs(sq / many.length - 1) < 0.03, `variance ${sq / many.length}`);
  assert.throws(() => cpu.philoxNormal(-1, 0, 1), /seed/);
});

test.run();
