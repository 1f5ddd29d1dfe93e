// The runtime: one device, its buffer pool, kernel cache, and a command recorder that puts many
// dispatches into one encoder and submits once (flushing on read-back). All WebGPU calls live in src/gpu/.
import { debug } from '../config.js';
import { initKnobs, knobOverrides } from './autotune.js';
import { selectAdapter, type AdapterInfo } from './adapter.js';
import { KernelCache, KernelError, kernelKey, type Kernel, type KernelRef } from './kernels.js';
import { BufferPool, sizeClass, type PooledBuffer } from './buffers.js';

/** A buffer argument: a pooled buffer, a raw GPUBuffer, or a range of one. */
export type BufferArg = PooledBuffer | GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/**
 * Texels per row of the textures through which kernels read buffers (DispatchArgs.texels): vec4 i of the buffer is
 * texel (i % TEXEL_ROW, i / TEXEL_ROW) of an rgba32float texture. Rows of 16 KiB: a multiple of the 256 bytes per row
 * that copyBufferToTexture asks.
 */
export const TEXEL_ROW = 1024;

/** What one dispatch needs: buffers by WGSL variable name, the params struct's fields it uses by name (the others are
 *  written as 0; a name the struct lacks is an error), the grid. */
export interface DispatchArgs {
  bindings: Record<string, BufferArg>;
  /**
   * Buffers the kernel reads through its texture_2d<f32> bindings, by the textures' names: right before the dispatch
   * the runtime copies each into a texture of its own (TEXEL_ROW). On llvmpipe a texel fetch costs about half a
   * storage-buffer load (a storage load is a loop over the SIMD lanes, a fetch is not; bench/NOTES-conv.md round 11).
   */
  texels?: Record<string, BufferArg>;
  params?: Readonly<Record<string, number | undefined>>;
  workgroups: number | readonly [number, number?, number?];
}

/** A device error (validation, out of memory, device lost), naming the kernels of the submit it came from. */
export class GpuError extends Error {
  override name = 'GpuError';
}

interface Range {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

function isPooled(b: BufferArg): b is PooledBuffer {
  return (b as PooledBuffer).live !== undefined && (b as PooledBuffer).bytes !== undefined;
}

function toRange(b: BufferArg): Range {
  if (isPooled(b)) {
    if (!b.live) throw new Error('a released pool buffer was passed to the GPU');
    return { buffer: b.buffer, offset: 0, size: Math.ceil(b.bytes / 4) * 4 };
  }
  if ((b as GPUBuffer).mapState !== undefined && (b as GPUBuffer).usage !== undefined) {
    const g = b as GPUBuffer;
    return { buffer: g, offset: 0, size: g.size };
  }
  const r = b as { buffer: GPUBuffer; offset?: number; size?: number };
  const offset = r.offset ?? 0;
  return { buffer: r.buffer, offset, size: r.size ?? r.buffer.size - offset };
}

const PARAMS_CHUNK = 64 * 1024;

// Paced read-backs (readLater): the share of the recent latency slept on a timer, the lateness allowed for a Node
// timer, and how many recent latencies the sleep goes by. It goes by their least, so one slow step (a checkpoint, a
// validation, the host busy) does not lengthen the next sleeps; a latency that falls is seen to fall by at least
// 1 − PACE_AHEAD a step, one that rises only makes Dawn poll longer.
const PACE_AHEAD = 0.9;
const TIMER_LATE_MS = 1;
const PACE_WINDOW = 8;

/** One device with everything the engine needs to run kernels. */
export class Runtime {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly limits: GPUSupportedLimits;
  /** Dispatches and submits since creation (for benchmarks and tests). */
  readonly counters = { dispatches: 0, submits: 0, readbacks: 0 };

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded: string[] = [];
  private recentSubmits: string[][] = [];
  private deviceError: GpuError | undefined;
  private disposed = false;
  private stagingToDestroy: GPUBuffer[] = [];
  private readStaging = new Map<number, GPUBuffer[]>();
  /** Per paced read-back (readLater's `pace`): its latest latencies from submit to data, ms (PACE_WINDOW of them). */
  private paceMs = new Map<string, number[]>();

  // Params of all dispatches of one submit go into 64 KiB uniform chunks, written once at flush.
  private paramChunks: GPUBuffer[] = [];
  private paramHost: ArrayBuffer[] = [];
  private paramChunk = 0;
  private paramOffset = 0;
  private readonly paramAlign: number;

  private bindCache = new Map<string, GPUBindGroup>();
  /** The textures of DispatchArgs.texels by (binding name, rows rounded up to a power of two), reused by every
   *  dispatch: each copies its buffer in first, and the GPU runs commands in order. */
  private texelTextures = new Map<string, { texture: GPUTexture; view: GPUTextureView }>();
  /** Per GPUBuffer: a small id (bind-group cache keys) and its size and usage, read once (each read of a GPUBuffer's
   *  size or usage crosses into the native binding, and dispatch checks every binding's). */
  private bufferInfo = new WeakMap<GPUBuffer, { id: number; size: number; usage: number }>();
  private nextBufferId = 1;

  constructor(
    private instance: GPU | null,
    readonly device: GPUDevice,
    readonly info: AdapterInfo,
  ) {
    // A plain copy: each read of a GPUSupportedLimits field crosses into the native binding, and dispatch reads some.
    const lim: Record<string, number> = {};
    for (const name in device.limits) lim[name] = (device.limits as unknown as Record<string, number>)[name];
    this.limits = lim as unknown as GPUSupportedLimits;
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize));
    this.kernels = new KernelCache(device);
    this.paramAlign = device.limits.minUniformBufferOffsetAlignment;
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const kernels = this.recentSubmits.flat().slice(-8);
      this.deviceError ??= new GpuError(
        `GPU error: ${err.message.trim()}\n(kernels in the latest submits: ${kernels.join(', ') || 'none'})`,
      );
    });
    void device.lost.then((l) => {
      if (!this.disposed) {
        const kernels = this.recentSubmits.flat().slice(-8);
        this.deviceError ??= new GpuError(`GPU device lost (${l.reason}): ${l.message}\n(kernels in the latest submits: ${kernels.join(', ') || 'none'})`);
      }
    });
  }

  /** Throws a pending device error (if any). */
  private throwIfFailed(): void {
    if (this.disposed) throw new GpuError('the runtime was disposed');
    const e = this.deviceError;
    if (e) {
      this.deviceError = undefined;
      throw e;
    }
  }

  /** The kernel for a reference (compiled and cached on first use). */
  kernel(ref: KernelRef): Kernel {
    return this.kernels.get(ref);
  }

  /** Compiles a kernel now and waits for the compiler: errors name file:line:column. */
  async compile(ref: KernelRef): Promise<Kernel> {
    return this.kernels.compile(ref);
  }

  private infoOf(b: GPUBuffer): { id: number; size: number; usage: number } {
    let info = this.bufferInfo.get(b);
    if (info === undefined) this.bufferInfo.set(b, (info = { id: this.nextBufferId++, size: b.size, usage: b.usage }));
    return info;
  }

  private bufferId(b: GPUBuffer): number {
    return this.infoOf(b).id;
  }

  private beginPass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    this.encoder ??= this.device.createCommandEncoder({ label: 'tqhash step' });
    this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'tqhash step' }));
  }

  /** Writes a params struct into the uniform ring (fields not given are 0); returns the chunk buffer and dynamic offset. */
  private writeParams(k: Kernel, params: DispatchArgs['params']): { buffer: GPUBuffer; offset: number; size: number } | undefined {
    const u = k.uniform;
    if (!u) {
      if (params && Object.keys(params).length) throw new KernelError(`${k.label}: params given (${Object.keys(params).join(', ')}) but the kernel has no uniform params struct`);
      return undefined;
    }
    const given = params ?? {};
    for (const name in given) {
      if (!u.names.has(name)) throw new KernelError(`${k.label}: params.${name} is not a field of ${u.name} (fields: ${[...u.names].join(', ')})`);
    }
    if (this.paramOffset + u.size > PARAMS_CHUNK) {
      this.paramChunk++;
      this.paramOffset = 0;
    }
    if (this.paramChunk === this.paramChunks.length) {
      this.paramChunks.push(this.device.createBuffer({ size: PARAMS_CHUNK, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'tqhash params' }));
      this.paramHost.push(new ArrayBuffer(PARAMS_CHUNK));
    }
    const view = new DataView(this.paramHost[this.paramChunk], this.paramOffset, u.size);
    for (const f of u.fields) {
      // A kernel reads only its own fields of a family's shared struct: the dispatch names those, the rest are 0.
      const v = given[f.name] ?? 0;
      if (f.type === 'f32') {
        if (typeof v !== 'number' || Number.isNaN(v)) throw new KernelError(`${k.label}: params.${f.name} = ${v} is not a number`);
        view.setFloat32(f.offset, v, true);
      } else if (f.type === 'u32') {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new KernelError(`${k.label}: params.${f.name} = ${v} is not a u32`);
        view.setUint32(f.offset, v, true);
      } else {
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new KernelError(`${k.label}: params.${f.name} = ${v} is not an i32`);
        view.setInt32(f.offset, v, true);
      }
    }
    const at = { buffer: this.paramChunks[this.paramChunk], offset: this.paramOffset, size: u.size };
    this.paramOffset += Math.ceil(u.size / this.paramAlign) * this.paramAlign;
    return at;
  }

  /** Records one dispatch into the current command encoder (submitted at the next flush or read-back). */
  dispatch(ref: KernelRef | Kernel, args: DispatchArgs): void {
    this.throwIfFailed();
    const k = 'pipeline' in ref ? ref : this.kernels.get(ref);
    const wg = typeof args.workgroups === 'number' ? [args.workgroups, 1, 1] : [args.workgroups[0], args.workgroups[1] ?? 1, args.workgroups[2] ?? 1];
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    for (const n of wg) {
      if (!Number.isInteger(n) || n < 0) throw new KernelError(`${k.label}: workgroup count ${n} is not a non-negative integer`);
      if (n > maxWg) throw new KernelError(`${k.label}: ${n} workgroups in one dimension, the adapter allows ${maxWg}; the op must split its grid`);
    }
    // Bindings: every name the kernel uses, nothing else, sizes and access checked against reflection.
    const ranges: { name: string; binding: number; range: Range; readOnly: boolean }[] = [];
    for (const name of Object.keys(args.bindings)) {
      if (!k.storage.has(name)) {
        throw new KernelError(`${k.label}: binding "${name}" does not exist (the kernel binds: ${[...k.storage.keys()].join(', ')})`);
      }
    }
    const align = this.limits.minStorageBufferOffsetAlignment;
    const maxBind = this.limits.maxStorageBufferBindingSize;
    for (const [name, sb] of k.storage) {
      const arg = args.bindings[name];
      if (arg === undefined) throw new KernelError(`${k.label}: binding "${name}" (${sb.readOnly ? 'read' : 'read_write'} ${sb.type}) is missing`);
      const range = toRange(arg);
      if (range.size < sb.minBytes) throw new KernelError(`${k.label}: binding "${name}" has ${range.size} bytes, it needs at least ${sb.minBytes} (${sb.type})`);
      if (range.size % 4 !== 0) throw new KernelError(`${k.label}: binding "${name}" size ${range.size} is not a multiple of 4`);
      if (range.offset % align !== 0) throw new KernelError(`${k.label}: binding "${name}" offset ${range.offset} is not a multiple of ${align}`);
      const info = this.infoOf(range.buffer);
      if (range.offset + range.size > info.size) throw new KernelError(`${k.label}: binding "${name}" range ${range.offset}+${range.size} exceeds its buffer of ${info.size} bytes`);
      if (range.size > maxBind) throw new KernelError(`${k.label}: binding "${name}" is ${range.size} bytes, the adapter allows ${maxBind} per binding; split the work`);
      if ((info.usage & GPUBufferUsage.STORAGE) === 0) throw new KernelError(`${k.label}: binding "${name}" buffer lacks STORAGE usage`);
      ranges.push({ name, binding: sb.binding, range, readOnly: sb.readOnly });
    }
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const a = ranges[i], b = ranges[j];
        if (a.range.buffer !== b.range.buffer || (a.readOnly && b.readOnly)) continue;
        const overlap = a.range.offset < b.range.offset + b.range.size && b.range.offset < a.range.offset + a.range.size;
        if (overlap) throw new KernelError(`${k.label}: bindings "${a.name}" and "${b.name}" share a buffer and one of them is written; pass distinct buffers`);
      }
    }
    const texels = this.texelBindings(k, args.texels ?? {});
    const params = this.writeParams(k, args.params);
    if (wg[0] * wg[1] * wg[2] === 0) return;
    // Bind groups depend only on the buffers (params use a dynamic offset), so steps that reuse pool buffers hit the cache.
    let key = k.key;
    for (const r of ranges) key += `|${r.binding}:${this.bufferId(r.range.buffer)}@${r.range.offset}+${r.range.size}`;
    for (const t of texels) key += `|${t.binding}:${t.key}`;
    if (params) key += `|p${this.bufferId(params.buffer)}`;
    let group = this.bindCache.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = ranges.map((r) => ({ binding: r.binding, resource: { buffer: r.range.buffer, offset: r.range.offset, size: r.range.size } }));
      for (const t of texels) entries.push({ binding: t.binding, resource: t.view });
      if (params && k.uniform) entries.push({ binding: k.uniform.binding, resource: { buffer: params.buffer, offset: 0, size: k.uniform.size } });
      group = this.device.createBindGroup({ layout: k.layout, entries, label: k.label });
      if (this.bindCache.size > 8192) this.bindCache.clear();
      this.bindCache.set(key, group);
    }
    if (texels.length) {
      const enc = this.endPass();
      for (const t of texels) this.copyToTexels(enc, t.range, t.texture);
    }
    const pass = this.beginPass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, group, params ? [params.offset] : []);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    this.recorded.push(k.label);
    this.counters.dispatches++;
  }

  /** Whether a buffer of `bytes` bytes can be read through a texture (DispatchArgs.texels): its rows fit the adapter's
   *  largest 2D texture. */
  texelsFit(bytes: number): boolean {
    return Math.ceil(bytes / 16 / TEXEL_ROW) <= this.limits.maxTextureDimension2D;
  }

  /** The texture bindings of a dispatch, checked against reflection as the buffers are; creates their textures. */
  private texelBindings(k: Kernel, given: Record<string, BufferArg>): { binding: number; range: Range; key: string; texture: GPUTexture; view: GPUTextureView }[] {
    for (const name of Object.keys(given)) {
      if (!k.texels.has(name)) throw new KernelError(`${k.label}: texture binding "${name}" does not exist (the kernel reads textures: ${[...k.texels.keys()].join(', ') || 'none'})`);
    }
    const out: { binding: number; range: Range; key: string; texture: GPUTexture; view: GPUTextureView }[] = [];
    for (const [name, binding] of k.texels) {
      const arg = given[name];
      if (arg === undefined) throw new KernelError(`${k.label}: texture binding "${name}" is missing (pass the buffer it reads in texels)`);
      const range = toRange(arg);
      if (range.size % 16 !== 0 || range.offset % 16 !== 0) throw new KernelError(`${k.label}: texels "${name}": ${range.size} bytes at offset ${range.offset}; both must be multiples of 16 (whole vec4)`);
      if (!this.texelsFit(range.size)) throw new KernelError(`${k.label}: texels "${name}": ${range.size} bytes need more than the adapter's ${this.limits.maxTextureDimension2D} texture rows of ${TEXEL_ROW} texels (texelsFit)`);
      if ((this.infoOf(range.buffer).usage & GPUBufferUsage.COPY_SRC) === 0) throw new KernelError(`${k.label}: texels "${name}": the buffer lacks COPY_SRC usage`);
      const rows = 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(range.size / 16 / TEXEL_ROW))));
      const key = `${name}:${rows}`;
      let t = this.texelTextures.get(key);
      if (!t) {
        const texture = this.device.createTexture({ size: [TEXEL_ROW, rows], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST, label: `tqhash texels ${key}` });
        this.texelTextures.set(key, (t = { texture, view: texture.createView() }));
      }
      out.push({ binding, range, key, ...t });
    }
    return out;
  }

  /** Records the copy of a buffer range into a texels texture: whole rows, then the last partial row. */
  private copyToTexels(enc: GPUCommandEncoder, r: Range, texture: GPUTexture): void {
    const n = r.size / 16, full = Math.floor(n / TEXEL_ROW), rest = n % TEXEL_ROW, bytesPerRow = TEXEL_ROW * 16;
    if (full) enc.copyBufferToTexture({ buffer: r.buffer, offset: r.offset, bytesPerRow }, { texture }, [TEXEL_ROW, full, 1]);
    if (rest) enc.copyBufferToTexture({ buffer: r.buffer, offset: r.offset + full * bytesPerRow, bytesPerRow }, { texture, origin: [0, full, 0] }, [rest, 1, 1]);
  }

  /** Lends a pooled storage buffer of `bytes` bytes (contents undefined). */
  alloc(bytes: number, label?: string): PooledBuffer {
    return this.pool.acquire(bytes, label);
  }

  /** Returns a pooled buffer (work already recorded on it stays correct: the GPU runs commands in order). */
  free(b: PooledBuffer): void {
    this.pool.release(b);
  }

  /** Copies host data into a buffer, ordered after the work recorded so far. Returns the destination. */
  write(dst: BufferArg, data: ArrayBufferView, dstOffset = 0): void {
    this.throwIfFailed();
    const r = toRange(dst);
    const bytes = Math.ceil(data.byteLength / 4) * 4;
    if (dstOffset + data.byteLength > r.size) throw new Error(`write: ${data.byteLength} bytes at offset ${dstOffset} do not fit in a ${r.size}-byte buffer`);
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!this.encoder) {
      // Nothing recorded yet: a queue write is ordered after all submitted work.
      if (bytes === data.byteLength) this.device.queue.writeBuffer(r.buffer, r.offset + dstOffset, src);
      else {
        const padded = new Uint8Array(bytes);
        padded.set(src);
        this.device.queue.writeBuffer(r.buffer, r.offset + dstOffset, padded);
      }
      return;
    }
    // Work is recorded but not submitted: a queue write would run before it, so copy through the encoder.
    const staging = this.device.createBuffer({ size: Math.max(4, bytes), usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'tqhash upload' });
    new Uint8Array(staging.getMappedRange()).set(src);
    staging.unmap();
    this.endPass().copyBufferToBuffer(staging, 0, r.buffer, r.offset + dstOffset, bytes);
    this.stagingToDestroy.push(staging);
  }

  /** A new pooled buffer holding `data`. */
  upload(data: ArrayBufferView, label?: string): PooledBuffer {
    const b = this.alloc(Math.max(4, data.byteLength), label);
    this.write(b, data);
    return b;
  }

  /** Records a buffer-to-buffer copy. */
  copy(src: BufferArg, dst: BufferArg, bytes?: number): void {
    this.throwIfFailed();
    const s = toRange(src), d = toRange(dst);
    const n = bytes ?? Math.min(s.size, d.size);
    if (n > s.size || n > d.size) throw new Error(`copy: ${n} bytes from a ${s.size}-byte range into a ${d.size}-byte range`);
    this.endPass().copyBufferToBuffer(s.buffer, s.offset, d.buffer, d.offset, Math.ceil(n / 4) * 4);
  }

  /** Records a fill of the range with zeros. */
  zero(dst: BufferArg): void {
    this.throwIfFailed();
    const r = toRange(dst);
    this.endPass().clearBuffer(r.buffer, r.offset, r.size);
  }

  /** Submits everything recorded (one submit), without waiting. */
  flush(): void {
    if (!this.encoder) return;
    const enc = this.endPass();
    for (let i = 0; i <= this.paramChunk && i < this.paramChunks.length; i++) {
      const used = i === this.paramChunk ? this.paramOffset : PARAMS_CHUNK;
      if (used > 0) this.device.queue.writeBuffer(this.paramChunks[i], 0, this.paramHost[i], 0, used);
    }
    this.device.queue.submit([enc.finish()]);
    this.encoder = null;
    this.paramChunk = 0;
    this.paramOffset = 0;
    this.recentSubmits.push(this.recorded);
    if (this.recentSubmits.length > 4) this.recentSubmits.shift();
    this.recorded = [];
    this.counters.submits++;
    for (const b of this.stagingToDestroy) b.destroy();
    this.stagingToDestroy = [];
  }

  /** Flushes and waits until the GPU has finished; throws device and kernel errors. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.kernels.check();
    this.throwIfFailed();
  }

  /** Reads `bytes` bytes of a buffer back to the host (flushes recorded work first). */
  async read(src: BufferArg, bytes?: number): Promise<ArrayBuffer> {
    return this.readBack(src, bytes);
  }

  /**
   * Starts a read-back now and waits for it later: the copy is recorded and submitted with everything recorded so far,
   * and the returned promise settles when that submit has run. Work recorded meanwhile goes into the next submit, so
   * the host can record step k + 1 while the GPU runs step k (the trainer reads each step's loss one step late).
   * The promise is marked handled: a device fault surfaces where it is awaited, not as an unhandled rejection.
   *
   * `pace` names a read-back that repeats with a steady latency (the trainer's loss, once a step). Dawn's node binding
   * waits for a GPU promise by polling on every turn of the event loop (a setImmediate and a new native function per
   * turn): it keeps a core busy and makes garbage that outlives the young generation, so its collections land in
   * the recording of later steps (bench/NOTES.md, "2026-12-03 (18:35Z–)"). A paced read-back first sleeps on a timer for
   * most of the latency measured so far and hands Dawn only the rest.
   */
  readLater(src: BufferArg, bytes?: number, pace?: string): Promise<ArrayBuffer> {
    const p = this.readBack(src, bytes, pace);
    p.catch(() => {});
    return p;
  }

  private async readBack(src: BufferArg, bytes?: number, pace?: string): Promise<ArrayBuffer> {
    this.throwIfFailed();
    const r = toRange(src);
    const n = bytes ?? (isPooled(src) ? src.bytes : r.size);
    if (n > r.size) throw new Error(`read: ${n} bytes asked of a ${r.size}-byte range`);
    const padded = Math.max(4, Math.ceil(n / 4) * 4);
    const cls = sizeClass(padded);
    const list = this.readStaging.get(cls);
    const staging = list?.pop() ?? this.device.createBuffer({ size: cls, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'tqhash read-back' });
    this.endPass().copyBufferToBuffer(r.buffer, r.offset, staging, 0, padded);
    this.flush();
    this.counters.readbacks++;
    const t0 = performance.now();
    try {
      await this.sleepForPace(pace);
      await staging.mapAsync(GPUMapMode.READ, 0, padded);
    } catch (e) {
      await this.kernels.check();
      this.throwIfFailed();
      throw new GpuError(`read-back failed: ${(e as Error).message}`);
    }
    if (pace !== undefined) {
      const recent = this.paceMs.get(pace) ?? [];
      recent.push(performance.now() - t0);
      this.paceMs.set(pace, recent.slice(-PACE_WINDOW));
    }
    const out = staging.getMappedRange(0, padded).slice(0, n);
    staging.unmap();
    let back = this.readStaging.get(cls);
    if (!back) this.readStaging.set(cls, (back = []));
    back.push(staging);
    await this.kernels.check();
    this.throwIfFailed();
    return out;
  }

  /** Sleeps (a timer: no polling) for PACE_AHEAD of a paced read-back's least recent latency, less a timer's lateness. */
  private async sleepForPace(pace: string | undefined): Promise<void> {
    const recent = pace === undefined ? undefined : this.paceMs.get(pace);
    const ms = recent ? PACE_AHEAD * Math.min(...recent) - TIMER_LATE_MS : 0;
    if (ms >= 1) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Reads a buffer as float32 values (`count` elements, default all). */
  async readF32(src: BufferArg, count?: number): Promise<Float32Array> {
    return new Float32Array(await this.read(src, count === undefined ? undefined : count * 4));
  }

  /** Reads a buffer as uint32 values (`count` elements, default all). */
  async readU32(src: BufferArg, count?: number): Promise<Uint32Array> {
    return new Uint32Array(await this.read(src, count === undefined ? undefined : count * 4));
  }

  /** Frees every buffer and the device; the process can then exit. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder = null;
    this.pass = null;
    this.bindCache.clear();
    for (const t of this.texelTextures.values()) t.texture.destroy();
    this.texelTextures.clear();
    this.pool.dispose();
    for (const list of this.readStaging.values()) for (const b of list) b.destroy();
    for (const b of this.paramChunks) b.destroy();
    this.device.destroy();
    // Dawn must outlive every device it made, also while a destroyed device is torn down on Dawn's threads:
    // a collected instance kills the process (futex errors). Instances are therefore kept for the process's
    // life (a new runtime after dispose makes another); holding one does not keep Node alive (webgpu 0.6.2).
    if (this.instance) retiredInstances.push(this.instance);
    this.instance = null;
    debug('runtime disposed');
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

let current: Promise<Runtime> | undefined;
const retiredInstances: GPU[] = [];

/** The process-wide runtime, created on first call (adapter selection, device, pool). */
export function getRuntime(): Promise<Runtime> {
  if (!current) {
    // Knob overrides are parsed before a device exists, so a mistake in TQHASH_KNOBS leaves nothing open.
    current = Promise.resolve().then(async () => {
      const overrides = knobOverrides();
      const { instance, device, info } = await selectAdapter();
      const rt = new Runtime(instance, device, info);
      try {
        initKnobs(info, overrides);
      } catch (e) {
        rt.dispose();
        throw e;
      }
      return rt;
    });
    current.catch(() => {
      current = undefined;
    });
  }
  return current;
}

/** Disposes the process-wide runtime (if any); a later getRuntime() makes a new one. */
export async function disposeRuntime(): Promise<void> {
  const c = current;
  current = undefined;
  if (c) (await c.catch(() => undefined))?.dispose();
}

export { kernelKey };
