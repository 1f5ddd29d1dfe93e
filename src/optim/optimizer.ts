// The optimiser base: parameters (named like PyTorch's state_dict), their GPU state tensors, grads, lr, and
// host-side save/restore of the state for exact resume.
import { Tensor, runtime } from '../tensor.js';
import { knob, setKnobs, type KnobValues } from '../gpu/knobs.js';

/** Parameters as tensors, or as [name, tensor] pairs (Module.namedParameters()); names key the saved state. */
export type ParamList = readonly Tensor[] | readonly (readonly [string, Tensor])[];

/** One saved state entry (compatible with a safetensors entry: F32 state buffers, U32 step counters). */
export interface SavedTensor {
  dtype?: string;
  shape: readonly number[];
  data: Float32Array | Uint32Array;
}

/** The parameters' names and tensors, with their gradients checked to be f32. */
export function namedParams(params: ParamList, who: string): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const seen = new Set<Tensor>();
  params.forEach((p, i) => {
    const [name, t] = p instanceof Tensor ? [p.name ?? `param${i}`, p] : [p[0], p[1]];
    if (!(t instanceof Tensor)) throw new Error(`${who}: parameter ${i} is not a Tensor`);
    if (t.dtype !== 'f32') throw new Error(`${who}: parameter ${name} ${t.describe()} must be f32`);
    if (seen.has(t)) throw new Error(`${who}: parameter ${name} is listed twice`);
    seen.add(t);
    out.push([name, t]);
  });
  const names = new Set(out.map(([n]) => n));
  if (names.size !== out.length) throw new Error(`${who}: parameter names must be unique (got ${out.map(([n]) => n).join(', ')}); pass [name, tensor] pairs`);
  return out;
}

/** Kernel variant of the optimiser steps: 'auto' (vec4 when the parameter's size is a multiple of 4) or 'scalar'. */
export type OptimVariant = KnobValues['optim.variant'];

/** Selects the optimiser kernel variant (knob optim.variant; tests check both). */
export function setOptimVariant(v: OptimVariant): void {
  setKnobs({ 'optim.variant': v });
}

/** The entry point and binding names for a parameter of n elements: the vec4 kernel when n % 4 = 0. */
export function stepKernel(entry: string, n: number): { entry: string; count: number; name: (b: 'w' | 'grad' | 'm' | 'v') => string } {
  const v4 = knob('optim.variant') === 'auto' && n % 4 === 0;
  return { entry: v4 ? `${entry}_v4` : entry, count: v4 ? n / 4 : n, name: (b) => (v4 ? `${b}4` : b) };
}

/** Zero-filled state tensor kept past any scope (the optimiser owns it). */
export function stateZeros(shape: readonly number[], name: string): Tensor {
  const t = Tensor.empty(shape, 'f32', name).keep();
  if (t.size) runtime().zero(t.buffer);
  return t;
}

/** Common parts of SGD and Adam: parameters, lr, zeroGrad, state save/restore. */
export abstract class Optimizer {
  protected readonly params: [string, Tensor][];
  lr: number;

  constructor(params: ParamList, lr: number, protected readonly who: string) {
    this.params = namedParams(params, who);
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`${who}: lr must be a finite number ≥ 0, got ${lr}`);
    this.lr = lr;
  }

  /** Records one update of every parameter that has a gradient (params without .grad are skipped, like PyTorch). */
  abstract step(): void;

  /** The live GPU state tensors by name (`<param>.momentum_buffer`, `<param>.exp_avg`, `<param>.exp_avg_sq`). */
  abstract stateTensors(): Record<string, Tensor>;

  /** Host counters saved with the state (Adam's per-parameter step counts), by name. */
  protected counters(): Record<string, number> {
    return {};
  }

  protected setCounter(_name: string, _value: number): void {}

  /** Sets the learning rate used by the next step() (schedules call this every step). */
  setLr(lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`${this.who}.setLr: lr must be a finite number ≥ 0, got ${lr}`);
    this.lr = lr;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)): the next backward writes fresh ones. */
  zeroGrad(): void {
    for (const [, t] of this.params) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  /** The parameters with their names. */
  namedParameters(): [string, Tensor][] {
    return this.params.map(([n, t]) => [n, t]);
  }

  /** Reads the state back to the host (state buffers F32, step counters U32 [1]), for a checkpoint. */
  async stateDict(): Promise<Record<string, SavedTensor>> {
    const out: Record<string, SavedTensor> = {};
    for (const [name, t] of Object.entries(this.stateTensors())) out[name] = { dtype: 'F32', shape: [...t.shape], data: (await t.toArray()) as Float32Array };
    for (const [name, v] of Object.entries(this.counters())) out[name] = { dtype: 'U32', shape: [1], data: Uint32Array.of(v) };
    return out;
  }

  /** Restores a state saved by stateDict() (host arrays) or stateTensors() (GPU tensors); every name and shape is checked before anything is written. */
  loadState(state: Record<string, SavedTensor | Tensor>): void {
    const live = this.stateTensors();
    const counters = this.counters();
    const problems: string[] = [];
    for (const [name, t] of Object.entries(live)) {
      const s = state[name];
      if (!s) problems.push(`${name}: missing (the optimiser has [${t.shape.join(', ')}])`);
      else if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) problems.push(`${name}: saved [${s.shape.join(', ')}], optimiser has [${t.shape.join(', ')}]`);
      else if (s instanceof Tensor ? s.dtype !== 'f32' : !(s.data instanceof Float32Array)) problems.push(`${name}: must be f32`);
    }
    for (const name of Object.keys(counters)) {
      const s = state[name];
      const v = s instanceof Tensor ? undefined : s?.data[0];
      if (v === undefined || !Number.isInteger(v) || v < 0) problems.push(`${name}: missing or not a step count (a host U32 [1] entry)`);
    }
    const extra = Object.keys(state).filter((n) => !(n in live) && !(n in counters));
    if (extra.length) problems.push(`the optimiser has no state named ${extra.map((n) => `"${n}"`).join(', ')} (another optimiser type or model?)`);
    if (problems.length) throw new Error(`${this.who}.loadState: the saved state does not fit:\n  ${problems.join('\n  ')}`);
    const rt = runtime();
    for (const [name, t] of Object.entries(live)) {
      const s = state[name];
      if (!t.size) continue;
      if (s instanceof Tensor) rt.copy(s.buffer, t.buffer, t.size * 4);
      else rt.write(t.buffer, s.data);
    }
    for (const name of Object.keys(counters)) this.setCounter(name, (state[name] as SavedTensor).data[0]);
  }

  /** Frees the state tensors (the parameters stay). */
  dispose(): void {
    for (const t of Object.values(this.stateTensors())) t.dispose();
  }
}
