// A finished run folder opened again: its configuration (checkpoint/state.json), its trained model
// (model.safetensors) and its split, so `tqhash eval` re-evaluates it and `tqhash search --image` encodes a new image
// with it — through the trainer's own functions (buildModel, loadTrainData, encode, evaluateAll).
import { existsSync, statSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { extname, join } from 'node:path';
import { UsageError } from '../util/args.js';
import { DataError } from '../util/errors.js';
import { decodeJpeg, resizeToChw } from '../data/jpeg.js';
import { LIMITS, checkJsonDepth, jsonErrorText, readRegularFile } from '../util/untrusted.js';
import { init } from '../tensor.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { CIFAR10_NORM, ImageStore } from '../ops/augment.js';
import { loadModel } from '../nn/io.js';
import type { Module } from '../nn/module.js';
import { loadCheckpointState, writeFileAtomic } from './checkpoint.js';
import { loadTrainData } from './datasets.js';
import { encode, evaluateAll, metricLines, type EvalResult } from './evaluate.js';
import { buildModel } from './model.js';
import { runTag, type TrainConfig } from './options.js';
import { codeVersion } from '../util/version.js';
import { flagsSet } from '../config.js';

/** A run folder's configuration and the path of its trained model; errors say what the folder lacks. */
export function openRun(run: string): { cfg: TrainConfig; modelPath: string } {
  const isDir = statSync(run, { throwIfNoEntry: false })?.isDirectory();
  if (!isDir) throw new UsageError(`${run}: not a training run folder (${isDir === false ? 'not a folder' : 'no such folder'}; tqhash train writes one with --out)`);
  const state = loadCheckpointState(join(run, 'checkpoint'));
  if (!state) throw new DataError('missing', `${join(run, 'checkpoint', 'state.json')}: no such file; ${run} is not a tqhash training run folder`);
  const cfg = { ...(state.config as unknown as TrainConfig), out: run };
  const modelPath = join(run, 'model.safetensors');
  if (!existsSync(modelPath) || state.epoch < cfg.epochs) {
    throw new DataError('missing', `${modelPath}: no trained model yet (the run stopped at epoch ${state.epoch + 1} of ${cfg.epochs}); finish it with tqhash train … --out ${run} --resume`, modelPath);
  }
  return { cfg, modelPath };
}

/** The run's network with its trained weights. */
export function loadRunModel(cfg: TrainConfig, modelPath: string): Module {
  const model = buildModel(cfg);
  loadModel(model, modelPath);
  model.eval();
  return model;
}

/** Re-evaluates a finished run on its split (the data read again, checked against split.json) and writes RUN/eval.json. */
export async function evaluateRun(run: string, opts: { data?: string; quiet?: boolean; command?: string; signal?: AbortSignal } = {}): Promise<EvalResult['summary']> {
  const { cfg: saved, modelPath } = openRun(run);
  const cfg = { ...saved, ...(opts.data ? { data: opts.data } : {}) };
  const quiet = opts.quiet ?? false;
  const splitPath = join(run, 'split.json');
  const split = readRunSplit(splitPath); // before the GPU starts: a damaged file fails in the first second
  const rt = await init();
  console.log(`== ${runTag(cfg)}: re-evaluating ${modelPath}`);
  console.log(formatAdapterInfo(rt.info));
  const model = loadRunModel(cfg, modelPath);
  const td = await loadTrainData(cfg, quiet);
  // Compared as parsed JSON: a re-formatted split.json is the same split; where the data lies is not part of it.
  if (split !== undefined && !isDeepStrictEqual(withoutLocation(split), withoutLocation(JSON.parse(td.splitJSON)))) {
    throw new DataError('format', `${splitPath}: the data read now (${td.source}) splits differently from the run's; pass the run's data with --data`, splitPath);
  }
  const store = new ImageStore(td.images, td.count, td.side);
  try {
    const ev = await evaluateAll(model, store, td, cfg, quiet, opts.signal);
    const out = { tag: runTag(cfg), model: modelPath, split: td.description, date: new Date().toISOString(), adapter: rt.info, flags: flagsSet(), command: opts.command, version: codeVersion(), ...ev.summary };
    writeFileAtomic(join(run, 'eval.json'), JSON.stringify(out, null, 1) + '\n');
    const lines = metricLines(runTag(cfg), ev.summary);
    if (lines.topK) console.log(lines.topK);
    console.log(`${lines.map}; written to ${join(run, 'eval.json')}`);
    return ev.summary;
  } finally {
    store.dispose();
  }
}

/** The parsed RUN/split.json, undefined when the run has none; a file that is not JSON is a DataError that says so. */
function readRunSplit(path: string): unknown {
  if (!existsSync(path)) return undefined;
  const bytes = readRegularFile(path, LIMITS.splitJsonBytes, 'split file');
  checkJsonDepth(bytes, LIMITS.splitJsonDepth, path, 'split file');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new DataError('format', `${path}: damaged, not JSON (${jsonErrorText(e)}); it is the split tqhash train wrote: restore it from a copy of the run, or move it away to evaluate without checking the split`, path);
  }
}

/** The packed code of one JPEG file under the run's model (resized to the run's image side, CIFAR-10 normalisation). */
export async function encodeImageFile(run: string, file: string): Promise<{ code: Uint32Array; cfg: TrainConfig }> {
  const { cfg, modelPath } = openRun(run);
  if (cfg.dataset !== 'cifar10') throw new UsageError(`--image: ${run} is an ${cfg.dataset} run, whose normalisation comes from its data set; --image encodes for cifar10 runs (use --query ID)`);
  if (!/^\.jpe?g$/i.test(extname(file))) throw new UsageError(`--image ${file}: only JPEG files are read (.jpg or .jpeg); convert other formats first`);
  const img = decodeJpeg(readRegularFile(file, LIMITS.jpegFileBytes, 'image'), file);
  const side = cfg.side ?? 32;
  if (img.width < side || img.height < side) throw new UsageError(`--image ${file}: ${img.width}×${img.height} pixels; the model needs at least ${side}×${side}`);
  await init();
  const model = loadRunModel(cfg, modelPath);
  const store = new ImageStore(resizeToChw(img, side), 1, side);
  try {
    const { codes } = await encode(model, store, Uint32Array.of(0), cfg.bits, CIFAR10_NORM, { quiet: true });
    return { code: codes, cfg };
  } finally {
    store.dispose();
  }
}

/** A split as JSON without the In-shop partition file's path (its sha256 stays): the data set may have moved. */
function withoutLocation(split: unknown): unknown {
  const s = split as { description?: Record<string, unknown> };
  if (!s || typeof s !== 'object' || !s.description || typeof s.description !== 'object') return split;
  const { partitionFile: _moved, ...description } = s.description;
  return { ...s, description };
}
