// Tensors: a shape, a dtype and a pooled GPU buffer; plus the engine handle and memory scopes.
import { getRuntime, type Runtime } from './gpu/runtime.js';
import type { PooledBuffer } from './gpu/buffers.js';
import type { TapeNode } from './autograd.js';
import { grid1d } from './gpu/grid.js';

export type DType = 'f32' | 'u32';
export type TypedArrayOf<D extends DType> = D extends 'u32' ? Uint32Array : Float32Array;

let rt: Runtime | undefined;

/** Starts the engine (adapter, device) and returns its runtime; ops need it before they run. */
export async function init(): Promise<Runtime> {
  rt = await getRuntime();
  return rt;
}

/** The engine's runtime; throws when init() has not been awaited. */
export function runtime(): Runtime {
  if (!rt || rt.isDisposed) throw new Error('the tqhash engine is not started: call `await init()` first');
  return rt;
}

/** Number of elements of a shape (validated: non-negative integers). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

// Memory scopes: tensors created inside scope() are disposed at its end unless returned or kept.
const scopes: Set<Tensor>[] = [];
let poisonNew = false;

/** Test mode: every new tensor from Tensor.empty is filled with NaN, so unwritten outputs show up. */
export function setPoison(on: boolean): void {
  poisonNew = on;
}

/** A GPU tensor (row-major). Activations are NCHW throughout the engine. */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  requiresGrad: boolean;
  /** Accumulated gradient (same shape), set by backward(). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when recorded on the tape. */
  node: TapeNode | null = null;
  name: string | undefined;
  private buf: PooledBuffer | null;
  /** False for views (reshapeView): they share the buffer and never free it. */
  private owner = true;

  constructor(shape: readonly number[], dtype: DType, buf: PooledBuffer, requiresGrad = false, name?: string) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = numel(shape);
    this.buf = buf;
    this.requiresGrad = requiresGrad;
    this.name = name;
    scopes[scopes.length - 1]?.add(this);
  }

  /** An uninitialised tensor from the pool. */
  static empty(shape: readonly number[], dtype: DType = 'f32', name?: string): Tensor {
    const n = numel(shape);
    const r = runtime();
    const t = new Tensor(shape, dtype, r.alloc(Math.max(4, n * 4), name), false, name);
    if (poisonNew && n > 0) {
      const wg = 64;
      r.dispatch({ file: 'util.wgsl', entry: 'poison', overrides: { WG: wg } }, { bindings: { y: t.buffer }, params: { n, value: 0 }, workgroups: grid1d(n, wg) });
    }
    return t;
  }

  /** A tensor holding a copy of `data` (length must match the shape). */
  static from(data: ArrayLike<number> | Float32Array | Uint32Array, shape: readonly number[], dtype?: DType, name?: string): Tensor {
    const n = numel(shape);
    if (data.length !== n) throw new Error(`Tensor.from: ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
    const dt: DType = dtype ?? (data instanceof Uint32Array ? 'u32' : 'f32');
    const arr = dt === 'u32' ? (data instanceof Uint32Array ? data : Uint32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    const t = Tensor.empty(shape, dt, name);
    if (n > 0) runtime().write(t.buffer, arr);
    return t;
  }

  /** The pooled buffer (throws when the tensor was disposed). */
  get buffer(): PooledBuffer {
    if (!this.buf) throw new Error(`tensor ${this.describe()} was disposed and cannot be used`);
    return this.buf;
  }

  get isDisposed(): boolean {
    return this.buf === null;
  }

  /** "name [2, 3] f32" for error messages. */
  describe(): string {
    return `${this.name ?? 'tensor'} [${this.shape.join(', ')}] ${this.dtype}`;
  }

  /** Reads the values back (flushes recorded work). */
  async toArray(): Promise<Float32Array | Uint32Array> {
    const r = runtime();
    if (this.size === 0) return this.dtype === 'u32' ? new Uint32Array(0) : new Float32Array(0);
    return this.dtype === 'u32' ? r.readU32(this.buffer, this.size) : r.readF32(this.buffer, this.size);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got ${this.describe()}`);
    return (await this.toArray())[0];
  }

  /** Returns the buffer to the pool now (the tensor and its grad become unusable). */
  dispose(): void {
    if (this.buf && this.owner) runtime().free(this.buf);
    this.buf = null;
    for (const s of scopes) s.delete(this);
  }

  /** Keeps this tensor alive past the enclosing scope(s). */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  /** Moves this tensor's buffer into a new tensor of another shape; this one becomes disposed. */
  reshapeInto(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) throw new Error(`reshape ${this.describe()} to [${shape.join(', ')}]: sizes differ`);
    if (!this.owner) throw new Error(`reshapeInto: ${this.describe()} is a view and owns no buffer`);
    const t = new Tensor(shape, this.dtype, this.buffer, false, this.name);
    this.buf = null;
    for (const s of scopes) s.delete(this);
    return t;
  }

  /** A view of the same buffer with another shape of equal size (no copy; not recorded: use ops.reshape for autograd). The view must not outlive this tensor. */
  reshapeView(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) throw new Error(`reshape ${this.describe()} to [${shape.join(', ')}]: sizes differ`);
    const t = Object.create(Tensor.prototype) as Tensor;
    Object.assign(t, this, { shape: Object.freeze([...shape]), size: this.size, grad: null, node: null, owner: false });
    return t;
  }
}

/** Runs fn; tensors created inside are disposed at the end, except the returned ones (tensor, array or object of tensors) and kept ones. */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('scope(fn): fn must be synchronous (record work, read back outside)');
  } finally {
    scopes.pop();
  }
  const keepers = new Set<Tensor>();
  collect(result, keepers);
  for (const t of mine) {
    if (keepers.has(t)) {
      scopes[scopes.length - 1]?.add(t);
      continue;
    }
    if (!t.isDisposed) t.dispose();
  }
  return result;
}

function collect(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out);
}
