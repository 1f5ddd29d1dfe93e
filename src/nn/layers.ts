// Layers: thin modules over the op families (each op records itself on the tape; layers add no autograd of their own).
import type { Tensor } from '../tensor.js';
import { reshape } from '../ops/shape.js';
import { linear } from '../ops/matmul.js';
import { conv2d } from '../ops/conv.js';
import { maxPool2d, avgPool2d, type Pool2dOptions } from '../ops/pool.js';
import { batchNorm2d, type BatchNorm2dOptions } from '../ops/norm.js';
import { batchNorm2dPool2d, bnPoolFits, type BnPoolOptions } from '../ops/bn-pool.js';
import { relu, tanh } from '../ops/elementwise.js';
import { Module, type InitScheme } from './module.js';
import { defaultGenerator, initModuleFrom } from './init.js';

/** Options of Conv2d (PyTorch defaults: stride 1, padding 0, bias true; weights Kaiming-normal). */
export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  init?: InitScheme;
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
}

/** 2-D convolution, weight [cout, cin, k, k], bias [cout]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  constructor(readonly cin: number, readonly cout: number, readonly kernel: number, opts: Conv2dOptions = {}) {
    super();
    positiveInt(cin, 'Conv2d in_channels');
    positiveInt(cout, 'Conv2d out_channels');
    positiveInt(kernel, 'Conv2d kernel_size');
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    positiveInt(this.stride, 'Conv2d stride');
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new Error(`Conv2d padding must be an integer ≥ 0, got ${this.padding}`);
    const k2 = kernel * kernel;
    this.weight = this.addParameter('weight', [cout, cin, kernel, kernel], { kind: 'weight', fanIn: cin * k2, fanOut: cout * k2, scheme: opts.init ?? 'kaiming' });
    this.bias = opts.bias === false ? null : this.addParameter('bias', [cout], { kind: 'const', value: 0 });
    initModuleFrom(this, defaultGenerator());
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }

  /** relu(conv(x)) in one kernel (Sequential fuses Conv2d + ReLU this way). */
  forwardRelu(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, relu: true });
  }
}

/** y = x·Wᵀ + b with weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; init?: InitScheme } = {}) {
    super();
    positiveInt(inFeatures, 'Linear in_features');
    positiveInt(outFeatures, 'Linear out_features');
    this.weight = this.addParameter('weight', [outFeatures, inFeatures], { kind: 'weight', fanIn: inFeatures, fanOut: outFeatures, scheme: opts.init ?? 'kaiming' });
    this.bias = opts.bias === false ? null : this.addParameter('bias', [outFeatures], { kind: 'const', value: 0 });
    initModuleFrom(this, defaultGenerator());
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  /** relu(x·Wᵀ + b) in one kernel (Sequential fuses Linear + ReLU this way). */
  forwardRelu(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, { act: 'relu' });
  }
}

/** Batch normalisation over N·H·W per channel: γ (weight) = 1, β (bias) = 0, running mean 0 / variance 1 (PyTorch names and defaults: eps 1e-5, momentum 0.1). */
export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  /** Training-mode forwards so far (PyTorch's int64 buffer num_batches_tracked; saved with the model, unused by the math). */
  numBatchesTracked = 0;
  constructor(readonly channels: number, readonly opts: { eps?: number; momentum?: number } = {}) {
    super();
    positiveInt(channels, 'BatchNorm2d num_features');
    this.weight = this.addParameter('weight', [channels], { kind: 'const', value: 1 });
    this.bias = this.addParameter('bias', [channels], { kind: 'const', value: 0 });
    this.runningMean = this.addBuffer('running_mean', [channels], { kind: 'const', value: 0 });
    this.runningVar = this.addBuffer('running_var', [channels], { kind: 'const', value: 1 });
    initModuleFrom(this, defaultGenerator());
  }
  forward(x: Tensor): Tensor {
    return this.run(x, false);
  }

  /** relu(bn(x)) in the same passes (Sequential fuses BatchNorm2d + ReLU this way). */
  forwardRelu(x: Tensor): Tensor {
    return this.run(x, true);
  }

  /**
   * pool(relu?(bn(x))) with the pool's kernel normalising on load where it fits (Sequential fuses BatchNorm2d, ReLU,
   * pool this way), else the ops one after another.
   */
  forwardPool(x: Tensor, relu: boolean, pool: MaxPool2d | AvgPool2d): Tensor {
    const p: BnPoolOptions = { kind: pool instanceof MaxPool2d ? 'max' : 'avg', ...pool.poolOptions() };
    if (!bnPoolFits(x, p)) return pool.forward(this.run(x, relu));
    if (this.training) this.numBatchesTracked++;
    return batchNorm2dPool2d(x, this.weight, this.bias, this.runningMean, this.runningVar, this.bnOptions(relu), p);
  }

  private bnOptions(relu: boolean): BatchNorm2dOptions {
    return { training: this.training, eps: this.opts.eps ?? 1e-5, momentum: this.opts.momentum ?? 0.1, relu };
  }

  private run(x: Tensor, relu: boolean): Tensor {
    if (this.training) this.numBatchesTracked++;
    return batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, this.bnOptions(relu));
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Pool geometry: square window, stride defaults to the window, zero padding (floor mode, like PyTorch's ceil_mode=False). */
export interface PoolOptions {
  stride?: number;
  padding?: number;
}

/** The pool op's options of a pool layer (stride defaults to the window, padding to 0). */
const poolOptionsOf = (kernel: number, o: PoolOptions): Pool2dOptions => ({ k: kernel, stride: o.stride ?? kernel, padding: o.padding ?? 0 });

/** Max-pool over k×k windows (padding never wins). */
export class MaxPool2d extends Module {
  constructor(readonly kernel: number, readonly opts: PoolOptions = {}) {
    super();
    positiveInt(kernel, 'MaxPool2d kernel_size');
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.poolOptions());
  }
  poolOptions(): Pool2dOptions {
    return poolOptionsOf(this.kernel, this.opts);
  }
}

/** Average-pool over k×k windows; padded zeros count in the divisor (PyTorch's count_include_pad=True). */
export class AvgPool2d extends Module {
  constructor(readonly kernel: number, readonly opts: PoolOptions = {}) {
    super();
    positiveInt(kernel, 'AvgPool2d kernel_size');
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.poolOptions());
  }
  poolOptions(): Pool2dOptions {
    return poolOptionsOf(this.kernel, this.opts);
  }
}

/** [N, ...] → [N, prod(...)] (a view; differentiable). */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    if (x.shape.length < 1) throw new Error(`Flatten: input ${x.describe()} has no batch dimension`);
    return reshape(x, [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)]);
  }
}

/**
 * Children applied in order; named "0", "1", … like PyTorch's nn.Sequential, or by name with Sequential.named.
 * A Conv2d, Linear or BatchNorm2d directly followed by ReLU runs fused (the activation in the GEMM/conv epilogue, or in
 * BN's apply pass with the mask recomputed in its backward): it saves a pass over the activations each way (the
 * standalone ReLU and its backward cost ~4 and ~5 ms per 4.2 M values on llvmpipe). A BatchNorm2d (+ ReLU) followed
 * by a MaxPool2d or AvgPool2d runs as one op where the pool's kernel can normalise on load (ops/bn-pool.ts): BN's
 * apply pass, its output written and read back, is saved.
 * Set `fuse = false` to run every layer on its own.
 */
export class Sequential extends Module {
  readonly layers: Module[];
  fuse = true;
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.addModule(String(i), l));
  }

  /** A Sequential whose children have the given names (PyTorch's Sequential(OrderedDict(...))). */
  static named(entries: [string, Module][]): Sequential {
    const s = new Sequential();
    for (const [n, l] of entries) s.layers.push(s.addModule(n, l));
    return s;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    const isPool = (m: Module | undefined): m is MaxPool2d | AvgPool2d => m instanceof MaxPool2d || m instanceof AvgPool2d;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i];
      const relu = this.layers[i + 1] instanceof ReLU;
      const pool = this.layers[i + (relu ? 2 : 1)];
      if (this.fuse && l instanceof BatchNorm2d && isPool(pool)) {
        y = l.forwardPool(y, relu, pool);
        i += relu ? 2 : 1;
      } else if (this.fuse && relu && (l instanceof Conv2d || l instanceof Linear || l instanceof BatchNorm2d)) {
        y = l.forwardRelu(y);
        i++;
      } else y = l.forward(y);
    }
    return y;
  }
}
