// Adam and AdamW (decoupled weight decay), bias-corrected, PyTorch semantics; one kernel per parameter per step.
import { runtime, type Tensor } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { Optimizer, stateZeros, stepKernel, type ParamList } from './optimizer.js';
import { knob } from '../gpu/knobs.js';

/** Adam hyper-parameters: betas (0.9, 0.999), eps 1e-8, weightDecay 0 by default; decoupled = AdamW. */
export interface AdamOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  decoupled?: boolean;
}

const wg = (): number => knob('ops.WG');

/** Adam (L2 decay in the gradient) or AdamW (decoupled: w ← w·(1 − lr·wd)), as cpu.adamStep; per-parameter step counts. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  /** Steps taken by each parameter (a parameter without a gradient does not advance, like PyTorch's state['step']). */
  private readonly steps: number[];

  constructor(params: ParamList, opts: AdamOptions) {
    super(params, opts.lr, opts.decoupled ? 'AdamW' : 'Adam');
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.decoupled = opts.decoupled ?? false;
    for (const [k, b] of [['betas[0]', this.beta1], ['betas[1]', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`${this.who}: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw new Error(`${this.who}: eps must be > 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`${this.who}: weightDecay must be ≥ 0, got ${this.weightDecay}`);
    this.m = this.params.map(([name, t]) => stateZeros(t.shape, `${name}.exp_avg`));
    this.v = this.params.map(([name, t]) => stateZeros(t.shape, `${name}.exp_avg_sq`));
    this.steps = this.params.map(() => 0);
  }

  step(): void {
    const rt = runtime();
    this.params.forEach(([name, w], k) => {
      const g = w.grad;
      if (!g) return;
      if (g.size !== w.size) throw new Error(`${this.who}.step: gradient ${g.describe()} does not match parameter ${name} ${w.describe()}`);
      const t = ++this.steps[k];
      if (w.size === 0) return;
      const k4 = stepKernel('adam', w.size);
      const params = {
        n: k4.count, lr: this.lr, momentum: 0, wd: this.weightDecay, nesterov: 0,
        beta1: this.beta1, beta2: this.beta2, omb1: 1 - this.beta1, omb2: 1 - this.beta2, eps: this.eps,
        bc1: 1 - Math.pow(this.beta1, t), bc2: 1 - Math.pow(this.beta2, t), decoupled: this.decoupled ? 1 : 0,
      };
      const bindings = { [k4.name('w')]: w.buffer, [k4.name('grad')]: g.buffer, [k4.name('m')]: this.m[k].buffer, [k4.name('v')]: this.v[k].buffer };
      rt.dispatch({ file: 'optim.wgsl', entry: k4.entry, overrides: { WG: wg() } }, { bindings, params, workgroups: grid1d(k4.count, wg()) });
    });
  }

  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.params.forEach(([name], k) => {
      out[`${name}.exp_avg`] = this.m[k];
      out[`${name}.exp_avg_sq`] = this.v[k];
    });
    return out;
  }

  protected override counters(): Record<string, number> {
    const out: Record<string, number> = {};
    this.params.forEach(([name], k) => (out[`${name}.step`] = this.steps[k]));
    return out;
  }

  protected override setCounter(name: string, value: number): void {
    const k = this.params.findIndex(([n]) => `${n}.step` === name);
    if (k >= 0) this.steps[k] = value;
  }
}

/** AdamW: Adam with decoupled weight decay (weightDecay defaults to 0 here, as in cpu.adamwStep; PyTorch's default is 0.01). */
export class AdamW extends Adam {
  constructor(params: ParamList, opts: Omit<AdamOptions, 'decoupled'>) {
    super(params, { ...opts, decoupled: true });
  }
}
