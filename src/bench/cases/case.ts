// What a kernel-benchmark case is, and the helpers every family's case list shares: the float64 CPU reference's
// timing within a budget, tensors disposed after an async case, recorded outputs disposed with their tape context.
import { Tensor } from '../../tensor.js';
import { fmt, hostMs } from '../util.js';

export interface CpuTime { ms: number; note?: string }

/** One variant of a case: how to record one call. */
export interface VariantSpec {
  variant: string;
  /** Records one call (inside capture); its outputs must be disposed by a scope inside. */
  record: () => void;
  /** GPU time multiplier (the variant ran on a slice). */
  scale?: number;
  note?: string;
  /** Global knob set around capture (elementwise/optimiser variants). */
  around?: [() => void, () => void];
}

/** One row group of the report: an op at one shape, its napkin math, its variants and its CPU reference. */
export interface CaseSpec {
  family: string;
  name: string;
  shape: string;
  flop?: number;
  bytes?: number;
  bound: 'fma' | 'copy';
  variants: VariantSpec[];
  cpu?: () => CpuTime;
  note?: string;
}

/** What a family's case list gets from the benchmark: sizes, the filter, the CPU budget, and the case runner. */
export interface BenchContext {
  batches: number[];
  quick: boolean;
  /** A CPU reference projected longer than this (ms) is timed on a slice and scaled. */
  budgetMs: number;
  /** True when the --filter matches these words (or there is none). */
  want: (...parts: string[]) => boolean;
  /** Times every variant of the case (those the filter keeps) and adds its rows. */
  run: (c: CaseSpec) => Promise<void>;
  log: (line: string) => void;
}

/** A kernel family's case list: runs its cases through ctx.run. */
export type Family = (ctx: BenchContext) => Promise<void>;

export const f32 = (a: Float64Array) => Float32Array.from(a);

/** Times `run(n)` (a slice of n of `total` units); the whole run when projected under the budget, else the slice scaled. */
export function cpuTime(run: (n: number) => void, total: number, budgetMs: number, opts: { slice?: number; power?: number; unit?: string } = {}): CpuTime {
  const power = opts.power ?? 1;
  const n0 = Math.max(1, Math.min(total, Math.floor(total / (opts.slice ?? 8))));
  const t0 = hostMs(() => run(n0));
  if (n0 === total) return { ms: t0 };
  const factor = (total / n0) ** power;
  if (t0 * factor <= budgetMs) return { ms: hostMs(() => run(total)) };
  return { ms: t0 * factor, note: `CPU ref timed on ${n0} of ${total} ${opts.unit ?? 'rows'}, scaled ×${fmt(factor)}${power === 1 ? '' : ` (∝ n^${power})`}` };
}

export type From = (data: Float32Array | Uint32Array, shape: readonly number[], dtype?: 'f32' | 'u32') => Tensor;

/** Runs an async case body; every tensor made with its `from` is disposed at the end (scope() is synchronous only). */
export async function withTensors(fn: (from: From) => Promise<void>): Promise<void> {
  const own: Tensor[] = [];
  try {
    await fn((data, shape, dtype) => {
      const t = Tensor.from(data, shape, dtype);
      own.push(t);
      return t;
    });
  } finally {
    for (const t of own) if (!t.isDisposed) t.dispose();
  }
}

/** Disposes a recorded output and the tensors its tape node saved (argmax, statistics). */
export function disposeRecorded(y: Tensor): void {
  for (const v of Object.values(y.node?.ctx ?? {})) if (v instanceof Tensor && !v.isDisposed) v.dispose();
  y.node = null;
  y.dispose();
}
