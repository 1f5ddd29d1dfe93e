// GEMM reference: C = act(α·op(A)·op(B) + bias), batched with strided operands; and its backward (for no activation).
import { expectInt } from './check.js';

/** Activation applied after the GEMM (and after the bias). */
export type Activation = 'none' | 'relu' | 'tanh';

/** Shape and options of a (batched) GEMM; op(A) is M×K, op(B) is K×N, C is M×N, all row-major. */
export interface GemmOptions {
  M: number;
  N: number;
  K: number;
  /** A is stored K×M (A = op(A)ᵀ) instead of M×K. */
  transA?: boolean;
  /** B is stored N×K (PyTorch linear weight [out, in]) instead of K×N. */
  transB?: boolean;
  /** Scales the product only, not the bias. Default 1. */
  alpha?: number;
  /** Length N, added to every row of every batch after the α-scaled product. */
  bias?: Float64Array | null;
  /** Applied last: C = act(α·op(A)·op(B) + bias). Default 'none'. */
  activation?: Activation;
  /** Number of independent products. Default 1. */
  batch?: number;
  /** Elements between consecutive batches of A, B, C. Defaults M·K, K·N, M·N; 0 broadcasts one operand to all batches. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

interface Resolved {
  M: number; N: number; K: number; transA: boolean; transB: boolean; alpha: number;
  batch: number; strideA: number; strideB: number; strideC: number;
}

function resolve(A: Float64Array, B: Float64Array, o: GemmOptions): Resolved {
  const { M, N, K } = o;
  expectInt(M, 'gemm M'); expectInt(N, 'gemm N'); expectInt(K, 'gemm K');
  const batch = o.batch ?? 1;
  expectInt(batch, 'gemm batch');
  const r: Resolved = {
    M, N, K, transA: o.transA ?? false, transB: o.transB ?? false, alpha: o.alpha ?? 1, batch,
    strideA: o.strideA ?? M * K, strideB: o.strideB ?? K * N, strideC: o.strideC ?? M * N,
  };
  if (batch > 1 && r.strideC < M * N) throw new Error(`cpu.gemm: strideC ${r.strideC} < M·N = ${M * N} would overlap batches of C`);
  const needA = (batch - 1) * r.strideA + M * K;
  const needB = (batch - 1) * r.strideB + K * N;
  if (A.length < needA) throw new Error(`cpu.gemm: A has length ${A.length}, needs ≥ ${needA} (batch ${batch}, stride ${r.strideA}, ${r.transA ? 'K×M' : 'M×K'} = ${M * K})`);
  if (B.length < needB) throw new Error(`cpu.gemm: B has length ${B.length}, needs ≥ ${needB} (batch ${batch}, stride ${r.strideB}, ${r.transB ? 'N×K' : 'K×N'} = ${K * N})`);
  if (o.bias && o.bias.length !== N) throw new Error(`cpu.gemm: bias has length ${o.bias.length}, expected N = ${N}`);
  return r;
}

/** Index into A of op(A)[i][k] for batch offset `off`. */
function idxA(r: Resolved, off: number, i: number, k: number): number {
  return r.transA ? off + k * r.M + i : off + i * r.K + k;
}

/** Index into B of op(B)[k][j] for batch offset `off`. */
function idxB(r: Resolved, off: number, k: number, j: number): number {
  return r.transB ? off + j * r.K + k : off + k * r.N + j;
}

/** C[b] = act(α·op(A[b])·op(B[b]) + bias): A M×K (K×M if transA), B K×N (N×K if transB), bias [N] → C [(batch−1)·strideC + M·N]. */
export function gemm(A: Float64Array, B: Float64Array, o: GemmOptions): Float64Array {
  const r = resolve(A, B, o);
  const act = o.activation ?? 'none';
  const C = new Float64Array((r.batch - 1) * r.strideC + r.M * r.N);
  for (let b = 0; b < r.batch; b++) {
    const oa = b * r.strideA, ob = b * r.strideB, oc = b * r.strideC;
    for (let i = 0; i < r.M; i++) {
      for (let j = 0; j < r.N; j++) {
        let s = 0;
        for (let k = 0; k < r.K; k++) s += A[idxA(r, oa, i, k)] * B[idxB(r, ob, k, j)];
        let c = r.alpha * s + (o.bias ? o.bias[j] : 0);
        if (act === 'relu') c = c > 0 ? c : 0;
        else if (act === 'tanh') c = Math.tanh(c);
        C[oc + i * r.N + j] = c;
      }
    }
  }
  return C;
}

/** Backward of C = α·op(A)·op(B) + bias (activation 'none'; apply reluBackward/tanhBackward to dC first): dA, dB in A's and B's stored layout and length (accumulated where a stride is 0), dbias [N]. */
export function gemmBackward(A: Float64Array, B: Float64Array, dC: Float64Array, o: GemmOptions): { dA: Float64Array; dB: Float64Array; dbias: Float64Array } {
  const r = resolve(A, B, o);
  if ((o.activation ?? 'none') !== 'none') throw new Error(`cpu.gemmBackward: activation '${o.activation}' is not differentiated here; pass dC through reluBackward/tanhBackward and use activation 'none'`);
  const needC = (r.batch - 1) * r.strideC + r.M * r.N;
  if (dC.length < needC) throw new Error(`cpu.gemmBackward: dC has length ${dC.length}, needs ≥ ${needC}`);
  const dA = new Float64Array(A.length);
  const dB = new Float64Array(B.length);
  const dbias = new Float64Array(r.N);
  for (let b = 0; b < r.batch; b++) {
    const oa = b * r.strideA, ob = b * r.strideB, oc = b * r.strideC;
    // d op(A)[i][k] = α·Σ_j dC[i][j]·op(B)[k][j]
    for (let i = 0; i < r.M; i++) {
      for (let k = 0; k < r.K; k++) {
        let s = 0;
        for (let j = 0; j < r.N; j++) s += dC[oc + i * r.N + j] * B[idxB(r, ob, k, j)];
        dA[idxA(r, oa, i, k)] += r.alpha * s;
      }
    }
    // d op(B)[k][j] = α·Σ_i op(A)[i][k]·dC[i][j]
    for (let k = 0; k < r.K; k++) {
      for (let j = 0; j < r.N; j++) {
        let s = 0;
        for (let i = 0; i < r.M; i++) s += A[idxA(r, oa, i, k)] * dC[oc + i * r.N + j];
        dB[idxB(r, ob, k, j)] += r.alpha * s;
      }
    }
    for (let i = 0; i < r.M; i++) for (let j = 0; j < r.N; j++) dbias[j] += dC[oc + i * r.N + j];
  }
  return { dA, dB, dbias };
}
