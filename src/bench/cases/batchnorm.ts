// Batch norm with training statistics at the three conv outputs, forward and backward; and the network's
// BatchNorm2d + ReLU + pool forward, as the ops one by one and as one op (ops/bn-pool.ts: no apply pass).
import { scope } from '../../tensor.js';
import { backward, noGrad } from '../../autograd.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { randomValues } from '../util.js';
import { cpuTime, disposeRecorded, f32, withTensors, type BenchContext } from './case.js';

const LAYERS = [['bn1', 32, 32, 'max'], ['bn2', 32, 16, 'avg'], ['bn3', 64, 8, 'avg']] as const;

export async function batchNormCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.batches) {
    for (const [bname, C, H, pool] of LAYERS) {
      if (!ctx.want('batchnorm', bname, 'fwd bwd relu pool fused')) continue;
      await withTensors(async (from) => {
        const n = B * C * H * H;
        const x64 = randomValues(n, 7), dy64 = randomValues(n, 8), g64 = randomValues(C, 9).map((v) => 1 + 0.1 * v), be64 = randomValues(C, 10);
        const x = from(f32(x64), [B, C, H, H]), dy = from(f32(dy64), [B, C, H, H]);
        const gamma = from(f32(g64), [C]), beta = from(f32(be64), [C]);
        const rm = from(new Float32Array(C), [C]), rv = from(new Float32Array(C).fill(1), [C]);
        const s = (N: number) => ({ N, C, H, W: H });
        const shape = `N${B} C${C} ${H}×${H}`;
        const stats = cpu.batchNorm2dTrain(x64, g64, be64, s(B));
        await ctx.run({
          family: 'batchnorm', name: `${bname} fwd`, shape, bytes: 8 * n, bound: 'copy',
          cpu: () => cpuTime((m) => cpu.batchNorm2dTrain(x64.subarray(0, m * C * H * H), g64, be64, s(m)), B, ctx.budgetMs, { unit: 'images' }),
          variants: [{ variant: 'welford', record: () => noGrad(() => scope(() => { ops.batchNorm2d(x, gamma, beta, rm, rv, { training: true }); })) }],
        });
        // BN + ReLU + the layer's 3×3/2 pool (max after bn1, avg after the others): minimal traffic x in, pooled out.
        const popts = { k: 3, stride: 2, padding: 1 }, OH = H / 2, ps = (N: number) => ({ N, C, H, W: H, kernel: 3, stride: 2, padding: 1 });
        const bnOpts = { training: true, relu: true };
        await ctx.run({
          family: 'batchnorm', name: `${bname}+relu+${pool}pool fwd`, shape: `${shape} → ${OH}×${OH}`, bytes: 4 * (n + B * C * OH * OH), bound: 'copy',
          cpu: () => cpuTime((m) => {
            const z = cpu.batchNorm2dTrain(x64.subarray(0, m * C * H * H), g64, be64, s(m)).y.map((v) => Math.max(v, 0));
            return pool === 'max' ? cpu.maxPool2d(z, ps(m)) : cpu.avgPool2d(z, ps(m));
          }, B, ctx.budgetMs, { unit: 'images' }),
          variants: [
            { variant: 'ops one by one', record: () => noGrad(() => scope(() => { (pool === 'max' ? ops.maxPool2d : ops.avgPool2d)(ops.batchNorm2d(x, gamma, beta, rm, rv, bnOpts), popts); })) },
            { variant: 'fused', record: () => noGrad(() => scope(() => { ops.batchNorm2dPool2d(x, gamma, beta, rm, rv, bnOpts, { kind: pool, ...popts }); })) },
          ],
        });
        for (const t of [x, gamma, beta]) t.requiresGrad = true;
        const y = ops.batchNorm2d(x, gamma, beta, rm, rv, { training: true });
        await ctx.run({
          family: 'batchnorm', name: `${bname} bwd`, shape, bytes: 12 * n, bound: 'copy',
          cpu: () => cpuTime((m) => cpu.batchNorm2dBackward(dy64.subarray(0, m * C * H * H), x64.subarray(0, m * C * H * H), g64, stats.mean, stats.invStd, s(m)), B, ctx.budgetMs, { unit: 'images' }),
          variants: [{ variant: 'two-pass', record: () => { backward(y, dy); } }],
        });
        for (const t of [x, gamma, beta]) { t.grad?.dispose(); t.grad = null; }
        disposeRecorded(y);
      });
    }
  }
}
