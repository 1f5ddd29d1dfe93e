// Kernel loading: WGSL files from shaders/, reflected with wgsl_reflect into explicit bind-group layouts,
// compiled into pipelines cached by (file, entry point, override constants).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WgslReflect, ResourceType, type FunctionInfo, type TypeInfo, type VariableInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { debug } from '../config.js';

/** Names a kernel: a file in shaders/, an entry point, and its override constants. */
export interface KernelRef {
  file: string;
  entry: string;
  overrides?: Record<string, number>;
}

/** A kernel error names the shader file (with line:column where the compiler gives one), the entry point and the overrides. */
export class KernelError extends Error {
  override name = 'KernelError';
}

export type ScalarType = 'u32' | 'i32' | 'f32';

/** One storage binding of a kernel, from reflection. */
export interface StorageBinding {
  name: string;
  binding: number;
  readOnly: boolean;
  /** Element type of a runtime-sized array (f32, u32, vec4<f32>, ...), or the fixed type's name. */
  type: string;
  /** Bytes per element of a runtime-sized array; 0 for a fixed-size binding. */
  stride: number;
  /** Smallest binding size: the fixed size, or one element of an array. */
  minBytes: number;
}

/** The uniform struct that carries sizes; dispatch fills it from named params. */
export interface UniformBinding {
  name: string;
  binding: number;
  size: number;
  fields: { name: string; offset: number; type: ScalarType }[];
  /** The fields' names (dispatch checks the params it is given against them). */
  names: Set<string>;
}

/** A compiled kernel: pipeline, explicit layout and what reflection told about its bindings. */
export interface Kernel {
  key: string;
  ref: KernelRef;
  label: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  storage: Map<string, StorageBinding>;
  /** Its texture_2d<f32> bindings (name → binding): buffers read through textures (runtime: DispatchArgs.texels). */
  texels: Map<string, number>;
  uniform?: UniformBinding;
  /** Workgroup size when reflection could evaluate it (null for override expressions). */
  workgroupSize: [number, number, number] | null;
}

/** Root of the shader files (dist/index.js → ../shaders). */
export const SHADER_DIR = fileURLToPath(new URL('../shaders/', import.meta.url));

/** Stable cache key: file + entry + sorted overrides. Sizes travel in the uniform, so one pipeline serves every shape —
 *  except where a kernel takes them as overrides on purpose (conv-gen.ts GEN_SIZES: one pipeline per layer shape). */
export function kernelKey(ref: KernelRef): string {
  const o = ref.overrides ? Object.keys(ref.overrides).sort().map((k) => `${k}=${ref.overrides![k]}`).join(',') : '';
  return `${ref.file}:${ref.entry}${o ? `{${o}}` : ''}`;
}

/** The reference as written, overrides in the caller's order: a cheaper key than kernelKey for repeated lookups. */
function quickKey(ref: KernelRef): string {
  let s = `${ref.file}:${ref.entry}`;
  const o = ref.overrides;
  if (o) for (const k in o) s += `,${k}=${o[k]}`;
  return s;
}

interface ShaderFile {
  file: string;
  code: string;
  module: GPUShaderModule;
  reflect: WgslReflect;
  /** Resolves to a compile error message with file:line:column, or null. */
  compiled: Promise<string | null>;
}

function scalarOf(t: TypeInfo): ScalarType | undefined {
  return t.name === 'u32' || t.name === 'i32' || t.name === 'f32' ? t.name : undefined;
}

function typeName(t: TypeInfo): string {
  const fmt = (t as TypeInfo & { format?: TypeInfo | null }).format;
  return fmt ? `${t.name}<${typeName(fmt)}>` : t.name;
}

/** Loads, reflects and compiles kernels for one device; pipelines are cached by key. */
export class KernelCache {
  private files = new Map<string, ShaderFile>();
  private kernels = new Map<string, Kernel>();
  private byQuickKey = new Map<string, Kernel>();
  private sources = new Map<string, string>();
  /** Checks still in flight (compile info, pipeline validation); awaited by `check()`. */
  private pending: Promise<void>[] = [];
  private firstError: KernelError | undefined;

  constructor(private device: GPUDevice, private shaderDir = SHADER_DIR) {}

  /** Serves `file` from this source instead of shaders/ (tests, generated kernels). */
  registerSource(file: string, code: string): void {
    this.sources.set(file, code);
  }

  /** The WGSL text of `file`: a registered source, else shaders/`file` (generators build on a file's declarations). */
  source(file: string): string {
    const code = this.sources.get(file);
    if (code !== undefined) return code;
    try {
      return readFileSync(this.shaderDir + file, 'utf8');
    } catch (e) {
      throw new KernelError(`shader file ${file} not found in ${this.shaderDir}: ${(e as Error).message}`);
    }
  }

  private loadFile(file: string): ShaderFile {
    let sf = this.files.get(file);
    if (sf) return sf;
    const code = this.source(file);
    // In an error scope: a compile error is reported through getCompilationInfo (with line:column), not as an uncaptured device error.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: file });
    void this.device.popErrorScope();
    const compiled = module.getCompilationInfo().then((info) => {
      const errors = info.messages.filter((m) => m.type === 'error');
      if (!errors.length) return null;
      return errors.map((m) => `${file}:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
    });
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(code);
    } catch (e) {
      // The compiler's message (with line:column) is better than the reflector's: wait for it in compile().
      reflect = new WgslReflect('');
      debug(`wgsl_reflect could not parse ${file}: ${(e as Error).message}`);
    }
    sf = { file, code, module, reflect, compiled };
    this.files.set(file, sf);
    return sf;
  }

  /** The kernel for `ref`, created on first use (synchronously; compile errors surface at `check()` or `compile()`). */
  get(ref: KernelRef): Kernel {
    // Every dispatch looks its kernel up: first by the reference as written (overrides in the caller's order, no sort),
    // then by the stable key, which the first lookup of each spelling computes once.
    const quick = quickKey(ref);
    const seen = this.byQuickKey.get(quick);
    if (seen) return seen;
    const key = kernelKey(ref);
    const hit = this.kernels.get(key);
    if (hit) {
      this.byQuickKey.set(quick, hit);
      return hit;
    }
    const sf = this.loadFile(ref.file);
    const fn = sf.reflect.entry.compute.find((f) => f.name === ref.entry);
    if (!fn) {
      const names = sf.reflect.entry.compute.map((f) => f.name);
      if (!names.length) {
        // Reflection failed (syntax error): report the compiler's message synchronously when it is known.
        throw new KernelError(`${ref.file}: cannot reflect the shader (syntax error?); await runtime.compile() for the compiler's message`);
      }
      throw new KernelError(`${ref.file} has no compute entry point "${ref.entry}" (it has: ${names.join(', ')})`);
    }
    this.checkOverrides(sf, fn, ref);
    const { layout, storage, texels, uniform } = this.buildLayout(sf, fn, ref, key);
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: key }),
      compute: { module: sf.module, entryPoint: ref.entry, constants: ref.overrides ?? {} },
    });
    const scope = this.device.popErrorScope();
    this.track(
      Promise.all([sf.compiled, scope]).then(([compileErr, err]) => {
        if (compileErr) throw new KernelError(`WGSL compile error in ${compileErr}`);
        if (err) throw new KernelError(`pipeline ${key} (overrides ${JSON.stringify(ref.overrides ?? {})}) is invalid: ${err.message}`);
      }),
    );
    debug(`pipeline ${key}`);
    const k: Kernel = { key, ref, label: key, pipeline, layout, storage, texels, uniform, workgroupSize: fn.workgroupSize };
    this.kernels.set(key, k);
    return k;
  }

  /** Creates the kernel and waits for the compiler and validation: throws a KernelError with file:line:column. */
  async compile(ref: KernelRef): Promise<Kernel> {
    const sf = this.loadFile(ref.file);
    const compileErr = await sf.compiled;
    if (compileErr) throw new KernelError(`WGSL compile error in ${compileErr}`);
    const k = this.get(ref);
    await this.check();
    return k;
  }

  private track(p: Promise<void>): void {
    this.pending.push(
      p.catch((e: unknown) => {
        this.firstError ??= e instanceof KernelError ? e : new KernelError(String(e));
      }),
    );
  }

  /** Waits for outstanding compile/validation checks; throws the first failure. */
  async check(): Promise<void> {
    const p = this.pending;
    this.pending = [];
    await Promise.all(p);
    const e = this.firstError;
    if (e) {
      this.firstError = undefined;
      throw e;
    }
  }

  private checkOverrides(sf: ShaderFile, fn: FunctionInfo, ref: KernelRef): void {
    const known = new Set(sf.reflect.overrides.map((o) => o.name));
    for (const name of Object.keys(ref.overrides ?? {})) {
      if (!known.has(name)) {
        throw new KernelError(`${ref.file}:${ref.entry}: override "${name}" does not exist (the file declares: ${[...known].join(', ') || 'none'})`);
      }
      const v = ref.overrides![name];
      if (!Number.isFinite(v)) throw new KernelError(`${ref.file}:${ref.entry}: override ${name}=${v} is not a finite number`);
    }
    void fn;
  }

  private buildLayout(sf: ShaderFile, fn: FunctionInfo, ref: KernelRef, key: string) {
    const entries: GPUBindGroupLayoutEntry[] = [];
    const storage = new Map<string, StorageBinding>();
    const texels = new Map<string, number>();
    let uniform: UniformBinding | undefined;
    for (const r of fn.resources as VariableInfo[]) {
      if (r.group !== 0) throw new KernelError(`${ref.file}:${ref.entry}: binding ${r.name} is in group ${r.group}; tqhash kernels use group 0 only`);
      if (r.resourceType === ResourceType.Storage) {
        const readOnly = r.access !== 'read_write';
        const t = r.type as TypeInfo & { stride?: number; count?: number; format?: TypeInfo };
        const isRuntimeArray = t.name === 'array' && !t.count;
        const stride = isRuntimeArray ? (t.stride ?? 4) : 0;
        storage.set(r.name, {
          name: r.name,
          binding: r.binding,
          readOnly,
          type: isRuntimeArray && t.format ? typeName(t.format) : typeName(t),
          stride,
          minBytes: isRuntimeArray ? stride : t.size,
        });
        entries.push({ binding: r.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } });
      } else if (r.resourceType === ResourceType.Uniform) {
        if (uniform) throw new KernelError(`${ref.file}:${ref.entry}: more than one uniform binding (${uniform.name}, ${r.name}); use one params struct`);
        const st = r.type as TypeInfo & { members?: { name: string; offset: number; type: TypeInfo }[] };
        const fields = (st.members ?? []).map((m) => {
          const type = scalarOf(m.type);
          if (!type) throw new KernelError(`${ref.file}: uniform ${r.name}.${m.name} has type ${m.type.name}; params fields must be u32, i32 or f32`);
          return { name: m.name, offset: m.offset, type };
        });
        uniform = { name: r.name, binding: r.binding, size: Math.max(16, Math.ceil(st.size / 16) * 16), fields, names: new Set(fields.map((f) => f.name)) };
        // Dynamic offset: params of many dispatches share one uniform buffer, so bind groups stay cacheable.
        entries.push({ binding: r.binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
      } else if (r.resourceType === ResourceType.Texture && r.type.name === 'texture_2d' && (r.type as TypeInfo & { format?: TypeInfo }).format?.name === 'f32') {
        // rgba32float is not filterable: textureLoad only, which is all the engine does with these.
        texels.set(r.name, r.binding);
        entries.push({ binding: r.binding, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: 'unfilterable-float', viewDimension: '2d' } });
      } else {
        throw new KernelError(`${ref.file}:${ref.entry}: binding ${r.name} is neither a buffer nor a texture_2d<f32>; tqhash kernels use storage and uniform buffers, and buffers read through textures`);
      }
    }
    const layout = this.device.createBindGroupLayout({ entries, label: key });
    return { layout, storage, texels, uniform };
  }

  /** Number of distinct pipelines created. */
  get size(): number {
    return this.kernels.size;
  }
}
