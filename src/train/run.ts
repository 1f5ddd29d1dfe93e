// The main job: train the hashing network (CIFAR-10 or In-shop) with P×K batches and the triplet(-quantization)
// loss, checkpoint every epoch (and every --checkpoint-minutes within one), then encode queries and database and evaluate retrieval (binary and real-valued).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as data from '../data/index.js';
import { checkDataFlags, loadTrainData } from './datasets.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { flagsSet } from '../config.js';
import { backward } from '../autograd.js';
import { init, scope, Tensor } from '../tensor.js';
import { ImageStore } from '../ops/augment.js';
import { tripletQuantLoss } from '../ops/tql.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import { buildModel } from './model.js';
import { stateDict, loadStateDict, saveModel } from '../nn/io.js';
import { makeOptimizer, lrAt, warmupSteps, WARMUP_CAP, type TrainOptimizer } from './optimizer.js';
import { ProgressBar, formatDuration } from './progress.js';
import { saveCheckpoint, loadCheckpoint, checkResumePoint, writeFileAtomic, type EpochPartial } from './checkpoint.js';
import { RESUME_KEYS, runTag, type TrainConfig } from './options.js';
import { evaluateAll, quickValidation, metricLines, type EvalResult } from './evaluate.js';
import { writeReport } from './report.js';
import { codeVersion } from '../util/version.js';
import { prepareOutputDir } from '../util/fs.js';
import { StoppedError } from './signals.js';

/** Raised when the loss turns NaN/inf: the run stops, the last good checkpoint stays. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

export interface TrainOutcome {
  config: TrainConfig;
  outDir: string;
  /** False when stopped early (a stop signal or --max-steps); the checkpoint allows --resume. */
  finished: boolean;
  results?: Record<string, unknown>;
}

/** Trains one model (one code length) and evaluates it; resumable; writes results.json, report.md and plots. */
export async function trainHashing(cfg: TrainConfig, opts: { resume: boolean; quiet: boolean; stopSignal: AbortSignal; command?: string }): Promise<TrainOutcome> {
  const log = (s: string) => console.log(s);
  const t0 = performance.now();
  const ckptDir = join(cfg.out, 'checkpoint');
  // File-system faults (a file named like --out, a read-only folder) show before the GPU starts and the data loads.
  prepareOutputDir(cfg.out);
  prepareOutputDir(ckptDir, 'the checkpoint folder');
  checkDataFlags(cfg);
  const ck = openCheckpoint(cfg, ckptDir, opts.resume, log);
  if (ck && isFinished(cfg, ck.state)) {
    log(`the run in ${cfg.out} is finished (${ck.state.config.epochs} epochs, ${ck.state.globalStep} steps); its results are in ${join(cfg.out, 'results.json')}. Nothing to do; to train it longer, pass --resume with a larger --epochs.`);
    return { config: cfg, outDir: cfg.out, finished: true };
  }
  const rt = await init();
  log(`\n== ${runTag(cfg)} → ${cfg.out}`);
  await autotuneIfAsked(log);
  log(formatAdapterInfo(rt.info));

  // Data: read once, split by protocol, bytes to the GPU once.
  const td = await loadTrainData(cfg, opts.quiet);
  writeFileAtomic(join(cfg.out, 'split.json'), td.splitJSON);
  const store = new ImageStore(td.images, td.count, td.side);
  const sampler = new data.PKSampler(td.labels, td.train, cfg.P, cfg.K, cfg.seed);
  log(`data: ${td.source}; protocol ${cfg.protocol}: ${td.query.length} queries, ${td.train.length} training, ${td.database.length} ${cfg.dataset === 'inshop' ? 'gallery' : 'database'} images`);

  // Model and optimiser.
  const model = buildModel(cfg);
  const params = model.namedParameters();
  const optimizer: TrainOptimizer = makeOptimizer(cfg, params);
  const stepsPerEpoch = sampler.stepsPerEpoch;
  const totalSteps = cfg.epochs * stepsPerEpoch;
  let epoch = 0, step = 0, globalStep = 0, trainSeconds = 0, imagesSeen = 0;
  // Wall time spans every process of a resumed run (checkpoints of older versions did not record it).
  const wallBefore = ck?.state.wallSeconds ?? 0;
  const wallKnown = !ck || ck.state.wallSeconds !== undefined;
  const sessions = ck ? (ck.state.sessions ?? 1) + 1 : 1;
  const wallNow = () => wallBefore + (performance.now() - t0) / 1000;
  let lossHistory: { step: number; loss: number }[] = [];
  let epochLog: Record<string, unknown>[] = [];
  let epochPartial: EpochPartial | undefined;
  let extensions: Extension[] = [];
  if (ck) {
    checkResumePoint(ck.state, cfg.epochs, stepsPerEpoch, join(ckptDir, 'state.json'));
    loadStateDict(model, ck.model, join(ckptDir, ck.state.files.model));
    optimizer.loadState(ck.optimizer);
    ({ epoch, step, globalStep, trainSeconds, imagesSeen, lossHistory, epochLog, epochPartial } = ck.state as typeof ck.state & { epochLog: Record<string, unknown>[] });
    extensions = extensionsOf(cfg, ck.state, stepsPerEpoch, log);
    log(epoch < cfg.epochs ? `resumed from ${ckptDir}: epoch ${epoch + 1}, step ${step}, ${globalStep} steps done` : `resumed from ${ckptDir}: training finished (${globalStep} steps done); running the final evaluation`);
  }
  const nParams = params.reduce((s, [, t]) => s + t.size, 0);
  log(`model: ${cfg.model}${cfg.bn || cfg.model === 'resnet' ? '+BN' : ''}, ${nParams.toLocaleString('en-US')} parameters; P×K = ${cfg.P}×${cfg.K}; ${stepsPerEpoch} steps/epoch; ${cfg.optimizer} lr ${cfg.lr} (${cfg.schedule}, ${warmupText(cfg, stepsPerEpoch)}), wd ${cfg.weightDecay}; augmentation ${cfg.augment}`);

  let lastSave = performance.now();
  // `partial`: the epoch so far, for a save within an epoch.
  const save = async (partial?: EpochPartial) => {
    const metadata = { tag: runTag(cfg), epoch: String(epoch), step: String(step) };
    saveCheckpoint(ckptDir, await stateDict(model), await optimizer.stateDict(), { epoch, step, globalStep, config: { ...cfg }, lossHistory, epochLog, trainSeconds, imagesSeen, wallSeconds: wallNow(), sessions, ...(partial ? { epochPartial: partial } : {}), ...(extensions.length ? { extensions } : {}) }, metadata);
    lastSave = performance.now();
  };
  const saveEveryMs = cfg.checkpointMinutes > 0 ? cfg.checkpointMinutes * 60_000 : Infinity;

  const lossOpts = { loss: cfg.loss, form: cfg.tqForm, select: cfg.select, margin: cfg.margin, marginQ: cfg.marginQ, lambda: cfg.lambda };
  const maxSteps = cfg.maxSteps ?? Infinity;
  let stoppedEarly = false;
  while (epoch < cfg.epochs && !stoppedEarly) {
    model.train();
    const bar = new ProgressBar(`epoch ${epoch + 1}/${cfg.epochs}`, stepsPerEpoch, process.stderr, opts.quiet).startFrom(step);
    // A run resumed within an epoch carries that epoch's loss sum, step count and seconds so far.
    let epochLoss = epochPartial?.loss ?? 0, epochCount = epochPartial?.count ?? 0;
    const epochStart = performance.now() - 1000 * (epochPartial?.seconds ?? 0);
    epochPartial = undefined;
    const partialNow = (): EpochPartial => ({ loss: epochLoss, count: epochCount, seconds: (performance.now() - epochStart) / 1000 });
    let ipsWindow = { t: performance.now(), n: 0, ips: 0 };
    while (step < stepsPerEpoch) {
      if (opts.stopSignal.aborted || globalStep >= maxSteps) {
        stoppedEarly = true;
        break;
      }
      const ts = performance.now();
      const lr = lrAt(cfg, globalStep, stepsPerEpoch);
      optimizer.setLr(lr);
      const batch = sampler.batch(epoch, step);
      const lossT = scope(() => {
        const x = store.batch(batch.indices, { norm: td.norm, pad: cfg.augment === 'crop+flip' ? td.pad : 0, flip: cfg.augment !== 'none', seed: cfg.seed, step: globalStep });
        const f = model.forward(x);
        const y = Tensor.from(Uint32Array.from(batch.labels), [batch.labels.length], 'u32', 'labels');
        const { loss } = tripletQuantLoss(f, y, lossOpts);
        backward(loss);
        optimizer.step();
        optimizer.zeroGrad();
        return loss;
      });
      const loss = await lossT.item();
      lossT.dispose();
      if (!Number.isFinite(loss)) {
        throw new DivergedError(
          `the loss became ${loss} at epoch ${epoch + 1}, step ${step} (lr ${lr.toExponential(2)}). Training stopped; the last good checkpoint in ${ckptDir} is kept. Start again in a new --out with a lower --lr (half, say) or another --seed.`,
        );
      }
      const dt = (performance.now() - ts) / 1000;
      trainSeconds += dt;
      imagesSeen += batch.indices.length;
      epochLoss += loss;
      epochCount++;
      lossHistory.push({ step: globalStep, loss });
      step++;
      globalStep++;
      ipsWindow.n += batch.indices.length;
      const wdt = (performance.now() - ipsWindow.t) / 1000;
      if (wdt > 2) ipsWindow = { t: performance.now(), n: 0, ips: ipsWindow.n / wdt };
      bar.update(step, { loss, 'img/s': ipsWindow.ips || batch.indices.length / dt, lr: lr });
      if (step < stepsPerEpoch && performance.now() - lastSave >= saveEveryMs) await save(partialNow());
    }
    bar.done();
    if (step >= stepsPerEpoch) {
      // Epoch complete: quick validation, then the checkpoint (which records epoch+1, step 0).
      const secs = (performance.now() - epochStart) / 1000;
      const val = cfg.valQueries > 0 ? await quickValidation(model, store, td, cfg) : undefined;
      epoch++;
      step = 0;
      const entry = { epoch, loss: epochLoss / Math.max(1, epochCount), seconds: secs, imagesPerSecond: (epochCount * cfg.P * cfg.K) / secs, ...(val ?? {}) };
      epochLog.push(entry);
      log(
        `epoch ${epoch}/${cfg.epochs}  loss ${entry.loss.toFixed(4)}  ${entry.imagesPerSecond.toFixed(0)} img/s  ${formatDuration(secs)}` +
          (val ? `  val mAP binary ${val.valMapBinary.toFixed(4)} (${val.valQueries} queries × ${val.valDb} db, ${cfg.bits} bits, Hamming)` : ''),
      );
      await save();
    } else {
      await save(partialNow());
      const why = opts.stopSignal.aborted ? '' : `--max-steps ${cfg.maxSteps} reached, so no final evaluation; `;
      log(`stopped at epoch ${epoch + 1}, step ${step} (${globalStep} steps done); ${why}checkpoint saved in ${ckptDir}; continue with --resume`);
    }
  }
  if (stoppedEarly && epoch < cfg.epochs) {
    store.dispose();
    return { config: cfg, outDir: cfg.out, finished: false };
  }

  // The trained model at a fixed place (the checkpoint's file name carries the step).
  await saveModel(model, join(cfg.out, 'model.safetensors'), { tag: runTag(cfg), epochs: String(cfg.epochs), steps: String(globalStep) });
  // Final evaluation: codes and features for queries and database. A stop request ends it at once: the model is
  // saved, and --resume runs the evaluation alone.
  let evalRes: EvalResult;
  try {
    evalRes = await evaluateAll(model, store, td, cfg, opts.quiet, opts.stopSignal);
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
    store.dispose();
    log(`stopped during the final evaluation; the trained model is saved (${join(cfg.out, 'model.safetensors')}, checkpoint in ${ckptDir}); --resume runs the evaluation alone`);
    return { config: cfg, outDir: cfg.out, finished: false };
  }
  const wall = wallNow();
  const results = {
    tag: runTag(cfg),
    dataset: cfg.dataset,
    protocol: cfg.protocol,
    split: td.description,
    model: cfg.model + (cfg.bn || cfg.model === 'resnet' ? '+bn' : ''),
    loss: cfg.loss,
    tqForm: cfg.tqForm,
    select: cfg.select,
    margin: cfg.margin,
    marginQ: cfg.marginQ,
    lambda: cfg.lambda,
    bits: cfg.bits,
    seed: cfg.seed,
    epochs: cfg.epochs,
    steps: globalStep,
    batch: { P: cfg.P, K: cfg.K },
    optimizer: { name: cfg.optimizer, lr: cfg.lr, weightDecay: cfg.weightDecay, schedule: cfg.schedule, warmupEpochs: cfg.warmupEpochs, warmupSteps: warmupSteps(cfg, stepsPerEpoch) },
    ...(extensions.length ? { extensions } : {}),
    augment: cfg.augment,
    imagesPerSecond: imagesSeen / Math.max(trainSeconds, 1e-9),
    trainSeconds,
    wallSeconds: wall,
    sessions,
    ...(wallKnown ? {} : { wallNote: `wall time of the last of ${sessions} processes only (resumed from a checkpoint that did not record wall time)` }),
    date: new Date().toISOString(),
    adapter: rt.info,
    flags: flagsSet(),
    command: opts.command ?? `node bench/train.js ${process.argv.slice(2).join(' ')}`,
    version: codeVersion(),
    epochLog,
    ...evalRes.summary,
  };
  writeFileAtomic(join(cfg.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  writeReport(cfg.out, results, evalRes, lossHistory, formatAdapterInfo(rt.info));
  evalRes.db.save(join(cfg.out, 'db.codes'), { tag: runTag(cfg), role: 'database' });
  evalRes.queries.save(join(cfg.out, 'query.codes'), { tag: runTag(cfg), role: 'queries' });
  log(`results: ${join(cfg.out, 'results.json')}, report: ${join(cfg.out, 'report.md')}, codes: ${join(cfg.out, 'db.codes')}, model: ${join(cfg.out, 'model.safetensors')}`);
  const lines = metricLines(runTag(cfg), evalRes.summary);
  if (lines.topK) log(lines.topK);
  log(`${lines.map}; ${results.imagesPerSecond.toFixed(0)} img/s; wall ${formatDuration(wall)}`);
  store.dispose();
  return { config: cfg, outDir: cfg.out, finished: true, results };
}


/** The checkpoint to continue (null for a fresh run); refuses a fresh run over a checkpoint and options that differ. */
function openCheckpoint(cfg: TrainConfig, ckptDir: string, resume: boolean, log: (s: string) => void): Checkpoint | null {
  if (!resume) {
    if (existsSync(join(ckptDir, 'state.json'))) {
      throw new data.DataError('config', `${cfg.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`, ckptDir);
    }
    return null;
  }
  let ck: Checkpoint | null;
  try {
    ck = loadCheckpoint(ckptDir);
  } catch (e) {
    if (data.isDataError(e)) throw e;
    throw new data.DataError('format', `--resume: the checkpoint in ${ckptDir} cannot be read (${(e as Error).message}). Move ${ckptDir} away to start over, or choose another --out.`, ckptDir);
  }
  if (!ck) {
    log(`--resume: no checkpoint in ${ckptDir}; starting from scratch`);
    return null;
  }
  ck.state.config.augment ??= 'crop+flip'; // checkpoints from before --augment existed
  // The saved configuration must match on everything that shapes the run; --epochs may grow (the run is extended).
  const diffs = RESUME_KEYS.filter((k) => k !== 'epochs' && JSON.stringify(ck.state.config[k]) !== JSON.stringify(cfg[k])).map((k) => `${k}: checkpoint ${JSON.stringify(ck.state.config[k])}, now ${JSON.stringify(cfg[k])}`);
  if (diffs.length) throw new data.DataError('config', `--resume: the checkpoint in ${ckptDir} was made with other options:\n  ${diffs.join('\n  ')}\nRun with the same options, or use another --out.`, ckptDir);
  const saved = Number(ck.state.config.epochs);
  if (cfg.epochs < saved) {
    throw new data.DataError('config', `--resume --epochs ${cfg.epochs}: the run in ${cfg.out} was planned for ${saved} epochs; it can be extended (--epochs ${saved + 1} or more) but not shortened. Pass --epochs ${saved}, or use another --out.`, ckptDir);
  }
  return ck;
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

/** "0.25 warm-up epochs (--warmup 1 capped at a quarter of the run)": the warm-up the schedule really uses. */
function warmupText(cfg: TrainConfig, stepsPerEpoch: number): string {
  const used = warmupSteps(cfg, stepsPerEpoch) / stepsPerEpoch;
  const capped = used < cfg.warmupEpochs - 1e-9;
  return `${+used.toFixed(3)} warm-up epochs${capped ? ` (--warmup ${cfg.warmupEpochs} capped at ${WARMUP_CAP * 100} % of the run)` : ''}`;
}
