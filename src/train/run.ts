// The main job: train the hashing network (CIFAR-10 or In-shop) with P×K batches and the triplet(-quantization)
// loss, checkpoint every epoch (and every --checkpoint-minutes within one), then encode queries and database and evaluate retrieval (binary and real-valued).
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as data from '../data/index.js';
import { loadTrainData } from './datasets.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { flagsSet } from '../config.js';
import { backward } from '../autograd.js';
import { init, scope, Tensor } from '../tensor.js';
import { ImageStore } from '../ops/augment.js';
import { tripletQuantLoss } from '../ops/tql.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import { dshNet, resnet } from '../nn/models.js';
import { stateDict, loadStateDict, saveModel } from '../nn/io.js';
import { makeOptimizer, lrAt, type TrainOptimizer } from './optimizer.js';
import { ProgressBar, formatDuration } from './progress.js';
import { saveCheckpoint, loadCheckpoint, checkResumePoint, writeFileAtomic, type EpochPartial } from './checkpoint.js';
import { RESUME_KEYS, runTag, type TrainConfig } from './options.js';
import { evaluateAll, quickValidation, type EvalResult } from './evaluate.js';
import { writeReport } from './report.js';
import { codeVersion } from '../util/version.js';

/** Raised when the loss turns NaN/inf: the run stops, the last good checkpoint stays. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

export interface TrainOutcome {
  config: TrainConfig;
  outDir: string;
  /** False when stopped early (Ctrl-C or --max-steps); the checkpoint allows --resume. */
  finished: boolean;
  results?: Record<string, unknown>;
}

/** Trains one model (one code length) and evaluates it; resumable; writes results.json, report.md and plots. */
export async function trainHashing(cfg: TrainConfig, opts: { resume: boolean; quiet: boolean; stopSignal: { stop: boolean } }): Promise<TrainOutcome> {
  const log = (s: string) => console.log(s);
  const t0 = performance.now();
  const rt = await init();
  mkdirSync(cfg.out, { recursive: true });
  const ckptDir = join(cfg.out, 'checkpoint');
  log(`\n== ${runTag(cfg)} → ${cfg.out}`);
  await autotuneIfAsked(log);
  log(formatAdapterInfo(rt.info));

  // Resume: the saved configuration must match on everything that shapes the run.
  const ck = opts.resume ? loadCheckpoint(ckptDir) : null;
  if (opts.resume && !ck) log(`--resume: no checkpoint in ${ckptDir}; starting from scratch`);
  if (!opts.resume && existsSync(join(ckptDir, 'state.json'))) {
    throw new data.DataError('config', `${cfg.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`, ckptDir);
  }
  if (ck) {
    ck.state.config.augment ??= 'crop+flip'; // checkpoints from before --augment existed
    const diffs = RESUME_KEYS.filter((k) => JSON.stringify(ck.state.config[k]) !== JSON.stringify(cfg[k])).map((k) => `${k}: checkpoint ${JSON.stringify(ck.state.config[k])}, now ${JSON.stringify(cfg[k])}`);
    if (diffs.length) throw new data.DataError('config', `--resume: the checkpoint in ${ckptDir} was made with other options:\n  ${diffs.join('\n  ')}\nRun with the same options, or use another --out.`, ckptDir);
  }

  // Data: read once, split by protocol, bytes to the GPU once.
  const td = await loadTrainData(cfg, opts.quiet);
  writeFileAtomic(join(cfg.out, 'split.json'), td.splitJSON);
  const store = new ImageStore(td.images, td.count, td.side);
  const sampler = new data.PKSampler(td.labels, td.train, cfg.P, cfg.K, cfg.seed);
  log(`data: ${td.source}; protocol ${cfg.protocol}: ${td.query.length} queries, ${td.train.length} training, ${td.database.length} ${cfg.dataset === 'inshop' ? 'gallery' : 'database'} images`);

  // Model and optimiser.
  const model = cfg.model === 'resnet' ? resnet({ bits: cfg.bits, seed: cfg.seed }) : dshNet({ bits: cfg.bits, batchNorm: cfg.bn, seed: cfg.seed });
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
  if (ck) {
    checkResumePoint(ck.state, cfg.epochs, stepsPerEpoch, join(ckptDir, 'state.json'));
    loadStateDict(model, ck.model, join(ckptDir, ck.state.files.model));
    optimizer.loadState(ck.optimizer);
    ({ epoch, step, globalStep, trainSeconds, imagesSeen, lossHistory, epochLog, epochPartial } = ck.state as typeof ck.state & { epochLog: Record<string, unknown>[] });
    log(`resumed from ${ckptDir}: epoch ${epoch + 1}, step ${step}, ${globalStep} steps done`);
  }
  const nParams = params.reduce((s, [, t]) => s + t.size, 0);
  log(`model: ${cfg.model}${cfg.bn || cfg.model === 'resnet' ? '+BN' : ''}, ${nParams.toLocaleString('en-US')} parameters; P×K = ${cfg.P}×${cfg.K}; ${stepsPerEpoch} steps/epoch; ${cfg.optimizer} lr ${cfg.lr} (${cfg.schedule}, ${cfg.warmupEpochs} warm-up epochs), wd ${cfg.weightDecay}; augmentation ${cfg.augment}`);

  let lastSave = performance.now();
  // `partial`: the epoch so far, for a save within an epoch.
  const save = async (partial?: EpochPartial) => {
    const metadata = { tag: runTag(cfg), epoch: String(epoch), step: String(step) };
    saveCheckpoint(ckptDir, await stateDict(model), await optimizer.stateDict(), { epoch, step, globalStep, config: { ...cfg }, lossHistory, epochLog, trainSeconds, imagesSeen, wallSeconds: wallNow(), sessions, ...(partial ? { epochPartial: partial } : {}) }, metadata);
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
      if (opts.stopSignal.stop || globalStep >= maxSteps) {
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
      log(`stopped at epoch ${epoch + 1}, step ${step} (${globalStep} steps done); checkpoint saved in ${ckptDir}; continue with --resume`);
    }
  }
  if (stoppedEarly && epoch < cfg.epochs) {
    store.dispose();
    return { config: cfg, outDir: cfg.out, finished: false };
  }

  // The trained model at a fixed place (the checkpoint's file name carries the step).
  await saveModel(model, join(cfg.out, 'model.safetensors'), { tag: runTag(cfg), epochs: String(cfg.epochs), steps: String(globalStep) });
  // Final evaluation: codes and features for queries and database.
  const evalRes: EvalResult = await evaluateAll(model, store, td, cfg, opts.quiet);
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
    optimizer: { name: cfg.optimizer, lr: cfg.lr, weightDecay: cfg.weightDecay, schedule: cfg.schedule, warmupEpochs: cfg.warmupEpochs },
    augment: cfg.augment,
    imagesPerSecond: imagesSeen / Math.max(trainSeconds, 1e-9),
    trainSeconds,
    wallSeconds: wall,
    sessions,
    ...(wallKnown ? {} : { wallNote: `wall time of the last of ${sessions} processes only (resumed from a checkpoint that did not record wall time)` }),
    date: new Date().toISOString(),
    adapter: rt.info,
    flags: flagsSet(),
    command: `node bench/train.js ${process.argv.slice(2).join(' ')}`,
    version: codeVersion(),
    epochLog,
    ...evalRes.summary,
  };
  writeFileAtomic(join(cfg.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  writeReport(cfg.out, results, evalRes, lossHistory, formatAdapterInfo(rt.info));
  evalRes.db.save(join(cfg.out, 'db.codes'), { tag: runTag(cfg), role: 'database' });
  evalRes.queries.save(join(cfg.out, 'query.codes'), { tag: runTag(cfg), role: 'queries' });
  log(`results: ${join(cfg.out, 'results.json')}, report: ${join(cfg.out, 'report.md')}, codes: ${join(cfg.out, 'db.codes')}, model: ${join(cfg.out, 'model.safetensors')}`);
  if (evalRes.summary.topK) {
    const acc = (a: { accuracy: { k: number; accuracy: number }[] }) => a.accuracy.map((p) => `@${p.k} ${p.accuracy.toFixed(3)}`).join(' ');
    log(`${runTag(cfg)}: top-k accuracy binary ${acc(evalRes.summary.topK.binary)}; real ${acc(evalRes.summary.topK.real)}`);
  }
  log(
    `${runTag(cfg)}: mAP@all binary ${evalRes.summary.binary.map.toFixed(4)}, real ${evalRes.summary.real.map.toFixed(4)} (drop ${(100 * (evalRes.summary.real.map - evalRes.summary.binary.map)).toFixed(2)} points); ` +
      `${results.imagesPerSecond.toFixed(0)} img/s; wall ${formatDuration(wall)}`,
  );
  store.dispose();
  return { config: cfg, outDir: cfg.out, finished: true, results };
}

