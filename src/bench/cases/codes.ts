// Binary codes: sign + pack of a database's descriptors, and Hamming top-k of queries against a database.
import { scope, type Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { signPack as signPackCpu, hammingTopK as hammingTopKCpu } from '../../cpu/codes.js';
import { randomValues, randomWords } from '../util.js';
import { cpuTime, f32, withTensors, type BenchContext } from './case.js';

export async function codesCases(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 2048 : 59000, k = 48, W = 2;
  if (ctx.want('signpack', 'sign+pack')) {
    await withTensors(async (from) => {
      const v64 = randomValues(n * k, 16);
      const fv = from(f32(v64), [n, k]);
      const v32 = f32(v64);
      await ctx.run({
        family: 'codes', name: 'sign+pack', shape: `${n}×${k} → ${n}×${W} u32`, bytes: 4 * n * (k + W), bound: 'copy',
        cpu: () => cpuTime((m) => signPackCpu(v32.subarray(0, m * k), m, k), n, ctx.budgetMs),
        variants: [{ variant: 'signpack', record: () => scope(() => { ops.signPack(fv); }) }],
      });
    });
  }
  const hamming = (ops as Record<string, unknown>).hammingTopK as undefined | ((q: Tensor, db: Tensor, bits: number, k: number) => unknown);
  if (!ctx.want('hamming', 'top-k')) return;
  if (typeof hamming !== 'function') {
    ctx.log('hamming top-k: ops.hammingTopK is not in this build (still in progress): row skipped\n');
    return;
  }
  const N = ctx.quick ? 8192 : 100000, nq = ctx.quick ? 16 : 100, kk = 100, bits = 48;
  await withTensors(async (from) => {
    const dbw = randomWords(N * W, 17), qw = randomWords(nq * W, 18);
    const db = from(dbw, [N, W], 'u32'), q = from(qw, [nq, W], 'u32');
    await ctx.run({
      family: 'codes', name: 'hamming top-k', shape: `${nq} q × ${N} codes, ${bits} bits, k ${kk}`, bytes: nq * N * W * 4, bound: 'copy',
      note: 'GB/s = queries × database bytes (a scan rate; bound taken as the copy ceiling)',
      cpu: () => cpuTime((m) => hammingTopKCpu(qw.subarray(0, m * W), dbw, m, N, bits, kk), nq, ctx.budgetMs, { unit: 'queries' }),
      variants: [{ variant: 'hist+collect', record: () => scope(() => { hamming(q, db, bits, kk); }) }],
    });
  });
}
