// GEMM: the FC layers' three products per batch (forward, dX, dW), and square matrices in every transpose case,
// every variant (naive, tiled, regblock, unrolled; the slow two only where they finish in reasonable time).
import { Tensor, scope } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import * as cpu from '../../cpu/index.js';
import { randomValues } from '../util.js';
import { cpuTime, f32, withTensors, type BenchContext } from './case.js';

const ALL: ops.GemmVariant[] = ['naive', 'tiled', 'regblock', 'unrolled'];

async function gemmCase(ctx: BenchContext, name: string, M: number, N: number, K: number, tA: boolean, tB: boolean, variants: ops.GemmVariant[]): Promise<void> {
  const tcase = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
  if (!ctx.want('gemm', name, tcase, variants.join(' '))) return;
  await withTensors(async (from) => {
    const A64 = randomValues(M * K, 13), B64 = randomValues(K * N, 14);
    const A = from(f32(A64), [M * K]), Bt = from(f32(B64), [K * N]);
    const ldA = tA ? M : K, ldB = tB ? K : N;
    const cpuSlice = (m: number) => {
      let As = A64.subarray(0, m * K);
      if (tA) { As = new Float64Array(K * m); for (let k = 0; k < K; k++) for (let i = 0; i < m; i++) As[k * m + i] = A64[k * M + i]; }
      cpu.gemm(As, B64, { M: m, N, K, transA: tA, transB: tB });
    };
    await ctx.run({
      family: 'gemm', name, shape: `${M}×${N}×${K} ${tcase}`, flop: 2 * M * N * K, bound: 'fma',
      cpu: () => cpuTime(cpuSlice, M, ctx.budgetMs, { unit: 'rows of C' }),
      variants: variants.map((v) => ({
        variant: v,
        record: () => scope(() => {
          const C = Tensor.empty([M * N]);
          ops.gemmInto({ buffer: C.buffer, ld: N }, { buffer: A.buffer, ld: ldA }, { buffer: Bt.buffer, ld: ldB }, { M, N, K, transA: tA, transB: tB, variant: v });
        }),
      })),
    });
  });
}

export async function gemmCases(ctx: BenchContext): Promise<void> {
  for (const B of ctx.batches) {
    await gemmCase(ctx, `fc1 fwd x·Wᵀ (N${B})`, B, 500, 1024, false, true, ALL);
    await gemmCase(ctx, `fc1 dX = G·W (N${B})`, B, 1024, 500, false, false, ALL);
    await gemmCase(ctx, `fc1 dW = Gᵀ·X (N${B})`, 500, 1024, B, true, false, ALL);
    await gemmCase(ctx, `hash fwd x·Wᵀ (N${B})`, B, 48, 500, false, true, ALL);
    await gemmCase(ctx, `hash dX = G·W (N${B})`, B, 500, 48, false, false, ALL);
    await gemmCase(ctx, `hash dW = Gᵀ·X (N${B})`, 48, 500, B, true, false, ALL);
  }
  for (const S of ctx.quick ? [64, 128] : [256, 512, 1024]) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      // naive and tiled run 0.3–0.5 GFLOP/s here: only NN, and not at 1024³ (4 s a call).
      const vs: ops.GemmVariant[] = !tA && !tB && S <= 512 ? ALL : ['regblock', 'unrolled'];
      await gemmCase(ctx, `square ${S}`, S, S, S, tA, tB, vs);
    }
  }
}
