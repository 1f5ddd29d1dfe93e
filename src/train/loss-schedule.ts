// The loss options of each training step: λ's linear warm-up and decay, and the smooth form's β continuation.
import type { TqlOptions } from '../cpu/tql.js';
import type { TrainConfig } from './options.js';

/**
 * λ at global step s: ramps linearly from 0 to cfg.lambda over the first cfg.lambdaWarmup epochs, stays, and falls
 * linearly to 0 at the end of the run over the last cfg.lambdaDecay epochs (fractions allowed; where the two overlap,
 * the smaller factor wins).
 */
export function lambdaAt(cfg: TrainConfig, s: number, stepsPerEpoch: number): number {
  const up = cfg.lambdaWarmup * stepsPerEpoch;
  const down = cfg.lambdaDecay * stepsPerEpoch, end = cfg.epochs * stepsPerEpoch;
  const rise = s >= up ? 1 : s / up;
  const fall = down > 0 ? Math.min(1, Math.max(0, (end - s) / down)) : 1;
  return cfg.lambda * Math.min(rise, fall);
}

/**
 * β of the smooth code tanh(β·f) at global step s: 1 in the first epoch, multiplied by cfg.betaGrowth at the start of
 * every later epoch (HashNet raises β in stages the same way), so the code approaches sign(f), the code evaluated.
 */
export function betaAt(cfg: TrainConfig, s: number, stepsPerEpoch: number): number {
  return cfg.betaGrowth ** Math.floor(s / stepsPerEpoch);
}

/** The options of the loss at global step s. */
export function lossOptionsAt(cfg: TrainConfig, s: number, stepsPerEpoch: number): TqlOptions {
  return {
    loss: cfg.loss, form: cfg.tqForm, select: cfg.select, margin: cfg.margin, marginQ: cfg.marginQ,
    lambda: lambdaAt(cfg, s, stepsPerEpoch), beta: betaAt(cfg, s, stepsPerEpoch),
  };
}
