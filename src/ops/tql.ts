// Op family tql: the paper's fused triplet(-quantization) loss — forward and gradient in one pass of shaders/tql.wgsl;
// the backward rule only scales the saved gradient. Semantics (selection, averaging, edge cases): src/cpu/tql.ts.
import { defineBackward, isGradEnabled, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';
import { tqlDefaults, type TqlOptions, type TqlLossKind, type TqlForm, type TripletSelect } from '../cpu/tql.js';

// One options type and one defaults function for every TQL caller; they live beside the float64 reference.
export { tqlDefaults, defaultMargin, type TqlOptions, type TqlLossKind, type TqlForm, type TripletSelect } from '../cpu/tql.js';

/** What tripletQuantLoss returns: the loss [1] (on the tape) and stats [2] u32 = [#active, #valid] triplets. */
export interface TripletQuantLossResult {
  loss: Tensor;
  stats: Tensor;
}

const LOSS_CODE: Record<TqlLossKind, number> = { tql: 0, triplet: 1, 'triplet+quant': 2 };
const FORM_CODE: Record<TqlForm, number> = { asym: 0, ste: 1, 'asym-ste': 2, smooth: 3 };
const SELECT_CODE: Record<TripletSelect, number> = { all: 0, semihard: 1, hard: 2 };

const FILE = 'tql.wgsl';

function pick<T extends string>(v: T | undefined, table: Record<T, number>, what: string, dflt: T): number {
  const key = v ?? dflt;
  const code = (table as Record<string, number>)[key];
  if (code === undefined) throw new Error(`tripletQuantLoss: ${what} '${key}' is not one of ${Object.keys(table).join(' | ')}`);
  return code;
}

/**
 * The paper's hash loss of descriptors f [B, k] (already tanh'ed) with labels [B] (u32 tensor or host array) → { loss [1],
 * stats [2] u32 }. Edge cases as src/cpu/tql.ts: no valid or no active triplet → triplet part 0 with gradient 0.
 * The gradient is computed in the same submit when f requires grad; backward only scales it.
 */
export function tripletQuantLoss(f: Tensor, labels: Tensor | Uint32Array | readonly number[], opts: TqlOptions = {}): TripletQuantLossResult {
  if (f.dtype !== 'f32' || f.shape.length !== 2) throw new Error(`tripletQuantLoss: f ${f.describe()} must be f32 [B, k]`);
  const [B, k] = f.shape;
  if (B < 1 || k < 1) throw new Error(`tripletQuantLoss: f ${f.describe()} needs B ≥ 1 and k ≥ 1`);
  if (B > 4096) throw new Error(`tripletQuantLoss: batch ${B} needs ${(B * B * 28) / 2 ** 20} MiB of pair buffers; use B ≤ 4096 (the paper's batches are ≤ 512)`);
  const d = tqlDefaults(k);
  const o = { ...d, ...opts };
  for (const [name, v] of [['margin', o.margin], ['marginQ', o.marginQ], ['lambda', o.lambda], ['beta', o.beta]] as const) {
    if (!Number.isFinite(v)) throw new Error(`tripletQuantLoss: ${name} = ${v} must be a finite number`);
  }
  // The blocked kernels read rows of f and of the pair matrices as vec4: k % 4 = 0, pair rows padded to Bs.
  const blocked = knob('tql.variant') === 'blocked' && k % 4 === 0;
  const Bs = blocked ? Math.ceil(B / 4) * 4 : B;
  const params = {
    B, k, Bs,
    loss: pick(opts.loss, LOSS_CODE, 'loss', d.loss),
    form: pick(opts.form, FORM_CODE, 'form', d.form),
    select: pick(opts.select, SELECT_CODE, 'select', d.select),
    margin: o.margin, marginQ: o.marginQ, lambda: o.lambda, beta: o.beta,
  };
  let lab: Tensor;
  let ownLabels = false;
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'u32' || labels.size !== B) throw new Error(`tripletQuantLoss: labels ${labels.describe()} must be u32 [${B}] (one per row of f ${f.describe()})`);
    lab = labels;
  } else {
    if (labels.length !== B) throw new Error(`tripletQuantLoss: ${labels.length} labels for f ${f.describe()}; need ${B}`);
    for (let i = 0; i < B; i++) {
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y > 0xffffffff) throw new Error(`tripletQuantLoss: labels[${i}] = ${y} is not a u32`);
    }
    lab = Tensor.from(Uint32Array.from(labels), [B], 'u32', 'labels');
    ownLabels = true;
  }
  const rt = runtime();
  const wantGrad = isGradEnabled() && f.requiresGrad;
  const pair = () => rt.alloc(B * Bs * 4, 'tql pairs');
  const D = pair(), Dq = pair(), S = pair(), Q = pair();
  const lossPart = rt.alloc(B * B * 4, 'tql loss parts');
  const counts = rt.alloc(B * B * 8, 'tql counts');
  const sel = rt.alloc(B * 8, 'tql hard');
  // Labels as vec4 need B padded to Bs; the padding is never read as a label of a real image.
  let lab4 = lab.buffer;
  if (blocked && Bs !== B) {
    lab4 = rt.alloc(Bs * 4, 'tql labels');
    rt.copy(lab.buffer, lab4, B * 4);
  }
  const loss = Tensor.empty([1], 'f32', 'tql loss');
  const stats = Tensor.empty([2], 'u32', 'tql stats');
  const WX = knob('tql.WX'), WY = knob('tql.WY'), WG = knob('ops.WG');
  const nb = Math.ceil(B / 4);
  const pairGrid: [number, number] = [Math.ceil(B / WX), Math.ceil(B / WY)];
  const ov = { WX, WY };
  // The blocked kernels' option codes are overrides (shaders/tql.wgsl says why); each gets only those it reads.
  const LOSS = params.loss, FORM = params.form, SEL = params.select;
  if (blocked) {
    rt.dispatch({ file: FILE, entry: 'tql_dist4', overrides: { ...ov, LOSS, FORM } }, {
      bindings: { f4: f.buffer, D4: D, Dq4: Dq },
      params,
      // 8 others (2 blocks) × 4 anchors per invocation.
      workgroups: [Math.ceil(B / 8 / WX), Math.ceil(nb / WY)],
    });
  } else {
    rt.dispatch({ file: FILE, entry: 'tql_dist', overrides: ov }, { bindings: { f: f.buffer, D, Dq }, params, workgroups: pairGrid });
  }
  if (params.select === SELECT_CODE.hard) {
    rt.dispatch({ file: FILE, entry: 'tql_hard', overrides: { WG } }, { bindings: { labels: lab.buffer, D, sel }, params, workgroups: grid1d(B, WG) });
  }
  if (blocked && params.select !== SELECT_CODE.hard) {
    rt.dispatch({ file: FILE, entry: 'tql_pairs4', overrides: { ...ov, LOSS, SEL } }, {
      bindings: { lab4, D4: D, Dq4: Dq, S4: S, Q4: Q, lossPart, counts },
      params,
      // 16 others (4 blocks) per invocation.
      workgroups: [Math.ceil(Math.ceil(nb / 4) / WX), Math.ceil(B / WY)],
    });
  } else {
    rt.dispatch({ file: FILE, entry: 'tql_pairs', overrides: ov }, { bindings: { labels: lab.buffer, D, Dq, sel, S, Q, lossPart, counts }, params, workgroups: pairGrid });
  }
  rt.dispatch({ file: FILE, entry: 'tql_reduce', overrides: { RWG: knob('tql.RWG') } }, { bindings: { f: f.buffer, lossPart, counts, loss: loss.buffer, stats: stats.buffer }, params, workgroups: 1 });
  let grad: Tensor | null = null;
  if (wantGrad) {
    grad = Tensor.empty([B, k], 'f32', 'tql grad');
    if (blocked) {
      rt.dispatch({ file: FILE, entry: 'tql_grad4', overrides: { ...ov, LOSS, FORM, SEL } }, {
        bindings: { f4: f.buffer, S4: S, Q4: Q, stats: stats.buffer, grad4: grad.buffer },
        params,
        // 4 rows × 8 columns per invocation.
        workgroups: [Math.ceil(nb / WX), Math.ceil(k / 8 / WY)],
      });
    } else {
      rt.dispatch({ file: FILE, entry: 'tql_grad', overrides: ov }, {
        bindings: { f: f.buffer, S, Q, stats: stats.buffer, grad: grad.buffer },
        params,
        workgroups: [Math.ceil(k / WX), Math.ceil(B / WY)],
      });
    }
  }
  if (lab4 !== lab.buffer) rt.free(lab4);
  for (const b of [D, Dq, S, Q, lossPart, counts, sel]) rt.free(b);
  if (ownLabels) lab.dispose();
  if (!grad) return { loss, stats };
  return { loss: record('tripletQuantLoss', [f], loss, { grad, B, k }), stats };
}
defineBackward('tripletQuantLoss', (node, gy) => {
  const { grad, B, k } = node.ctx as { grad: Tensor; B: number; k: number };
  const dx = Tensor.empty([B, k]);
  const WG = knob('ops.WG');
  runtime().dispatch(
    { file: FILE, entry: 'tql_scale', overrides: { WG } },
    { bindings: { grad: grad.buffer, gy: gy.buffer, dx: dx.buffer }, params: { B, k, loss: 0, form: 0, select: 0, margin: 0, marginQ: 0, lambda: 0, beta: 0 }, workgroups: grid1d(B * k, WG) },
  );
  return [dx];
});
