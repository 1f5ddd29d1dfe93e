// Pooling: the network's 3×3 stride-2 pad-1 pools, forward and backward (the backward of a forward recorded on the
// tape outside the capture, so only backward's dispatches are timed); the general kernels beside the 'rows' ones
// (4 outputs of a row per invocation, the default for this window).
import { scope } from '../../tensor.js';
import { backward, noGrad } from '../../autograd.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { randomValues } from '../util.js';
import { cpuTime, disposeRecorded, f32, withTensors, type BenchContext, type VariantSpec } from './case.js';

const POOLS = [['maxpool1', 'max', 32, 32], ['avgpool2', 'avg', 32, 16], ['avgpool3', 'avg', 64, 8]] as const;

export async function poolCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.batches) {
    for (const [pname, kind, C, H] of POOLS) {
      if (!ctx.want('pool', pname, 'fwd bwd general rows')) continue;
      await withTensors(async (from) => {
        const OH = Math.floor((H + 2 - 3) / 2) + 1;
        const n = B * C * H * H, ny = B * C * OH * OH;
        const x64 = randomValues(n, 5), dy64 = randomValues(ny, 6);
        const x = from(f32(x64), [B, C, H, H]);
        const dy = from(f32(dy64), [B, C, OH, OH]);
        const popts = { k: 3, stride: 2, padding: 1 };
        const ps = (N: number) => ({ N, C, H, W: H, kernel: 3, stride: 2, padding: 1 });
        const fwdOp = kind === 'max' ? ops.maxPool2d : ops.avgPool2d;
        const shape = `N${B} C${C} ${H}×${H} → ${OH}×${OH}`;
        const bytes = 4 * (n + ny * (kind === 'max' ? 2 : 1));
        const argmax = kind === 'max' ? cpu.maxPool2d(x64, ps(B)).argmax : null;
        // pool.rows set around each capture; x.grad cleared first, so no variant records an accumulation into it.
        const rows = (on: boolean): Pick<VariantSpec, 'variant' | 'around'> => {
          let prev = ops.POOL_KNOBS.rows;
          const set = () => { x.grad?.dispose(); x.grad = null; prev = ops.POOL_KNOBS.rows; ops.POOL_KNOBS.rows = on; };
          return { variant: on ? 'rows' : 'general', around: [set, () => { ops.POOL_KNOBS.rows = prev; }] };
        };
        await ctx.run({
          family: 'pool', name: `${pname} fwd`, shape, bytes, bound: 'copy',
          cpu: () => cpuTime((m) => (kind === 'max' ? cpu.maxPool2d(x64.subarray(0, m * C * H * H), ps(m)) : cpu.avgPool2d(x64.subarray(0, m * C * H * H), ps(m))), B, ctx.budgetMs, { unit: 'images' }),
          variants: [false, true].map((on) => ({ ...rows(on), record: () => noGrad(() => scope(() => { fwdOp(x, popts); })) })),
        });
        x.requiresGrad = true;
        const y = fwdOp(x, popts);
        await ctx.run({
          family: 'pool', name: `${pname} bwd`, shape, bytes, bound: 'copy',
          cpu: () => cpuTime((m) => (kind === 'max' ? cpu.maxPool2dBackward(dy64.subarray(0, m * C * OH * OH), argmax!.subarray(0, m * C * OH * OH), ps(m)) : cpu.avgPool2dBackward(dy64.subarray(0, m * C * OH * OH), ps(m))), B, ctx.budgetMs, { unit: 'images' }),
          variants: [false, true].map((on) => ({ ...rows(on), record: () => { backward(y, dy); } })),
        });
        x.grad?.dispose();
        x.grad = null;
        disposeRecorded(y);
      });
    }
  }
}
