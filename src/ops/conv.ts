// Op family conv: conv2d forward beside its backward rule (backward-data and backward-weights + bias).
//
// Layout NCHW (engine-wide): seen as an implicit GEMM, the "N" dimension is the output pixels, which are
// contiguous per (image, channel) plane in NCHW, so a run of output pixels maps straight onto the SIMD lanes
// (llvmpipe vectorises invocations along the workgroup's x) and onto vec4 accumulators; the weights a step
// needs (a block of output channels) are then the same for every lane. With NHWC the lanes would instead
// stride by C through memory for every pixel.
//
// Variants (both checked by test/conv.test.js, timed side by side in bench/NOTES.md):
//   'naive' — one output element per invocation, plain loops, weights read in place;
//   'rb'    — implicit GEMM (no im2col buffer), register-blocked without barriers or shared memory:
//             8 output channels × 4 output pixels per invocation; backward-data is the same kernel run on dy
//             dilated by the stride with flipped, channel-swapped weights; backward-weights splits the batch into
//             partial sums reduced in a fixed order (deterministic, no atomics).
import { defineBackward, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from './grid.js';

export type ConvVariant = 'naive' | 'rb';

/** conv2d options: square stride and zero padding (both axes), fused ReLU, kernel variant (default 'rb'). */
export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  relu?: boolean;
  variant?: ConvVariant;
}

/** The sizes of one conv2d. */
export interface ConvGeometry {
  N: number; Cin: number; H: number; W: number;
  Cout: number; KH: number; KW: number;
  stride: number; padding: number;
  OH: number; OW: number;
}

const FILE = 'conv.wgsl';
const WG = 64;
/** Knobs of the rb kernels (benchmarks may change them): WGX = lanes along the workgroup's x, ≥ 8 on llvmpipe (DESIGN.md). */
export const CONV_KNOBS = { WGX: 8 };
const CO_B = 8; // output channels per invocation in the rb kernels
const MAX_KW_RB = 8; // dw_rb keeps 8·KW accumulators
const SEG = 16; // fwd_rb keeps a row segment of 3·stride + KW inputs in registers

/** Whether the rb forward kernel handles this kernel width and stride (else the naive kernel runs). */
const rbFits = (KW: number, stride: number) => 3 * stride + KW <= SEG;

const PARAM_NAMES = ['N', 'Cin', 'Hin', 'Win', 'Cout', 'Hout', 'Wout', 'KH', 'KW', 'stride', 'pad', 'padW', 'dil', 'CoutP', 'relu', 'hasBias', 'nPer', 'splits', 'total'] as const;
type ConvParams = Partial<Record<(typeof PARAM_NAMES)[number], number>>;

function params(p: ConvParams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of PARAM_NAMES) out[k] = p[k] ?? 0;
  return out;
}

type RbSizes = { N: number; Hout: number; Wout: number; Cout: number; KH: number; KW: number };

function fwdParams(g: ConvGeometry): ConvParams & RbSizes {
  return { N: g.N, Cin: g.Cin, Hin: g.H, Win: g.W, Cout: g.Cout, Hout: g.OH, Wout: g.OW, KH: g.KH, KW: g.KW, stride: g.stride, pad: g.padding, padW: g.padding, dil: 1 };
}

function checkInt(v: number, name: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`conv2d: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** Validates conv2d operands and returns the geometry (messages name the tensor, expected vs actual, and the fix). */
export function conv2dGeometry(xShape: readonly number[], wShape: readonly number[], opts: { stride?: number; padding?: number } = {}, bShape?: readonly number[]): ConvGeometry {
  if (xShape.length !== 4) throw new Error(`conv2d: x has shape [${xShape.join(', ')}], expected 4-D [N, Cin, H, W] (NCHW); reshape it first`);
  if (wShape.length !== 4) throw new Error(`conv2d: w has shape [${wShape.join(', ')}], expected 4-D [Cout, Cin, KH, KW]`);
  const [N, Cin, H, W] = xShape;
  const [Cout, wCin, KH, KW] = wShape;
  if (wCin !== Cin) throw new Error(`conv2d: w [${wShape.join(', ')}] expects ${wCin} input channels but x [${xShape.join(', ')}] has ${Cin}; weights are [Cout, Cin, KH, KW]`);
  if (bShape && (bShape.length !== 1 || bShape[0] !== Cout)) throw new Error(`conv2d: bias has shape [${bShape.join(', ')}], expected [${Cout}] (one per output channel)`);
  const stride = opts.stride ?? 1, padding = opts.padding ?? 0;
  checkInt(stride, 'stride', 1);
  checkInt(padding, 'padding', 0);
  for (const [v, name] of [[N, 'N'], [Cin, 'Cin'], [H, 'H'], [W, 'W'], [Cout, 'Cout'], [KH, 'KH'], [KW, 'KW']] as const) checkInt(v, name, 1);
  const OH = Math.floor((H + 2 * padding - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * padding - KW) / stride) + 1;
  if (OH < 1 || OW < 1) throw new Error(`conv2d: a ${KH}×${KW} kernel does not fit the ${H}×${W} input with padding ${padding}; pad by at least ${Math.ceil((Math.max(KH - H, KW - W)) / 2)}`);
  if (N > 65535) throw new Error(`conv2d: batch ${N} exceeds the 65,535 workgroups per grid dimension; split the batch`);
  return { N, Cin, H, W, Cout, KH, KW, stride, padding, OH, OW };
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

function checkF32(t: Tensor, name: string): void {
  if (t.dtype !== 'f32') throw new Error(`conv2d: ${name} ${t.describe()} must be f32`);
}

/** Weights rearranged for the rb kernel: [(ci·KH + kh)·KW + kw][CoutP] (forward) or flipped with channels swapped (backward-data). */
function transposedWeights(w: Tensor, g: ConvGeometry, dir: 'forward' | 'backward'): { wt: Tensor; CoutP: number } {
  const rows = dir === 'forward' ? g.Cin : g.Cout, cols = dir === 'forward' ? g.Cout : g.Cin;
  const CoutP = roundUp(cols, CO_B);
  const wt = Tensor.empty([rows * g.KH * g.KW * CoutP]);
  const total = wt.size;
  runtime().dispatch(
    { file: FILE, entry: dir === 'forward' ? 'wt_forward' : 'wt_backward', overrides: { WG } },
    { bindings: { w: w.buffer, y: wt.buffer }, params: params({ Cin: rows, Cout: cols, KH: g.KH, KW: g.KW, CoutP, total }), workgroups: grid1d(total, WG) },
  );
  return { wt, CoutP };
}

/** The rb kernel: y[N, Cout_k, Hout, Wout] from an input [N, Cin_k, Hin, Win] and transposed weights. */
function dispatchRb(input: Tensor, wt: Tensor, bias: Tensor | null, y: Tensor, k: ConvParams & RbSizes, STRIDE: number, DIL: number): void {
  const pxBlocks = Math.ceil(k.Wout / 4);
  runtime().dispatch(
    { file: FILE, entry: 'fwd_rb', overrides: { WGX: CONV_KNOBS.WGX, KH: k.KH, KW: k.KW, STRIDE, DIL } },
    {
      bindings: { x: input.buffer, wt4: wt.buffer, bias: (bias ?? input).buffer, y: y.buffer },
      params: params({ ...k, hasBias: bias ? 1 : 0 }),
      workgroups: [Math.ceil((k.Hout * pxBlocks) / CONV_KNOBS.WGX), k.N, Math.ceil(k.Cout / CO_B)],
    },
  );
}

/** y = conv2d(x, w) + b (optionally ReLU'd): x [N, Cin, H, W], w [Cout, Cin, KH, KW], b [Cout] or null → y [N, Cout, OH, OW]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  checkF32(x, 'x'); checkF32(w, 'w'); if (b) checkF32(b, 'bias');
  const g = conv2dGeometry(x.shape, w.shape, opts, b?.shape);
  const relu = opts.relu ?? false, variant = opts.variant ?? 'rb';
  const y = Tensor.empty([g.N, g.Cout, g.OH, g.OW]);
  if (variant !== 'naive' && variant !== 'rb') throw new Error(`conv2d: unknown variant "${variant as string}"; use 'naive' or 'rb'`);
  if (variant === 'naive' || !rbFits(g.KW, g.stride)) {
    runtime().dispatch(
      { file: FILE, entry: 'fwd_naive', overrides: { WG } },
      { bindings: { x: x.buffer, w: w.buffer, bias: (b ?? w).buffer, y: y.buffer }, params: params({ ...fwdParams(g), relu: relu ? 1 : 0, hasBias: b ? 1 : 0, total: y.size }), workgroups: grid1d(y.size, WG) },
    );
  } else {
    const { wt, CoutP } = transposedWeights(w, g, 'forward');
    dispatchRb(x, wt, b, y, { ...fwdParams(g), CoutP, relu: relu ? 1 : 0 }, g.stride, 1);
    wt.dispose();
  }
  return record('conv2d', [x, w, b], y, { g, relu, variant });
}

/** dx of conv2d: dy [N, Cout, OH, OW], w [Cout, Cin, KH, KW] → dx [N, Cin, H, W] for the geometry of the forward. */
export function conv2dBackwardData(dy: Tensor, w: Tensor, g: ConvGeometry, variant: ConvVariant = 'rb'): Tensor {
  const dx = Tensor.empty([g.N, g.Cin, g.H, g.W]);
  if (variant === 'naive' || !rbFits(g.KW, 1)) {
    runtime().dispatch(
      { file: FILE, entry: 'dx_naive', overrides: { WG } },
      { bindings: { dy: dy.buffer, w: w.buffer, y: dx.buffer }, params: params({ ...fwdParams(g), total: dx.size }), workgroups: grid1d(dx.size, WG) },
    );
  } else {
    // dx = conv(dy dilated by the stride, flipped weights with Cin/Cout swapped, padding K−1−p), stride 1.
    const { wt, CoutP } = transposedWeights(w, g, 'backward');
    dispatchRb(dy, wt, null, dx, {
      N: g.N, Cin: g.Cout, Hin: g.OH, Win: g.OW, Cout: g.Cin, Hout: g.H, Wout: g.W, KH: g.KH, KW: g.KW,
      stride: 1, pad: g.KH - 1 - g.padding, padW: g.KW - 1 - g.padding, dil: g.stride, CoutP, relu: 0,
    }, 1, g.stride);
    wt.dispose();
  }
  return dx;
}

/** Number of batch splits of the rb backward-weights kernel (enough invocations to fill the lanes and cores). */
function dwSplits(g: ConvGeometry): number {
  const perSplit = g.Cin * g.KH * Math.ceil(g.Cout / CO_B);
  const want = Math.max(1, Math.min(g.N, Math.ceil(2048 / perSplit)));
  return Math.ceil(g.N / Math.ceil(g.N / want));
}

/** dw and db of conv2d: x [N, Cin, H, W], dy [N, Cout, OH, OW] → dw [Cout, Cin, KH, KW], db [Cout] (deterministic sums). */
export function conv2dBackwardWeights(x: Tensor, dy: Tensor, g: ConvGeometry, variant: ConvVariant = 'rb'): { dw: Tensor; db: Tensor } {
  const dw = Tensor.empty([g.Cout, g.Cin, g.KH, g.KW]);
  const db = Tensor.empty([g.Cout]);
  const rt = runtime();
  if (variant === 'naive' || g.KW > MAX_KW_RB) {
    rt.dispatch(
      { file: FILE, entry: 'dw_naive', overrides: { WG } },
      { bindings: { x: x.buffer, dy: dy.buffer, y: dw.buffer, db: db.buffer }, params: params({ ...fwdParams(g), total: dw.size }), workgroups: grid1d(dw.size, WG) },
    );
    return { dw, db };
  }
  const splits = dwSplits(g), nPer = Math.ceil(g.N / splits);
  const len = dw.size + g.Cout;
  const part = Tensor.empty([splits * len]);
  rt.dispatch(
    { file: FILE, entry: 'dw_rb', overrides: { WGX: CONV_KNOBS.WGX, KH: g.KH, KW: g.KW, STRIDE: g.stride } },
    { bindings: { x: x.buffer, dy: dy.buffer, part: part.buffer }, params: params({ ...fwdParams(g), nPer, splits }), workgroups: [Math.ceil((g.Cin * g.KH) / CONV_KNOBS.WGX), Math.ceil(g.Cout / CO_B), splits] },
  );
  rt.dispatch(
    { file: FILE, entry: 'dw_reduce', overrides: { WG } },
    { bindings: { part: part.buffer, y: dw.buffer, db: db.buffer }, params: params({ Cout: g.Cout, splits, total: len }), workgroups: grid1d(len, WG) },
  );
  part.dispose();
  return { dw, db };
}

defineBackward('conv2d', (node, gy) => {
  const [x, w, b] = node.inputs as [Tensor, Tensor, Tensor | null];
  const { g, relu, variant } = node.ctx as { g: ConvGeometry; relu: boolean; variant: ConvVariant };
  let dy = gy;
  if (relu) {
    dy = Tensor.empty(gy.shape);
    runtime().dispatch(
      { file: FILE, entry: 'relu_mask', overrides: { WG } },
      { bindings: { x: node.output.buffer, dy: gy.buffer, y: dy.buffer }, params: params({ total: gy.size }), workgroups: grid1d(gy.size, WG) },
    );
  }
  const dx = x.requiresGrad ? conv2dBackwardData(dy, w, g, variant) : null;
  let dw: Tensor | null = null, db: Tensor | null = null;
  if (w.requiresGrad || b?.requiresGrad) {
    ({ dw, db } = conv2dBackwardWeights(x, dy, g, variant));
    if (!b) { db.dispose(); db = null; }
  }
  if (dy !== gy) dy.dispose();
  return [dx, dw, db];
});
