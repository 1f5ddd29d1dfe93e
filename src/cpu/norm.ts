// Batch normalisation 2d reference (NCHW, statistics per channel over N·H·W): training forward, running-stat update, eval forward, backward.
import { expectInt, expectLength } from './check.js';

/** Shape of a batch-norm input [N, C, H, W]; eps defaults to 1e-5. */
export interface BatchNorm2dShape {
  N: number; C: number; H: number; W: number;
  eps?: number;
}

function check(s: BatchNorm2dShape, x: Float64Array, gamma: Float64Array, beta: Float64Array | null, name: string): void {
  for (const k of ['N', 'C', 'H', 'W'] as const) expectInt(s[k], `${name} ${k}`);
  expectLength(x, s.N * s.C * s.H * s.W, `${name} x`, '[N, C, H, W]');
  expectLength(gamma, s.C, `${name} gamma`, '[C]');
  if (beta) expectLength(beta, s.C, `${name} beta`, '[C]');
}

/** Training forward: mean[c], var[c] (biased, ÷ N·H·W) over the batch, y = γ·(x − mean)·invStd + β with invStd = 1/√(var + eps): x [N,C,H,W], gamma, beta [C] → y [N,C,H,W], mean, var, invStd [C]. */
export function batchNorm2dTrain(x: Float64Array, gamma: Float64Array, beta: Float64Array, s: BatchNorm2dShape): { y: Float64Array; mean: Float64Array; var: Float64Array; invStd: Float64Array } {
  check(s, x, gamma, beta, 'batchNorm2dTrain');
  const { N, C } = s, HW = s.H * s.W, count = N * HW, eps = s.eps ?? 1e-5;
  const mean = new Float64Array(C), variance = new Float64Array(C), invStd = new Float64Array(C);
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) sum += x[(n * C + c) * HW + i];
    const mu = sum / count;
    // Two passes (mean, then squared deviations): the plain, numerically safe definition.
    let sq = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) { const d = x[(n * C + c) * HW + i] - mu; sq += d * d; }
    mean[c] = mu;
    variance[c] = sq / count;
    invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        y[j] = gamma[c] * (x[j] - mu) * invStd[c] + beta[c];
      }
  }
  return { y, mean, var: variance, invStd };
}

/** PyTorch running-stat update: runMean' = (1 − m)·runMean + m·mean, runVar' = (1 − m)·runVar + m·var·count/(count − 1) (unbiased), count = N·H·W ≥ 2, momentum m default 0.1: all [C] → new arrays. */
export function batchNorm2dUpdateRunning(runMean: Float64Array, runVar: Float64Array, mean: Float64Array, biasedVar: Float64Array, count: number, momentum = 0.1): { runMean: Float64Array; runVar: Float64Array } {
  const C = runMean.length;
  expectLength(runVar, C, 'batchNorm2dUpdateRunning runVar', '[C]');
  expectLength(mean, C, 'batchNorm2dUpdateRunning mean', '[C]');
  expectLength(biasedVar, C, 'batchNorm2dUpdateRunning var', '[C]');
  if (!Number.isInteger(count) || count < 2) throw new Error(`cpu.batchNorm2dUpdateRunning: count = N·H·W is ${count}; the unbiased variance needs at least 2 values per channel (PyTorch refuses 1 in training too)`);
  const m = momentum;
  return {
    runMean: runMean.map((r, c) => (1 - m) * r + m * mean[c]),
    runVar: runVar.map((r, c) => (1 - m) * r + m * biasedVar[c] * count / (count - 1)),
  };
}

/** Eval forward with running statistics: y = γ·(x − runMean)/√(runVar + eps) + β: x [N,C,H,W], gamma, beta, runMean, runVar [C] → y [N,C,H,W]. */
export function batchNorm2dEval(x: Float64Array, gamma: Float64Array, beta: Float64Array, runMean: Float64Array, runVar: Float64Array, s: BatchNorm2dShape): Float64Array {
  check(s, x, gamma, beta, 'batchNorm2dEval');
  expectLength(runMean, s.C, 'batchNorm2dEval runMean', '[C]');
  expectLength(runVar, s.C, 'batchNorm2dEval runVar', '[C]');
  const { N, C } = s, HW = s.H * s.W, eps = s.eps ?? 1e-5;
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const inv = 1 / Math.sqrt(runVar[c] + eps);
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        y[j] = gamma[c] * (x[j] - runMean[c]) * inv + beta[c];
      }
    }
  return y;
}

/** Backward of the training forward (batch statistics are functions of x): with x̂ = (x − mean)·invStd and M = N·H·W, dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·invStd/M·(M·dy − dβ − x̂·dγ): dy, x [N,C,H,W], gamma, mean, invStd [C] → dx [N,C,H,W], dgamma, dbeta [C]. */
export function batchNorm2dBackward(dy: Float64Array, x: Float64Array, gamma: Float64Array, mean: Float64Array, invStd: Float64Array, s: BatchNorm2dShape): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  check(s, x, gamma, null, 'batchNorm2dBackward');
  expectLength(dy, x.length, 'batchNorm2dBackward dy', '[N, C, H, W]');
  expectLength(mean, s.C, 'batchNorm2dBackward mean', '[C]');
  expectLength(invStd, s.C, 'batchNorm2dBackward invStd', '[C]');
  const { N, C } = s, HW = s.H * s.W, M = N * HW;
  const dx = new Float64Array(x.length), dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sdy = 0, sdyx = 0;
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        sdy += dy[j];
        sdyx += dy[j] * (x[j] - mean[c]) * invStd[c];
      }
    dbeta[c] = sdy;
    dgamma[c] = sdyx;
    const k = gamma[c] * invStd[c] / M;
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        const xhat = (x[j] - mean[c]) * invStd[c];
        dx[j] = k * (M * dy[j] - sdy - xhat * sdyx);
      }
  }
  return { dx, dgamma, dbeta };
}
