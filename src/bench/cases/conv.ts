// conv2d: the three 5×5 (pad 2) layers of dshNet, forward / backward-data / backward-weights, every variant
// (naive, rb, unrolled; naive on a slice of the batch), and the forward as im2col + GEMM for comparison (what
// bench/conv.js and bench/conv-im2col.js measured once, bench/NOTES-conv.md).
import { Tensor, runtime, scope } from '../../tensor.js';
import { noGrad } from '../../autograd.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { randomValues } from '../util.js';
import { setKnobs } from '../../gpu/knobs.js';
import { cpuTime, f32, withTensors, type BenchContext, type VariantSpec } from './case.js';

const LAYERS = [['conv1', 3, 32, 32], ['conv2', 32, 16, 32], ['conv3', 32, 8, 64]] as const;

/** The forward as im2col (conv.wgsl's im2col entry) then one batched GEMM: the layout the rb kernels avoid. */
function im2colGemm(x: Tensor, w: Tensor, g: ops.ConvGeometry): void {
  scope(() => {
    const [N, Cin, H, W] = x.shape, Cout = w.shape[0], R = Cin * 25, HWo = g.OH * g.OW;
    const col = Tensor.empty([N * R * HWo]), y = Tensor.empty([N, Cout, g.OH, g.OW]);
    runtime().dispatch({ file: 'conv.wgsl', entry: 'im2col', overrides: { WG: 64 } }, {
      bindings: { x: x.buffer, y: col.buffer }, workgroups: ops.grid1d(col.size, 64),
      params: { N, Cin, Hin: H, Win: W, Hout: g.OH, Wout: g.OW, KH: 5, KW: 5, stride: 1, pad: 2, total: col.size },
    });
    ops.gemmInto({ buffer: y.buffer, ld: HWo, batchStride: Cout * HWo }, { buffer: w.buffer, ld: R, batchStride: 0 }, { buffer: col.buffer, ld: HWo, batchStride: R * HWo }, { M: Cout, N: HWo, K: R, batch: N });
  });
}

export async function convCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.batches) {
    for (const [lname, Cin, H, Cout] of LAYERS) {
      if (!ctx.want('conv', lname, 'naive rb unrolled subgroups im2col fwd bwd-data bwd-weights')) continue;
      await withTensors(async (from) => {
        const per = Cin * H * H, perY = Cout * H * H;
        const x64 = randomValues(B * per, 1), w64 = randomValues(Cout * Cin * 25, 2).map((v) => v * 0.2), b64 = randomValues(Cout, 3), dy64 = randomValues(B * perY, 4);
        const x = from(f32(x64), [B, Cin, H, H]), w = from(f32(w64), [Cout, Cin, 5, 5]), b = from(f32(b64), [Cout]);
        const dy = from(f32(dy64), [B, Cout, H, H]);
        const Nn = Math.min(B, 16);
        const xs = Nn < B ? from(f32(x64.subarray(0, Nn * per)), [Nn, Cin, H, H]) : x;
        const dys = Nn < B ? from(f32(dy64.subarray(0, Nn * perY)), [Nn, Cout, H, H]) : dy;
        const g = ops.conv2dGeometry(x.shape, w.shape, { padding: 2 });
        const gs = ops.conv2dGeometry(xs.shape, w.shape, { padding: 2 });
        const cs = (n: number) => ({ N: n, Cin, H, W: H, Cout, KH: 5, KW: 5, padding: 2 });
        const naiveNote = Nn < B ? `naive timed at N=${Nn}, ×${B / Nn}` : undefined;
        const passes: [string, (xx: Tensor, dd: Tensor, gg: ops.ConvGeometry, v: ops.ConvVariant) => void, (n: number) => void][] = [
          ['fwd', (xx, _dd, _gg, v) => noGrad(() => scope(() => { ops.conv2d(xx, w, b, { padding: 2, relu: true, variant: v }); })),
            (n) => cpu.conv2d(x64.subarray(0, n * per), w64, b64, cs(n))],
          ['bwd-data', (_xx, dd, gg, v) => scope(() => { ops.conv2dBackwardData(dd, w, gg, v); }),
            (n) => cpu.conv2dBackwardData(dy64.subarray(0, n * perY), w64, cs(n))],
          ['bwd-weights', (xx, dd, gg, v) => scope(() => { ops.conv2dBackwardWeights(xx, dd, gg, v); }),
            (n) => cpu.conv2dBackwardWeights(x64.subarray(0, n * per), dy64.subarray(0, n * perY), cs(n))],
        ];
        for (const [pass, gpu, ref] of passes) {
          const variants: VariantSpec[] = [
            { variant: 'naive', record: () => gpu(xs, dys, gs, 'naive'), scale: B / Nn, note: naiveNote },
            { variant: 'rb', record: () => gpu(x, dy, g, 'rb') },
            { variant: 'unrolled', record: () => gpu(x, dy, g, 'unrolled') },
            { variant: 'tiled', record: () => gpu(x, dy, g, 'tiled') },
          ];
          // Where the device has subgroups, backward-weights also as its subgroup variant (conv.DW_SG), the plain one beside.
          if (pass === 'bwd-weights' && runtime().info.subgroups) {
            const withSg = (on: boolean): NonNullable<VariantSpec['around']> => {
              let prev: ReturnType<typeof setKnobs> = {};
              return [() => { prev = setKnobs({ 'conv.DW_SG': on }); }, () => { setKnobs(prev); }];
            };
            variants[2].around = withSg(false);
            variants.push({ variant: 'unrolled+subgroups', record: () => gpu(x, dy, g, 'unrolled'), note: 'conv.DW_SG', around: withSg(true) });
          }
          // im2col's column buffer (25·Cin·H·W per image) passes the per-buffer limit at conv2 with batch 256: no row then.
          if (pass === 'fwd' && runtime().pool.fits(4 * B * Cin * 25 * H * H)) variants.push({ variant: 'im2col+gemm', record: () => im2colGemm(x, w, g), note: 'no bias or ReLU' });
          await ctx.run({
            family: 'conv2d', name: `${lname} ${pass}`, shape: `N${B} ${Cin}→${Cout} ${H}×${H} k5`, flop: 2 * B * Cout * H * H * Cin * 25, bound: 'fma',
            cpu: () => cpuTime(ref, B, ctx.budgetMs, { unit: 'images' }), variants,
          });
        }
      });
    }
  }
}
