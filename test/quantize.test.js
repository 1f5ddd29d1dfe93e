// Sign quantisation with bit packing: exact against the CPU packing convention (bit i → word i>>5, bit i&31; 1 iff f ≥ 0).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand } from './util.js';

const { Tensor, ops, scope } = tq;

test.before(async () => { await tq.init(); });
test.after(async () => { await tq.gpu.disposeRuntime(); });

// The CPU packing (src/cpu/codes.ts signPack, exported as hash.signPackCpu; the same convention written out where it is not).
function cpuPack(f, n, k) {
  if (tq.hash.signPackCpu) return tq.hash.signPackCpu(f, n, k);
  const W = Math.ceil(k / 32), out = new Uint32Array(n * W);
  for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) if (f[r * k + i] >= 0) out[r * W + (i >> 5)] |= (1 << (i & 31)) >>> 0;
  return out;
}

test('signPack is exact at k = 12, 24, 32, 48, 64, 128 and odd k, with 0, −0, tiny and huge values', async () => {
  for (const k of [1, 12, 24, 31, 32, 33, 48, 64, 100, 128]) {
    for (const n of [1, 7, 129]) {
      const f = Float32Array.from(rand(n * k, n * 1000 + k));
      // Exact zeros of both signs, denormal-sized and huge values, and NaN (which packs as 0: NaN ≥ 0 is false).
      const specials = [0, -0, 1e-40, -1e-40, 3e38, -3e38, Number.MIN_VALUE, -Number.MIN_VALUE];
      for (let i = 0; i < f.length; i += 5) f[i] = specials[(i / 5) % specials.length];
      const codes = scope(() => { tq.setPoison(true); try { return ops.signPack(Tensor.from(f, [n, k])); } finally { tq.setPoison(false); } });
      assert.equal([...codes.shape], [n, Math.ceil(k / 32)]);
      const got = await codes.toArray();
      codes.dispose();
      const want = cpuPack(f, n, k);
      for (let i = 0; i < want.length; i++) {
        if (got[i] !== want[i]) assert.unreachable(`k=${k} n=${n}: word ${i} = ${got[i].toString(2)}, want ${want[i].toString(2)}`);
      }
    }
  }
});

test('−0 and 0 give bit 1, NaN and negatives bit 0, unused high bits stay 0', async () => {
  const f = Float32Array.from([0, -0, -1e-30, NaN, 1, -1, 0.5, -0.5, 0, -0, 2, -2]);
  const codes = scope(() => ops.signPack(Tensor.from(f, [1, 12])));
  const [w] = await codes.toArray();
  codes.dispose();
  assert.is(w, 0b011101010011); // bits 0..11: 1 1 0 0 1 0 1 0 1 1 1 0
  assert.is(w >>> 12, 0);
});

// A real GPU may flush subnormals to zero in float arithmetic and comparisons (WGSL allows it; NVIDIA does), so the
// H200 packed −1e-40 as 1 (k=1 n=129: word 15 = 1, want 0) while llvmpipe, which keeps subnormals, passed. The kernel
// therefore decides the sign from the bits; llvmpipe cannot show a flush, so this checks the kernel reads bits.
test('signPack reads the sign from the bits (a float comparison breaks where subnormals flush to zero)', async () => {
  const k = tq.runtime().kernel({ file: 'quantize.wgsl', entry: 'sign_pack', overrides: { WG: 64 } });
  assert.is(k.storage.get('f').type, 'u32');
  // Every class of bit pattern at the boundaries: ±0, the smallest and largest subnormals, ±inf, NaNs of both signs.
  const bits = Uint32Array.of(0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000,
    0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001);
  const f = new Float32Array(bits.buffer);
  const codes = scope(() => ops.signPack(Tensor.from(f, [1, 16])));
  const [w] = await codes.toArray();
  codes.dispose();
  //            +0 −0 +s −s ... (1 = non-negative): 1,1,1,0, 1,0,1,0, 1,0,1,0, 0,0,0,0
  assert.is(w.toString(2).padStart(16, '0').split('').reverse().join(''), '1110101010100000');
});

test('bad shapes are rejected', () => {
  scope(() => {
    assert.throws(() => ops.signPack(Tensor.from(new Float32Array(4), [4])), /must be f32 \[n, k\]/);
    assert.throws(() => ops.signPack(Tensor.from(new Uint32Array(4), [2, 2], 'u32')), /must be f32/);
  });
});

test.run();
