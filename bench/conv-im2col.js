// Forward: rb implicit GEMM vs im2col + gemmInto (the GEMM engineer's regblock), same run, batch N.
import * as tq from '../dist/index.js';
const rt = await tq.init();
const { Tensor, ops, bench } = tq;
const N = Number(process.env.N ?? 128);
const ceil = await bench.measureCeilings({ quick: true });
console.log(`FMA ceiling ${ceil.fmaGflops.toFixed(1)} GFLOP/s`);
for (const [name, Cin, H, W, Cout] of [['conv1', 3, 32, 32, 32], ['conv2', 32, 16, 16, 32], ['conv3', 32, 8, 8, 64]]) {
  const x = Tensor.from(Float32Array.from({ length: N * Cin * H * W }, (_, i) => Math.sin(i)), [N, Cin, H, W]);
  const w = Tensor.from(Float32Array.from({ length: Cout * Cin * 25 }, (_, i) => Math.cos(i) * 0.1), [Cout, Cin, 5, 5]);
  const g = ops.conv2dGeometry(x.shape, w.shape, { padding: 2 });
  const R = Cin * 25, HWo = g.OH * g.OW;
  const flop = 2 * N * Cout * HWo * R;
  const rb = () => tq.noGrad(() => ops.conv2d(x, w, null, { padding: 2 }).dispose());
  const col = Tensor.empty([N * R * HWo]);
  const y = Tensor.empty([N, Cout, g.OH, g.OW]);
  const pr = { N, Cin, Hin: H, Win: W, Cout, Hout: g.OH, Wout: g.OW, KH: 5, KW: 5, stride: 1, pad: 2, padW: 2, dil: 1, CoutP: 0, relu: 0, hasBias: 0, nPer: 0, splits: 0, total: col.size };
  const i2c = () => {
    rt.dispatch({ file: 'conv.wgsl', entry: 'im2col', overrides: { WG: 64 } }, { bindings: { x: x.buffer, y: col.buffer }, params: pr, workgroups: ops.grid1d(col.size, 64) });
    ops.gemmInto({ buffer: y.buffer, ld: HWo, batchStride: Cout * HWo }, { buffer: w.buffer, ld: R, batchStride: 0 }, { buffer: col.buffer, ld: HWo, batchStride: R * HWo }, { M: Cout, N: HWo, K: R, batch: N });
  };
  const out = [];
  for (const [label, fn] of [['rb', rb], ['im2col+gemm', i2c], ['im2col only', () => rt.dispatch({ file: 'conv.wgsl', entry: 'im2col', overrides: { WG: 64 } }, { bindings: { x: x.buffer, y: col.buffer }, params: pr, workgroups: ops.grid1d(col.size, 64) })]]) {
    const inner = await bench.calibrate(fn, 300, 30);
    const t = await bench.timeIt(fn, { inner, repeats: 3, dispatchesPerCall: 2 });
    out.push(`${label} ${t.ms.toFixed(1)} ms ${(flop / t.ms / 1e6).toFixed(1)} GF/s`);
  }
  console.log(`${name} fwd N=${N}: ${out.join(' | ')}`);
  for (const t of [x, w, col, y]) t.dispose();
}
await tq.gpu.disposeRuntime();
