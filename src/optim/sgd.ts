// SGD with momentum, L2 weight decay and Nesterov (PyTorch's torch.optim.SGD with dampening 0), one kernel per parameter.
import { runtime, type Tensor } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import type { PooledBuffer } from '../gpu/buffers.js';
import { Optimizer, stateZeros, stepKernel, type ParamList } from './optimizer.js';
import { knob } from '../gpu/knobs.js';

/** SGD hyper-parameters (momentum, weightDecay default 0; nesterov needs momentum > 0). */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

const wg = (): number => knob('ops.WG');

/** SGD: g' = g + wd·w; m ← μ·m + g'; w ← w − lr·(nesterov ? g' + μ·m : m) (cpu.sgdStep). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buffers: (Tensor | null)[];

  constructor(params: ParamList, opts: SGDOptions) {
    super(params, opts.lr, 'SGD');
    this.momentum = opts.momentum ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`SGD: momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`SGD: weightDecay must be ≥ 0, got ${this.weightDecay}`);
    if (this.nesterov && this.momentum === 0) throw new Error('SGD: nesterov needs momentum > 0');
    // Momentum buffers start at zeros: μ·0 + g equals PyTorch's first-step copy of g.
    this.buffers = this.params.map(([name, t]) => (this.momentum > 0 ? stateZeros(t.shape, `${name}.momentum_buffer`) : null));
  }

  step(): void {
    const rt = runtime();
    this.params.forEach(([name, w], k) => {
      const g = w.grad;
      if (!g || w.size === 0) return;
      if (g.size !== w.size) throw new Error(`SGD.step: gradient ${g.describe()} does not match parameter ${name} ${w.describe()}`);
      const m = this.buffers[k];
      const k4 = stepKernel(m ? 'sgd_momentum' : 'sgd', w.size);
      const params = { n: k4.count, lr: this.lr, momentum: this.momentum, wd: this.weightDecay, nesterov: this.nesterov ? 1 : 0, beta1: 0, beta2: 0, omb1: 0, omb2: 0, eps: 0, bc1: 1, bc2: 1, decoupled: 0 };
      const bindings: Record<string, PooledBuffer> = { [k4.name('w')]: w.buffer, [k4.name('grad')]: g.buffer };
      if (m) bindings[k4.name('m')] = m.buffer;
      rt.dispatch({ file: 'optim.wgsl', entry: k4.entry, overrides: { WG: wg() } }, { bindings, params, workgroups: grid1d(k4.count, wg()) });
    });
  }

  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.params.forEach(([name], k) => {
      const m = this.buffers[k];
      if (m) out[`${name}.momentum_buffer`] = m;
    });
    return out;
  }
}
