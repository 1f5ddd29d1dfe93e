// Models: DSH's CIFAR-10 network (the default, CPU-sized; PAPER.md "Network") and a small ResNet for real GPUs.
import type { Tensor } from '../tensor.js';
import { add, relu } from '../ops/elementwise.js';
import { Module, type InitScheme } from './module.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tanh } from './layers.js';
import { initParameters } from './init.js';

/** Options of dshNet: code length, batch norm after each conv, init seed and scheme. */
export interface DshNetOptions {
  bits: number;
  batchNorm?: boolean;
  seed?: number;
  init?: InitScheme;
}

/**
 * DSH's network for 3×32×32 inputs: three conv 5×5 (pad 2) stages of 32, 32, 64 channels, each with (BN,) ReLU and a
 * 3×3/2 pool with padding 1 (max, then avg, avg: 32 → 16 → 8 → 4), flatten 64·4·4 = 1024, Linear 1024→500, ReLU,
 * Linear 500→bits, tanh. Output: the descriptor f ∈ (−1, 1)^bits. Names: features.*, flatten, hash.*, tanh.
 * With batchNorm the convs have no bias (BN subtracts the channel mean, so it would get a zero gradient).
 */
export class DshNet extends Sequential {
  readonly bits: number;
  readonly batchNorm: boolean;
  constructor(opts: DshNetOptions) {
    if (!Number.isInteger(opts.bits) || opts.bits < 1) throw new Error(`dshNet: bits must be a positive integer, got ${opts.bits}`);
    const bn = opts.batchNorm ?? false;
    const init = opts.init ?? 'kaiming';
    const stage = (cin: number, cout: number, pool: MaxPool2d | AvgPool2d) => [
      new Conv2d(cin, cout, 5, { padding: 2, init, bias: !bn }),
      ...(bn ? [new BatchNorm2d(cout)] : []),
      new ReLU(),
      pool,
    ];
    const pool = { stride: 2, padding: 1 };
    super();
    const features = new Sequential(
      ...stage(3, 32, new MaxPool2d(3, pool)),
      ...stage(32, 32, new AvgPool2d(3, pool)),
      ...stage(32, 64, new AvgPool2d(3, pool)),
    );
    const hash = new Sequential(new Linear(1024, 500, { init }), new ReLU(), new Linear(500, opts.bits, { init }));
    for (const [n, m] of [['features', features], ['flatten', new Flatten()], ['hash', hash], ['tanh', new Tanh()]] as const) this.layers.push(this.addModule(n, m));
    this.bits = opts.bits;
    this.batchNorm = bn;
    initParameters(this, { seed: opts.seed ?? 0 });
  }

  override forward(x: Tensor): Tensor {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== 32 || w !== 32) throw new Error(`dshNet: input ${x.describe()} must be [N, 3, 32, 32] (CIFAR-10 images, NCHW)`);
    return super.forward(x);
  }
}

/** DSH's CIFAR-10 network (see DshNet), initialised from `seed` (default 0). */
export function dshNet(opts: DshNetOptions): DshNet {
  return new DshNet(opts);
}

/** Options of resnet: code length, blocks per stage (3 stages), width of the first stage, init seed and scheme. */
export interface ResNetOptions {
  bits: number;
  blocks?: number;
  width?: number;
  seed?: number;
  init?: InitScheme;
}

/**
 * A basic residual block (He et al. 2016): relu(bn(conv3×3(relu(bn(conv3×3(x))))) + shortcut(x)); the shortcut is the
 * identity, or a 1×1 conv with stride + BN where the block changes width or resolution. Names: main.*, shortcut.*.
 */
export class BasicBlock extends Module {
  readonly main: Sequential;
  readonly shortcut: Sequential | null;
  constructor(cin: number, cout: number, stride: number, init: InitScheme = 'kaiming') {
    super();
    this.main = this.addModule('main', new Sequential(
      new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, init }), new BatchNorm2d(cout), new ReLU(),
      new Conv2d(cout, cout, 3, { padding: 1, bias: false, init }), new BatchNorm2d(cout),
    ));
    this.shortcut = stride !== 1 || cin !== cout
      ? this.addModule('shortcut', new Sequential(new Conv2d(cin, cout, 1, { stride, bias: false, init }), new BatchNorm2d(cout)))
      : null;
  }

  forward(x: Tensor): Tensor {
    return relu(add(this.main.forward(x), this.shortcut ? this.shortcut.forward(x) : x));
  }
}

/**
 * A small CIFAR ResNet for real GPUs (ResNet-(6·blocks+2) of He et al. §4.2): conv 3×3 3→w, BN, ReLU; three stages
 * of `blocks` BasicBlocks at widths w, 2w, 4w (strides 1, 2, 2: 32 → 16 → 8); global average pool; Linear 4w→bits;
 * tanh. Defaults: blocks 1 (ResNet-8), width 16.
 */
export class ResNet extends Sequential {
  readonly bits: number;
  constructor(opts: ResNetOptions) {
    if (!Number.isInteger(opts.bits) || opts.bits < 1) throw new Error(`resnet: bits must be a positive integer, got ${opts.bits}`);
    const n = opts.blocks ?? 1, w = opts.width ?? 16, init = opts.init ?? 'kaiming';
    if (!Number.isInteger(n) || n < 1) throw new Error(`resnet: blocks must be a positive integer, got ${n}`);
    if (!Number.isInteger(w) || w < 1) throw new Error(`resnet: width must be a positive integer, got ${w}`);
    super();
    const blocks: Module[] = [];
    let cin = w;
    for (const [s, cout] of [[1, w], [2, 2 * w], [2, 4 * w]]) {
      for (let i = 0; i < n; i++) {
        blocks.push(new BasicBlock(cin, cout, i === 0 ? s : 1, init));
        cin = cout;
      }
    }
    const entries: [string, Module][] = [
      ['stem', new Sequential(new Conv2d(3, w, 3, { padding: 1, bias: false, init }), new BatchNorm2d(w), new ReLU())],
      ['blocks', new Sequential(...blocks)],
      ['pool', new AvgPool2d(8)],
      ['flatten', new Flatten()],
      ['hash', new Linear(4 * w, opts.bits, { init })],
      ['tanh', new Tanh()],
    ];
    for (const [name, m] of entries) this.layers.push(this.addModule(name, m));
    this.bits = opts.bits;
    initParameters(this, { seed: opts.seed ?? 0 });
  }

  override forward(x: Tensor): Tensor {
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== 32 || w !== 32) throw new Error(`resnet: input ${x.describe()} must be [N, 3, 32, 32] (CIFAR-10 images, NCHW)`);
    return super.forward(x);
  }
}

/** A small CIFAR ResNet (see ResNet), initialised from `seed` (default 0). */
export function resnet(opts: ResNetOptions): ResNet {
  return new ResNet(opts);
}
