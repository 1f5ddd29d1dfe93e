// The main job: train the hashing network (CIFAR-10 or In-shop) with P×K batches and the triplet(-quantization)
// loss, checkpoint every epoch (and every --checkpoint-minutes within one), then encode queries and database and
// evaluate retrieval (binary and real-valued). Read trainStep first: it is the algorithm; the rest is the loop around
// it (start or resume, epochs, checkpoints, validation, results).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as data from '../data/index.js';
import { checkDataFlags, loadTrainData, type TrainData } from './datasets.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { cpuTimes, hostCpu, stealShare, type CpuTimes } from '../util/host.js';
import type { Runtime } from '../gpu/runtime.js';
import { flagsSet } from '../config.js';
import { backward } from '../autograd.js';
import { init, runtime, scope, Tensor } from '../tensor.js';
import { ImageStore } from '../ops/augment.js';
import { tripletQuantLoss } from '../ops/tql.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import type { Module } from '../nn/module.js';
import { buildModel } from './model.js';
import { loadStateDict, stateDict, saveModel } from '../nn/io.js';
import { makeOptimizer, lrAt, warmupSteps, warmupText, type TrainOptimizer } from './optimizer.js';
import { ProgressBar, formatDuration } from './progress.js';
import { saveCheckpoint, loadCheckpoint, checkResumePoint, writeFileAtomic, type EpochPartial } from './checkpoint.js';
import { RESUME_KEYS, adoptSaved, configDiffs, defaultMargin, runTag, type TrainConfig } from './options.js';
import { evaluateAll, quickValidation, metricLines, type EvalResult } from './evaluate.js';
import { writeReport } from './report.js';
import { codeVersion } from '../util/version.js';
import { prepareOutputDir, refuseOverwrite, removeCreatedDirs } from '../util/fs.js';
import { StoppedError } from './signals.js';
import { lossOptionsAt } from './loss-schedule.js';

/** Raised when the loss turns NaN/inf: the run stops, the last good checkpoint stays. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

export interface TrainOutcome {
  config: TrainConfig;
  outDir: string;
  /** False when stopped early (a stop signal or --max-steps); the checkpoint allows --resume. */
  finished: boolean;
  /** Continued from a checkpoint (--resume found one): config holds its options. */
  resumed?: boolean;
  results?: Record<string, unknown>;
}

export interface TrainOptions {
  resume: boolean;
  quiet: boolean;
  stopSignal: AbortSignal;
  /** The command that reproduces the run, for results.json (default: node bench/train.js and this process's arguments). */
  command?: string;
  /** The flags given on the command line: on --resume the options not given are the checkpoint's. Absent: every
   *  option is as given (a study's cells), and must match the checkpoint's. */
  given?: ReadonlySet<string>;
  /** How the user continues a stopped run, for its messages (default `--resume`; a study: its own command again). */
  continueWith?: string;
  /** On --resume with several --bits: the options of a length resumed before this one, which a length without a
   *  checkpoint takes where not given (it never started: the run stopped before it). */
  sibling?: TrainConfig;
}

/**
 * One training step: a P×K batch's bytes → augmented, normalised images on the GPU → descriptors f → triplet
 * quantization loss → gradients (the tape in reverse) → optimiser step. Returns the loss, still on the GPU.
 */
function trainStep(run: Run, batch: data.PKBatch, globalStep: number): Tensor {
  const { cfg, td, model, optimizer } = run;
  return scope(() => {
    const x = run.store.batch(batch.indices, { norm: td.norm, pad: cfg.augment === 'crop+flip' ? td.pad : 0, flip: cfg.augment !== 'none', seed: cfg.seed, step: globalStep });
    const f = model.forward(x);
    const y = Tensor.from(Uint32Array.from(batch.labels), [batch.labels.length], 'u32', 'labels');
    const { loss } = tripletQuantLoss(f, y, lossOptionsAt(cfg, globalStep, run.stepsPerEpoch));
    backward(loss);
    optimizer.step();
    optimizer.zeroGrad();
    return loss;
  });
}

/** Trains one model (one code length) and evaluates it; resumable; writes results.json, report.md and plots. */
export async function trainHashing(cfg0: TrainConfig, opts: TrainOptions): Promise<TrainOutcome> {
  const log = (s: string) => console.log(s);
  const t0 = performance.now();
  const ckptDir = join(cfg0.out, 'checkpoint');
  // File-system faults (a file named like --out, a read-only folder) show first, then the options and the data are
  // checked and read, all before the GPU starts; a run that fails here leaves no folder behind.
  const created = [...prepareOutputDir(cfg0.out), ...prepareOutputDir(ckptDir, 'the checkpoint folder')];
  let cfg: TrainConfig, ck: Checkpoint | null, td: TrainData, sampler: data.PKSampler;
  try {
    checkDataFlags(cfg0);
    ({ cfg, ck } = openCheckpoint(cfg0, ckptDir, opts, log));
    if (ck && isFinished(cfg, ck.state)) {
      log(`the run in ${cfg.out} is finished (${ck.state.config.epochs} epochs, ${ck.state.globalStep} steps); its results are in ${join(cfg.out, 'results.json')}. Nothing to do; to train it longer, pass --resume with a larger --epochs.`);
      return { config: cfg, outDir: cfg.out, finished: true, resumed: true };
    }
    if (!ck) refuseOverwrite(cfg.out, RUN_FILES, ' but no checkpoint to continue: a new run would write over them');
    log(`\n== ${runTag(cfg)} → ${cfg.out}`);
    td = await loadTrainData(cfg, opts.quiet);
    sampler = new data.PKSampler(td.labels, td.train, cfg.P, cfg.K, cfg.seed); // P×K must fit the training set
  } catch (e) {
    removeCreatedDirs(created);
    throw e;
  }
  const rt = await init();
  codeVersion(); // read (and cached) now: a commit made in the checkout during a long run did not train it
  await autotuneIfAsked(log);
  log(formatAdapterInfo(rt.info));
  const run = await startOrResume(cfg, opts, ck, td, sampler, t0, log);
  if (!(await trainEpochs(run))) {
    run.store.dispose();
    return { config: cfg, outDir: cfg.out, finished: false, resumed: !!ck };
  }
  try {
    return { ...(await evaluateAndReport(run, rt)), resumed: !!ck };
  } finally {
    run.store.dispose();
  }
}

/** The files a run writes into --out (besides checkpoint/ and split.json, which it makes again the same). */
const RUN_FILES = ['results.json', 'report.md', 'model.safetensors', 'db.codes', 'query.codes', 'pr.svg', 'precision_at_k.svg', 'loss.svg'];

/** Where the loop stands: saved in every checkpoint, restored on --resume. */
interface Progress {
  epoch: number;
  step: number;
  globalStep: number;
  trainSeconds: number;
  imagesSeen: number;
  lossHistory: { step: number; loss: number }[];
  epochLog: Record<string, unknown>[];
  /** The current epoch's sums before a mid-epoch checkpoint this run resumed from. */
  epochPartial?: EpochPartial;
  extensions: Extension[];
}

/** One training run in progress: what it trains on and with, where it stands, and its clocks. */
interface Run {
  cfg: TrainConfig;
  opts: TrainOptions;
  log: (s: string) => void;
  ckptDir: string;
  td: TrainData;
  store: ImageStore;
  sampler: data.PKSampler;
  model: Module;
  optimizer: TrainOptimizer;
  stepsPerEpoch: number;
  p: Progress;
  /** Wall time spans every process of a resumed run (checkpoints of older versions did not record it). */
  wall: { t0: number; before: number; known: boolean; sessions: number };
  lastSave: number;
  /** This process's seconds before the first step (data, model, kernels) and in checkpoint saves; the machine's CPU
   *  time counters when it started (the VM host's steal over this process goes into results.json). */
  clock: { startup?: number; checkpoints: number; times0?: CpuTimes };
}

/** Writes split.json, puts the data on the GPU, builds model and optimiser, and restores the checkpoint when resuming. */
async function startOrResume(cfg: TrainConfig, opts: TrainOptions, ck: Checkpoint | null, td: TrainData, sampler: data.PKSampler, t0: number, log: (s: string) => void): Promise<Run> {
  const ckptDir = join(cfg.out, 'checkpoint');
  // Data: read once (by the caller), split by protocol, bytes to the GPU once.
  writeFileAtomic(join(cfg.out, 'split.json'), td.splitJSON);
  const store = new ImageStore(td.images, td.count, td.side);
  log(`data: ${td.source}; protocol ${cfg.protocol}: ${td.query.length} queries, ${td.train.length} training, ${td.database.length} ${cfg.dataset === 'inshop' ? 'gallery' : 'database'} images`);

  const model = buildModel(cfg);
  const params = model.namedParameters();
  const optimizer = makeOptimizer(cfg, params);
  const stepsPerEpoch = sampler.stepsPerEpoch;
  let p: Progress = { epoch: 0, step: 0, globalStep: 0, trainSeconds: 0, imagesSeen: 0, lossHistory: [], epochLog: [], extensions: [] };
  if (ck) {
    checkResumePoint(ck.state, cfg.epochs, stepsPerEpoch, join(ckptDir, 'state.json'));
    loadStateDict(model, ck.model, join(ckptDir, ck.state.files.model));
    optimizer.loadState(ck.optimizer);
    const { epoch, step, globalStep, trainSeconds, imagesSeen, lossHistory, epochLog, epochPartial } = ck.state;
    p = { epoch, step, globalStep, trainSeconds, imagesSeen, lossHistory, epochLog, epochPartial, extensions: extensionsOf(cfg, ck.state, stepsPerEpoch, log) };
    log(p.epoch < cfg.epochs ? `resumed from ${ckptDir}: epoch ${p.epoch + 1}, step ${p.step}, ${p.globalStep} steps done` : `resumed from ${ckptDir}: training finished (${p.globalStep} steps done); running the final evaluation`);
  }
  const nParams = params.reduce((s, [, t]) => s + t.size, 0);
  log(`model: ${cfg.model}${cfg.bn || cfg.model === 'resnet' ? '+BN' : ''}, ${nParams.toLocaleString('en-US')} parameters; P×K = ${cfg.P}×${cfg.K}; ${stepsPerEpoch} steps/epoch; ${cfg.optimizer} lr ${cfg.lr} (${cfg.schedule}, ${warmupText(cfg, stepsPerEpoch)}), wd ${cfg.weightDecay}; augmentation ${cfg.augment}`);
  const wall = { t0, before: ck?.state.wallSeconds ?? 0, known: !ck || ck.state.wallSeconds !== undefined, sessions: ck ? (ck.state.sessions ?? 1) + 1 : 1 };
  return { cfg, opts, log, ckptDir, td, store, sampler, model, optimizer, stepsPerEpoch, p, wall, lastSave: performance.now(), clock: { checkpoints: 0, times0: cpuTimes() } };
}

const wallNow = (run: Run) => run.wall.before + (performance.now() - run.wall.t0) / 1000;

/** Saves the checkpoint; `partial`: the epoch so far, for a save within an epoch. */
async function saveRun(run: Run, partial?: EpochPartial): Promise<void> {
  const { cfg, p } = run;
  const t = performance.now();
  const metadata = { tag: runTag(cfg), epoch: String(p.epoch), step: String(p.step) };
  const { epoch, step, globalStep, lossHistory, epochLog, trainSeconds, imagesSeen, extensions } = p;
  saveCheckpoint(run.ckptDir, await stateDict(run.model), await run.optimizer.stateDict(), { epoch, step, globalStep, config: { ...cfg }, lossHistory, epochLog, trainSeconds, imagesSeen, wallSeconds: wallNow(run), sessions: run.wall.sessions, ...(partial ? { epochPartial: partial } : {}), ...(extensions.length ? { extensions } : {}) }, metadata);
  run.lastSave = performance.now();
  run.clock.checkpoints += (run.lastSave - t) / 1000;
}

/** Runs the remaining epochs; false when stopped early (a stop request or --max-steps), after saving a checkpoint. */
async function trainEpochs(run: Run): Promise<boolean> {
  const { cfg, p } = run;
  run.clock.startup = (performance.now() - run.wall.t0) / 1000;
  while (p.epoch < cfg.epochs) {
    run.model.train();
    const e = await trainEpoch(run);
    if (p.step >= run.stepsPerEpoch) {
      await endEpoch(run, e);
      continue;
    }
    await saveRun(run, e.partial());
    const why = run.opts.stopSignal.aborted ? '' : `--max-steps ${cfg.maxSteps} reached, so no final evaluation; `;
    run.log(`stopped at epoch ${p.epoch + 1}, step ${p.step} (${p.globalStep} steps done); ${why}checkpoint saved in ${run.ckptDir}; continue with ${run.opts.continueWith ?? '--resume'}`);
    return false;
  }
  return true;
}

/** The steps of the current epoch from p.step on, until its end, a stop request or --max-steps; its loss sum and clock. */
async function trainEpoch(run: Run): Promise<{ loss: number; count: number; start: number; partial: () => EpochPartial }> {
  const { cfg, p, opts } = run;
  const bar = new ProgressBar(`epoch ${p.epoch + 1}/${cfg.epochs}`, run.stepsPerEpoch, process.stderr, opts.quiet).startFrom(p.step);
  // A run resumed within an epoch carries that epoch's loss sum, step count and seconds so far.
  const e = { loss: p.epochPartial?.loss ?? 0, count: p.epochPartial?.count ?? 0, start: performance.now() - 1000 * (p.epochPartial?.seconds ?? 0), partial: (): EpochPartial => ({ loss: e.loss, count: e.count, seconds: (performance.now() - e.start) / 1000 }) };
  p.epochPartial = undefined;
  const saveEveryMs = cfg.checkpointMinutes > 0 ? cfg.checkpointMinutes * 60_000 : Infinity;
  let ipsWindow = { t: performance.now(), n: 0, ips: 0 };
  let lastDone = performance.now();
  // Steps run one deep in a pipeline: step k + 1 is recorded and submitted before step k's loss is read back, so a
  // GPU does not wait for the host's recording (on llvmpipe a submit runs to its end anyway). p advances when a
  // step's loss has been read, so checkpoints, the NaN stop and the log see exactly the steps that finished.
  const finish = async (s: IssuedStep): Promise<void> => {
    const loss = new Float32Array(await s.loss)[0];
    if (!Number.isFinite(loss)) {
      throw new DivergedError(`the loss became ${loss} at epoch ${p.epoch + 1}, step ${p.step} (lr ${s.lr.toExponential(2)}). Training stopped; ${existsSync(join(run.ckptDir, 'state.json')) ? `the last good checkpoint in ${run.ckptDir} is kept` : 'no checkpoint had been saved yet'}. Start again in a new --out with a lower --lr (half, say) or another --seed.`);
    }
    const now = performance.now();
    const dt = (now - Math.max(s.t, lastDone)) / 1000;
    lastDone = now;
    p.trainSeconds += dt;
    p.imagesSeen += s.images;
    e.loss += loss;
    e.count++;
    p.lossHistory.push({ step: p.globalStep, loss });
    p.step++;
    p.globalStep++;
    ipsWindow.n += s.images;
    const wdt = (now - ipsWindow.t) / 1000;
    if (wdt > 2) ipsWindow = { t: now, n: 0, ips: ipsWindow.n / wdt };
    bar.update(p.step, { loss, 'img/s': ipsWindow.ips || s.images / dt, lr: s.lr });
  };
  let pending: IssuedStep | undefined;
  const ahead = () => (pending ? 1 : 0); // steps issued but not yet finished
  while (p.step + ahead() < run.stepsPerEpoch && !opts.stopSignal.aborted && p.globalStep + ahead() < (cfg.maxSteps ?? Infinity)) {
    const s = issueStep(run, p.step + ahead(), p.globalStep + ahead());
    if (pending) await finish(pending);
    pending = s;
    if (p.step + 1 < run.stepsPerEpoch && performance.now() - run.lastSave >= saveEveryMs) {
      await finish(pending);
      pending = undefined;
      await saveRun(run, e.partial());
    }
  }
  if (pending) await finish(pending);
  bar.done();
  return e;
}

/** A training step recorded and submitted, its loss on the way back. */
interface IssuedStep { loss: Promise<ArrayBuffer>; lr: number; images: number; t: number }

/** Records and submits the training step `step` of the epoch (`globalStep` overall) and starts reading its loss back. */
function issueStep(run: Run, step: number, globalStep: number): IssuedStep {
  const t = performance.now();
  const lr = lrAt(run.cfg, globalStep, run.stepsPerEpoch);
  run.optimizer.setLr(lr);
  const batch = run.sampler.batch(run.p.epoch, step);
  const lossT = trainStep(run, batch, globalStep);
  const loss = runtime().readLater(lossT.buffer, 4, 'train-step');
  lossT.dispose();
  return { loss, lr, images: batch.indices.length, t };
}

/** Epoch complete: quick validation, the log line, then the checkpoint (which records epoch+1, step 0). */
async function endEpoch(run: Run, e: { loss: number; count: number; start: number }): Promise<void> {
  const { cfg, p } = run;
  const secs = (performance.now() - e.start) / 1000;
  const tv = performance.now();
  const val = cfg.valQueries > 0 ? { ...(await quickValidation(run.model, run.store, run.td, cfg)), valSeconds: (performance.now() - tv) / 1000 } : undefined;
  p.epoch++;
  p.step = 0;
  const entry = { epoch: p.epoch, loss: e.loss / Math.max(1, e.count), seconds: secs, imagesPerSecond: (e.count * cfg.P * cfg.K) / secs, ...(val ?? {}) };
  p.epochLog.push(entry);
  run.log(
    `epoch ${p.epoch}/${cfg.epochs}  loss ${entry.loss.toFixed(4)}  ${entry.imagesPerSecond.toFixed(0)} img/s  ${formatDuration(secs)}` +
      (val ? `  val mAP binary ${val.valMapBinary.toFixed(4)} (${val.valQueries} queries × ${val.valDb} db, ${cfg.bits} bits, Hamming)` : ''),
  );
  await saveRun(run);
}

/** The trained model saved, the final evaluation, results.json, report, plots and code files. A stop request ends
 *  the evaluation at once: the model is saved, and --resume runs the evaluation alone. */
async function evaluateAndReport(run: Run, rt: Runtime): Promise<TrainOutcome> {
  const { cfg, log } = run;
  // The trained model at a fixed place (the checkpoint's file name carries the step).
  await saveModel(run.model, join(cfg.out, 'model.safetensors'), { tag: runTag(cfg), epochs: String(cfg.epochs), steps: String(run.p.globalStep) });
  let evalRes: EvalResult;
  try {
    evalRes = await evaluateAll(run.model, run.store, run.td, cfg, run.opts.quiet, run.opts.stopSignal);
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    log(`stopped during the final evaluation; the trained model is saved (${join(cfg.out, 'model.safetensors')}, checkpoint in ${run.ckptDir}); ${run.opts.continueWith ?? '--resume'} runs the evaluation alone`);
    return { config: cfg, outDir: cfg.out, finished: false };
  }
  const wall = wallNow(run);
  const results = resultsOf(run, rt, evalRes, wall);
  writeFileAtomic(join(cfg.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  writeReport(cfg.out, results, evalRes, run.p.lossHistory, formatAdapterInfo(rt.info));
  evalRes.db.save(join(cfg.out, 'db.codes'), { tag: runTag(cfg), role: 'database' });
  evalRes.queries.save(join(cfg.out, 'query.codes'), { tag: runTag(cfg), role: 'queries' });
  log(`results: ${join(cfg.out, 'results.json')}, report: ${join(cfg.out, 'report.md')}, codes: ${join(cfg.out, 'db.codes')}, model: ${join(cfg.out, 'model.safetensors')}`);
  const lines = metricLines(runTag(cfg), evalRes.summary);
  if (lines.topK) log(lines.topK);
  const tm = results.time, d = (x: number | undefined) => (x === undefined ? '–' : x < 60 ? `${x.toFixed(1)} s` : formatDuration(x));
  log(`time: start-up ${d(tm.startup)}, training ${d(tm.training)}, validation ${d(tm.validation)}, checkpoints ${d(tm.checkpoints)}, encoding ${d(tm.encoding)}, ranking ${d(tm.ranking.binary)} + ${d(tm.ranking.real)} (binary + real-valued)${run.wall.sessions > 1 ? '; start-up and checkpoints of this process' : ''}`);
  log(`${lines.map}; ${results.imagesPerSecond.toFixed(0)} img/s; wall ${formatDuration(wall)}`);
  return { config: cfg, outDir: cfg.out, finished: true, results };
}

/** results.json: the run's protocol and settings, its clocks, where it ran, and the evaluation's metrics. */
function resultsOf(run: Run, rt: Runtime, evalRes: EvalResult, wall: number) {
  const { cfg, p } = run;
  const { encodeSeconds, ...summary } = evalRes.summary;
  return {
    tag: runTag(cfg),
    dataset: cfg.dataset,
    protocol: cfg.protocol,
    split: run.td.description,
    model: cfg.model + (cfg.bn || cfg.model === 'resnet' ? '+bn' : ''),
    loss: cfg.loss,
    tqForm: cfg.tqForm,
    select: cfg.select,
    margin: cfg.margin,
    marginQ: cfg.marginQ,
    lambda: cfg.lambda,
    lambdaWarmup: cfg.lambdaWarmup,
    lambdaDecay: cfg.lambdaDecay,
    betaGrowth: cfg.betaGrowth,
    bits: cfg.bits,
    seed: cfg.seed,
    epochs: cfg.epochs,
    steps: p.globalStep,
    batch: { P: cfg.P, K: cfg.K },
    optimizer: { name: cfg.optimizer, lr: cfg.lr, weightDecay: cfg.weightDecay, schedule: cfg.schedule, warmupEpochs: cfg.warmupEpochs, warmupSteps: warmupSteps(cfg, run.stepsPerEpoch) },
    ...(p.extensions.length ? { extensions: p.extensions } : {}),
    augment: cfg.augment,
    imagesPerSecond: p.imagesSeen / Math.max(p.trainSeconds, 1e-9),
    trainSeconds: p.trainSeconds,
    wallSeconds: wall,
    // Where the wall time went: training and validation over every process of the run; start-up and checkpoint
    // saves of this process; the final evaluation's encoding and rankings.
    time: {
      startup: run.clock.startup,
      training: p.trainSeconds,
      validation: p.epochLog.reduce((a, e) => a + (typeof e.valSeconds === 'number' ? e.valSeconds : 0), 0),
      checkpoints: run.clock.checkpoints,
      encoding: encodeSeconds,
      ranking: { binary: summary.binary.seconds, real: summary.real.seconds },
    },
    sessions: run.wall.sessions,
    ...(run.wall.known ? {} : { wallNote: `wall time of the last of ${run.wall.sessions} processes only (resumed from a checkpoint that did not record wall time)` }),
    date: new Date().toISOString(),
    adapter: rt.info,
    host: hostCpu(),
    // Share of the machine's CPU time the VM host gave other guests while this process ran: a slow run on a noisy host.
    steal: stealShare(run.clock.times0),
    flags: flagsSet(),
    command: run.opts.command ?? `node bench/train.js ${process.argv.slice(2).join(' ')}`,
    version: codeVersion(),
    epochLog: p.epochLog,
    // Every setting, under the names RESUME_KEYS compares (a study checks a finished cell with them).
    config: { ...cfg },
    ...summary,
  };
}

/**
 * The checkpoint to continue (null for a fresh run) and the run's options: on --resume the options whose flags were
 * not given (opts.given; all, when absent) are the checkpoint's, and those given must match it (--epochs may grow:
 * the run is extended). Refuses a fresh run over a checkpoint.
 */
function openCheckpoint(cfg: TrainConfig, ckptDir: string, opts: TrainOptions, log: (s: string) => void): { cfg: TrainConfig; ck: Checkpoint | null } {
  if (!opts.resume) {
    if (existsSync(join(ckptDir, 'state.json'))) {
      throw new data.DataError('config', `${cfg.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`, ckptDir);
    }
    return { cfg, ck: null };
  }
  let ck: Checkpoint | null;
  try {
    ck = loadCheckpoint(ckptDir);
  } catch (e) {
    if (data.isDataError(e)) throw e;
    throw new data.DataError('format', `--resume: the checkpoint in ${ckptDir} cannot be read (${(e as Error).message}). Move ${ckptDir} away to start over, or choose another --out.`, ckptDir);
  }
  if (!ck) {
    if (opts.given && opts.sibling) {
      const { cfg: like, taken } = adoptSaved(cfg, siblingOptions(opts.sibling, cfg.bits), opts.given);
      log(`--resume: no checkpoint in ${ckptDir}: starting the ${cfg.bits}-bit run there${taken.length ? ` with the ${opts.sibling.bits}-bit run's options not given: ${taken.join(', ')}` : ''}`);
      return { cfg: like, ck: null };
    }
    log(`--resume: no checkpoint in ${ckptDir}, so nothing to continue: starting a new run there`);
    return { cfg, ck: null };
  }
  const saved = ck.state.config;
  saved.augment ??= 'crop+flip'; // checkpoints from before --augment existed
  saved.lambdaWarmup ??= 0; // and before --lambda-warmup, --beta-growth
  saved.betaGrowth ??= 2;
  saved.lambdaDecay ??= 0; // and before --lambda-decay
  if (opts.given) {
    const adopted = adoptSaved(cfg, saved, opts.given);
    cfg = adopted.cfg;
    if (adopted.taken.length) log(`--resume: options not given are the checkpoint's: ${adopted.taken.join(', ')}`);
  }
  // The saved configuration must match on everything that shapes the run; --epochs may grow (the run is extended).
  const diffs = configDiffs(saved, cfg, RESUME_KEYS.filter((k) => k !== 'epochs'));
  if (diffs.length) throw new data.DataError('config', `--resume: the checkpoint in ${ckptDir} was made with other options:\n  ${diffs.join('\n  ')}\nRun with the same options (or leave them out: --resume takes the checkpoint's), or use another --out.`, ckptDir);
  const savedEpochs = Number(saved.epochs);
  if (cfg.epochs < savedEpochs) {
    throw new data.DataError('config', `--resume --epochs ${cfg.epochs}: the run in ${cfg.out} was planned for ${savedEpochs} epochs; it can be extended (--epochs ${savedEpochs + 1} or more) but not shortened. Leave --epochs out, or use another --out.`, ckptDir);
  }
  return { cfg, ck };
}

/** The options of another length's run for a run of `bits` bits: its margins where they were that length's default
 *  become this length's default (defaultMargin), the rest stay as they were. */
function siblingOptions(other: TrainConfig, bits: number): TrainConfig {
  const fit = (m: number) => (m === defaultMargin(other.bits) ? defaultMargin(bits) : m);
  return { ...other, bits, margin: fit(other.margin), marginQ: fit(other.marginQ) };
}

type Checkpoint = NonNullable<ReturnType<typeof loadCheckpoint>>;

/** A finished run: training done at the same --epochs and results.json written from that model. */
function isFinished(cfg: TrainConfig, state: Checkpoint['state']): boolean {
  if (Number(state.config.epochs) !== cfg.epochs || state.epoch < cfg.epochs) return false;
  try {
    const r = JSON.parse(readFileSync(join(cfg.out, 'results.json'), 'utf8'));
    return r.steps === state.globalStep;
  } catch {
    return false; // no results (stopped during the final evaluation), or unreadable ones: evaluate again
  }
}

/** One extension of a run with a larger --epochs on --resume. */
export interface Extension {
  step: number;
  fromEpochs: number;
  toEpochs: number;
}

/** The run's extensions so far, plus this one when --epochs grew; logs the re-planned schedule. */
function extensionsOf(cfg: TrainConfig, state: Checkpoint['state'], stepsPerEpoch: number, log: (s: string) => void): Extension[] {
  const before = (state.extensions ?? []).slice();
  const saved = Number(state.config.epochs);
  if (cfg.epochs === saved) return before;
  const s = state.globalStep;
  const lrThen = lrAt({ ...cfg, epochs: saved }, Math.max(0, s - 1), stepsPerEpoch);
  log(`extending the run from ${saved} to ${cfg.epochs} epochs at step ${s}: the learning-rate schedule is re-planned for ${cfg.epochs} epochs (lr ${lrThen.toExponential(2)} at the last step, ${lrAt(cfg, s, stepsPerEpoch).toExponential(2)} at the next)`);
  return [...before, { step: s, fromEpochs: saved, toEpochs: cfg.epochs }];
}
