// The optimiser: one Adam step over dshNet's parameters, scalar vs vec4 kernels.
import { Tensor } from '../../tensor.js';
import * as cpu from '../../cpu/index.js';
import { Adam, setOptimVariant } from '../../optim/index.js';
import { dshNet } from '../../nn/models.js';
import { hostMs, randomValues } from '../util.js';
import { f32, withTensors, type BenchContext } from './case.js';

export async function optimCases(ctx: BenchContext): Promise<void> {
  if (!ctx.want('optim', 'adam', 'scalar vec4')) return;
  await withTensors(async () => {
    const model = dshNet({ bits: 48, batchNorm: false, seed: 1 });
    const params = model.namedParameters();
    const host = params.map(([, t], i) => ({ w: randomValues(t.size, 100 + i), g: randomValues(t.size, 200 + i) }));
    params.forEach(([, t], i) => { t.grad = Tensor.from(f32(host[i].g), t.shape).keep(); });
    const opt = new Adam(params, { lr: 1e-3 });
    const n = params.reduce((s, [, t]) => s + t.size, 0);
    await ctx.run({
      family: 'optim', name: 'Adam step (dshNet, 48 bits)', shape: `${params.length} tensors, ${n} params`, bytes: 28 * n, bound: 'copy',
      cpu: () => ({ ms: hostMs(() => host.forEach((h) => cpu.adamStep(h.w, h.g, new Float64Array(h.w.length), new Float64Array(h.w.length), 1, { lr: 1e-3 }))) }),
      variants: (['scalar', 'vec4'] as const).map((v) => ({
        variant: v, record: () => opt.step(),
        around: [() => setOptimVariant(v === 'vec4' ? 'auto' : 'scalar'), () => setOptimVariant('auto')] as [() => void, () => void],
      })),
    });
    for (const [, t] of params) { t.grad?.dispose(); t.grad = null; }
    opt.dispose();
    model.dispose();
  });
}
