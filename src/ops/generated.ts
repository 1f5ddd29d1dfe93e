// Generated kernel sources (conv-gen.ts, gemm-gen.ts) are registered with the runtime under a virtual file name.
import { runtime } from '../tensor.js';

const generated = new Map<string, string>();

/** Registers a generated kernel source with the runtime under `file` (generated once per process); returns `file`. */
export function useGenerated(file: string, gen: () => string): string {
  let src = generated.get(file);
  if (src === undefined) { src = gen(); generated.set(file, src); }
  runtime().kernels.registerSource(file, src);
  return file;
}
