// bench/kernels.js: every kernel family at the shapes the hashing network uses, variants side by side, with the napkin
// math (GFLOP/s or GB/s, fraction of the ceiling measured in the same process) and the float64 CPU reference's time.
import { Tensor, runtime, scope } from '../tensor.js';
import { backward, noGrad } from '../autograd.js';
import * as ops from '../ops/index.js';
import * as cpu from '../cpu/index.js';
import { signPackCpu, hammingTopKCpu } from '../hash/index.js';
import { Adam, setOptimVariant } from '../optim/index.js';
import { dshNet } from '../nn/models.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { currentKnobs, type KnobValues } from '../gpu/knobs.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import { measureCeilings, type Ceilings } from './harness.js';
import { capture, replay, type Command } from './capture.js';
import { ceilingsJSON, fmt, formatCeilingSweep, formatTable, header, hostMs, measure, randomValues, randomWords } from './util.js';
import { loadavg } from 'node:os';

/** One measured kernel (or kernel sequence of one op call) at one shape and variant. */
export interface KernelRow {
  family: string;
  name: string;
  variant: string;
  shape: string;
  /** Median GPU milliseconds per call (dispatch overhead subtracted). */
  ms: number;
  gflops: number | null;
  gbps: number | null;
  /** Which ceiling bounds the row ('fma' or 'copy') and the fraction of it reached. */
  bound: 'fma' | 'copy';
  fraction: number | null;
  /** Float64 CPU reference milliseconds for the same call (scaled from a slice where `note` says so). */
  cpu_ms: number | null;
  /** cpu_ms / ms. */
  speedup: number | null;
  /** Dispatches per call. */
  dispatches: number;
  note?: string;
}

/** The report of bench/kernels.js (also its --json file). */
export interface KernelReport {
  adapter: AdapterInfo;
  ceilings: ReturnType<typeof ceilingsJSON>;
  /** The knobs in use (src/gpu/knobs.ts). */
  knobs: KnobValues;
  loadavg: number[];
  date: string;
  rows: KernelRow[];
}

/** Options of runKernelBench. */
export interface KernelBenchOptions {
  /** Only cases whose family/name/variant contains this (case-insensitive). */
  filter?: string;
  /** CI-sized: tiny batches and matrices, short timings. */
  quick?: boolean;
  /** Batches of the network shapes (default 128 and 256; quick: 8). */
  batches?: number[];
  /** A CPU reference run projected longer than this is timed on a slice and scaled (default 20 s; quick 0.5 s). */
  cpuBudgetS?: number;
  log?: (line: string) => void;
}

interface CpuTime { ms: number; note?: string }

/** Times `run(n)` (a slice of n of `total` units); the whole run when projected under the budget, else the slice scaled. */
function cpuTime(run: (n: number) => void, total: number, budgetMs: number, opts: { slice?: number; power?: number; unit?: string } = {}): CpuTime {
  const power = opts.power ?? 1;
  const n0 = Math.max(1, Math.min(total, Math.floor(total / (opts.slice ?? 8))));
  const t0 = hostMs(() => run(n0));
  if (n0 === total) return { ms: t0 };
  const factor = (total / n0) ** power;
  if (t0 * factor <= budgetMs) return { ms: hostMs(() => run(total)) };
  return { ms: t0 * factor, note: `CPU ref timed on ${n0} of ${total} ${opts.unit ?? 'rows'}, scaled ×${fmt(factor)}${power === 1 ? '' : ` (∝ n^${power})`}` };
}

interface VariantSpec {
  variant: string;
  /** Records one call (inside capture); its outputs must be disposed by a scope inside. */
  record: () => void;
  /** GPU time multiplier (the variant ran on a slice). */
  scale?: number;
  note?: string;
  /** Global knob set around capture (elementwise/optimiser variants). */
  around?: [() => void, () => void];
}

interface CaseSpec {
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

const f32 = (a: Float64Array) => Float32Array.from(a);

type From = (data: Float32Array | Uint32Array, shape: readonly number[], dtype?: 'f32' | 'u32') => Tensor;

/** Runs an async case body; every tensor made with its `from` is disposed at the end (scope() is synchronous only). */
async function withTensors(fn: (from: From) => Promise<void>): Promise<void> {
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
function disposeRecorded(y: Tensor): void {
  for (const v of Object.values(y.node?.ctx ?? {})) if (v instanceof Tensor && !v.isDisposed) v.dispose();
  y.node = null;
  y.dispose();
}

/** Runs the kernel benchmark: ceilings, then every case; prints aligned tables per family and returns the report. */
export async function runKernelBench(o: KernelBenchOptions = {}): Promise<KernelReport> {
  const rt = runtime();
  const log = o.log ?? ((s: string) => console.log(s));
  const quick = o.quick ?? false;
  const batches = o.batches ?? (quick ? [8] : [128, 256]);
  const budgetMs = 1000 * (o.cpuBudgetS ?? (quick ? 0.5 : 20));
  const target = quick ? 20 : 150;
  const filt = o.filter?.toLowerCase();
  const want = (...parts: string[]) => !filt || parts.join(' ').toLowerCase().includes(filt);
  await autotuneIfAsked(log);
  const ceil: Ceilings = await measureCeilings({ quick });
  log(header(ceil));
  log(`\n${formatCeilingSweep(ceil)}\n`);
  log('rows: median GPU ms per call after warm-up (empty-dispatch cost subtracted), over the same inputs the float64 CPU reference (src/cpu) ran on;');
  log('      fraction = GFLOP/s ÷ FMA ceiling (compute rows) or GB/s ÷ copy ceiling (memory rows, minimal traffic: each input read once, each output written once)\n');
  const rows: KernelRow[] = [];
  let family = '';
  let familyRows: KernelRow[] = [];
  const flushFamily = () => {
    if (!familyRows.length) return;
    log(`== ${family} ==`);
    log(formatTable(
      ['name', 'variant', 'shape', 'disp', 'ms', 'GFLOP/s', 'GB/s', 'of ceiling', 'cpu ms', 'speed-up', 'note'],
      familyRows.map((r) => [r.name, r.variant, r.shape, r.dispatches, fmt(r.ms), fmt(r.gflops), fmt(r.gbps), r.fraction === null ? '—' : `${(100 * r.fraction).toFixed(1)}% ${r.bound}`, fmt(r.cpu_ms), r.speedup === null ? '—' : `${fmt(r.speedup)}×`, r.note ?? '']),
    ));
    log('');
    familyRows = [];
  };

  const runCase = async (c: CaseSpec) => {
    const variants = c.variants.filter((v) => want(c.family, c.name, v.variant, c.shape));
    if (!variants.length) return;
    if (c.family !== family) { flushFamily(); family = c.family; }
    const cpuT = c.cpu ? c.cpu() : undefined;
    for (const v of variants) {
      v.around?.[0]();
      let cap: ReturnType<typeof capture<void>>;
      try {
        cap = capture(v.record);
      } finally {
        v.around?.[1]();
      }
      const cmds: Command[] = cap.commands;
      const disp = cmds.filter((x) => x.kind === 'dispatch').length;
      const t = await measure(() => replay(cmds), disp, { targetMs: target, repeats: quick ? 3 : 5 });
      cap.release();
      const ms = t.ms * (v.scale ?? 1);
      const gflops = c.flop ? c.flop / (ms * 1e6) : null;
      const gbps = c.bytes ? c.bytes / (ms * 1e6) : null;
      const fraction = c.bound === 'fma' ? (gflops === null ? null : gflops / ceil.fmaGflops) : gbps === null ? null : gbps / ceil.copyGbps;
      const notes = [v.note, cpuT?.note, c.note].filter(Boolean);
      const row: KernelRow = {
        family: c.family, name: c.name, variant: v.variant, shape: c.shape, ms, gflops, gbps, bound: c.bound, fraction,
        cpu_ms: cpuT?.ms ?? null, speedup: cpuT ? cpuT.ms / ms : null, dispatches: disp, ...(notes.length ? { note: notes.join('; ') } : {}),
      };
      rows.push(row);
      familyRows.push(row);
    }
  };

  // ---- convolution: the three 5×5 (pad 2) layers of dshNet, fwd / bwd-data / bwd-weights, naive vs rb vs unrolled ----
  const convLayers = [['conv1', 3, 32, 32], ['conv2', 32, 16, 32], ['conv3', 32, 8, 64]] as const;
  for (const B of batches) {
    for (const [lname, Cin, H, Cout] of convLayers) {
      if (!want('conv', lname, 'naive rb unrolled fwd bwd-data bwd-weights')) continue;
      await withTensors(async (from) => {
        const per = Cin * H * H, perY = Cout * H * H;
        const x64 = randomValues(B * per, 1), w64 = randomValues(Cout * Cin * 25, 2).map((v) => v * 0.2), b64 = randomValues(Cout, 3), dy64 = randomValues(B * perY, 4);
        const x = from(f32(x64), [B, Cin, H, H]), w = from(f32(w64), [Cout, Cin, 5, 5]), b = from(f32(b64), [Cout]);
        const dy = from(f32(dy64), [B, Cout, H, H]);
        const Nn = Math.min(B, 16);
        const xs = Nn < B ? from(f32(x64.subarray(0, Nn * per)), [Nn, Cin, H, H]) : x;
        const dys = Nn < B ? from(f32(dy64.subarray(0, Nn * perY)), [Nn, Cout, H, H]) : dy;
        const g = ops.conv2dGeometry(x.shape, w.shape, { padding: 2 });
        const gs = ops.conv2dGeometry(xs.shape, w.shape, { padding: 2 });
        const flop = 2 * B * Cout * H * H * Cin * 25;
        const shape = `N${B} ${Cin}→${Cout} ${H}×${H} k5`;
        const cs = (n: number) => ({ N: n, Cin, H, W: H, Cout, KH: 5, KW: 5, padding: 2 });
        const naiveNote = Nn < B ? `naive timed at N=${Nn}, ×${B / Nn}` : undefined;
        const passes: [string, (xx: Tensor, dd: Tensor, gg: ops.ConvGeometry, v: ops.ConvVariant) => void, (n: number) => void][] = [
          ['fwd', (xx, _dd, _gg, v) => noGrad(() => scope(() => { ops.conv2d(xx, w, b, { padding: 2, relu: true, variant: v }); })),
            (n) => cpu.conv2d(x64.subarray(0, n * per), w64, b64, cs(n))],
          ['bwd-data', (_xx, dd, gg, v) => scope(() => { ops.conv2dBackwardData(dd, w, gg, v); }),
            (n) => cpu.conv2dBackwardData(dy64.subarray(0, n * perY), w64, cs(n))],
          ['bwd-weights', (xx, dd, gg, v) => scope(() => { ops.conv2dBackwardWeights(xx, dd, gg, v); }),
            (n) => cpu.conv2dBackwardWeights(x64.subarray(0, n * per), dy64.subarray(0, n * perY), cs(n))],
        ];
        for (const [pass, gpu, ref] of passes) {
          await runCase({
            family: 'conv2d', name: `${lname} ${pass}`, shape, flop, bound: 'fma',
            cpu: () => cpuTime(ref, B, budgetMs, { unit: 'images' }),
            variants: [
              { variant: 'naive', record: () => gpu(xs, dys, gs, 'naive'), scale: B / Nn, note: naiveNote },
              { variant: 'rb', record: () => gpu(x, dy, g, 'rb') },
              { variant: 'unrolled', record: () => gpu(x, dy, g, 'unrolled') },
            ],
          });
        }
      });
    }
  }

  // ---- pools (the network's 3×3/2 pad 1 pools) ----
  const pools = [['maxpool1', 'max', 32, 32], ['avgpool2', 'avg', 32, 16], ['avgpool3', 'avg', 64, 8]] as const;
  for (const B of batches) {
    for (const [pname, kind, C, H] of pools) {
      if (!want('pool', pname, 'fwd bwd general rows')) continue;
      await withTensors(async (from) => {
        const OH = Math.floor((H + 2 - 3) / 2) + 1;
        const n = B * C * H * H, ny = B * C * OH * OH;
        const x64 = randomValues(n, 5), dy64 = randomValues(ny, 6);
        const x = from(f32(x64), [B, C, H, H]);
        const dy = from(f32(dy64), [B, C, OH, OH]);
        const popts = { k: 3, stride: 2, padding: 1 };
        const ps = (N: number) => ({ N, C, H, W: H, kernel: 3, stride: 2, padding: 1 });
        const fwdOp = kind === 'max' ? ops.maxPool2d : ops.avgPool2d;
        const shape = `N${B} C${C} ${H}×${H} → ${OH}×${OH}`;
        const argmax = kind === 'max' ? cpu.maxPool2d(x64, ps(B)).argmax : null;
        // The general kernels and the 'rows' ones (the 3×3/2/1 window, 4 outputs of a row per invocation; the default).
        const rows = (on: boolean): Pick<VariantSpec, 'variant' | 'around'> => {
          let prev = ops.POOL_KNOBS.rows;
          return { variant: on ? 'rows' : 'general', around: [() => { prev = ops.POOL_KNOBS.rows; ops.POOL_KNOBS.rows = on; }, () => { ops.POOL_KNOBS.rows = prev; }] };
        };
        await runCase({
          family: 'pool', name: `${pname} fwd`, shape, bytes: 4 * (n + ny * (kind === 'max' ? 2 : 1)), bound: 'copy',
          cpu: () => cpuTime((m) => (kind === 'max' ? cpu.maxPool2d(x64.subarray(0, m * C * H * H), ps(m)) : cpu.avgPool2d(x64.subarray(0, m * C * H * H), ps(m))), B, budgetMs, { unit: 'images' }),
          variants: [false, true].map((on) => ({ ...rows(on), record: () => noGrad(() => scope(() => { fwdOp(x, popts); })) })),
        });
        // Backward: the forward recorded on the tape outside the capture; only backward's dispatches are timed.
        x.requiresGrad = true;
        const y = fwdOp(x, popts);
        await runCase({
          family: 'pool', name: `${pname} bwd`, shape, bytes: 4 * (n + ny * (kind === 'max' ? 2 : 1)), bound: 'copy',
          cpu: () => cpuTime((m) => (kind === 'max' ? cpu.maxPool2dBackward(dy64.subarray(0, m * C * OH * OH), argmax!.subarray(0, m * C * OH * OH), ps(m)) : cpu.avgPool2dBackward(dy64.subarray(0, m * C * OH * OH), ps(m))), B, budgetMs, { unit: 'images' }),
          // x.grad is cleared before each variant's capture, so neither records an accumulation into it.
          variants: [false, true].map((on) => {
            const v = rows(on);
            const [set, unset] = v.around!;
            return { ...v, around: [() => { x.grad?.dispose(); x.grad = null; set(); }, unset] as [() => void, () => void], record: () => { backward(y, dy); } };
          }),
        });
        x.grad?.dispose();
        x.grad = null;
        disposeRecorded(y);
      });
    }
  }

  // ---- batch norm (training statistics) at the three conv outputs ----
  const bns = [['bn1', 32, 32], ['bn2', 32, 16], ['bn3', 64, 8]] as const;
  for (const B of batches) {
    for (const [bname, C, H] of bns) {
      if (!want('batchnorm', bname, 'fwd bwd')) continue;
      await withTensors(async (from) => {
        const n = B * C * H * H;
        const x64 = randomValues(n, 7), dy64 = randomValues(n, 8), g64 = randomValues(C, 9).map((v) => 1 + 0.1 * v), be64 = randomValues(C, 10);
        const x = from(f32(x64), [B, C, H, H]), dy = from(f32(dy64), [B, C, H, H]);
        const gamma = from(f32(g64), [C]), beta = from(f32(be64), [C]);
        const rm = from(new Float32Array(C), [C]), rv = from(new Float32Array(C).fill(1), [C]);
        const s = (N: number) => ({ N, C, H, W: H });
        const shape = `N${B} C${C} ${H}×${H}`;
        const stats = cpu.batchNorm2dTrain(x64, g64, be64, s(B));
        await runCase({
          family: 'batchnorm', name: `${bname} fwd`, shape, bytes: 8 * n, bound: 'copy',
          cpu: () => cpuTime((m) => cpu.batchNorm2dTrain(x64.subarray(0, m * C * H * H), g64, be64, s(m)), B, budgetMs, { unit: 'images' }),
          variants: [{ variant: 'two-pass', record: () => noGrad(() => scope(() => { ops.batchNorm2d(x, gamma, beta, rm, rv, { training: true }); })) }],
        });
        for (const t of [x, gamma, beta]) t.requiresGrad = true;
        const y = ops.batchNorm2d(x, gamma, beta, rm, rv, { training: true });
        await runCase({
          family: 'batchnorm', name: `${bname} bwd`, shape, bytes: 12 * n, bound: 'copy',
          cpu: () => cpuTime((m) => cpu.batchNorm2dBackward(dy64.subarray(0, m * C * H * H), x64.subarray(0, m * C * H * H), g64, stats.mean, stats.invStd, s(m)), B, budgetMs, { unit: 'images' }),
          variants: [{ variant: 'two-pass', record: () => { backward(y, dy); } }],
        });
        for (const t of [x, gamma, beta]) { t.grad?.dispose(); t.grad = null; }
        disposeRecorded(y);
      });
    }
  }

  // ---- elementwise at the largest activation (conv1's output) ----
  for (const B of batches) {
    if (!want('elementwise', 'relu add', 'scalar vec4')) continue;
    await withTensors(async (from) => {
      const n = B * 32 * 32 * 32;
      const a64 = randomValues(n, 11), b64 = randomValues(n, 12);
      const a = from(f32(a64), [n]), b = from(f32(b64), [n]);
      const vs = (fn: () => void): VariantSpec[] => (['scalar', 'vec4'] as const).map((v) => ({ variant: v, record: () => noGrad(() => scope(fn)), around: [() => ops.setElementwiseVariant(v), () => ops.setElementwiseVariant('auto')] }));
      await runCase({ family: 'elementwise', name: 'relu', shape: `${n} (N${B}·32·32·32)`, bytes: 8 * n, bound: 'copy', cpu: () => cpuTime((m) => cpu.relu(a64.subarray(0, m)), n, budgetMs), variants: vs(() => { ops.relu(a); }) });
      await runCase({ family: 'elementwise', name: 'add', shape: `${n} (N${B}·32·32·32)`, bytes: 12 * n, bound: 'copy', cpu: () => cpuTime((m) => cpu.add(a64.subarray(0, m), b64.subarray(0, m)), n, budgetMs), variants: vs(() => { ops.add(a, b); }) });
    });
  }

  // ---- GEMM: the FC layers' three products per batch, and square matrices in every transpose case ----
  const gemmCase = async (name: string, M: number, N: number, K: number, tA: boolean, tB: boolean, variants: ops.GemmVariant[]) => {
    const tcase = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
    if (!want('gemm', name, tcase, variants.join(' '))) return;
    await withTensors(async (from) => {
      const A64 = randomValues(M * K, 13), B64 = randomValues(K * N, 14);
      const A = from(f32(A64), [M * K]), Bt = from(f32(B64), [K * N]);
      const ldA = tA ? M : K, ldB = tB ? K : N;
      const cpuSlice = (m: number) => {
        let As = A64.subarray(0, m * K);
        if (tA) { As = new Float64Array(K * m); for (let k = 0; k < K; k++) for (let i = 0; i < m; i++) As[k * m + i] = A64[k * M + i]; }
        cpu.gemm(As, B64, { M: m, N, K, transA: tA, transB: tB });
      };
      await runCase({
        family: 'gemm', name, shape: `${M}×${N}×${K} ${tcase}`, flop: 2 * M * N * K, bound: 'fma',
        cpu: () => cpuTime(cpuSlice, M, budgetMs, { unit: 'rows of C' }),
        variants: variants.map((v) => ({
          variant: v,
          record: () => scope(() => {
            const C = Tensor.empty([M * N]);
            ops.gemmInto({ buffer: C.buffer, ld: N }, { buffer: A.buffer, ld: ldA }, { buffer: Bt.buffer, ld: ldB }, { M, N, K, transA: tA, transB: tB, variant: v });
          }),
        })),
      });
    });
  };
  const all: ops.GemmVariant[] = ['naive', 'tiled', 'regblock', 'unrolled'];
  for (const B of batches) {
    await gemmCase(`fc1 fwd x·Wᵀ (N${B})`, B, 500, 1024, false, true, all);
    await gemmCase(`fc1 dX = G·W (N${B})`, B, 1024, 500, false, false, all);
    await gemmCase(`fc1 dW = Gᵀ·X (N${B})`, 500, 1024, B, true, false, all);
    await gemmCase(`hash fwd x·Wᵀ (N${B})`, B, 48, 500, false, true, all);
    await gemmCase(`hash dX = G·W (N${B})`, B, 500, 48, false, false, all);
    await gemmCase(`hash dW = Gᵀ·X (N${B})`, 48, 500, B, true, false, all);
  }
  for (const S of quick ? [64, 128] : [256, 512, 1024]) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      // naive and tiled run 0.3–0.5 GFLOP/s here: only NN, and not at 1024³ (4 s a call).
      const vs: ops.GemmVariant[] = !tA && !tB && S <= 512 ? all : ['regblock', 'unrolled'];
      await gemmCase(`square ${S}`, S, S, S, tA, tB, vs);
    }
  }

  // ---- the fused TQL loss (forward + gradient, one submit) ----
  for (const B of quick ? [16] : [128, 256]) {
    if (!want('tql', 'loss', 'fused')) continue;
    const k = 48;
    await withTensors(async (from) => {
      const f64 = randomValues(B * k, 15).map((v) => Math.tanh(2 * v));
      const labels = Uint32Array.from({ length: B }, (_, i) => i % 10);
      const f = from(f32(f64), [B, k]);
      const lab = from(labels, [B], 'u32');
      f.requiresGrad = true;
      await runCase({
        family: 'tql', name: 'tripletQuantLoss fwd+bwd', shape: `B${B} k${k} batch-all`, flop: 8 * B * B * k, bound: 'fma',
        note: 'FLOP ≈ 8·B²·k (pair distances real + quantised, W·F gradient); the B³ triplet hinge counts are not counted',
        cpu: () => cpuTime((m) => cpu.tqlLoss(f64.subarray(0, m * k), labels.subarray(0, m), m, k), B, budgetMs, { slice: 2, power: 3, unit: 'rows' }),
        variants: [{ variant: 'fused', record: () => scope(() => { const { loss } = ops.tripletQuantLoss(f, lab); backward(loss); }) }],
      });
      f.grad?.dispose();
      f.grad = null;
    });
  }

  // ---- sign + pack of a database's descriptors ----
  {
    const n = quick ? 2048 : 59000, k = 48, W = 2;
    if (want('signpack', 'sign+pack')) {
      await withTensors(async (from) => {
        const v64 = randomValues(n * k, 16);
        const fv = from(f32(v64), [n, k]);
        const v32 = f32(v64);
        await runCase({
          family: 'codes', name: 'sign+pack', shape: `${n}×${k} → ${n}×${W} u32`, bytes: 4 * n * (k + W), bound: 'copy',
          cpu: () => cpuTime((m) => signPackCpu(v32.subarray(0, m * k), m, k), n, budgetMs),
          variants: [{ variant: 'signpack', record: () => scope(() => { ops.signPack(fv); }) }],
        });
      });
    }
    const hamming = (ops as Record<string, unknown>).hammingTopK as undefined | ((q: Tensor, db: Tensor, bits: number, k: number) => unknown);
    if (want('hamming', 'top-k')) {
      if (typeof hamming !== 'function') log('hamming top-k: ops.hammingTopK is not in this build (still in progress): row skipped\n');
      else {
        const N = quick ? 8192 : 100000, nq = quick ? 16 : 100, kk = 100, bits = 48;
        await withTensors(async (from) => {
          const dbw = randomWords(N * W, 17), qw = randomWords(nq * W, 18);
          const db = from(dbw, [N, W], 'u32'), q = from(qw, [nq, W], 'u32');
          await runCase({
            family: 'codes', name: 'hamming top-k', shape: `${nq} q × ${N} codes, ${bits} bits, k ${kk}`, bytes: nq * N * W * 4, bound: 'copy',
            note: 'GB/s = queries × database bytes (a scan rate; bound taken as the copy ceiling)',
            cpu: () => cpuTime((m) => hammingTopKCpu(qw.subarray(0, m * W), dbw, m, N, bits, kk), nq, budgetMs, { unit: 'queries' }),
            variants: [{ variant: 'hist+collect', record: () => scope(() => { hamming(q, db, bits, kk); }) }],
          });
        });
      }
    }
  }

  // ---- optimiser: one Adam step over dshNet's parameters ----
  if (want('optim', 'adam', 'scalar vec4')) {
    await withTensors(async (from) => {
      const model = dshNet({ bits: 48, batchNorm: false, seed: 1 });
      const params = model.namedParameters();
      const host = params.map(([, t], i) => ({ w: randomValues(t.size, 100 + i), g: randomValues(t.size, 200 + i) }));
      params.forEach(([, t], i) => { t.grad = Tensor.from(f32(host[i].g), t.shape).keep(); });
      const opt = new Adam(params, { lr: 1e-3 });
      const n = params.reduce((s, [, t]) => s + t.size, 0);
      await runCase({
        family: 'optim', name: 'Adam step (dshNet, 48 bits)', shape: `${params.length} tensors, ${n} params`, bytes: 28 * n, bound: 'copy',
        cpu: () => ({ ms: hostMs(() => host.forEach((h) => cpu.adamStep(h.w, h.g, new Float64Array(h.w.length), new Float64Array(h.w.length), 1, { lr: 1e-3 }))) }),
        variants: (['scalar', 'vec4'] as const).map((v) => ({
          variant: v, record: () => opt.step(),
          around: [() => setOptimVariant(v === 'vec4' ? 'auto' : 'scalar'), () => setOptimVariant('auto')] as [() => void, () => void],
        })),
      });
      for (const [, t] of params) { t.grad?.dispose(); t.grad = null; }
      opt.dispose();
      model.dispose();
    });
  }
  flushFamily();
  await rt.sync();
  return {
    adapter: rt.info,
    ceilings: ceilingsJSON(ceil),
    knobs: currentKnobs(),
    loadavg: loadavg(),
    date: new Date().toISOString(),
    rows,
  };
}
