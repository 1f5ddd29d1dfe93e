// Learning-rate schedules on the host: pure functions of the step number (counting from 0).

/** A schedule: the learning rate for step s (s = 0, 1, 2, …). */
export type LrSchedule = (step: number) => number;

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`lr schedule: step must be an integer ≥ 0, got ${step}`);
}

/** Linear warm-up over the first `warmup` steps: base·(s + 1)/warmup, so step 0 already moves (PyTorch LinearLR-style ramp ending at base). */
function warm(base: number, warmup: number, step: number): number | undefined {
  return step < warmup ? (base * (step + 1)) / warmup : undefined;
}

/** A constant rate, with an optional linear warm-up. */
export function constantLr(base: number, warmup = 0): LrSchedule {
  return (s) => (checkStep(s), warm(base, warmup, s) ?? base);
}

/** Step decay after warm-up: base·gamma^⌊(s − warmup)/stepSize⌋ (PyTorch StepLR). */
export function stepLr(o: { base: number; stepSize: number; gamma?: number; warmup?: number }): LrSchedule {
  const gamma = o.gamma ?? 0.1, warmup = o.warmup ?? 0;
  if (!Number.isInteger(o.stepSize) || o.stepSize < 1) throw new Error(`stepLr: stepSize must be an integer ≥ 1, got ${o.stepSize}`);
  return (s) => {
    checkStep(s);
    return warm(o.base, warmup, s) ?? o.base * Math.pow(gamma, Math.floor((s - warmup) / o.stepSize));
  };
}

/** Cosine decay from base to `min` over steps warmup … total (then `min`), after an optional linear warm-up (PyTorch CosineAnnealingLR with T_max = total − warmup). */
export function cosineLr(o: { base: number; total: number; warmup?: number; min?: number }): LrSchedule {
  const warmup = o.warmup ?? 0, min = o.min ?? 0;
  if (!Number.isInteger(o.total) || o.total < 1) throw new Error(`cosineLr: total must be an integer ≥ 1, got ${o.total}`);
  if (!Number.isInteger(warmup) || warmup < 0 || warmup > o.total) throw new Error(`cosineLr: warmup must be an integer in [0, total], got ${warmup}`);
  return (s) => {
    checkStep(s);
    const w = warm(o.base, warmup, s);
    if (w !== undefined) return w;
    const t = Math.min(1, (s - warmup) / Math.max(1, o.total - warmup));
    return min + (o.base - min) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
}
