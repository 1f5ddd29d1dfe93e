// tqhash bench step: training-step throughput of the hashing network (forward + TQL loss + backward + Adam, one submit per
// step) and where the time goes: every dispatch of one recorded step replayed alone, aggregated per kernel.
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { cpuMsSince, cpuTimes, hostCpu, logSteal, stealShare } from '../util/host.js';
import { Tensor, runtime, scope } from '../tensor.js';
import { backward } from '../autograd.js';
import { tripletQuantLoss, tqlDefaults } from '../ops/tql.js';
import { Adam } from '../optim/index.js';
import { dshNet, resnet } from '../nn/models.js';
import type { Module } from '../nn/module.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { currentKnobs, type KnobValues } from '../gpu/knobs.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import { measureCeilings, median, type Ceilings } from './harness.js';
import { capture, commandFlops, commandName, replay, setPhase, type Command } from './capture.js';
import { ceilingsJSON, fmt, formatTable, header, measure, randomValues } from './util.js';
import { peerPython, peerRatios, readPeerFile, runPeer, type PeerReport } from './peers.js';
import { UsageError } from '../util/args.js';

/** Options of runStepBench. */
export interface StepBenchOptions {
  batch?: number;
  model?: 'dsh' | 'resnet';
  bits?: number;
  /** Timed steps after 2 warm-up steps (default 10). */
  steps?: number;
  /** Batch norm after each conv (dsh; default true, like bench/train.js). */
  bn?: boolean;
  /** Skip the per-kernel replay breakdown. */
  noBreakdown?: boolean;
  quick?: boolean;
  /** The PyTorch peer: a peers.py JSON file, or true to run bench/peers/peers.py before and after our timed steps. */
  peer?: string | true;
  /** Time the first step with each command submitted alone: what each pipeline's first use costs (compileTimes). */
  compile?: boolean;
  log?: (line: string) => void;
}

/** One kernel's share of a step: replayed alone, summed over its dispatches in the step. */
export interface StepKernelRow {
  kernel: string;
  dispatches: number;
  ms: number;
  share: number;
  /** CPU ms of the process's threads (a software adapter's included) over the same replays, raw; with the raw wall
   *  time, how many cores the kernel kept busy (cpu_ms / raw_ms). */
  cpu_ms: number;
  raw_ms: number;
  gflop: number | null;
  gflops: number | null;
  fraction: number | null;
}

/** The report of bench/step.js. */
export interface StepReport {
  adapter: AdapterInfo;
  ceilings: ReturnType<typeof ceilingsJSON>;
  /** The knobs in use (src/gpu/knobs.ts). */
  knobs: KnobValues;
  /** The CPU (hostCpu()): a software adapter's speed is the CPU's. */
  host: string;
  loadavg: number[];
  date: string;
  config: { model: string; batch: number; bits: number; bn: boolean; steps: number; loss: string };
  step_ms: number;
  step_ms_samples: number[];
  /** Median CPU time of a step over all the process's threads (llvmpipe's included): on shared cores the wall time
   * stretches with other processes' load, the CPU time much less. */
  step_cpu_ms: number;
  images_per_s: number;
  /** Share of the machine's CPU time stolen by the VM host while our steps were timed (null: unknown, e.g. not Linux). */
  steal: number | null;
  /** Mean wall ms per step of `steps` steps issued back to back with each loss read one step late, as the trainer
   * runs them (src/train/run.ts): on a GPU with an asynchronous queue the host records a step while the GPU runs
   * the one before; step_ms waits for each step before recording the next. */
  pipelined_step_ms: number;
  /** The same steps with each loss read as soon as Dawn can tell (readLater without `pace`: Dawn's node binding polls
   *  on every turn of the event loop meanwhile), and the GC pauses of both ways, ms per step. */
  unpaced_step_ms: number;
  gc_ms: { paced: number; unpaced: number };
  /** Median wall ms of recording one step on the host (our JS and Dawn's command encoding, up to the submit), the
   * device idle: on a GPU, where the host records a step while the device runs the one before, no step can take
   * less than this. */
  record_ms: number;
  dispatches_per_step: number;
  step_gflop: number;
  /** Total FLOPs of the step ÷ step time ÷ FMA ceiling. */
  fraction_of_fma: number;
  replay_sum_ms: number | null;
  kernels: StepKernelRow[];
  /** --compile: the first step, each command submitted alone, and the first use of each pipeline (compileTimes). */
  compile: CompileReport | null;
  /** The PyTorch peer of this run (before and after ours when run here), and ours ÷ its mean images/s. */
  peer: { runs: { when: string; engine: string; images_per_s: number; step_ms: number; step_cpu_ms?: number; loadavg?: number[]; date?: string; source: string; steal?: number | null }[]; ratio: number | null; cpu_ratio: number | null; step_cpu_ms: number; skipped?: string } | null;
}

type PeerRuns = NonNullable<StepReport['peer']>['runs'];

/** Throws a UsageError naming the flag when --batch or --steps is out of range (bench/step.js checks before the GPU starts). */
export function checkStepOptions(o: StepBenchOptions): void {
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 4)) throw new UsageError(`--batch ${o.batch}: need a whole number ≥ 4 (the loss needs triplets: P×K images)`);
  if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 1)) throw new UsageError(`--steps ${o.steps}: need a whole number ≥ 1`);
}

/** Measures training steps of dshNet (or the small ResNet) with the TQL loss and Adam; prints the breakdown. */
export async function runStepBench(o: StepBenchOptions = {}): Promise<StepReport> {
  const rt = runtime();
  const log = o.log ?? ((s: string) => console.log(s));
  const B = o.batch ?? 128, bits = o.bits ?? 48, steps = o.steps ?? (o.quick ? 3 : 10), bn = o.bn ?? true, kind = o.model ?? 'dsh';
  checkStepOptions(o);
  // A peer file is read first: a wrong one is an error before the ceilings and steps are measured, not after.
  const peerFile = typeof o.peer === 'string' ? readPeerFile(o.peer, 'step') : undefined;
  await autotuneIfAsked(log);
  const ceil = await measureCeilings({ quick: o.quick });
  log(header(ceil));
  const model: Module = kind === 'resnet' ? resnet({ bits, seed: 1 }) : dshNet({ bits, batchNorm: bn, seed: 1 });
  const opt = new Adam(model.namedParameters(), { lr: 1e-3 });
  const x = Tensor.from(Float32Array.from(randomValues(B * 3 * 32 * 32, 1)), [B, 3, 32, 32]).keep();
  // P×K batch of CIFAR-10 classes, as tqhash train samples it (10 classes × B/10 images).
  const labels = Tensor.from(Uint32Array.from({ length: B }, (_, i) => i % 10), [B], 'u32').keep();
  // The loss at the library's defaults, the same function the trainer and the CPU reference use.
  const lossOpts = tqlDefaults(bits);
  const lossLabel = `tql (asym, batch-all, m = m_q = max(k/4, 6) = ${lossOpts.margin}, λ = ${lossOpts.lambda})`;
  const cfg = { model: kind === 'resnet' ? 'resnet8' : `dshNet${bn ? '+bn' : ''}`, batch: B, bits, bn, steps, loss: lossLabel };
  log(`step      ${cfg.model} · ${bits} bits · batch ${B} · ${cfg.loss} · Adam lr 1e-3 · synthetic images (no data loading or augmentation) · one submit per step`);
  const stepLoss = () => scope(() => {
    setPhase('fwd');
    const f = model.forward(x);
    setPhase('loss');
    const { loss } = tripletQuantLoss(f, labels, lossOpts);
    setPhase('bwd');
    backward(loss);
    setPhase('adam');
    opt.step();
    opt.zeroGrad();
    setPhase(undefined);
    return loss;
  });
  const step = () => stepLoss().dispose();
  const compile = o.compile ? await compileTimes(step, log) : null;
  // The peer: same network, loss, optimiser, batch and bits in PyTorch (bench/peers/peers.py), before and after ours.
  const peer = new StepPeer(B, bits, steps, kind === 'dsh' && bn, log);
  if (peerFile) peer.take(peerFile, `file ${o.peer as string}`);
  else if (o.peer === true) await peer.runNow('before ours');

  const ours0 = cpuTimes();
  const { samples, cpuSamples, recordSamples, disp } = await timeSteps(step, steps, log, !compile);
  const stepMs = median(samples);
  const ips = (1000 * B) / stepMs;
  const cpuMs = median(cpuSamples);
  log(`\nstep time median ${fmt(stepMs)} ms over ${steps} steps (min ${fmt(Math.min(...samples))}, max ${fmt(Math.max(...samples))}) → ${fmt(ips)} images/s; ${disp} dispatches per step`);
  log(`CPU time per step median ${fmt(cpuMs)} ms, all threads (${fmt((1000 * B) / cpuMs)} images per CPU-second; ${cpus().length} CPUs)`);
  const { paced, unpaced } = await timeBackToBack(stepLoss, steps, B, log);
  const pipelinedMs = paced.ms;
  const recordMs = median(recordSamples);
  log(`host recording ${fmt(recordMs)} ms per step (median; our JS and Dawn's encoding up to the submit, the device idle): where the device runs a step faster than this, the host bounds the pipelined step`);
  const steal = logSteal(ours0, 'while our steps were timed', log);
  if (o.peer === true) await peer.runNow('after ours');
  const peerReport = o.peer !== undefined ? peer.summary(ips, cpuMs) : null;

  const bd = await breakdown(step, ceil, !o.noBreakdown, !!o.quick);
  const fraction = bd.stepFlops / (stepMs * 1e6) / ceil.fmaGflops;
  if (!o.noBreakdown) {
    log(`\nper kernel: each of the step's ${bd.commands} commands replayed alone on the step's own buffers (median, empty-dispatch cost subtracted), summed per kernel`);
    log(formatTable(
      ['kernel', 'dispatches', 'ms', 'share', 'GFLOP', 'GFLOP/s', 'of FMA ceiling', 'CPU ms', 'cores busy'],
      bd.rows.map((r) => [r.kernel, r.dispatches, fmt(r.ms), `${(100 * r.share).toFixed(1)}%`, fmt(r.gflop), fmt(r.gflops), r.fraction === null ? '—' : `${(100 * r.fraction).toFixed(1)}%`, fmt(r.cpu_ms), (r.cpu_ms / r.raw_ms).toFixed(2)]),
    ));
    log(`\nsum of replays ${fmt(bd.replaySum)} ms vs measured step ${fmt(stepMs)} ms (${fmt((100 * bd.replaySum!) / stepMs)}%; the rest is per-dispatch overhead inside one submit and the host's recording, the excess is cache effects of running alone)`);
  }
  log(`step FLOPs (GEMM + conv only) ${fmt(bd.stepFlops / 1e9)} GFLOP → ${fmt(bd.stepFlops / (stepMs * 1e6))} GFLOP/s over the whole step = ${(100 * fraction).toFixed(1)}% of the FMA ceiling`);
  x.dispose();
  labels.dispose();
  opt.dispose();
  model.dispose();
  return {
    adapter: rt.info,
    ceilings: ceilingsJSON(ceil),
    knobs: currentKnobs(),
    host: hostCpu(), loadavg: loadavg(), date: new Date().toISOString(), config: cfg,
    step_ms: stepMs, step_ms_samples: samples, step_cpu_ms: cpuMs, images_per_s: ips, steal, pipelined_step_ms: pipelinedMs, unpaced_step_ms: unpaced.ms, gc_ms: { paced: paced.gcMs, unpaced: unpaced.gcMs }, record_ms: recordMs, dispatches_per_step: disp,
    step_gflop: bd.stepFlops / 1e9, fraction_of_fma: fraction, replay_sum_ms: bd.replaySum, kernels: bd.rows, compile, peer: peerReport,
  };
}

/** What the first use of each pipeline costs. */
export interface CompileReport {
  /** Wall ms of the first step with every command submitted alone. */
  first_step_ms: number;
  /** Per pipeline (kernel key, overrides included): its creation and first dispatch minus a second dispatch, ms. */
  kernels: { kernel: string; ms: number }[];
}

/** The first step of the process with each command submitted alone: per pipeline, the wall time of its creation and
 *  first dispatch minus that of the same dispatch again. On llvmpipe a pipeline's machine code is compiled at its
 *  first dispatch (Dawn's GL backend runs a submit on the calling thread), on Vulkan at its creation; Mesa keeps
 *  compiled shaders on disk, so MESA_SHADER_CACHE_DISABLE=true measures a machine that has not run them yet. */
async function compileTimes(step: () => void, log: (s: string) => void): Promise<CompileReport> {
  const rt = runtime();
  await rt.sync();
  const t0 = performance.now();
  const cap = capture(step, { submitEach: true });
  await rt.sync();
  const firstStep = performance.now() - t0;
  const first = new Map<string, Command & { kind: 'dispatch' }>();
  for (const c of cap.commands) if (c.kind === 'dispatch' && !first.has(c.kernel.key)) first.set(c.kernel.key, c);
  const kernels: CompileReport['kernels'] = [];
  for (const [kernel, c] of first) {
    rt.flush();
    const t = performance.now();
    replay([c]);
    rt.flush();
    kernels.push({ kernel, ms: Math.max(0, c.submitMs! - (performance.now() - t)) });
  }
  await rt.sync();
  cap.release();
  kernels.sort((a, b) => b.ms - a.ms);
  const total = kernels.reduce((s, k) => s + k.ms, 0);
  const shown = kernels.filter((k, i) => i < 12 && k.ms >= 1);
  log(`first step ${fmt(firstStep)} ms with each command submitted alone; the first use of its ${kernels.length} pipelines ${fmt(total)} ms (creation + first dispatch − a second dispatch)${process.env.MESA_SHADER_CACHE_DISABLE ? '' : '; on Mesa, MESA_SHADER_CACHE_DISABLE=true measures a cold shader cache'}:`);
  log(formatTable(['pipeline', 'ms'], [...shown.map((k) => [k.kernel, fmt(k.ms)]), [`the other ${kernels.length - shown.length}`, fmt(total - shown.reduce((s, k) => s + k.ms, 0))]]));
  return { first_step_ms: firstStep, kernels };
}

/** Two warm-up steps, then `steps` timed ones: wall and CPU milliseconds of each, the wall milliseconds of recording
 *  each (step() until it returns, before the submit), and dispatches per step. */
async function timeSteps(step: () => void, steps: number, log: (s: string) => void, firstCompiles = true): Promise<{ samples: number[]; cpuSamples: number[]; recordSamples: number[]; disp: number }> {
  const rt = runtime();
  const samples: number[] = [], cpuSamples: number[] = [], recordSamples: number[] = [];
  let disp = 0;
  for (let i = 0; i < steps + 2; i++) {
    await rt.sync();
    const d0 = rt.counters.dispatches;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step();
    const rec = performance.now() - t0;
    await rt.sync();
    const dt = performance.now() - t0;
    const c = cpuMsSince(c0);
    disp = rt.counters.dispatches - d0;
    if (i >= 2) {
      samples.push(dt);
      cpuSamples.push(c);
      recordSamples.push(rec);
    }
    else log(`warm-up step ${i + 1}: ${fmt(dt)} ms${i === 0 && firstCompiles ? ' (includes shader compiles)' : ''}`);
  }
  return { samples, cpuSamples, recordSamples, disp };
}

/** The steps back to back as the trainer runs them, unpaced and paced (Runtime.readLater); logs both. */
async function timeBackToBack(stepLoss: () => Tensor, steps: number, B: number, log: (s: string) => void) {
  const unpaced = await timePipelined(stepLoss, steps, undefined);
  const paced = await timePipelined(stepLoss, steps, 'train-step');
  log(`back to back, each loss read one step late (as tqhash train runs them): ${fmt(paced.ms)} ms/step → ${fmt((1000 * B) / paced.ms)} images/s; GC ${fmt(paced.gcMs)} ms/step`);
  log(`          the same with Dawn polling for each loss at once (unpaced): ${fmt(unpaced.ms)} ms/step; GC ${fmt(unpaced.gcMs)} ms/step`);
  return { paced, unpaced };
}

/** Mean wall ms (and GC pause ms) per step of `steps` steps issued back to back, each step's loss read back one step
 *  late, paced as the trainer's (Runtime.readLater) or not. */
async function timePipelined(stepLoss: () => Tensor, steps: number, pace: string | undefined): Promise<{ ms: number; gcMs: number }> {
  const rt = runtime();
  await rt.sync();
  let gc = 0;
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gc += e.duration; });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  let prev: Promise<ArrayBuffer> | undefined;
  for (let i = 0; i < steps; i++) {
    const loss = stepLoss();
    const next = rt.readLater(loss.buffer, 4, pace);
    loss.dispose();
    if (prev) await prev;
    prev = next;
  }
  await prev;
  const ms = (performance.now() - t0) / steps;
  await new Promise((resolve) => setImmediate(resolve)); // the observer's entries arrive on a later turn
  obs.disconnect();
  return { ms, gcMs: gc / steps };
}

/** PyTorch's step of the same network (bench/peers/peers.py): its runs in this benchmark and the ratios to ours. */
class StepPeer {
  readonly runs: PeerRuns = [];
  private skipped: string | undefined;

  constructor(private readonly B: number, private readonly bits: number, private readonly steps: number, private readonly comparable: boolean, private readonly log: (s: string) => void) {}

  /** Adds a peers.py report (run now or read from a file). */
  take(r: PeerReport, when: string, steal?: number | null): void {
    const p = r.step!;
    if (p.config.batch !== this.B || p.config.bits !== this.bits) this.log(`peer      WARNING: ${r.source} ran batch ${p.config.batch}, ${p.config.bits} bits; this run: batch ${this.B}, ${this.bits} bits`);
    this.runs.push({ when, engine: p.engine, images_per_s: p.images_per_s, step_ms: p.step_ms, step_cpu_ms: p.step_cpu_ms, loadavg: r.loadavg, date: r.date, source: r.source, ...(steal !== undefined ? { steal } : {}) });
    const stolen = steal ? `; steal ${(100 * steal).toFixed(0)} %` : '';
    this.log(`peer      ${p.engine}: ${fmt(p.images_per_s)} images/s (${fmt(p.step_ms)} ms/step, median; ${when}; load ${r.loadavg?.map((x) => x.toFixed(2)).join(' ') ?? '?'}${stolen})`);
  }

  /** Runs peers.py step now (skipped, with the reason, when it cannot run or the network differs). */
  async runNow(when: string): Promise<void> {
    if (!this.comparable) { this.skipped ??= 'the peer is dshNet with batch norm only'; return; }
    await runtime().sync();
    this.log(`peer      running ${peerPython()} bench/peers/peers.py step (${when}) …`);
    const t0 = cpuTimes();
    const r = runPeer('step', ['--batch', `${this.B}`, '--bits', `${this.bits}`, '--steps', `${this.steps}`, '--threads', '2']);
    if (r.report) this.take(r.report, when, stealShare(t0));
    else { this.skipped = r.reason; this.log(`peer      skipped: ${r.reason}`); }
  }

  /** Ours ÷ the peer's mean images/s, and the peer's CPU time per step ÷ ours; logged and returned for the report. */
  summary(ips: number, ourCpu: number): NonNullable<StepReport['peer']> {
    const r = peerRatios('step', 'images/s', ips, ourCpu, this.runs.map((p) => ({ engine: p.engine, value: p.images_per_s, cpu_ms: p.step_cpu_ms, when: p.when })), this.log);
    return { runs: this.runs, ...r, step_cpu_ms: ourCpu, skipped: this.skipped };
  }

}

/** One step recorded with buffer releases held; with `replayEach`, each command replayed alone and summed per kernel. */
async function breakdown(step: () => void, ceil: Ceilings, replayEach: boolean, quick: boolean): Promise<{ rows: StepKernelRow[]; replaySum: number | null; stepFlops: number; commands: number }> {
  const rt = runtime();
  const cap = capture(step);
  await rt.sync();
  const stepFlops = cap.commands.reduce((s, c) => s + commandFlops(c), 0);
  const kernels = new Map<string, { dispatches: number; ms: number; cpu: number; raw: number; flop: number }>();
  let replaySum: number | null = null;
  if (replayEach) {
    replaySum = 0;
    for (const c of cap.commands) {
      const t = await measure(() => replay([c]), c.kind === 'dispatch' ? 1 : 0, { targetMs: quick ? 10 : 40, repeats: 3 });
      const name = commandName(c);
      const e = kernels.get(name) ?? { dispatches: 0, ms: 0, cpu: 0, raw: 0, flop: 0 };
      e.dispatches++;
      e.ms += t.ms;
      e.cpu += t.cpuMs;
      e.raw += t.rawMs;
      e.flop += commandFlops(c);
      kernels.set(name, e);
      replaySum += t.ms;
    }
  }
  const commands = cap.commands.length;
  cap.release();
  const rows: StepKernelRow[] = [...kernels.entries()]
    .map(([kernel, e]) => ({
      kernel, dispatches: e.dispatches, ms: e.ms, share: e.ms / (replaySum || 1), cpu_ms: e.cpu, raw_ms: e.raw,
      gflop: e.flop ? e.flop / 1e9 : null, gflops: e.flop ? e.flop / (e.ms * 1e6) : null,
      fraction: e.flop ? e.flop / (e.ms * 1e6) / ceil.fmaGflops : null,
    }))
    .sort((a, b) => b.ms - a.ms);
  return { rows, replaySum, stepFlops, commands };
}
