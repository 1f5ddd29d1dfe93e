// Generated kernel sources (conv-gen.ts, gemm-gen.ts) are registered with the runtime under a virtual file name.
import { TEXEL_ROW, type BufferArg } from '../gpu/runtime.js';
import { runtime } from '../tensor.js';

const generated = new Map<string, string>();

/** Registers a generated kernel source with the runtime under `file` (generated once per process); returns `file`. */
export function useGenerated(file: string, gen: () => string): string {
  let src = generated.get(file);
  if (src === undefined) { src = gen(); generated.set(file, src); }
  runtime().kernels.registerSource(file, src);
  return file;
}

/** The vec4 at index `i` (a u32 expression) of the storage buffer `name` (an array<vec4f>): from the buffer, or with
 *  `tex` from the texture that the runtime fills from it (named `name` + 't'; DispatchArgs.texels, TEXEL_ROW). */
export const vec4At = (tex: boolean | undefined, name: string, i: string) => (tex ? `textureLoad(${name}t, vec2u((${i}) % ${TEXEL_ROW}u, (${i}) / ${TEXEL_ROW}u), 0)` : `${name}[${i}]`);

/** The dispatch arguments for buffers a generated kernel reads with vec4At: bindings under their names, or with `tex`
 *  texels under their textures' names (name + 't'). */
export function vec4Reads(tex: boolean | undefined, inputs: Record<string, BufferArg>): { bindings: Record<string, BufferArg>; texels?: Record<string, BufferArg> } {
  if (!tex) return { bindings: inputs };
  return { bindings: {}, texels: Object.fromEntries(Object.entries(inputs).map(([name, b]) => [`${name}t`, b])) };
}
