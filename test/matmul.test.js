// GEMM: every variant × transpose case × bias/activation on sizes that divide no tile, batched with broadcast,
// and the backward rules of matmul and linear, against the float64 references in cpu.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, cpu, scope } = tq;
const { matmul, linear, gemmInto } = tq.ops;

// Tolerances. Inputs are uniform in [-1, 1); the GPU accumulates in f32 with fma, in k order. The rounding error of a
// K-term f32 dot product is ≤ K·2⁻²⁴·Σ|aₖbₖ| in the worst case and ~√K·2⁻²⁴·‖·‖ in practice: for K ≤ 127 that is
// ≤ 1e-6 relative; observed ≤ 2e-7 forward. 1e-5 leaves 10–50× margin without hiding a wrong index (which gives O(1)).
const TOL = 1e-5;
// Gradients sum over N or M (≤ 127 here) and pass through act'(y) computed from the f32 output: same bound.
const GRAD_TOL = 1e-5;

const f32 = (x) => Float32Array.from(x);
const f64 = (x) => Float64Array.from(x);

test.before(async () => {
  await tq.init();
});

test.after(async () => {
  await tq.gpu.disposeRuntime();
});

const SHAPES = [[1, 1, 1], [3, 17, 33], [17, 33, 19], [33, 127, 100], [64, 48, 5]];
const TRANS = [[false, false], [true, false], [false, true], [true, true]];
const ACTS = ['none', 'relu', 'tanh'];

// 'unrolled' runs under the adapter's preset (on a software adapter: A and B through textures, gemm.TEX) and again
// with the other gemm.TEX.
const UNROLLED_OTHER_TEX = 'unrolled, the other gemm.TEX';
/** Runs fn with the knobs of a test arm: UNROLLED_OTHER_TEX is 'unrolled' with gemm.TEX flipped; returns its variant. */
function withArm(arm, fn) {
  if (arm !== UNROLLED_OTHER_TEX) return fn(arm);
  const saved = tq.gpu.snapshotKnobs();
  tq.gpu.setKnobs({ 'gemm.TEX': !tq.ops.GEMM_KNOBS.TEX });
  try { return fn('unrolled'); } finally { tq.gpu.restoreKnobs(saved); }
}

test('forward: every variant × transpose × bias/activation on odd sizes, NaN-poisoned output', async () => {
  let seed = 1, worst = 0;
  for (const arm of ['naive', 'tiled', 'regblock', 'unrolled', UNROLLED_OTHER_TEX]) {
    for (const [tA, tB] of TRANS) {
      for (let si = 0; si < SHAPES.length; si++) {
        const [M, N, K] = SHAPES[si];
        const act = ACTS[(si + (tA ? 1 : 0)) % 3];
        const withBias = (si + (tB ? 1 : 0)) % 2 === 0;
        const alpha = si === 2 ? -0.75 : 1;
        const A = rand(M * K, seed++), B = rand(K * N, seed++), bias = withBias ? rand(N, seed++) : null;
        const ref = cpu.gemm(A, B, { M, N, K, transA: tA, transB: tB, alpha, bias, activation: act });
        const got = await scope(() => withArm(arm, (variant) => {
          const a = Tensor.from(f32(A), tA ? [K, M] : [M, K]);
          const b = Tensor.from(f32(B), tB ? [N, K] : [K, N]);
          const bb = bias ? Tensor.from(f32(bias), [N]) : null;
          tq.setPoison(true);
          try {
            return matmul(a, b, { transA: tA, transB: tB, alpha, bias: bb, act, variant });
          } finally {
            tq.setPoison(false);
          }
        })).toArray();
        const e = assertClose(got, ref, TOL, `${arm} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K} act ${act} bias ${!!bias}`);
        worst = Math.max(worst, e);
      }
    }
  }
  assert.ok(worst < TOL);
});

test('regblock and unrolled knobs: other block shapes give the same result', async () => {
  const [M, N, K] = [37, 29, 23];
  const A = rand(M * K, 70), B = rand(N * K, 71);
  const ref = cpu.gemm(A, B, { M, N, K, transB: true });
  // Each regblock pipeline costs 3–5 s of cold LLVM compile on llvmpipe (cached on disk by Mesa after): keep this list short.
  for (const [knobs, transA] of [[{ TM: 4, TN: 4, WX: 16, WY: 16 }, true], [{ TM: 4, TN: 8, WX: 8, WY: 2 }, false], [{ TM: 8, TN: 8, WX: 8, WY: 8 }, true]]) {
    for (const variant of ['regblock', 'unrolled']) {
      const AA = transA ? transpose(A, M, K) : A;
      const got = await scope(() => matmul(Tensor.from(f32(AA), transA ? [K, M] : [M, K]), Tensor.from(f32(B), [N, K]), { transA, transB: true, knobs, variant })).toArray();
      assertClose(got, ref, TOL, `${variant} ${JSON.stringify(knobs)} transA ${transA}`);
    }
  }
});

function transpose(X, r, c) {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = X[i * c + j];
  return out;
}

// gemm.TEX picks the generated kernel that reads A and B through textures; on by the software preset, off by the GPU's.
test('unrolled: gemm.TEX reads A and B through textures (software preset), from the buffers without (GPU preset)', async () => {
  const [M, N, K] = [19, 28, 41];
  const A = rand(M * K, 80), B = rand(K * N, 81);
  const ref = cpu.gemm(A, B, { M, N, K });
  const saved = tq.gpu.snapshotKnobs();
  try {
    for (const cls of ['software', 'gpu']) {
      tq.gpu.selectKnobs(cls);
      const cap = tq.bench.capture(() => matmul(Tensor.from(f32(A), [M, K]), Tensor.from(f32(B), [K, N]), { variant: 'unrolled' }));
      const names = cap.commands.map((c) => tq.bench.commandName(c)).filter((n) => n.startsWith('gemm-gen/'));
      cap.release();
      assertClose(await cap.result.toArray(), ref, TOL, `${cls} preset`);
      cap.result.dispose();
      assert.is(names.length, 1, names.join(', '));
      assert.is(names[0].includes('_tex'), cls === 'software', `${cls} preset: ${names[0]}`);
    }
  } finally {
    tq.gpu.restoreKnobs(saved);
  }
});

test('batched: 3-D × 3-D, 3-D × broadcast 2-D, batch-1 broadcast', async () => {
  const [Bt, M, N, K] = [3, 9, 13, 21];
  for (const variant of ['naive', 'regblock', 'unrolled']) {
    const A = rand(Bt * M * K, 20), B3 = rand(Bt * K * N, 21), B2 = rand(K * N, 22);
    let ref = cpu.gemm(A, B3, { M, N, K, batch: Bt });
    let got = await scope(() => matmul(Tensor.from(f32(A), [Bt, M, K]), Tensor.from(f32(B3), [Bt, K, N]), { variant })).toArray();
    assertClose(got, ref, TOL, `${variant} 3-D × 3-D`);
    ref = cpu.gemm(A, B2, { M, N, K, batch: Bt, strideB: 0 });
    got = await scope(() => matmul(Tensor.from(f32(A), [Bt, M, K]), Tensor.from(f32(B2), [K, N]), { variant })).toArray();
    assertClose(got, ref, TOL, `${variant} 3-D × 2-D`);
    // a [1, K, M] transposed, broadcast against b [3, N, K] transposed.
    const A1 = rand(K * M, 23);
    ref = cpu.gemm(A1, B3, { M, N, K, batch: Bt, strideA: 0, transA: true, transB: true });
    const y = scope(() => matmul(Tensor.from(f32(A1), [1, K, M]), Tensor.from(f32(B3), [Bt, N, K]), { variant, transA: true, transB: true }));
    assert.equal([...y.shape], [Bt, M, N]);
    assertClose(await y.toArray(), ref, TOL, `${variant} batch-1 × 3-D, both transposed`);
  }
});

test('gemmInto: strided, offset, unaligned operands, β = 1 accumulation and β = 0 overwrite into a larger C (the rest of C untouched)', async () => {
  // A is the [M, K] block at row 1, column 2 of a [M + 2, 23] matrix (ld 23: not a multiple of 4 → packed).
  const [M, N, K, LDA, LDC] = [10, 7, 11, 23, 9];
  const big = rand((M + 2) * LDA, 30), B = rand(K * N, 31), C0 = rand(M * LDC + 3, 32);
  const A = new Float64Array(M * K);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) A[i * K + k] = big[(i + 1) * LDA + 2 + k];
  const prod = cpu.gemm(A, B, { M, N, K, alpha: 2 });
  for (const beta of [1, 0]) {
    for (const arm of ['naive', 'tiled', 'regblock', 'unrolled', UNROLLED_OTHER_TEX]) {
      const ref = f64(C0);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) ref[3 + i * LDC + j] = beta * ref[3 + i * LDC + j] + prod[i * N + j];
      const got = await scope(() => withArm(arm, (variant) => {
        const a = Tensor.from(f32(big), [big.length]), b = Tensor.from(f32(B), [K, N]), c = Tensor.from(f32(C0), [C0.length]);
        gemmInto({ buffer: c.buffer, offset: 3, ld: LDC }, { buffer: a.buffer, offset: LDA + 2, ld: LDA }, { buffer: b.buffer, ld: N }, { M, N, K, alpha: 2, beta, variant });
        return c;
      })).toArray();
      assertClose(got, ref, TOL, `gemmInto ${arm} β = ${beta}`);
    }
  }
});

test('gemmInto with K = 0: every variant writes the epilogue of a zero product (bias, activation) into a NaN-poisoned C', async () => {
  const [M, N] = [5, 7];
  const bias = rand(N, 40);
  const ref = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) ref[i * N + j] = Math.max(bias[j], 0);
  for (const variant of ['naive', 'tiled', 'regblock', 'unrolled']) {
    const got = await scope(() => {
      const a = Tensor.from(f32(rand(8, 41)), [8]), b = Tensor.from(f32(rand(8, 42)), [8]), bb = Tensor.from(f32(bias), [N]);
      const c = Tensor.from(new Float32Array(M * N).fill(NaN), [M * N]);
      gemmInto({ buffer: c.buffer, ld: N }, { buffer: a.buffer, ld: 4 }, { buffer: b.buffer, ld: N }, { M, N, K: 0, bias: { buffer: bb.buffer }, act: 'relu', variant });
      return c;
    }).toArray();
    assertClose(got, ref, TOL, `gemmInto K = 0 ${variant}`);
  }
});

async function checkBackward({ M, N, K, tA, tB, act, withBias, batchA = 0, batchB = 0, variant }, seed) {
  const batch = Math.max(batchA, batchB, 1);
  const nA = (batchA || 1) * M * K, nB = (batchB || 1) * K * N;
  const A = rand(nA, seed), B = rand(nB, seed + 1), bias = withBias ? rand(N, seed + 2) : null;
  const o = { M, N, K, transA: tA, transB: tB, bias, batch, strideA: batchA ? M * K : 0, strideB: batchB ? K * N : 0 };
  const Y = cpu.gemm(A, B, { ...o, activation: act });
  const dY = rand(Y.length, seed + 3);
  const { a, b, bb, y } = scope(() => {
    const shapeA = tA ? [K, M] : [M, K], shapeB = tB ? [N, K] : [K, N];
    const a = Tensor.from(f32(A), batchA ? [batchA, ...shapeA] : shapeA);
    const b = Tensor.from(f32(B), batchB ? [batchB, ...shapeB] : shapeB);
    const bb = bias ? Tensor.from(f32(bias), [N]) : null;
    for (const t of [a, b, bb]) if (t) t.requiresGrad = true;
    const y = matmul(a, b, { transA: tA, transB: tB, bias: bb, act, variant });
    tq.backward(y, Tensor.from(f32(dY), y.shape));
    return { a: a.keep(), b: b.keep(), bb: bb?.keep(), y: y.keep() };
  });
  // Reference: through act' with the GPU's own output (so only the GEMM backward is compared).
  const yGpu = f64(await y.toArray());
  const dZ = act === 'relu' ? cpu.reluBackward(dY, yGpu) : act === 'tanh' ? cpu.tanhBackward(dY, yGpu) : dY;
  const ref = cpu.gemmBackward(A, B, dZ, o);
  const what = `${variant} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K} act ${act} batch ${batchA}/${batchB}`;
  assertClose(await a.grad.toArray(), ref.dA, GRAD_TOL, `dA ${what}`);
  assertClose(await b.grad.toArray(), ref.dB, GRAD_TOL, `dB ${what}`);
  if (bb) assertClose(await bb.grad.toArray(), ref.dbias, GRAD_TOL, `dbias ${what}`);
  for (const t of [a, b, bb, y]) t?.dispose();
}

test('backward of matmul: transposes, bias, activations, through tq.backward', async () => {
  let seed = 100;
  for (const variant of ['naive', 'regblock', 'unrolled']) {
    for (const [tA, tB] of TRANS) {
      for (const [M, N, K] of [[5, 7, 3], [17, 33, 19]]) {
        const act = ACTS[(M + (tA ? 1 : 0) + (tB ? 2 : 0)) % 3];
        await checkBackward({ M, N, K, tA, tB, act, withBias: M !== 5, variant }, (seed += 10));
      }
    }
  }
});

test('backward of batched matmul with a broadcast operand accumulates its gradient over the batch', async () => {
  await checkBackward({ M: 6, N: 9, K: 13, tA: false, tB: true, act: 'none', withBias: true, batchA: 3, batchB: 0, variant: 'regblock' }, 300);
  await checkBackward({ M: 6, N: 9, K: 13, tA: true, tB: false, act: 'relu', withBias: false, batchA: 0, batchB: 4, variant: 'regblock' }, 310);
  await checkBackward({ M: 6, N: 9, K: 13, tA: false, tB: false, act: 'tanh', withBias: true, batchA: 2, batchB: 2, variant: 'tiled' }, 320);
});

test('linear: y = x·Wᵀ + b and its backward; the input used twice accumulates', async () => {
  const [Bn, IN, OUT] = [19, 37, 11];
  const X = rand(Bn * IN, 400), W = rand(OUT * IN, 401), bias = rand(OUT, 402), dY = rand(Bn * OUT, 403);
  const { x, w, b, y } = scope(() => {
    const x = Tensor.from(f32(X), [Bn, IN]), w = Tensor.from(f32(W), [OUT, IN]), b = Tensor.from(f32(bias), [OUT]);
    for (const t of [x, w, b]) t.requiresGrad = true;
    const y = linear(x, w, b);
    tq.backward(y, Tensor.from(f32(dY), [Bn, OUT]));
    return { x: x.keep(), w: w.keep(), b: b.keep(), y: y.keep() };
  });
  const o = { M: Bn, N: OUT, K: IN, transB: true, bias };
  assertClose(await y.toArray(), cpu.gemm(X, W, o), TOL, 'linear forward');
  const ref = cpu.gemmBackward(X, W, dY, o);
  assertClose(await x.grad.toArray(), ref.dA, GRAD_TOL, 'linear dx');
  assertClose(await w.grad.toArray(), ref.dB, GRAD_TOL, 'linear dW');
  assertClose(await b.grad.toArray(), ref.dbias, GRAD_TOL, 'linear dbias');
  // Second backward: x·Wᵀ with x in two places (linear(x, W) and matmul(x, W, transB)) → grad accumulates 2× + 1×.
  scope(() => {
    const y1 = linear(x, w), y2 = matmul(x, w, { transB: true });
    tq.backward(y1, Tensor.from(f32(dY), [Bn, OUT]));
    tq.backward(y2, Tensor.from(f32(dY), [Bn, OUT]));
  });
  assertClose(await x.grad.toArray(), ref.dA.map((v) => 3 * v), GRAD_TOL, 'linear dx accumulated');
  for (const t of [x, w, b, y]) t.dispose();
});

test('shape errors name the tensors, expected and actual', () => {
  scope(() => {
    const a = Tensor.from(f32(rand(6, 1)), [2, 3], 'f32', 'act');
    const b = Tensor.from(f32(rand(8, 2)), [4, 2], 'f32', 'weight');
    assert.throws(() => matmul(a, b), /inner sizes differ.*act \[2, 3\].*2×3.*weight \[4, 2\].*4×2/);
    assert.throws(() => linear(a, b), /linear: input act \[2, 3\] f32 has 3 features, weight weight \[4, 2\] f32 expects in = 2/);
    assert.throws(() => matmul(a, Tensor.from(f32(rand(12, 3)), [3, 4]), { bias: Tensor.from(f32([1, 2]), [2]) }), /bias .*\[2\].*shape \[4\]/);
    assert.throws(() => matmul(Tensor.empty([2, 2, 3]), Tensor.empty([3, 3, 4])), /batch sizes differ/);
  });
});

test.run();
