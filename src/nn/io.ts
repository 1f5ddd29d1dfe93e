// Model checkpoints: every parameter and buffer of a module as F32 tensors in one safetensors file,
// named as PyTorch's state_dict would (`features.0.weight`), so `safetensors.torch.load_file` opens them.
import { runtime } from '../tensor.js';
import type { Module } from './module.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.js';

/** Reads a module's parameters and buffers back to the host, by dotted name. */
export async function stateDict(module: Module): Promise<Record<string, SafeTensor>> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of module.namedState()) {
    out[name] = { dtype: 'F32', shape: [...t.shape], data: (await t.toArray()) as Float32Array };
  }
  return out;
}

/** Copies named host tensors into a module's parameters and buffers; every name must exist on both sides with equal shapes. `what` names the source in errors. */
export function loadStateDict(module: Module, tensors: Record<string, SafeTensor>, what = 'state dict'): void {
  const state = module.namedState();
  const known = new Set(state.map(([n]) => n));
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
  if (problems.length) throw new Error(`${what} does not fit the model:\n  ${problems.join('\n  ')}`);
  // Validate everything before writing anything, so a failed load leaves the model untouched.
  const rt = runtime();
  for (const [name, t] of state) if (t.size) rt.write(t.buffer, tensors[name].data);
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
