// The module system: named parameters and buffers (PyTorch-style dotted names), children, train/eval mode.
import { Tensor } from '../tensor.js';

/** How a tensor is initialised (see init.ts): fan-based random draws for weights, constants otherwise. */
export type InitSpec =
  | { kind: 'weight'; fanIn: number; fanOut: number; scheme: InitScheme }
  | { kind: 'const'; value: number };

/** Weight initialisation schemes: Kaiming-normal (fan_in, ReLU gain √2) or Xavier-normal (Glorot). */
export type InitScheme = 'kaiming' | 'xavier';

/** Base class of layers and models: owns parameters (trainable), buffers (state such as BN running stats) and child modules. */
export abstract class Module {
  /** Training mode (true) or evaluation mode (false); BatchNorm uses batch statistics only in training. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly bufs = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  /** The init of each tensor registered here (read by initParameters). */
  readonly initSpecs = new Map<Tensor, InitSpec>();

  /** The module's computation. */
  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable parameter (allocated here, kept alive past scopes, requiresGrad set). */
  protected addParameter(name: string, shape: readonly number[], init: InitSpec): Tensor {
    this.checkName(name);
    const t = Tensor.empty(shape, 'f32', name).keep();
    t.requiresGrad = true;
    this.params.set(name, t);
    this.initSpecs.set(t, init);
    return t;
  }

  /** Registers a non-trainable state tensor that is saved with the model (e.g. BN running mean). */
  protected addBuffer(name: string, shape: readonly number[], init: InitSpec): Tensor {
    this.checkName(name);
    const t = Tensor.empty(shape, 'f32', name).keep();
    this.bufs.set(name, t);
    this.initSpecs.set(t, init);
    return t;
  }

  /** Registers a child module under `name` (its tensors are named `name.<…>`). */
  protected addModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`module member name "${name}" must be non-empty and contain no "."`);
    if (this.params.has(name) || this.bufs.has(name) || this.children.has(name)) throw new Error(`module member "${name}" registered twice`);
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** This module and all descendants with dotted names ('' for this one), depth-first in registration order. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every trainable parameter with its dotted name (`features.0.weight`), in registration order. */
  namedParameters(): [string, Tensor][] {
    return this.collect((m) => m.params);
  }

  /** Every buffer (non-trainable state) with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    return this.collect((m) => m.bufs);
  }

  /** Parameters then buffers: everything a checkpoint holds (PyTorch's state_dict keys, minus num_batches_tracked). */
  namedState(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      const p = prefix ? `${prefix}.` : '';
      for (const [n, t] of m.params) out.push([p + n, t]);
      for (const [n, t] of m.bufs) out.push([p + n, t]);
    }
    return out;
  }

  /** The trainable parameters (for an optimiser). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  private collect(pick: (m: Module) => Map<string, Tensor>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) for (const [n, t] of pick(m)) out.push([prefix ? `${prefix}.${n}` : n, t]);
    return out;
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /** Sets training mode on this module and all descendants; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Sets evaluation mode (BatchNorm uses its running statistics); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's accumulated gradient (frees the buffers). */
  zeroGrad(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  /** Frees every parameter, buffer and gradient of this module tree. */
  dispose(): void {
    this.zeroGrad();
    for (const [, t] of this.namedState()) t.dispose();
  }

  /** Calls forward (so modules read like functions). */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }
}
