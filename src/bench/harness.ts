// Timing without timestamp queries: many dispatches in one submit, then wait, minus the same count of empty
// dispatches; the median of repeats after warm-up (DESIGN.md). Also the adapter's own ceilings.
import { runtime, Tensor } from '../tensor.js';
import { grid1d } from '../ops/grid.js';

export interface Timing {
  /** Median milliseconds per call of `record`, dispatch overhead subtracted. */
  ms: number;
  /** Median milliseconds per call, raw. */
  rawMs: number;
  samples: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const emptyCost = new Map<number, number>();

/** Milliseconds of `count` empty dispatches in one submit (the baseline subtracted from timings). */
export async function emptyDispatchMs(count: number, repeats = 5): Promise<number> {
  const hit = emptyCost.get(count);
  if (hit !== undefined) return hit;
  const rt = runtime();
  const k = rt.kernel({ file: 'util.wgsl', entry: 'empty' });
  const y = Tensor.empty([4]);
  const samples: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    await rt.sync();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) rt.dispatch(k, { bindings: {}, workgroups: 1 });
    await rt.sync();
    if (r > 0) samples.push(performance.now() - t0);
  }
  y.dispose();
  const m = median(samples);
  emptyCost.set(count, m);
  return m;
}

/**
 * Times `record` (which records the dispatches of one call, e.g. one GEMM) by recording it `inner` times into one
 * submit and waiting; `repeats` such submits after `warmup` ones; per-call medians with the empty baseline subtracted.
 * `dispatchesPerCall` is how many dispatches one call records (for the baseline).
 */
export async function timeIt(record: () => void, opts: { inner?: number; repeats?: number; warmup?: number; dispatchesPerCall?: number } = {}): Promise<Timing> {
  const rt = runtime();
  const inner = opts.inner ?? 10, repeats = opts.repeats ?? 5, warmup = opts.warmup ?? 1;
  const base = (await emptyDispatchMs(inner * (opts.dispatchesPerCall ?? 1))) / inner;
  const samples: number[] = [];
  for (let r = 0; r < warmup + repeats; r++) {
    await rt.sync();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) record();
    await rt.sync();
    if (r >= warmup) samples.push((performance.now() - t0) / inner);
  }
  const raw = median(samples);
  return { ms: Math.max(raw - base, 1e-6), rawMs: raw, samples };
}

/** Picks an `inner` count so one submit takes roughly `targetMs`, from one timed call. */
export async function calibrate(record: () => void, targetMs = 200, maxInner = 200): Promise<number> {
  const rt = runtime();
  await rt.sync();
  record();
  await rt.sync(); // compile + warm
  const t0 = performance.now();
  record();
  await rt.sync();
  const one = Math.max(performance.now() - t0, 0.01);
  return Math.max(1, Math.min(maxInner, Math.round(targetMs / one)));
}

export interface Ceilings {
  fmaGflops: number;
  copyGbps: number;
  dispatchMs: number;
}

/** Measures the adapter's peak FP32 FMA rate, copy bandwidth and the round trip of one dispatch + submit + wait. */
export async function measureCeilings(opts: { quick?: boolean } = {}): Promise<Ceilings> {
  const rt = runtime();
  const quick = opts.quick ?? false;
  // FMA: enough invocations to fill every lane and core, enough trips to hide launch cost.
  const inv = quick ? 4096 : 65536, iters = quick ? 64 : 1024, wg = 64;
  const y = Tensor.empty([inv * 4]);
  const fma = rt.kernel({ file: 'bench.wgsl', entry: 'fma_peak', overrides: { WG: wg } });
  const tf = await timeIt(() => rt.dispatch(fma, { bindings: { y: y.buffer }, params: { n: inv, iters, a: 0.999, b: 1e-4 }, workgroups: grid1d(inv, wg) }), { inner: quick ? 2 : 4, repeats: quick ? 3 : 5 });
  const fmaGflops = (inv * iters * 64) / (tf.ms * 1e6);
  y.dispose();
  // Copy: 32 MiB each way (4 MiB when quick).
  const n4 = (quick ? 4 : 32) * 65536;
  const src = Tensor.empty([n4 * 4]), dst = Tensor.empty([n4 * 4]);
  const cp = rt.kernel({ file: 'bench.wgsl', entry: 'copy4', overrides: { WG: wg } });
  const tc = await timeIt(() => rt.dispatch(cp, { bindings: { y: dst.buffer, x: src.buffer }, params: { n: n4, iters: 0, a: 0, b: 0 }, workgroups: grid1d(n4, wg) }), { inner: quick ? 2 : 8, repeats: quick ? 3 : 5 });
  const copyGbps = (2 * 16 * n4) / (tc.ms * 1e6);
  src.dispose();
  dst.dispose();
  // Round trip: one empty dispatch, submit, wait.
  const k = rt.kernel({ file: 'util.wgsl', entry: 'empty' });
  const rts: number[] = [];
  for (let i = 0; i < (quick ? 5 : 30); i++) {
    const t0 = performance.now();
    rt.dispatch(k, { bindings: {}, workgroups: 1 });
    await rt.sync();
    rts.push(performance.now() - t0);
  }
  return { fmaGflops, copyGbps, dispatchMs: median(rts) };
}

export { median };
