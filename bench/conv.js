// conv2d timing at the network shapes (batch N, default 128): fwd / bwd-data / bwd-weights per variant, interleaved
// (A, B, A, B … medians: the machine is shared), GFLOP/s vs the same-run FMA ceiling.
// Usage: node bench/conv.js [variant,variant,…]   (default rb,unrolled; naive is ~20× slower)
import os from 'node:os';
import * as tq from '../dist/index.js';
const rt = await tq.init();
const { Tensor, ops, bench } = tq;
const variants = (process.argv[2] ?? 'rb,unrolled').split(',');
const layers = [['conv1', 3, 32, 32, 32], ['conv2', 32, 16, 16, 32], ['conv3', 32, 8, 8, 64]];
const N = Number(process.env.N ?? 128);
const REPS = Number(process.env.REPS ?? 3);
const ceil = await bench.measureCeilings();
console.log(`adapter ${rt.info.name} (${rt.info.backend}); FMA ceiling ${ceil.fmaGflops.toFixed(1)} GFLOP/s; load ${os.loadavg()[0].toFixed(2)}`);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [name, Cin, H, W, Cout] of layers) {
  const x = Tensor.from(Float32Array.from({ length: N * Cin * H * W }, (_, i) => Math.sin(i)), [N, Cin, H, W]);
  const w = Tensor.from(Float32Array.from({ length: Cout * Cin * 25 }, (_, i) => Math.cos(i) * 0.1), [Cout, Cin, 5, 5]);
  const b = Tensor.from(new Float32Array(Cout).fill(0.1), [Cout]);
  const g = ops.conv2dGeometry(x.shape, w.shape, { padding: 2 });
  const dy = Tensor.from(Float32Array.from({ length: N * Cout * g.OH * g.OW }, (_, i) => Math.sin(i * 0.7)), [N, Cout, g.OH, g.OW]);
  const flop = 2 * N * Cout * g.OH * g.OW * Cin * 25;
  const cases = [];
  for (const variant of variants) {
    const d = variant === 'naive' ? 1 : 2;
    cases.push([variant, 'fwd', () => tq.noGrad(() => ops.conv2d(x, w, b, { padding: 2, relu: true, variant }).dispose()), d]);
    cases.push([variant, 'dx', () => ops.conv2dBackwardData(dy, w, g, variant).dispose(), d]);
    cases.push([variant, 'dw', () => { const r = ops.conv2dBackwardWeights(x, dy, g, variant); r.dw.dispose(); r.db.dispose(); }, d]);
  }
  const inner = [];
  for (const [, , fn] of cases) inner.push(await bench.calibrate(fn, 300, 50));
  const ms = cases.map(() => []);
  for (let r = 0; r < REPS; r++) {
    for (let i = 0; i < cases.length; i++) ms[i].push((await bench.timeIt(cases[i][2], { inner: inner[i], repeats: 1, dispatchesPerCall: cases[i][3] })).ms);
  }
  for (const variant of variants) {
    const res = [];
    cases.forEach(([v, pass], i) => {
      if (v !== variant) return;
      const t = median(ms[i]), gf = flop / (t * 1e6);
      res.push(`${pass} ${t.toFixed(2)} ms ${gf.toFixed(1)} GF/s (${(100 * gf / ceil.fmaGflops).toFixed(0)}%)`);
    });
    console.log(`${name} ${Cin}→${Cout} @${H}×${W} N=${N} ${variant}: ${res.join(' | ')}`);
  }
  for (const t of [x, w, b, dy]) t.dispose();
}
console.log(`load at end ${os.loadavg()[0].toFixed(2)}`);
await tq.gpu.disposeRuntime();
