// conv2d timing at the network shapes (batch N, default 128): fwd / bwd-data / bwd-weights per variant, GFLOP/s vs the same-run FMA ceiling. Usage: node bench/conv.js [naive|rb]
import * as tq from '../dist/index.js';
const rt = await tq.init();
const { Tensor, ops, bench } = tq;
const only = process.argv[2]; // 'naive' | 'rb' | undefined
const layers = [['conv1', 3, 32, 32, 32], ['conv2', 32, 16, 16, 32], ['conv3', 32, 8, 8, 64]];
const N = Number(process.env.N ?? 128);
const ceil = await bench.measureCeilings();
console.log(`adapter ${rt.info.name} (${rt.info.backend}); FMA ceiling ${ceil.fmaGflops.toFixed(1)} GFLOP/s; load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
for (const [name, Cin, H, W, Cout] of layers) {
  const x = Tensor.from(Float32Array.from({ length: N * Cin * H * W }, (_, i) => Math.sin(i)), [N, Cin, H, W]);
  const w = Tensor.from(Float32Array.from({ length: Cout * Cin * 25 }, (_, i) => Math.cos(i) * 0.1), [Cout, Cin, 5, 5]);
  const b = Tensor.from(new Float32Array(Cout).fill(0.1), [Cout]);
  const g = ops.conv2dGeometry(x.shape, w.shape, { padding: 2 });
  const dy = Tensor.from(Float32Array.from({ length: N * Cout * g.OH * g.OW }, (_, i) => Math.sin(i * 0.7)), [N, Cout, g.OH, g.OW]);
  const flop = 2 * N * Cout * g.OH * g.OW * Cin * 25;
  for (const variant of only ? [only] : ['naive', 'rb']) {
    const res = [];
    for (const [pass, fn, d] of [
      ['fwd', () => tq.noGrad(() => ops.conv2d(x, w, b, { padding: 2, relu: true, variant }).dispose()), variant === 'rb' ? 2 : 1],
      ['dx', () => ops.conv2dBackwardData(dy, w, g, variant).dispose(), variant === 'rb' ? 2 : 1],
      ['dw', () => { const r = ops.conv2dBackwardWeights(x, dy, g, variant); r.dw.dispose(); r.db.dispose(); }, variant === 'rb' ? 2 : 1],
    ]) {
      const inner = await bench.calibrate(fn, 300, 50);
      const t = await bench.timeIt(fn, { inner, repeats: 3, dispatchesPerCall: d });
      const gf = flop / (t.ms * 1e6);
      res.push(`${pass} ${t.ms.toFixed(2)} ms ${gf.toFixed(1)} GF/s (${(100 * gf / ceil.fmaGflops).toFixed(0)}%)`);
    }
    console.log(`${name} ${Cin}→${Cout} @${H}×${W} N=${N} ${variant}: ${res.join(' | ')}`);
  }
  for (const t of [x, w, b, dy]) t.dispose();
}
await tq.gpu.disposeRuntime();
