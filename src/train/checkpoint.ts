// Checkpoints of a training run: model (safetensors a PyTorch user can open), optimiser state (safetensors)
// and the loop state (JSON), each written atomically. The tensor files carry the step in their names and
// state.json is written last, so a process killed in the middle of a save leaves the previous set whole and
// named by state.json; the files of older sets are deleted once the new state.json is in place.
// A checkpoint folder may come from elsewhere (a colleague's run), so state.json is validated field by field and
// may name only plain files inside its own folder.
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { makeDirs, outputError, writeFileAtomic } from '../util/fs.js';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../nn/safetensors.js';
import { DataError } from '../util/errors.js';
import { LIMITS, checkJsonDepth, jsonErrorText, readRegularFile } from '../util/untrusted.js';

export { writeFileAtomic };

/** The part of the current epoch done before a save within it: loss sum, steps, seconds. */
export interface EpochPartial {
  loss: number;
  count: number;
  seconds: number;
}

/** The loop state saved beside the tensors. */
export interface LoopState {
  version: 1;
  /** Next epoch and step to run (the checkpoint holds everything before them). */
  epoch: number;
  step: number;
  globalStep: number;
  config: Record<string, unknown>;
  lossHistory: { step: number; loss: number }[];
  epochLog: Record<string, unknown>[];
  trainSeconds: number;
  imagesSeen: number;
  /** Wall seconds of every process of this run up to the save (absent in checkpoints of older versions). */
  wallSeconds?: number;
  /** Processes that worked on the run before this save (1 for an uninterrupted run). */
  sessions?: number;
  /** The part of the current epoch done before the save (mid-epoch checkpoints), so its log entry covers all of it. */
  epochPartial?: EpochPartial;
  /** Extensions of the run with a larger --epochs on --resume (absent when never extended). */
  extensions?: { step: number; fromEpochs: number; toEpochs: number }[];
  /** Files of this checkpoint, relative to the run folder. */
  files: { model: string; optimizer: string };
  savedAt: string;
}

// Tensor files of any set, and the temporary files writeFileAtomic leaves when the process is killed mid-write.
const TENSOR_FILE = /^(model|optimizer)(-\d+)?\.safetensors$|^\.(model|optimizer|state)[-\w.]*\.\d+\.\d+\.tmp$/;

/** Saves one checkpoint: model-<step>.safetensors, optimizer-<step>.safetensors, then state.json (the commit
 *  point), then deletes the tensor files no longer named (older sets, or a set a killed save left half-written). */
export function saveCheckpoint(dir: string, model: Record<string, SafeTensor>, optimizer: Record<string, SafeTensor>, state: Omit<LoopState, 'files' | 'savedAt' | 'version'>, metadata: Record<string, string>): void {
  try {
    makeDirs(dir);
  } catch (e) {
    throw outputError(dir, e, 'the checkpoint folder');
  }
  const files = { model: `model-${state.globalStep}.safetensors`, optimizer: `optimizer-${state.globalStep}.safetensors` };
  writeSafetensors(join(dir, files.model), model, { format: 'pt', ...metadata });
  writeSafetensors(join(dir, files.optimizer), optimizer, metadata);
  const full: LoopState = { version: 1, ...state, files, savedAt: new Date().toISOString() };
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify(full, null, 1) + '\n');
  for (const f of readdirSync(dir)) if (TENSOR_FILE.test(f) && f !== files.model && f !== files.optimizer) rmSync(join(dir, f), { force: true });
}

/** The validated state.json of the checkpoint in `dir`, or null when there is none (the tensors are not read). */
export function loadCheckpointState(dir: string): LoopState | null {
  const sp = join(dir, 'state.json');
  if (!existsSync(sp)) return null;
  const bytes = readRegularFile(sp, LIMITS.checkpointStateBytes, 'checkpoint state');
  checkJsonDepth(bytes, LIMITS.checkpointStateDepth, sp, 'checkpoint state');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new DataError('format', `checkpoint ${sp} is not valid JSON (${jsonErrorText(e)}); delete it to start over`, sp);
  }
  return validateLoopState(raw, sp);
}

type Check = (v: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isSeconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
// A plain name inside the checkpoint folder: no separators, not "." or "..", nothing hidden.
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}$/;

// Each field of LoopState: the check, what it must be (for the message), and whether it may be absent.
const STATE_FIELDS: [keyof LoopState, Check, string, boolean?][] = [
  ['version', (v) => v === 1, '1 (the format this build reads)'],
  ['epoch', isCount, 'a non-negative integer'],
  ['step', isCount, 'a non-negative integer'],
  ['globalStep', isCount, 'a non-negative integer'],
  ['config', isObject, 'an object'],
  ['lossHistory', (v) => Array.isArray(v) && v.every((e) => isObject(e) && isCount(e.step) && typeof e.loss === 'number'), 'an array of {"step": integer, "loss": number}'],
  ['epochLog', (v) => Array.isArray(v) && v.every(isObject), 'an array of objects'],
  ['trainSeconds', isSeconds, 'a non-negative number'],
  ['imagesSeen', isCount, 'a non-negative integer'],
  ['wallSeconds', isSeconds, 'a non-negative number', true],
  ['sessions', (v) => Number.isSafeInteger(v) && (v as number) >= 1, 'a positive integer', true],
  ['epochPartial', (v) => isObject(v) && typeof v.loss === 'number' && isCount(v.count) && isSeconds(v.seconds), 'an object {"loss": number, "count": integer, "seconds": number}', true],
  ['extensions', (v) => Array.isArray(v) && v.every((e) => isObject(e) && isCount(e.step) && isCount(e.fromEpochs) && isCount(e.toEpochs)), 'an array of {"step": integer, "fromEpochs": integer, "toEpochs": integer}', true],
  ['files', (v) => isObject(v) && [v.model, v.optimizer].every((f) => typeof f === 'string' && PLAIN_NAME.test(f)), 'plain file names inside the checkpoint folder, {"model": "model-N.safetensors", "optimizer": "optimizer-N.safetensors"}'],
  ['savedAt', (v) => typeof v === 'string', 'a string'],
];

/** Checks a parsed state.json against the LoopState schema; errors name the file, the field, what it must be. */
export function validateLoopState(raw: unknown, file: string): LoopState {
  const bad = (why: string) => new DataError('format', `checkpoint ${file}: ${why}. The checkpoint is damaged or not tqhash's: delete ${file} to start over.`, file);
  if (!isObject(raw)) throw bad('not a JSON object');
  for (const [key, ok, want, optional] of STATE_FIELDS) {
    const v = raw[key];
    if (v === undefined && optional) continue;
    if (!ok(v)) throw bad(`field "${key}" must be ${want}, got ${v === undefined ? 'nothing' : clip(JSON.stringify(v))}`);
  }
  const s = raw as unknown as LoopState;
  if (s.step > s.globalStep) throw bad(`step ${s.step} within the epoch is more than the ${s.globalStep} steps done in all`);
  return s;
}

/** Throws unless the resume point lies within the run: epoch ≤ epochs, step < steps per epoch, globalStep consistent. */
export function checkResumePoint(state: LoopState, epochs: number, stepsPerEpoch: number, file: string): void {
  const where = `checkpoint ${file}: epoch ${state.epoch}, step ${state.step}, ${state.globalStep} steps done`;
  const expected = state.epoch * stepsPerEpoch + state.step;
  if (state.epoch > epochs || (state.epoch === epochs && state.step > 0) || state.step >= stepsPerEpoch || state.globalStep !== expected) {
    throw new DataError('format', `${where}: not a point of this run (${epochs} epochs of ${stepsPerEpoch} steps, so step ${expected} in all). The checkpoint is damaged: delete ${file} to start over.`, file);
  }
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** Loads the checkpoint in `dir`, or null when there is none; errors name the file. */
export function loadCheckpoint(dir: string): { state: LoopState; model: Record<string, SafeTensor>; optimizer: Record<string, SafeTensor> } | null {
  const state = loadCheckpointState(dir);
  if (!state) return null;
  return { state, model: readTensorFile(dir, state.files.model), optimizer: readTensorFile(dir, state.files.optimizer) };
}

// saveCheckpoint writes real files: a symlink here would load tensors from outside the folder.
function readTensorFile(dir: string, name: string): Record<string, SafeTensor> {
  const p = join(dir, name);
  let link = false;
  try {
    link = lstatSync(p).isSymbolicLink();
  } catch {
    // missing: readSafetensors names it
  }
  if (link) throw new DataError('format', `checkpoint ${dir}: ${name} is a symbolic link; a checkpoint holds its own files. Delete the checkpoint to start over.`, p);
  if (!existsSync(p)) throw new DataError('missing', `checkpoint ${dir}: ${name}, named by state.json, is missing (an incomplete checkpoint). Move ${dir} away to start over, or choose another --out.`, p);
  return readSafetensors(p).tensors;
}
