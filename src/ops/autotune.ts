// Autotune of the main kernels at the hashing network's shapes (dshNet: three 5×5 convolutions, the FC GEMMs, the loss): the
// candidate knob sets and their workloads; gpu/autotune.ts times them, keeps the winners and caches them per adapter.
// Naive variants are not candidates: 10× slower everywhere they were measured, they would only lengthen the tuning.
import { flags } from '../config.js';
import { autotune, defaultTuneCache, readTuneCache, tuneKey, type TuneCandidate, type TuneResult, type TuneTask } from '../gpu/autotune.js';
import { knob, knobClass, type AdapterClass, type KnobValues } from '../gpu/knobs.js';
import { noGrad } from '../autograd.js';
import { runtime, scope, Tensor } from '../tensor.js';
import { conv2d, conv2dBackwardData, conv2dBackwardWeights, conv2dGeometry } from './conv.js';
import { gemmInto } from './matmul.js';
import { tripletQuantLoss } from './tql.js';
import { cpuMsSince } from '../util/host.js';

/** Wall milliseconds of one `record` + submit + wait (autotune runs each candidate once untimed first, for its
 *  pipeline compiles); `grad`: record with gradients enabled (ops that compute theirs in the forward pass). */
async function gpuMs(record: () => void, grad = false): Promise<number> {
  const rt = runtime();
  // A software adapter's kernels run on this process's threads: their CPU time, which a shared host's other load
  // barely moves (bench/NOTES-conv.md round 3), where the wall time moved by 1.5× within minutes.
  const cpu = rt.info.software;
  const t0 = performance.now(), c0 = process.cpuUsage();
  scope(() => (grad ? record() : noGrad(record)));
  await rt.sync();
  return cpu ? cpuMsSince(c0) : performance.now() - t0;
}

const cands = (xs: [string, Partial<KnobValues>][]): TuneCandidate[] => xs.map(([label, knobs]) => ({ label, knobs }));

/** dshNet's convolutions (Cin, H = W, Cout; 5×5, padding 2) with inputs and output gradients of batch B; `dx`: whether
 *  training computes the layer's input gradient (not the first layer's: the images need none). The tasks time what a
 *  training step runs: conv1's backward-data alone ran 1.2× slower through textures on llvmpipe while the step's
 *  convolutions ran 1.25× faster (bench/NOTES.md, 2026-12-03), and it took the textures' task with it. */
function convLayers(B: number, own: Tensor[]) {
  const t = (shape: number[]) => {
    const x = Tensor.from(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), shape).keep();
    own.push(x);
    return x;
  };
  return ([[3, 32, 32], [32, 16, 32], [32, 8, 64]] as const).map(([Cin, H, Cout], i) => {
    const x = t([B, Cin, H, H]), w = t([Cout, Cin, 5, 5]), b = t([Cout]), dy = t([B, Cout, H, H]);
    return { x, w, b, dy, dx: i > 0, g: conv2dGeometry(x.shape, w.shape, { padding: 2 }) };
  });
}

/** The candidate knob sets of each conv task for an adapter class (wider workgroups and more backward-weights
 *  invocations on a GPU; the subgroup variant where the device has subgroups). Exported so that a test runs every one
 *  of them against the float64 reference: whichever wins on an adapter computes the right convolution. */
export function convCandidates(cls: AdapterClass, subgroups: boolean): { all: TuneCandidate[]; tex: TuneCandidate[]; fwd: TuneCandidate[]; dw: TuneCandidate[]; dwTiled: TuneCandidate[] } {
  const gpu = cls === 'gpu';
  const wgx = gpu ? [8, 32, 64, 128] : [8, 16];
  // On a GPU also blocks of 32–64 accumulators: 128 or more spill out of a GPU thread's registers, and at batch 128
  // conv2's million outputs in blocks of 128 make only ~8,000 threads, a few per cent of a large GPU's.
  const blocks = ['auto', '8x16x1', '8x8x2', '8x16x2', '8x8x4', '8x16x4', '16x16x1', '8x32x1', ...(gpu ? ['4x8x1', '8x8x1', '4x16x1', '4x8x2'] as const : [])] as const;
  const inv = gpu ? [1024, 4096, 16384, 65536] : [512, 1024, 2048];
  const sgs = subgroups ? [false, true] : [false];
  return {
    // 'tiled' (workgroup-memory tiles) on a GPU only: on llvmpipe its barriers make it the slowest.
    all: cands([
      ...wgx.flatMap((w) => (['rb', 'unrolled'] as const).map((v): [string, Partial<KnobValues>] => [`${v} WGX ${w}`, { 'conv.variant': v, 'conv.WGX': w }])),
      ...(gpu ? ([8, 16, 32] as const).map((t): [string, Partial<KnobValues>] => [`tiled TWX ${t}`, { 'conv.variant': 'tiled', 'conv.TILED_TWX': t }]) : []),
    ]),
    tex: cands([false, true].map((t): [string, Partial<KnobValues>] => [t ? 'inputs through textures' : 'inputs from buffers', { 'conv.TEX': t }])),
    fwd: cands(blocks.map((b): [string, Partial<KnobValues>] => [`block ${b}`, { 'conv.FWD_BLOCK': b }])),
    dwTiled: cands(inv.map((n): [string, Partial<KnobValues>] => [`tiled, ${n} invocations`, { 'conv.DW_INVOCATIONS': n }])),
    dw: cands(inv.flatMap((n) => (['auto', 4] as const).flatMap((c) => (['auto', 1] as const).flatMap((i) => sgs.map((sg): [string, Partial<KnobValues>] => [`${n} invocations CO_B ${c} CI_B ${i}${sg ? ' subgroups' : ''}`, { 'conv.DW_INVOCATIONS': n, 'conv.DW_CO_B': c, 'conv.DW_CI_B': i, 'conv.DW_SG': sg }]))))),
  };
}

/** A task's skip rule: its knobs serve one conv variant; under another they are not timed. */
const onlyUnder = (variant: KnobValues['conv.variant']) => () => (knob('conv.variant') === variant ? undefined : `conv.variant is ${knob('conv.variant')}, these knobs are unused`);

/** The conv tasks: variant × workgroup x extent over all three passes, then where the unrolled kernels read their
 *  inputs from, the forward block and the backward-weights knobs of 'unrolled'. */
function convTasks(B: number, own: Tensor[]): TuneTask[] {
  const layers = convLayers(B, own);
  const c = convCandidates(knobClass(), runtime().info.subgroups !== undefined);
  const all: TuneTask = {
    name: `conv (dshNet's 3 layers, batch ${B}, fwd + bwd-data + bwd-weights)`,
    candidates: c.all,
    run: () => gpuMs(() => {
      for (const l of layers) {
        conv2d(l.x, l.w, l.b, { padding: 2, relu: true });
        if (l.dx) conv2dBackwardData(l.dy, l.w, l.g);
        conv2dBackwardWeights(l.x, l.dy, l.g);
      }
    }),
  };
  const tex: TuneTask = {
    name: `conv inputs from buffers or textures (unrolled, batch ${B}, fwd + bwd-data + bwd-weights)`,
    candidates: c.tex,
    skip: onlyUnder('unrolled'),
    run: all.run,
  };
  const fwd: TuneTask = {
    name: `conv forward + backward-data blocks (unrolled, batch ${B})`,
    candidates: c.fwd,
    skip: onlyUnder('unrolled'),
    run: () => gpuMs(() => {
      for (const l of layers) {
        conv2d(l.x, l.w, l.b, { padding: 2, relu: true });
        if (l.dx) conv2dBackwardData(l.dy, l.w, l.g);
      }
    }),
  };
  const dw: TuneTask = {
    name: `conv backward-weights (unrolled, batch ${B})`,
    // Where the device has subgroups, each blocking also runs as the subgroup variant (conv.DW_SG).
    candidates: c.dw,
    skip: onlyUnder('unrolled'),
    run: () => gpuMs(() => { for (const l of layers) conv2dBackwardWeights(l.x, l.dy, l.g); }),
  };
  const dwTiled: TuneTask = {
    name: `conv backward-weights (tiled, batch ${B})`,
    candidates: c.dwTiled,
    skip: onlyUnder('tiled'),
    run: dw.run,
  };
  return [all, tex, fwd, dw, dwTiled];
}

/** The GEMM task: the FC layer 1024 → 500's forward, dX and dW products at batch B, per variant and blocking. */
function gemmTask(B: number, own: Tensor[]): TuneTask {
  const buf = (n: number) => {
    const t = Tensor.from(Float32Array.from({ length: n }, (_, i) => ((i * 104729) % 997) / 997 - 0.5), [n]).keep();
    own.push(t);
    return t.buffer;
  };
  const x = buf(B * 1024), w = buf(500 * 1024), y = buf(B * 500), dx = buf(B * 1024), dw = buf(500 * 1024);
  // The unrolled kernel's blocks each read A and B from the buffers and through textures (gemm.TEX).
  const unrolled = ([tm, wx, wy]: [4 | 8 | 16, number, number]): [string, Partial<KnobValues>][] => [false, true].map((tex) => [
    `unrolled ${tm}×${tm} wg ${wx}×${wy}${tex ? ', textures' : ''}`, { 'gemm.variant': 'unrolled', 'gemm.TM': tm, 'gemm.TN': tm, 'gemm.WX': wx, 'gemm.WY': wy, 'gemm.TEX': tex },
  ]);
  const blocks: [string, Partial<KnobValues>][] = [
    ...unrolled([16, 8, 2]),
    ...unrolled([8, 8, 8]),
    ['regblock 8×8 wg 8×8', { 'gemm.variant': 'regblock', 'gemm.TM': 8, 'gemm.TN': 8, 'gemm.WX': 8, 'gemm.WY': 8 }],
    ['regblock 4×4 wg 16×16', { 'gemm.variant': 'regblock', 'gemm.TM': 4, 'gemm.TN': 4, 'gemm.WX': 16, 'gemm.WY': 16 }],
    ...unrolled([4, 16, 16]),
    ['tiled 16', { 'gemm.variant': 'tiled', 'gemm.TS': 16 }],
  ];
  return {
    name: `gemm (FC 1024 → 500, batch ${B}: forward, dX, dW)`,
    candidates: cands(blocks),
    run: () => gpuMs(() => {
      gemmInto({ buffer: y, ld: 500 }, { buffer: x, ld: 1024 }, { buffer: w, ld: 1024 }, { M: B, N: 500, K: 1024, transB: true });
      gemmInto({ buffer: dx, ld: 1024 }, { buffer: y, ld: 500 }, { buffer: w, ld: 1024 }, { M: B, N: 1024, K: 500 });
      gemmInto({ buffer: dw, ld: 1024 }, { buffer: y, ld: 500 }, { buffer: x, ld: 1024 }, { M: 500, N: 1024, K: B, transA: true });
    }),
  };
}

/** The TQL loss task: its forward and gradient (computed in the same pass) at batch B, 48 bits, per kernel variant. */
function tqlTask(B: number, own: Tensor[]): TuneTask {
  const f = Tensor.from(Float32Array.from({ length: B * 48 }, (_, i) => 0.9 * Math.sin(i * 0.37)), [B, 48]).keep();
  f.requiresGrad = true;
  const labels = Tensor.from(Uint32Array.from({ length: B }, (_, i) => i % 10), [B], 'u32').keep();
  own.push(f, labels);
  return {
    name: `tql loss (batch ${B}, 48 bits: distances, triplets, gradient)`,
    candidates: cands([['scalar', { 'tql.variant': 'scalar' }], ['blocked', { 'tql.variant': 'blocked' }]]),
    run: () => gpuMs(() => { tripletQuantLoss(f, labels); }, true),
  };
}

/** Options of tuneKernels. */
export interface TuneKernelsOptions {
  /** Batch of the workloads (default 128, the training default). */
  batch?: number;
  /** Timed runs per candidate after one untimed, in interleaved rounds (median; default 3). */
  rounds?: number;
  /** Retune even when the cache has this adapter. */
  force?: boolean;
  /** Default: defaultTuneCache(). */
  cacheFile?: string;
  log?: (s: string) => void;
}

/** Times the conv, GEMM and TQL candidates on this adapter (or reads the cached winners) and sets the fastest knobs. */
export async function tuneKernels(o: TuneKernelsOptions = {}): Promise<TuneResult> {
  const B = o.batch ?? 128;
  const key = tuneKey(runtime().info), cacheFile = o.cacheFile ?? defaultTuneCache();
  const own: Tensor[] = [];
  try {
    const hit = o.force ? undefined : readTuneCache(cacheFile, key);
    const cached = hit !== undefined && !hit.partial;
    const tasks = cached ? [] : [...convTasks(B, own), gemmTask(B, own), tqlTask(B, own)];
    if (tasks.length && runtime().info.software) o.log?.('autotune: a software adapter: each candidate timed in CPU ms of this process (whose threads run its kernels), not wall ms');
    return await autotune(tasks, { key, cacheFile, force: o.force, rounds: o.rounds, log: o.log });
  } finally {
    for (const t of own) t.dispose();
  }
}

/** With TQHASH_AUTOTUNE=1: tuneKernels() (cached per adapter), logging what it timed; otherwise nothing (with
 *  TQHASH_AUTOTUNE=cached the runtime has set the cached winners when it opened the device, and nothing is timed). */
export async function autotuneIfAsked(log?: (s: string) => void): Promise<TuneResult | undefined> {
  return flags().autotune === 'tune' ? tuneKernels({ log }) : undefined;
}
