// The fused triplet quantization loss: forward and gradient in one submit.
import { scope } from '../../tensor.js';
import { backward } from '../../autograd.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { setKnobs } from '../../gpu/knobs.js';
import { randomValues } from '../util.js';
import { cpuTime, f32, withTensors, type BenchContext, type VariantSpec } from './case.js';

export async function tqlCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.quick ? [16] : [128, 256]) {
    if (!ctx.want('tql', 'loss', 'blocked', 'scalar')) continue;
    const k = 48;
    await withTensors(async (from) => {
      const f64 = randomValues(B * k, 15).map((v) => Math.tanh(2 * v));
      const labels = Uint32Array.from({ length: B }, (_, i) => i % 10);
      const f = from(f32(f64), [B, k]);
      const lab = from(labels, [B], 'u32');
      f.requiresGrad = true;
      const o = cpu.tqlDefaults(k);
      await ctx.run({
        family: 'tql', name: 'tripletQuantLoss fwd+bwd', shape: `B${B} k${k} batch-all`, flop: 8 * B * B * k, bound: 'fma',
        note: 'loss at tqlDefaults (m = m_q = max(k/4, 6)); FLOP ≈ 8·B²·k (pair distances real + quantised, W·F gradient); the B³ triplet hinge counts are not counted',
        cpu: () => cpuTime((m) => cpu.tqlLoss(f64.subarray(0, m * k), labels.subarray(0, m), m, k, o), B, ctx.budgetMs, { slice: 2, power: 3, unit: 'rows' }),
        // The knob tql.variant's kernels (blocked: scalar where k % 4 ≠ 0).
        variants: (['blocked', 'scalar'] as const).map((v): VariantSpec => {
          let prev: ReturnType<typeof setKnobs> = {};
          return {
            variant: v,
            record: () => scope(() => { const { loss } = ops.tripletQuantLoss(f, lab, o); backward(loss); }),
            // A fresh f.grad for each variant: the second would otherwise time an extra accumulate.
            around: [() => { f.grad?.dispose(); f.grad = null; prev = setKnobs({ 'tql.variant': v }); }, () => { setKnobs(prev); }],
          };
        }),
      });
      f.grad?.dispose();
      f.grad = null;
    });
  }
}
