// Models: DSH's CIFAR-10 network (the default, CPU-sized; PAPER.md "Network").
import type { Tensor } from '../tensor.js';
import type { InitScheme } from './module.js';
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
