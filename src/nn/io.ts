// Model checkpoints: every parameter and buffer of a module as F32 tensors in one safetensors file, plus each
// BatchNorm's int64 num_batches_tracked, named as PyTorch's state_dict would (`features.0.weight`), so
// `safetensors.torch.load_file` opens them and `load_state_dict(strict=True)` accepts them.
import { runtime } from '../tensor.js';
import type { Module } from './module.js';
import { BatchNorm2d } from './layers.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.js';

/** Reads a module's parameters and buffers back to the host, by dotted name. */
export async function stateDict(module: Module): Promise<Record<string, SafeTensor>> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of module.namedState()) {
    out[name] = { dtype: 'F32', shape: [...t.shape], data: (await t.toArray()) as Float32Array };
  }
  for (const [name, bn] of batchNorms(module)) out[name] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(bn.numBatchesTracked)) };
  return out;
}

/** Each BatchNorm2d of `module` by the name of its num_batches_tracked entry. */
function batchNorms(module: Module): Map<string, BatchNorm2d> {
  const out = new Map<string, BatchNorm2d>();
  for (const [name, m] of module.namedModules()) if (m instanceof BatchNorm2d) out.set(name ? `${name}.num_batches_tracked` : 'num_batches_tracked', m);
  return out;
}

/** Copies named host tensors into a module's parameters and buffers; every name must exist on both sides with equal shapes. `what` names the source in errors. */
export function loadStateDict(module: Module, tensors: Record<string, SafeTensor>, what = 'state dict'): void {
  const state = module.namedState();
  const counters = batchNorms(module);
  const known = new Set([...state.map(([n]) => n), ...counters.keys()]);
  const problems: string[] = [];
  for (const [name, t] of state) {
    const f = tensors[name];
    if (!f) {
      problems.push(`${name}: missing from the file (model has [${t.shape.join(', ')}])`);
      continue;
    }
    if (f.dtype !== 'F32') problems.push(`${name}: file has dtype ${f.dtype}, model needs F32`);
    else if (f.shape.length !== t.shape.length || f.shape.some((d, i) => d !== t.shape[i])) {
      problems.push(`${name}: file has [${f.shape.join(', ')}], model has [${t.shape.join(', ')}]`);
    }
  }
  const extra = Object.keys(tensors).filter((n) => !known.has(n));
  if (extra.length) problems.push(`the model has no tensor named ${extra.map((n) => `"${n}"`).join(', ')} (a different architecture or bit count?)`);
  for (const name of counters.keys()) {
    const f = tensors[name]; // optional: files written before it was saved lack it
    if (f && (f.dtype !== 'I64' || f.shape.length !== 0)) problems.push(`${name}: file has ${f.dtype} [${f.shape.join(', ')}], model needs an I64 scalar`);
  }
  if (problems.length) throw new Error(`${what} does not fit the model:\n  ${problems.join('\n  ')}`);
  // Validate everything before writing anything, so a failed load leaves the model untouched.
  const rt = runtime();
  for (const [name, t] of state) if (t.size) rt.write(t.buffer, tensors[name].data as Float32Array);
  for (const [name, bn] of counters) if (tensors[name]) bn.numBatchesTracked = Number(tensors[name].data[0]);
}

/** Saves a module's parameters and buffers to a safetensors file (atomically); metadata values must be strings. */
export async function saveModel(module: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  writeSafetensors(path, await stateDict(module), { format: 'pt', ...metadata });
}

/** Loads a safetensors checkpoint into a module (names and shapes validated first); returns the file's metadata. */
export function loadModel(module: Module, path: string): Record<string, string> {
  const f = readSafetensors(path);
  loadStateDict(module, f.tensors, path);
  return f.metadata;
}
