// Op family matmul: GEMM (three kernel variants in shaders/matmul.wgsl), matmul and linear with their backward rules,
// and gemmInto, the strided low-level entry other op families (im2col + GEMM convolution) build on.
import { defineBackward, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import type { PooledBuffer } from '../gpu/buffers.js';
import type { Runtime } from '../gpu/runtime.js';
import { grid1d } from '../gpu/grid.js';
import { genGemmSource, gemmGenFile } from './gemm-gen.js';
import { useGenerated, vec4Reads } from './generated.js';
import { GEMM_VARIANTS, knobView } from '../gpu/knobs.js';

/** GEMM kernel variants, kept alive side by side (STYLE 6): naive → shared-memory tiled → register-blocked → the register-blocked kernel generated unrolled (gemm-gen.ts). */
export type GemmVariant = (typeof GEMM_VARIANTS)[number];
/** Activation fused into the GEMM epilogue. */
export type GemmActivation = 'none' | 'relu' | 'tanh';

/** Knobs of the variants (override constants of shaders/matmul.wgsl). */
export interface GemmKnobs {
  /** regblock: rows × columns per invocation (TN and, when A is transposed, TM must be multiples of 4; ≤ 16). */
  TM: number;
  TN: number;
  /** regblock: workgroup extent in columns (x, the SIMD lane direction on llvmpipe) and rows (y). */
  WX: number;
  WY: number;
  /** tiled: tile edge (workgroup TS×TS, ≤ 32). */
  TS: number;
}

/**
 * The GEMM knobs of the registry (src/gpu/knobs.ts, preset by adapter class). Software (llvmpipe): measured, see
 * bench/NOTES.md — 8×8 outputs per invocation with 8×8 workgroups; with arrays (regblock) larger blocks spill the
 * accumulators and run 2–3× slower; generated unrolled (gemm-gen.ts) the same blocking runs 1.6–3× faster than regblock
 * on the FC layers' shapes.
 */
export const GEMM_KNOBS = knobView('gemm', ['variant', 'TM', 'TN', 'WX', 'WY', 'TS', 'TEX']);

/** One operand of gemmInto: a buffer and how the matrix lies in it (all in f32 elements). */
export interface GemmOperand {
  buffer: PooledBuffer;
  /** First element of batch 0. Default 0. */
  offset?: number;
  /** Row stride of the stored matrix (stored M×K or K×M for A, K×N or N×K for B; for C always M×N). */
  ld: number;
  /** Elements between batches; 0 broadcasts one matrix to every batch. Default 0. */
  batchStride?: number;
}

/** Sizes and options of gemmInto. */
export interface GemmIntoOptions {
  M: number;
  N: number;
  K: number;
  /** Default 1. */
  batch?: number;
  /** A is stored K×M (op(A) = Aᵀ). */
  transA?: boolean;
  /** B is stored N×K (op(B) = Bᵀ, e.g. a linear weight [out, in]). */
  transB?: boolean;
  /** Default 1; scales the product only. */
  alpha?: number;
  /** C = act(α·op(A)·op(B) + β·C + bias); β = 1 accumulates into C. Default 0 (C is not read). */
  beta?: number;
  /** Length-N vector added to every row (at bias.offset). */
  bias?: { buffer: PooledBuffer; offset?: number } | null;
  act?: GemmActivation;
  /** Default: knob gemm.variant (GEMM_KNOBS). */
  variant?: GemmVariant;
  /** Overrides of the preset's knobs (benchmarks). */
  knobs?: Partial<GemmKnobs>;
}

const ACT_CODE: Record<GemmActivation, number> = { none: 0, relu: 1, tanh: 2 };

function checkDim(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`gemm: ${what} = ${v} must be a non-negative integer`);
}

const aligned = (o: Required<GemmOperand>) => o.offset % 4 === 0 && o.ld % 4 === 0 && o.batchStride % 4 === 0;

/**
 * Records C[z] = act(α·op(A[z])·op(B[z]) + β·C[z] + bias) for z < batch into `c` (strided, no allocation of C).
 * regblock needs offsets, row strides and batch strides that are multiples of 4 (vec4 loads); an operand that is not
 * aligned is first packed into a zero-padded temporary (one extra read + write of it).
 */
export function gemmInto(c: GemmOperand, a: GemmOperand, b: GemmOperand, o: GemmIntoOptions): void {
  const rt = runtime();
  const { M, N, K } = o;
  const batch = o.batch ?? 1;
  checkDim(M, 'M'); checkDim(N, 'N'); checkDim(K, 'K'); checkDim(batch, 'batch');
  const tA = o.transA ?? false, tB = o.transB ?? false;
  const { variant: preVariant, ...preKnobs } = GEMM_KNOBS;
  const variant = o.variant ?? preVariant;
  const kn: GemmKnobs = { ...preKnobs, ...o.knobs };
  let A: Required<GemmOperand> = { offset: 0, batchStride: 0, ...a };
  let B: Required<GemmOperand> = { offset: 0, batchStride: 0, ...b };
  const C: Required<GemmOperand> = { offset: 0, batchStride: 0, ...c };
  const [rowsA, colsA] = tA ? [K, M] : [M, K];
  const [rowsB, colsB] = tB ? [N, K] : [K, N];
  if (A.ld < colsA) throw new Error(`gemm: A is stored ${rowsA}×${colsA}${tA ? ' (transposed)' : ''} but its row stride ld = ${A.ld} < ${colsA}`);
  if (B.ld < colsB) throw new Error(`gemm: B is stored ${rowsB}×${colsB}${tB ? ' (transposed)' : ''} but its row stride ld = ${B.ld} < ${colsB}`);
  if (C.ld < N) throw new Error(`gemm: C is M×N = ${M}×${N} but its row stride ld = ${C.ld} < ${N}`);
  const need = (op: Required<GemmOperand>, rows: number, cols: number) => (rows && cols ? op.offset + (batch - 1) * op.batchStride + (rows - 1) * op.ld + cols : 0);
  for (const [name, op, rows, cols] of [['A', A, rowsA, colsA], ['B', B, rowsB, colsB], ['C', C, M, N]] as const) {
    const n = need(op, rows, cols);
    if (n * 4 > op.buffer.bytes) throw new Error(`gemm: ${name} needs ${n} elements (offset ${op.offset}, batch ${batch} × stride ${op.batchStride}, ${rows}×${cols}, ld ${op.ld}) but its buffer holds ${op.buffer.bytes / 4}`);
  }
  if (o.bias && (o.bias.offset ?? 0) + N > o.bias.buffer.bytes / 4) throw new Error(`gemm: bias needs ${N} elements at offset ${o.bias.offset ?? 0}, its buffer holds ${o.bias.buffer.bytes / 4}`);
  if (M === 0 || N === 0 || batch === 0) return;
  const temps: PooledBuffer[] = [];
  const vec4 = variant === 'regblock' || variant === 'unrolled';
  if (vec4) {
    if (kn.TN % 4 || kn.TM % 4 || kn.TM > 16 || kn.TN > 16) throw new Error(`gemm: ${variant} knobs TM = ${kn.TM}, TN = ${kn.TN} must be multiples of 4 and ≤ 16`);
    if (!aligned(A)) A = pack(rt, A, rowsA, colsA, batch, temps);
    if (!aligned(B)) B = pack(rt, B, rowsB, colsB, batch, temps);
  }
  // K = 0: the vec4 loops would read nothing; the naive kernel writes the epilogue of a zero product.
  const run = vec4 && K === 0 ? 'naive' : variant;
  // The texture path reads each operand's span (up to its last element, in whole vec4; the kernel's K tail may read
  // 3 elements past it and zeroes them).
  const span = (op: Required<GemmOperand>, rows: number, cols: number) => ({ buffer: op.buffer.buffer, size: Math.min(op.buffer.buffer.size, Math.ceil((need(op, rows, cols) + 3) / 4) * 16) });
  const spanA = span(A, rowsA, colsA), spanB = span(B, rowsB, colsB);
  const tex = run === 'unrolled' && GEMM_KNOBS.TEX && rt.texelsFit(spanA.size) && rt.texelsFit(spanB.size);
  let overrides: Record<string, number> = { TRANS_A: +tA, TRANS_B: +tB };
  let workgroups: [number, number, number];
  let entry: string;
  let file = 'matmul.wgsl';
  if (run === 'naive') {
    entry = 'gemm_naive';
    workgroups = [Math.ceil(N / 16), Math.ceil(M / 16), batch];
  } else if (run === 'tiled') {
    entry = 'gemm_tiled';
    overrides.TS = kn.TS;
    workgroups = [Math.ceil(N / kn.TS), Math.ceil(M / kn.TS), batch];
  } else if (run === 'regblock' || run === 'unrolled') {
    workgroups = [Math.ceil(N / (kn.TN * kn.WX)), Math.ceil(M / (kn.TM * kn.WY)), batch];
    if (run === 'regblock') {
      entry = 'gemm_regblock';
      Object.assign(overrides, { TM: kn.TM, TN: kn.TN, WX: kn.WX, WY: kn.WY });
    } else {
      const g = { TM: kn.TM, TN: kn.TN, transA: tA, transB: tB, beta: (o.beta ?? 0) !== 0, tex };
      file = useGenerated(gemmGenFile(g), () => genGemmSource(g, rt.kernels.source('matmul.wgsl')));
      entry = 'gemm';
      overrides = { WX: kn.WX, WY: kn.WY };
    }
  } else {
    throw new Error(`gemm: unknown variant '${variant as string}' (naive | tiled | regblock | unrolled)`);
  }
  // Whole buffers are bound: the vec4 kernels may read past a matrix (results discarded) and need whole vec4s. (Read
  // through textures, each operand's span is copied in.)
  const reads = run === 'regblock' || run === 'unrolled'
    ? vec4Reads(tex, tex ? { a4: spanA, b4: spanB } : { a4: A.buffer.buffer, b4: B.buffer.buffer })
    : { bindings: { a: A.buffer.buffer, b: B.buffer.buffer } };
  rt.dispatch({ file, entry, overrides }, {
    bindings: { ...reads.bindings, c: C.buffer.buffer, bias: (o.bias?.buffer ?? A.buffer).buffer },
    texels: reads.texels,
    params: {
      M, N, K, lda: A.ld, ldb: B.ld, ldc: C.ld,
      offA: A.offset, offB: B.offset, offC: C.offset, offBias: o.bias?.offset ?? 0,
      sA: A.batchStride, sB: B.batchStride, sC: C.batchStride,
      alpha: o.alpha ?? 1, beta: o.beta ?? 0, hasBias: +!!o.bias, act: ACT_CODE[o.act ?? 'none'],
    },
    workgroups,
  });
  for (const t of temps) rt.free(t);
}

/** Copies a strided rows×cols matrix (per batch) into a zero-padded temporary with row stride rounded up to 4. */
function pack(rt: Runtime, op: Required<GemmOperand>, rows: number, cols: number, batch: number, temps: PooledBuffer[]): Required<GemmOperand> {
  const ld = Math.ceil(cols / 4) * 4;
  const nb = op.batchStride === 0 ? 1 : batch;
  const per = rows * ld;
  const buf = rt.alloc(Math.max(16, nb * per * 4), 'gemm pack');
  temps.push(buf);
  if (per > 0) {
    const wg = 64;
    const [gx, gy] = grid1d(per, wg);
    rt.dispatch({ file: 'matmul.wgsl', entry: 'pack', overrides: { WG: wg } }, {
      bindings: { a: op.buffer.buffer, c: buf },
      params: { M: rows, K: cols, lda: op.ld, ldc: ld, offA: op.offset, sA: op.batchStride, sC: per, alpha: 1 },
      workgroups: [gx, gy, nb],
    });
  }
  return { buffer: buf, offset: 0, ld, batchStride: op.batchStride === 0 ? 0 : per };
}

/** Options of matmul. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** Length N, added along rows. */
  bias?: Tensor | null;
  act?: GemmActivation;
  variant?: GemmVariant;
  knobs?: Partial<GemmKnobs>;
}

interface MatmulCtx {
  M: number; N: number; K: number; batch: number;
  transA: boolean; transB: boolean; alpha: number; act: GemmActivation;
  /** Batch strides of A and B (0: broadcast 2-D operand). */
  sA: number; sB: number;
  variant?: GemmVariant;
  knobs?: Partial<GemmKnobs>;
}

function dims(t: Tensor, name: string): [number, number, number, boolean] {
  if (t.shape.length === 2) return [1, t.shape[0], t.shape[1], false];
  if (t.shape.length === 3) return [t.shape[0], t.shape[1], t.shape[2], true];
  throw new Error(`matmul: ${name} ${t.describe()} must be 2-D [rows, cols] or 3-D [batch, rows, cols]`);
}

/** act(α·op(a)·op(b) + bias) for 2-D [M,K]·[K,N] or batched 3-D operands (a batch of 1, or a 2-D operand, broadcasts). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const tA = opts.transA ?? false, tB = opts.transB ?? false;
  const [ba, ra, ca, a3] = dims(a, 'a');
  const [bb, rb, cb, b3] = dims(b, 'b');
  const [M, K] = tA ? [ca, ra] : [ra, ca];
  const [Kb, N] = tB ? [cb, rb] : [rb, cb];
  if (K !== Kb) {
    throw new Error(`matmul: inner sizes differ: op(a) of ${a.describe()} is ${M}×${K}${tA ? ' (transA)' : ''}, op(b) of ${b.describe()} is ${Kb}×${N}${tB ? ' (transB)' : ''}; expected op(b) to have ${K} rows — check transA/transB`);
  }
  if (ba !== bb && ba !== 1 && bb !== 1) throw new Error(`matmul: batch sizes differ: a ${a.describe()} has ${ba}, b ${b.describe()} has ${bb}; they must match or one must be 1`);
  const batch = Math.max(ba, bb);
  if (opts.bias && (opts.bias.size !== N || opts.bias.shape.length !== 1)) throw new Error(`matmul: bias ${opts.bias.describe()} must have shape [${N}] (N, the columns of the output)`);
  for (const [t, n] of [[a, 'a'], [b, 'b'], [opts.bias, 'bias']] as const) if (t && t.dtype !== 'f32') throw new Error(`matmul: ${n} ${t.describe()} must be f32`);
  const out = Tensor.empty(a3 || b3 ? [batch, M, N] : [M, N]);
  const ctx: MatmulCtx = {
    M, N, K, batch, transA: tA, transB: tB, alpha: opts.alpha ?? 1, act: opts.act ?? 'none',
    sA: ba === 1 ? 0 : M * K, sB: bb === 1 ? 0 : K * N, variant: opts.variant, knobs: opts.knobs,
  };
  gemmInto(
    { buffer: out.buffer, ld: N, batchStride: M * N },
    { buffer: a.buffer, ld: ca, batchStride: ctx.sA },
    { buffer: b.buffer, ld: cb, batchStride: ctx.sB },
    { M, N, K, batch, transA: tA, transB: tB, alpha: ctx.alpha, bias: opts.bias ? { buffer: opts.bias.buffer } : null, act: ctx.act, variant: opts.variant, knobs: opts.knobs },
  );
  return record('matmul', [a, b, opts.bias ?? null], out, ctx as unknown as Record<string, unknown>);
}

/** g · act'(y) for the activation fused into the forward (a new tensor; g itself when act is 'none'). */
function actBackward(g: Tensor, y: Tensor, act: GemmActivation): Tensor {
  if (act === 'none') return g;
  const out = Tensor.empty(g.shape);
  const wg = 64;
  runtime().dispatch({ file: 'matmul.wgsl', entry: 'act_backward', overrides: { WG: wg } }, {
    bindings: { a: g.buffer, b: y.buffer, c: out.buffer },
    params: { M: g.size, alpha: 1, act: ACT_CODE[act] },
    workgroups: grid1d(g.size, wg),
  });
  return out;
}

/** Column sums of g viewed as [rows, n] (the bias gradient). */
function colsum(g: Tensor, rows: number, n: number): Tensor {
  const out = Tensor.empty([n]);
  const wg = 64;
  runtime().dispatch({ file: 'matmul.wgsl', entry: 'colsum', overrides: { WG: wg } }, {
    bindings: { a: g.buffer, c: out.buffer },
    params: { M: rows, N: n, lda: n, alpha: 1 },
    workgroups: [Math.ceil(n / wg), 1, 1],
  });
  return out;
}

/**
 * Gradient of one operand X of a batched GEMM, as the GEMM dX = α·op1(P)·op2(Q) (stored layout of X);
 * where X is broadcast over the batch (stride 0) the per-batch products accumulate into one matrix (β = 1).
 */
function gradGemm(
  shape: readonly number[], rows: number, cols: number, batch: number, broadcast: boolean,
  P: { t: Tensor; ld: number; s: number; trans: boolean }, Q: { t: Tensor; ld: number; s: number; trans: boolean },
  inner: number, c: MatmulCtx,
): Tensor {
  const out = Tensor.empty(shape);
  const common = { M: rows, N: cols, K: inner, transA: P.trans, transB: Q.trans, alpha: c.alpha, variant: c.variant, knobs: c.knobs };
  if (!broadcast || batch === 1) {
    gemmInto({ buffer: out.buffer, ld: cols, batchStride: rows * cols }, { buffer: P.t.buffer, ld: P.ld, batchStride: P.s }, { buffer: Q.t.buffer, ld: Q.ld, batchStride: Q.s }, { ...common, batch });
  } else {
    for (let z = 0; z < batch; z++) {
      gemmInto({ buffer: out.buffer, ld: cols }, { buffer: P.t.buffer, ld: P.ld, offset: z * P.s }, { buffer: Q.t.buffer, ld: Q.ld, offset: z * Q.s }, { ...common, beta: z === 0 ? 0 : 1 });
    }
  }
  return out;
}

defineBackward('matmul', (node, gy) => {
  const c = node.ctx as unknown as MatmulCtx;
  const [a, b, bias] = node.inputs as [Tensor, Tensor, Tensor | null];
  const g = actBackward(gy, node.output, c.act);
  const { M, N, K, batch } = c;
  const G = { t: g, ld: N, s: M * N };
  // Stored row strides: A is M×K (K×M when transA), B is K×N (N×K when transB).
  const A = { t: a, ld: c.transA ? M : K, s: c.sA };
  const B = { t: b, ld: c.transB ? K : N, s: c.sB };
  let dA: Tensor | null = null, dB: Tensor | null = null, dBias: Tensor | null = null;
  if (a.requiresGrad) {
    // !tA: dA = G·op(B)ᵀ (M×K); tA: dA = op(B)·Gᵀ (K×M).
    dA = c.transA
      ? gradGemm(a.shape, K, M, batch, c.sA === 0, { ...B, trans: c.transB }, { ...G, trans: true }, N, c)
      : gradGemm(a.shape, M, K, batch, c.sA === 0, { ...G, trans: false }, { ...B, trans: !c.transB }, N, c);
  }
  if (b.requiresGrad) {
    // !tB: dB = op(A)ᵀ·G (K×N); tB: dB = Gᵀ·op(A) (N×K).
    dB = c.transB
      ? gradGemm(b.shape, N, K, batch, c.sB === 0, { ...G, trans: true }, { ...A, trans: c.transA }, M, c)
      : gradGemm(b.shape, K, N, batch, c.sB === 0, { ...A, trans: !c.transA }, { ...G, trans: false }, M, c);
  }
  if (bias?.requiresGrad) dBias = colsum(g, batch * M, N);
  if (g !== gy) g.dispose();
  return [dA, dB, dBias];
});

/** y = x·Wᵀ + b (PyTorch layout: x [batch, in], weight [out, in], bias [out]); differentiable through matmul. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Omit<MatmulOptions, 'transA' | 'transB' | 'bias'> = {}): Tensor {
  if (x.shape.length !== 2) throw new Error(`linear: input ${x.describe()} must be 2-D [batch, in]`);
  if (weight.shape.length !== 2) throw new Error(`linear: weight ${weight.describe()} must be 2-D [out, in]`);
  if (x.shape[1] !== weight.shape[1]) throw new Error(`linear: input ${x.describe()} has ${x.shape[1]} features, weight ${weight.describe()} expects in = ${weight.shape[1]}`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0])) throw new Error(`linear: bias ${bias.describe()} must have shape [${weight.shape[0]}] (out)`);
  return matmul(x, weight, { ...opts, transB: true, bias: bias ?? null });
}
