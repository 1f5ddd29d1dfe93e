// The trainer's optimiser: weight decay on conv/linear weights only (not on biases or BN γ/β), one schedule.
import { Adam, SGD, cosineLr, stepLr, constantLr, type Optimizer } from '../optim/index.js';
import type { Tensor } from '../tensor.js';
import type { SafeTensor } from '../nn/safetensors.js';
import type { TrainConfig } from './options.js';

/** Two parameter groups (decayed, not decayed) driven as one optimiser. */
export interface TrainOptimizer {
  step(): void;
  zeroGrad(): void;
  setLr(lr: number): void;
  stateDict(): Promise<Record<string, SafeTensor>>;
  loadState(state: Record<string, SafeTensor>): void;
}

/** Builds the optimiser of a run: decay for tensors of rank ≥ 2 (weights), none for biases and BN parameters. */
export function makeOptimizer(cfg: TrainConfig, params: [string, Tensor][]): TrainOptimizer {
  const decay = params.filter(([, t]) => t.shape.length >= 2);
  const plain = params.filter(([, t]) => t.shape.length < 2);
  const mk = (ps: [string, Tensor][], wd: number): Optimizer | null => {
    if (!ps.length) return null;
    if (cfg.optimizer === 'sgd') return new SGD(ps, { lr: cfg.lr, momentum: 0.9, weightDecay: wd, nesterov: true });
    return new Adam(ps, { lr: cfg.lr, weightDecay: wd, decoupled: cfg.optimizer === 'adamw' });
  };
  const groups = [mk(decay, cfg.weightDecay), mk(plain, 0)].filter((o): o is Optimizer => o !== null);
  const prefix = ['decay.', 'nodecay.'];
  return {
    step: () => groups.forEach((g) => g.step()),
    zeroGrad: () => groups.forEach((g) => g.zeroGrad()),
    setLr: (lr) => groups.forEach((g) => g.setLr(lr)),
    async stateDict() {
      const out: Record<string, SafeTensor> = {};
      for (let i = 0; i < groups.length; i++) for (const [k, v] of Object.entries(await groups[i].stateDict())) out[prefix[i] + k] = v as SafeTensor;
      return out;
    },
    loadState(state) {
      for (let i = 0; i < groups.length; i++) {
        const mine: Record<string, SafeTensor> = {};
        for (const [k, v] of Object.entries(state)) if (k.startsWith(prefix[i])) mine[k.slice(prefix[i].length)] = v;
        groups[i].loadState(mine as never);
      }
    },
  };
}

/** Warm-up never takes more than this fraction of the run, so a short run (--epochs 1) still reaches the peak rate. */
export const WARMUP_CAP = 0.25;

/** The warm-up steps --warmup asks for, rounded to whole steps, before the cap. */
const askedWarmupSteps = (cfg: TrainConfig, stepsPerEpoch: number) => Math.round(cfg.warmupEpochs * stepsPerEpoch);

/** Steps of linear warm-up: --warmup epochs, at most WARMUP_CAP of the run. */
export function warmupSteps(cfg: TrainConfig, stepsPerEpoch: number): number {
  const total = cfg.epochs * stepsPerEpoch;
  return Math.min(askedWarmupSteps(cfg, stepsPerEpoch), Math.floor(WARMUP_CAP * total));
}

/** "0.25 warm-up epochs (--warmup 1 capped at a quarter of the run)": the warm-up the schedule really uses. */
export function warmupText(cfg: TrainConfig, stepsPerEpoch: number): string {
  const steps = warmupSteps(cfg, stepsPerEpoch), used = steps / stepsPerEpoch;
  // Capped only when the cap cut it, not when --warmup rounded to whole steps (0.25 of 193 steps is 48 steps, 0.249).
  const capped = steps < askedWarmupSteps(cfg, stepsPerEpoch);
  return `${+used.toFixed(3)} warm-up epochs${capped ? ` (--warmup ${cfg.warmupEpochs} capped at ${WARMUP_CAP * 100} % of the run)` : ''}`;
}

/** The learning rate of global step `s` under the run's schedule (warm-up in epochs, decay over all epochs). */
export function lrAt(cfg: TrainConfig, s: number, stepsPerEpoch: number): number {
  const total = cfg.epochs * stepsPerEpoch;
  const warmup = warmupSteps(cfg, stepsPerEpoch);
  const sched =
    cfg.schedule === 'cosine'
      ? cosineLr({ base: cfg.lr, total, warmup, min: cfg.lr * 0.01 })
      : cfg.schedule === 'step'
        ? stepLr({ base: cfg.lr, stepSize: Math.max(1, Math.round((total - warmup) / 3)), gamma: 0.1, warmup })
        : constantLr(cfg.lr, warmup);
  return sched(Math.min(s, total - 1));
}
