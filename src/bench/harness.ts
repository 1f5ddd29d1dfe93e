// Timing without timestamp queries: many dispatches in one submit, then wait, minus the same count of empty
// dispatches; the median of repeats after warm-up (DESIGN.md). Also the adapter's own ceilings.
import { runtime, Tensor } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { median } from '../util/stats.js';
import { cpuMsSince } from '../util/host.js';

export interface Timing {
  /** Median milliseconds per call of `record`, dispatch overhead subtracted. */
  ms: number;
  /** Median milliseconds per call, raw. */
  rawMs: number;
  samples: number[];
  /** Median CPU milliseconds per call, all of the process's threads (a software adapter's compute threads included), raw. */
  cpuMs: number;
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
  const samples: number[] = [], cpu: number[] = [];
  for (let r = 0; r < warmup + repeats; r++) {
    await rt.sync();
    const t0 = performance.now(), c0 = process.cpuUsage();
    for (let i = 0; i < inner; i++) record();
    await rt.sync();
    const c = cpuMsSince(c0);
    if (r >= warmup) {
      samples.push((performance.now() - t0) / inner);
      cpu.push(c / inner);
    }
  }
  const raw = median(samples);
  return { ms: Math.max(raw - base, 1e-6), rawMs: raw, samples, cpuMs: median(cpu) };
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

/** One shape of the FMA ceiling kernel (shaders/bench.wgsl fma_vec4 / fma_scalar). */
export interface FmaShape {
  kind: 'vec4' | 'scalar';
  /** Independent FMA chains per invocation (4, 8, 16 or 32). */
  chains: number;
  /** Dependent FMAs per chain per loop trip (1, 2, 4 or 8; default 1). */
  depth?: number;
  wg: number;
  iters: number;
  /** Fixed invocation count; default: as many as make one dispatch last about the sweep's target time. */
  invocations?: number;
}

/** One shape of the copy ceiling: the copy4 kernel (PER vec4s per invocation) or copyBufferToBuffer, over `mib` MiB. */
export interface CopyShape {
  kind: 'kernel' | 'copyBufferToBuffer';
  mib: number;
  wg?: number;
  per?: number;
}

/** One timed shape of a ceiling sweep: its label and its rate (GFLOP/s or GB/s). */
export interface CeilingSample {
  shape: string;
  value: number;
}

export interface Ceilings {
  /** The fastest FMA shape's rate and label. */
  fmaGflops: number;
  fmaShape: string;
  /** The fastest copy's rate (bytes read + written) and label. */
  copyGbps: number;
  copyShape: string;
  dispatchMs: number;
  /** Every shape timed, in the order timed. */
  fmaSweep: CeilingSample[];
  copySweep: CeilingSample[];
}

const FMA_LEGACY: FmaShape = { kind: 'vec4', chains: 8, wg: 64, iters: 1024, invocations: 65536 };

/** The FMA shapes swept (quick: three). The legacy shape (the ceiling before the sweep) stays in for comparison. */
export function fmaShapes(quick: boolean): FmaShape[] {
  if (quick) return [{ kind: 'vec4', chains: 8, wg: 64, iters: 256 }, { kind: 'vec4', chains: 16, wg: 64, iters: 256, depth: 4 }, { kind: 'scalar', chains: 16, wg: 64, iters: 256 }];
  const out: FmaShape[] = [FMA_LEGACY];
  for (const chains of [4, 8, 16, 32]) for (const wg of [64, 128, 256]) out.push({ kind: 'vec4', chains, wg, iters: 1024 });
  for (const iters of [256, 4096]) out.push({ kind: 'vec4', chains: 16, wg: 64, iters });
  for (const chains of [4, 8, 16, 32]) out.push({ kind: 'scalar', chains, wg: 64, iters: 1024 });
  // Several FMAs per loop-carried update: on llvmpipe ~1.9× the one-per-trip shapes (NOTES.md, 2026-12-01).
  for (const depth of [2, 4, 8]) for (const chains of [4, 16]) out.push({ kind: 'vec4', chains, wg: 64, iters: 1024 / depth, depth });
  for (const depth of [4, 8]) out.push({ kind: 'scalar', chains: 32, wg: 64, iters: 1024 / depth, depth });
  return out;
}

/**
 * The copy shapes swept (quick: two, 4 MiB), sizes capped by the adapter's largest storage binding. Full sweeps copy
 * ≥ 32 MiB, past the last-level cache: a 4 MiB copyBufferToBuffer measured 25 GB/s on llvmpipe against 13 at 32 MiB, a
 * cache rate the network's 16–64 MiB activations never see.
 */
export function copyShapes(quick: boolean, maxMib: number): CopyShape[] {
  const list: CopyShape[] = quick
    ? [{ kind: 'kernel', mib: 4, wg: 64, per: 1 }, { kind: 'copyBufferToBuffer', mib: 4 }]
    : [
        ...[64, 128, 256].map((wg): CopyShape => ({ kind: 'kernel', mib: 32, wg, per: 1 })),
        ...[4, 16].map((per): CopyShape => ({ kind: 'kernel', mib: 32, wg: 64, per })),
        { kind: 'kernel', mib: 64, wg: 64, per: 4 },
        ...[32, 64].map((mib): CopyShape => ({ kind: 'copyBufferToBuffer', mib })),
      ];
  return list.filter((s) => s.mib <= maxMib);
}

const fmaFlopPerTrip = (s: FmaShape) => s.chains * (s.depth ?? 1) * (s.kind === 'vec4' ? 8 : 2);
/** Label of an FMA shape, e.g. "vec4×16 chains, wg 64, 1024 iters" or "vec4×16 chains × 4 deep, wg 64, 256 iters". */
export const fmaLabel = (s: FmaShape) => `${s.kind}×${s.chains} chains${(s.depth ?? 1) > 1 ? ` × ${s.depth} deep` : ''}, wg ${s.wg}, ${s.iters} iters${s.invocations ? `, ${s.invocations} invocations` : ''}`;
/** Label of a copy shape, e.g. "copy4 kernel, wg 64, 1 vec4/inv, 32 MiB". */
export const copyLabel = (s: CopyShape) => (s.kind === 'kernel' ? `copy4 kernel, wg ${s.wg}, ${s.per} vec4/inv, ${s.mib} MiB` : `copyBufferToBuffer, ${s.mib} MiB`);

/** Milliseconds of one dispatch of the FMA kernel over `inv` invocations (compiled and warm first). */
async function fmaDispatchMs(s: FmaShape, inv: number, y: Tensor, opts: { inner: number; repeats: number }): Promise<number> {
  const rt = runtime();
  const k = rt.kernel({ file: 'bench.wgsl', entry: s.kind === 'vec4' ? 'fma_vec4' : 'fma_scalar', overrides: { WG: s.wg, CHAINS: s.chains, DEPTH: s.depth ?? 1 } });
  const record = () => rt.dispatch(k, { bindings: { y: y.buffer }, params: { n: Math.min(inv, y.size / 4), iters: s.iters, a: 0.999, b: 1e-4 }, workgroups: grid1d(inv, s.wg) });
  record();
  await rt.sync(); // compile
  return (await timeIt(record, { inner: opts.inner, repeats: opts.repeats })).ms;
}

/** FLOP/ms of the first quick shape, growing the grid until one dispatch lasts ≥ 2 ms (GPUs finish small grids in µs). */
async function fmaRate(y: Tensor): Promise<number> {
  const s: FmaShape = { kind: 'vec4', chains: 16, wg: 64, iters: 256 };
  let inv = 8192, ms = 0;
  for (let tries = 0; tries < 6; tries++, inv *= 8) {
    ms = await fmaDispatchMs(s, inv, y, { inner: 1, repeats: 1 });
    if (ms >= 2) break;
  }
  return (inv * s.iters * fmaFlopPerTrip(s)) / ms;
}

/** Times every FMA shape with a grid sized to about `targetMs` per dispatch; the fastest is the ceiling. */
async function fmaSweep(quick: boolean): Promise<CeilingSample[]> {
  const targetMs = quick ? 2 : 10;
  const y = Tensor.empty([4 * 65536 * 4]);
  const flopPerMs = await fmaRate(y);
  const out: CeilingSample[] = [];
  for (const s of fmaShapes(quick)) {
    const perInv = s.iters * fmaFlopPerTrip(s);
    const inv = s.invocations ?? Math.max(s.wg * 8, Math.round((flopPerMs * targetMs) / perInv / s.wg) * s.wg);
    const ms = await fmaDispatchMs(s, inv, y, { inner: 2, repeats: quick ? 2 : 3 });
    out.push({ shape: fmaLabel(s), value: (inv * perInv) / (ms * 1e6) });
  }
  y.dispose();
  return out;
}

/** Times every copy shape (about `targetMs` per submit); the fastest is the ceiling. */
async function copySweep(quick: boolean): Promise<CeilingSample[]> {
  const rt = runtime();
  const shapes = copyShapes(quick, rt.limits.maxStorageBufferBindingSize / 2 ** 20);
  const maxMib = Math.max(...shapes.map((s) => s.mib));
  const src = Tensor.empty([maxMib * 2 ** 18]), dst = Tensor.empty([maxMib * 2 ** 18]);
  const out: CeilingSample[] = [];
  for (const s of shapes) {
    const n4 = s.mib * 2 ** 16;
    const record = s.kind === 'copyBufferToBuffer'
      ? () => rt.copy(src.buffer, dst.buffer, s.mib * 2 ** 20)
      : () => rt.dispatch({ file: 'bench.wgsl', entry: 'copy4', overrides: { WG: s.wg!, PER: s.per! } }, { bindings: { y: dst.buffer, x: src.buffer }, params: { n: n4 }, workgroups: grid1d(Math.ceil(n4 / s.per!), s.wg!) });
    const inner = await calibrate(record, quick ? 5 : 20);
    const t = await timeIt(record, { inner, repeats: quick ? 2 : 3, dispatchesPerCall: s.kind === 'kernel' ? 1 : 0 });
    out.push({ shape: copyLabel(s), value: (2 * s.mib * 2 ** 20) / (t.ms * 1e6) });
  }
  src.dispose();
  dst.dispose();
  return out;
}

const best = (xs: CeilingSample[]) => xs.reduce((a, b) => (b.value > a.value ? b : a));

/** Median ms of one empty dispatch + submit + wait. */
async function roundTripMs(quick: boolean): Promise<number> {
  const rt = runtime();
  const k = rt.kernel({ file: 'util.wgsl', entry: 'empty' });
  const rts: number[] = [];
  for (let i = 0; i < (quick ? 5 : 30); i++) {
    const t0 = performance.now();
    rt.dispatch(k, { bindings: {}, workgroups: 1 });
    await rt.sync();
    rts.push(performance.now() - t0);
  }
  return median(rts);
}

/**
 * The adapter's ceilings: peak FP32 FMA rate and copy bandwidth, each the maximum over a sweep of kernel shapes (chains,
 * dependent FMAs per chain and trip, vec4 or scalar, workgroup size, iterations; copy kernels and copyBufferToBuffer at several sizes), and the round trip
 * of one dispatch + submit + wait. A few seconds on llvmpipe; `quick` (tests) times three FMA and two copy shapes.
 */
export async function measureCeilings(opts: { quick?: boolean } = {}): Promise<Ceilings> {
  const quick = opts.quick ?? false;
  const fma = await fmaSweep(quick);
  const copy = await copySweep(quick);
  const f = best(fma), c = best(copy);
  return { fmaGflops: f.value, fmaShape: f.shape, copyGbps: c.value, copyShape: c.shape, dispatchMs: await roundTripMs(quick), fmaSweep: fma, copySweep: copy };
}

export { median };
