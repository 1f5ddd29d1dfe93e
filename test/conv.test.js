// conv2d forward, backward-data and backward-weights (+ bias) against the float64 reference, every variant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tq from '../dist/index.js';
import { rand, assertClose } from './util.js';

const { Tensor, cpu, ops } = tq;

// f32 sums of up to Cin·KH·KW = 5·25 = 125 products (dw: up to N·OH·OW = 3·17·17 = 867) of values in [-1, 1):
// the relative error of such a sum is a few ulps times √terms in practice; 1e-5 leaves margin (measured ≤ ~5e-7).
const TOL = 1e-5;

test.before(async () => {
  await tq.init();
});
test.after(async () => {
  await tq.gpu.disposeRuntime();
});

const f64 = (a) => Float64Array.from(a);

// [N, Cin, H, W, Cout, K, stride, padding]: odd sizes that divide no block (8 channels × 4 or 16 pixels).
const SHAPES = [
  [1, 1, 1, 1, 1, 1, 1, 0],
  [3, 3, 7, 7, 5, 3, 1, 1],
  [1, 5, 9, 9, 3, 5, 2, 2],
  [3, 3, 17, 17, 9, 5, 1, 2],
  [1, 1, 9, 7, 1, 3, 2, 0],
  [3, 5, 7, 9, 17, 1, 2, 0],
  [1, 3, 9, 9, 8, 3, 1, 2],
  [3, 5, 17, 9, 3, 3, 2, 1],
  // Shapes the 'unrolled' kernels take (stride 1, row lengths % 4 = 0): 2 rows × 8 pixels, 16-pixel blocks past the
  // row end, Cout not a multiple of 8, a 4-wide row (the dw kernel's half-empty last quad), K = 1, padding 0 and 4.
  [3, 3, 8, 8, 5, 5, 1, 2],
  [2, 5, 13, 16, 9, 5, 1, 2],
  [1, 3, 4, 4, 17, 3, 1, 1],
  [3, 2, 7, 20, 3, 1, 1, 0],
  [2, 4, 9, 12, 6, 5, 1, 0],
  // Output rows that are not whole vec4 (10 and 14 wide): the forward kernel stores single outputs, not vec4.
  [2, 3, 5, 12, 5, 5, 1, 1],
  [1, 2, 6, 12, 9, 3, 1, 2],
  // More channels than the tiled kernel's 64-channel tile, reductions (Cin·K·K) that 16 does not divide, stride 2.
  [2, 7, 11, 13, 70, 3, 1, 1],
  [3, 4, 10, 11, 33, 5, 2, 2],
]; // (the unrolled variant runs 'rb' on the others: that fallback is covered too)

/** One convolution (forward with bias and fused ReLU or neither, backward-data, backward-weights) of `variant` under
 *  the knobs in force, against the float64 reference, outputs poisoned before the run. */
async function checkConv(variant, [N, Cin, H, W, Cout, K, stride, padding], seed, withBias, label = variant) {
  const shape = { N, Cin, H, W, Cout, KH: K, KW: K, stride, padding };
  const { OH, OW } = cpu.conv2dOutShape(shape);
  const xs = rand(N * Cin * H * W, seed), ws = rand(Cout * Cin * K * K, seed + 1), bs = rand(Cout, seed + 2);
  const dys = rand(N * Cout * OH * OW, seed + 3);
  const relu = withBias; // relu only with bias: covers both epilogues in half the runs
  const what = `${label} [${N},${Cin},${H},${W}]→${Cout} k${K} s${stride} p${padding}${withBias ? ' +bias+relu' : ''}`;
  const x = Tensor.from(Float32Array.from(xs), [N, Cin, H, W]);
  const w = Tensor.from(Float32Array.from(ws), [Cout, Cin, K, K]);
  const b = withBias ? Tensor.from(Float32Array.from(bs), [Cout]) : null;
  x.requiresGrad = true;
  w.requiresGrad = true;
  if (b) b.requiresGrad = true;
  tq.setPoison(true);
  const y = ops.conv2d(x, w, b, { stride, padding, relu, variant });
  const dy = Tensor.from(Float32Array.from(dys), y.shape);
  tq.backward(y, dy);
  tq.setPoison(false);
  let yRef = cpu.conv2d(xs, ws, withBias ? bs : null, shape);
  let dyRef = dys;
  if (relu) {
    dyRef = dys.map((d, i) => (yRef[i] > 0 ? d : 0));
    yRef = yRef.map((v) => Math.max(v, 0));
  }
  assertClose(f64(await y.toArray()), yRef, TOL, `${what} y`);
  assertClose(f64(await x.grad.toArray()), cpu.conv2dBackwardData(dyRef, ws, shape), TOL, `${what} dx`);
  const { dw, db } = cpu.conv2dBackwardWeights(xs, dyRef, shape);
  assertClose(f64(await w.grad.toArray()), dw, TOL, `${what} dw`);
  if (b) assertClose(f64(await b.grad.toArray()), db, TOL, `${what} db`);
  for (const t of [x, w, b, y, dy, x.grad, w.grad, b?.grad]) t?.dispose();
}

// The unrolled backward-weights kernel runs with 4 and 8 output channels per invocation, and 1, 2 (Cin = 3, 5: a
// partial last block), 3 and 4 input channels (more than Cin = 2: clamped); 8 × 2 is the software preset from 8
// input channels on (the shapes here have fewer, so 'auto' alone would not run it). The unrolled kernels read their
// inputs from the buffers or through textures (conv.TEX), each way under half of the blockings.
for (const [variant, dwCoB, dwCiB, tex] of [['naive', 'auto', 'auto'], ['rb', 'auto', 'auto'], ['tiled', 'auto', 'auto'], ['unrolled', 4, 1, true], ['unrolled', 8, 1, false], ['unrolled', 4, 2, false], ['unrolled', 8, 2, true], ['unrolled', 'auto', 3, true], ['unrolled', 8, 4, false]]) {
  test(`conv2d ${variant} (dw CO_B ${dwCoB}, CI_B ${dwCiB}${tex === undefined ? '' : tex ? ', through textures' : ', from buffers'}): forward, bias and fused ReLU, backward-data, backward-weights vs float64`, async () => {
    const saved = tq.gpu.snapshotKnobs();
    tq.gpu.setKnobs({ 'conv.DW_CO_B': dwCoB, 'conv.DW_CI_B': dwCiB, ...(tex === undefined ? {} : { 'conv.TEX': tex }) });
    try {
      let seed = 10;
      for (const sh of SHAPES) {
        for (const withBias of [false, true]) await checkConv(variant, sh, seed, withBias);
        seed += 4;
      }
    } finally {
      tq.gpu.restoreKnobs(saved);
    }
  });
}

// The subgroup variant of the unrolled backward-weights kernel (conv.DW_SG) where the device has 'subgroups' (core:
// a GPU, or Mesa 25's lavapipe through TQHASH_BACKEND=vulkan): workgroups of 8 and 32 lanes (one subgroup or several,
// fewer lanes than items and more), 1 and several splits, blocks that divide no channel count.
const HAS_SUBGROUPS = await (async () => { await tq.init(); return tq.runtime().info.subgroups !== undefined; })();
if (!HAS_SUBGROUPS) console.log('conv: the device has no subgroups (compatibility mode, llvmpipe): the subgroup backward-weights test is skipped; it runs on a GPU or with TQHASH_BACKEND=vulkan on Mesa 25 lavapipe');
(HAS_SUBGROUPS ? test : test.skip)('conv2d unrolled backward-weights, subgroup variant: WGX 8 and 32, 1 and more splits, every block vs float64', async () => {
  const saved = tq.gpu.snapshotKnobs();
  const seen = new Set();
  try {
    let seed = 500;
    for (const [N, Cin, H, W, Cout, K, padding] of [[3, 3, 8, 8, 5, 5, 2], [2, 5, 13, 16, 9, 5, 2], [1, 3, 4, 4, 17, 3, 1], [3, 2, 7, 20, 3, 1, 0], [5, 4, 9, 12, 6, 5, 0]]) {
      const shape = { N, Cin, H, W, Cout, KH: K, KW: K, stride: 1, padding };
      const { OH, OW } = cpu.conv2dOutShape(shape);
      const xs = rand(N * Cin * H * W, seed++), dys = rand(N * Cout * OH * OW, seed++);
      const ref = cpu.conv2dBackwardWeights(xs, dys, shape);
      for (const [wgx, inv, coB, ciB] of [[8, 1, 4, 1], [32, 100000, 8, 2], [32, 64, 4, 3], [8, 100000, 'auto', 'auto']]) {
        tq.gpu.setKnobs({ 'conv.DW_SG': true, 'conv.WGX': wgx, 'conv.DW_INVOCATIONS': inv, 'conv.DW_CO_B': coB, 'conv.DW_CI_B': ciB });
        const what = `[${N},${Cin},${H},${W}]→${Cout} k${K} p${padding} WGX ${wgx} invocations ${inv} CO_B ${coB} CI_B ${ciB}`;
        const x = Tensor.from(Float32Array.from(xs), [N, Cin, H, W]), dy = Tensor.from(Float32Array.from(dys), [N, Cout, OH, OW]);
        tq.setPoison(true);
        const cap = tq.bench.capture(() => ops.conv2dBackwardWeights(x, dy, ops.conv2dGeometry(x.shape, [Cout, Cin, K, K], { padding })));
        tq.setPoison(false);
        for (const c of cap.commands) seen.add(tq.bench.commandName(c).replace(/_c\d.*/, ''));
        cap.release();
        assertClose(f64(await cap.result.dw.toArray()), ref.dw, TOL, `${what} dw`);
        assertClose(f64(await cap.result.db.toArray()), ref.db, TOL, `${what} db`);
        for (const t of [x, dy, cap.result.dw, cap.result.db]) t.dispose();
      }
    }
  } finally {
    tq.gpu.restoreKnobs(saved);
  }
  assert.ok(seen.has('conv-gen/dw_sg'), [...seen].join(', '));
});

// Autotune keeps whichever candidate is fastest on the adapter, so every candidate of both presets' lists
// (ops.convCandidates: workgroup widths to 128, backward-weights invocations to 65,536, the subgroup variant where the
// device has it) must compute the same convolution: each is checked here, forward blocks and backward-weights
// blockings under the widest workgroup, at one of two shapes that the unrolled kernels take and no block divides (one
// shape each: the generated kernels cost ~2.6 s each to compile on llvmpipe with Mesa's shader cache cold, as in CI).
test('conv2d: every candidate of autotune (software and GPU presets) vs float64', async () => {
  const saved = tq.gpu.snapshotKnobs();
  const shapes = [[2, 5, 13, 16, 9, 5, 1, 2], [3, 3, 7, 20, 6, 5, 1, 2]];
  const lists = ['software', 'gpu'].map((cls) => ops.convCandidates(cls, HAS_SUBGROUPS));
  const uniq = (cs) => [...new Map(cs.map((c) => [JSON.stringify(c.knobs), c])).values()];
  const widest = Math.max(...lists.flatMap((l) => l.all.map((c) => c.knobs['conv.WGX'] ?? 0)));
  let checked = 0;
  try {
    let seed = 700;
    for (const c of uniq(lists.flatMap((l) => l.all))) {
      tq.gpu.restoreKnobs(saved);
      tq.gpu.setKnobs(c.knobs);
      const i = checked++; // alternate the shapes, and bias + ReLU against neither
      await checkConv(c.knobs['conv.variant'], shapes[i % 2], seed += 4, i % 2 === 1, c.label);
    }
    for (const c of uniq(lists.flatMap((l) => [...l.tex, ...l.fwd, ...l.dw]))) {
      tq.gpu.restoreKnobs(saved);
      tq.gpu.setKnobs({ 'conv.variant': 'unrolled', 'conv.WGX': widest, ...c.knobs });
      await checkConv('unrolled', shapes[checked++ % 2], seed += 4, false, `${c.label}, WGX ${widest}`);
    }
    for (const c of uniq(lists.flatMap((l) => l.dwTiled))) {
      tq.gpu.restoreKnobs(saved);
      tq.gpu.setKnobs({ 'conv.variant': 'tiled', ...c.knobs });
      await checkConv('tiled', shapes[checked++ % 2], seed += 4, true, c.label);
    }
  } finally {
    tq.gpu.restoreKnobs(saved);
  }
  assert.ok(checked >= 10 + 2 + 12 + 12 + 4, `${checked} candidates checked`);
});

// Every block of the generated forward kernel that the knob offers computes the same convolution (forward and backward-data).
test('conv2d unrolled: every forward block (channels × pixels × rows) vs float64', async () => {
  const blocks = [[4, 8, 1], [8, 8, 2], [8, 16, 1], [8, 16, 2], [8, 8, 3], [8, 8, 4], [16, 8, 2], [8, 32, 1], [16, 16, 1], [4, 16, 4], [8, 16, 4], [8, 8, 8], [8, 16, 6]];
  // Rows of 16 and 12 (past the row end in 16- and 32-pixel blocks), 7 and 9 output rows (no row block divides them;
  // fewer rows than 8).
  const shapes = [[2, 3, 7, 16, 9, 5, 1, 2], [1, 5, 9, 12, 17, 3, 1, 1]];
  let seed = 300;
  for (const [CO_B, PXW, RB] of blocks) {
    ops.CONV_KNOBS.FWD_BLOCK = `${CO_B}x${PXW}x${RB}`;
    for (const [N, Cin, H, W, Cout, K, stride, padding] of shapes) {
      const shape = { N, Cin, H, W, Cout, KH: K, KW: K, stride, padding };
      const xs = rand(N * Cin * H * W, seed++), ws = rand(Cout * Cin * K * K, seed++), bs = rand(Cout, seed++);
      const { OH, OW } = cpu.conv2dOutShape(shape);
      const dys = rand(N * Cout * OH * OW, seed++);
      const what = `block ${CO_B}×${PXW}×${RB} [${N},${Cin},${H},${W}]→${Cout} k${K}`;
      const x = Tensor.from(Float32Array.from(xs), [N, Cin, H, W]);
      const w = Tensor.from(Float32Array.from(ws), [Cout, Cin, K, K]);
      x.requiresGrad = true;
      tq.setPoison(true);
      const y = ops.conv2d(x, w, Tensor.from(Float32Array.from(bs), [Cout]), { stride, padding });
      tq.backward(y, Tensor.from(Float32Array.from(dys), y.shape));
      tq.setPoison(false);
      assertClose(f64(await y.toArray()), cpu.conv2d(xs, ws, bs, shape), TOL, `${what} y`);
      assertClose(f64(await x.grad.toArray()), cpu.conv2dBackwardData(dys, ws, shape), TOL, `${what} dx`);
    }
  }
  ops.CONV_KNOBS.FWD_BLOCK = 'auto';
});

test('conv2d rb at a network shape (conv2: 32→32, 5×5, pad 2) vs float64', async () => {
  const shape = { N: 2, Cin: 32, H: 16, W: 16, Cout: 32, KH: 5, KW: 5, stride: 1, padding: 2 };
  const xs = rand(2 * 32 * 16 * 16, 91), ws = rand(32 * 32 * 25, 92, 0.1), dys = rand(2 * 32 * 16 * 16, 93);
  const x = Tensor.from(Float32Array.from(xs), [2, 32, 16, 16]);
  const w = Tensor.from(Float32Array.from(ws), [32, 32, 5, 5]);
  x.requiresGrad = w.requiresGrad = true;
  tq.setPoison(true);
  const y = ops.conv2d(x, w, null, { padding: 2 });
  tq.backward(y, Tensor.from(Float32Array.from(dys), y.shape));
  tq.setPoison(false);
  // 800-term sums (dw: 512 terms): still ≤ 1e-5 relative (measured ~1e-7).
  assertClose(f64(await y.toArray()), cpu.conv2d(xs, ws, null, shape), TOL, 'y');
  assertClose(f64(await x.grad.toArray()), cpu.conv2dBackwardData(dys, ws, shape), TOL, 'dx');
  assertClose(f64(await w.grad.toArray()), cpu.conv2dBackwardWeights(xs, dys, shape).dw, TOL, 'dw');
});

test('conv2d unrolled: the generated kernels run where they fit, rb where not', () => {
  const rt = tq.runtime();
  const files = (fn) => {
    const seen = [];
    const orig = rt.dispatch;
    rt.dispatch = function (k, a) { seen.push(k.file ?? k.ref?.file); return orig.call(this, k, a); };
    try { fn(); } finally { rt.dispatch = orig; }
    return seen.filter((f) => f.startsWith('conv')).map((f) => f.replace(/_.*/, '')).join(' ');
  };
  const run = (N, Cin, H, W, Cout, K, stride, padding) => files(() => tq.scope(() => {
    const x = Tensor.empty([N, Cin, H, W]), w = Tensor.empty([Cout, Cin, K, K]);
    x.requiresGrad = w.requiresGrad = true;
    const y = ops.conv2d(x, w, null, { stride, padding });
    tq.backward(y, Tensor.empty(y.shape));
  }));
  // transposed weights, forward; transposed weights, backward-data; backward-weights, fixed-order reduce.
  assert.is(run(2, 3, 8, 8, 5, 5, 1, 2), 'conv.wgsl conv-gen/fwd conv.wgsl conv-gen/fwd conv-gen/dw conv.wgsl');
  assert.is(run(2, 3, 9, 9, 5, 5, 1, 2), 'conv.wgsl conv.wgsl conv.wgsl conv.wgsl conv.wgsl conv.wgsl');
  // Rows of 10 outputs: the forward kernel stores single outputs; backward-data (its input rows, dy's, are 10 wide) and
  // backward-weights (its output rows, dy's) run rb.
  assert.is(run(2, 3, 8, 12, 5, 5, 1, 1), 'conv.wgsl conv-gen/fwd conv.wgsl conv.wgsl conv.wgsl conv.wgsl');
});

test('conv2d unrolled: vec4 output stores exactly where the output rows are whole vec4', () => {
  const rt = tq.runtime();
  const fwdFiles = (N, Cin, H, W, Cout, K, padding) => {
    const seen = [];
    const orig = rt.dispatch;
    rt.dispatch = function (k, a) { seen.push(`${k.file ?? k.ref?.file} ${Object.keys(a.bindings).sort().join(',')}`); return orig.call(this, k, a); };
    try { tq.scope(() => { ops.conv2d(Tensor.empty([N, Cin, H, W]), Tensor.empty([Cout, Cin, K, K]), null, { padding }); }); } finally { rt.dispatch = orig; }
    return seen.filter((f) => f.startsWith('conv-gen/fwd'));
  };
  const [y4] = fwdFiles(2, 3, 8, 12, 5, 5, 2), [y1] = fwdFiles(2, 3, 8, 12, 5, 5, 1);
  assert.match(y4, /_y4\.wgsl .*\by4\b/);
  assert.not.match(y4, /\by\b/);
  assert.not.match(y1, /_y4/);
  assert.match(y1, /\by\b/);
});

test('conv2d checks shapes up front and says the fix', () => {
  const x = Tensor.empty([2, 3, 8, 8]);
  assert.throws(() => ops.conv2d(x, Tensor.empty([4, 2, 3, 3])), /expects 2 input channels but x .* has 3/);
  assert.throws(() => ops.conv2d(Tensor.empty([3, 8, 8]), Tensor.empty([4, 3, 3, 3])), /expected 4-D \[N, Cin, H, W\]/);
  assert.throws(() => ops.conv2d(x, Tensor.empty([4, 3, 3, 3]), Tensor.empty([3])), /bias has shape \[3\], expected \[4\]/);
  assert.throws(() => ops.conv2d(x, Tensor.empty([4, 3, 11, 11])), /does not fit .* pad by at least 2/);
  assert.throws(() => ops.conv2d(x, Tensor.empty([4, 3, 3, 3]), null, { stride: 0 }), /stride must be an integer ≥ 1/);
});


// 'auto' picks the blocks by adapter class: 512 accumulators and 2–3 input channels per backward-weights invocation
// on a software adapter, the blocks measured on a GPU there (the GPU preset is selected here on llvmpipe: same values);
// the software preset reads the inputs through textures, the GPU's from the buffers (conv.TEX).
test('conv2d unrolled: auto blocks follow the adapter class (software 8×16×4 / dw 4×3 through textures, GPU 8×16×2 / dw 4×1 from buffers)', async () => {
  const saved = tq.gpu.snapshotKnobs();
  const [N, Cin, H, W, Cout, K] = [2, 3, 16, 16, 8, 5];
  const shape = { N, Cin, H, W, Cout, KH: K, KW: K, stride: 1, padding: 2 };
  const xs = rand(N * Cin * H * W, 71), ws = rand(Cout * Cin * K * K, 72), dys = rand(N * Cout * H * W, 73);
  const kernels = {};
  try {
    for (const cls of ['software', 'gpu']) {
      tq.gpu.selectKnobs(cls);
      const x = Tensor.from(Float32Array.from(xs), [N, Cin, H, W]);
      const w = Tensor.from(Float32Array.from(ws), [Cout, Cin, K, K]);
      w.requiresGrad = true;
      const cap = tq.bench.capture(() => {
        const y = ops.conv2d(x, w, null, { padding: 2 });
        tq.backward(y, Tensor.from(Float32Array.from(dys), y.shape));
        return y;
      });
      kernels[cls] = cap.commands.map((c) => tq.bench.commandName(c)).filter((n) => n.startsWith('conv-gen/'));
      cap.release();
      assertClose(f64(await cap.result.toArray()), cpu.conv2d(xs, ws, null, shape), TOL, `${cls} y`);
      assertClose(f64(await w.grad.toArray()), cpu.conv2dBackwardWeights(xs, dys, shape).dw, TOL, `${cls} dw`);
      for (const t of [x, w, w.grad, cap.result]) t.dispose();
    }
  } finally {
    tq.gpu.restoreKnobs(saved);
  }
  assert.ok(kernels.software.some((n) => n.includes('fwd_c8_p16_r4_')), kernels.software.join(', '));
  assert.ok(kernels.software.some((n) => n.includes('dw_c4_i3_')), kernels.software.join(', '));
  assert.ok(kernels.gpu.some((n) => n.includes('fwd_c8_p16_r2_')), kernels.gpu.join(', '));
  assert.ok(kernels.gpu.some((n) => n.includes('dw_c4_i1_')), kernels.gpu.join(', '));
  assert.ok(kernels.software.length === 2 && kernels.software.every((n) => n.includes('_tex')), kernels.software.join(', '));
  assert.ok(kernels.gpu.length === 2 && kernels.gpu.every((n) => !n.includes('_tex')), kernels.gpu.join(', '));
});

test.run();
