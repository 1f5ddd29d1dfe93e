// Elementwise kernels (relu, add) at the largest activation, conv1's output, scalar vs vec4.
import { scope } from '../../tensor.js';
import { noGrad } from '../../autograd.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { randomValues } from '../util.js';
import { cpuTime, f32, withTensors, type BenchContext, type VariantSpec } from './case.js';

export async function elementwiseCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.batches) {
    if (!ctx.want('elementwise', 'relu add', 'scalar vec4')) continue;
    await withTensors(async (from) => {
      const n = B * 32 * 32 * 32;
      const a64 = randomValues(n, 11), b64 = randomValues(n, 12);
      const a = from(f32(a64), [n]), b = from(f32(b64), [n]);
      const vs = (fn: () => void): VariantSpec[] => (['scalar', 'vec4'] as const).map((v) => ({ variant: v, record: () => noGrad(() => scope(fn)), around: [() => ops.setElementwiseVariant(v), () => ops.setElementwiseVariant('auto')] }));
      const shape = `${n} (N${B}·32·32·32)`;
      await ctx.run({ family: 'elementwise', name: 'relu', shape, bytes: 8 * n, bound: 'copy', cpu: () => cpuTime((m) => cpu.relu(a64.subarray(0, m)), n, ctx.budgetMs), variants: vs(() => { ops.relu(a); }) });
      await ctx.run({ family: 'elementwise', name: 'add', shape, bytes: 12 * n, bound: 'copy', cpu: () => cpuTime((m) => cpu.add(a64.subarray(0, m), b64.subarray(0, m)), n, ctx.budgetMs), variants: vs(() => { ops.add(a, b); }) });
    });
  }
}
