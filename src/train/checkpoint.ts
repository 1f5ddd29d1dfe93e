// Checkpoints of a training run: model (safetensors a PyTorch user can open), optimiser state (safetensors)
// and the loop state (JSON), each written atomically. The tensor files carry the step in their names and
// state.json is written last, so a process killed in the middle of a save leaves the previous set whole and
// named by state.json; the files of older sets are deleted once the new state.json is in place.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { outputError, writeFileAtomic } from '../util/fs.js';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../nn/safetensors.js';

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
    mkdirSync(dir, { recursive: true });
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

function loadCheckpointState(dir: string): LoopState | null {
  const sp = join(dir, 'state.json');
  if (!existsSync(sp)) return null;
  let state: LoopState;
  try {
    state = JSON.parse(readFileSync(sp, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint ${sp} is not valid JSON (${(e as Error).message}); delete it to start over`);
  }
  if (state.version !== 1 || !state.files) throw new Error(`checkpoint ${sp}: unknown format version ${state.version}`);
  return state;
}

/** Loads the checkpoint in `dir`, or null when there is none; errors name the file. */
export function loadCheckpoint(dir: string): { state: LoopState; model: Record<string, SafeTensor>; optimizer: Record<string, SafeTensor> } | null {
  const state = loadCheckpointState(dir);
  if (!state) return null;
  const model = readSafetensors(join(dir, state.files.model)).tensors;
  const optimizer = readSafetensors(join(dir, state.files.optimizer)).tensors;
  return { state, model, optimizer };
}
