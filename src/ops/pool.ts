// Op family pool: max- and average-pool 2-D (NCHW, square window, floor mode), forward beside backward.
// Max-pool backward uses the argmax indices saved by the forward (u32, h·W + w in the plane): one read per
// window instead of recomputing k² comparisons, and ties resolve exactly as in the forward (first maximum).
// Both backward kernels gather per input pixel (deterministic, no float atomics).
import { defineBackward, record } from '../autograd.js';
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob, knobView } from '../gpu/knobs.js';

/** Pool options: square window `k`, `stride` (default k), zero padding (default 0, at most k/2). */
export interface Pool2dOptions {
  k: number;
  stride?: number;
  padding?: number;
}

export interface PoolGeometry { N: number; C: number; H: number; W: number; k: number; stride: number; padding: number; OH: number; OW: number }

const FILE = 'pool.wgsl';
const wg = (): number => knob('ops.WG');

export function poolGeometry(op: string, x: Tensor, o: Pool2dOptions): PoolGeometry {
  if (x.dtype !== 'f32') throw new Error(`${op}: x ${x.describe()} must be f32`);
  if (x.shape.length !== 4) throw new Error(`${op}: x ${x.describe()} must be 4-D [N, C, H, W] (NCHW); reshape it first`);
  if (!o || typeof o !== 'object') throw new Error(`${op}: options { k, stride?, padding? } are required`);
  const k = o.k, stride = o.stride ?? o.k, padding = o.padding ?? 0;
  if (!Number.isInteger(k) || k < 1) throw new Error(`${op}: k must be an integer ≥ 1, got ${k}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`${op}: stride must be an integer ≥ 1, got ${stride}`);
  if (!Number.isInteger(padding) || padding < 0) throw new Error(`${op}: padding must be an integer ≥ 0, got ${padding}`);
  if (2 * padding > k) throw new Error(`${op}: padding ${padding} exceeds k/2 = ${k / 2} (a window could hold only padding); use padding ≤ ${Math.floor(k / 2)}`);
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * padding - k) / stride) + 1, OW = Math.floor((W + 2 * padding - k) / stride) + 1;
  if (OH < 1 || OW < 1) throw new Error(`${op}: a ${k}×${k} window does not fit the ${H}×${W} input ${x.describe()} with padding ${padding}; use a smaller k or pad more`);
  return { N, C, H, W, k, stride, padding, OH, OW };
}

function params(g: PoolGeometry, total: number): Record<string, number> {
  return { NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, k: g.k, stride: g.stride, pad: g.padding, total };
}

/** Whether the 'rows' kernels fit: the 3×3 / stride 2 / padding 1 window over rows of a multiple of 8 and an even height. */
export const rowsFit = (g: PoolGeometry) => POOL_KNOBS.rows && g.k === 3 && g.stride === 2 && g.padding === 1 && g.W % 8 === 0 && g.H % 2 === 0;

/** The normalisation a forward 'rows' kernel applies on load (PRE in pool.wgsl): BatchNorm2d's stats [4][C], and ReLU. */
export interface PoolPrologue { stats: Tensor; relu: boolean }

/** A forward 'rows' kernel (rowsFit(g)): y (and the argmax of a max-pool) from x, or from BN(x) with a prologue. */
export function poolRows(kind: 'max' | 'avg', x: Tensor, g: PoolGeometry, y: Tensor, argmax: Tensor | null, pre?: PoolPrologue): void {
  const bindings: Record<string, typeof x.buffer> = { x4: x.buffer, y4: y.buffer };
  if (argmax) bindings.am4 = argmax.buffer;
  bindings.st = (pre?.stats ?? x).buffer; // (unread without a prologue; the binding is static)
  runtime().dispatch(
    { file: FILE, entry: `${kind}_fwd_rows`, overrides: { WG: wg(), PRE: pre ? (pre.relu ? 2 : 1) : 0 } },
    { bindings, params: { ...params(g, y.size), C: g.C }, workgroups: grid1d(y.size / 4, wg()) },
  );
}

/** Max-pool: x [N, C, H, W] → y [N, C, OH, OW], OH = ⌊(H + 2p − k)/stride⌋ + 1 (padding never wins). */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const g = poolGeometry('maxPool2d', x, opts);
  const y = Tensor.empty([g.N, g.C, g.OH, g.OW]);
  const argmax = Tensor.empty(y.shape, 'u32');
  if (rowsFit(g)) {
    poolRows('max', x, g, y, argmax);
  } else {
    runtime().dispatch(
      { file: FILE, entry: 'max_fwd', overrides: { WG: wg() } },
      { bindings: { x: x.buffer, y: y.buffer, argmax: argmax.buffer }, params: params(g, y.size), workgroups: grid1d(y.size, wg()) },
    );
  }
  const out = record('maxPool2d', [x], y, { g, argmax });
  if (!out.node) argmax.dispose(); // not recorded: backward will not need the indices
  return out;
}
/** Max-pool backward kernels: 'gather' (one input pixel per invocation) or 'plane' (one plane per invocation after a clear of dx; the default where it fits). */
export type MaxPoolBackwardVariant = 'gather' | 'plane';
/**
 * Knobs of the pool kernels, a view of the registry (tests and benchmarks select variants here): the max-pool backward
 * variant, and `rows`: the 3×3 / stride 2 / padding 1 kernels that make 4 outputs (8 inputs in the average backward)
 * of a row per invocation from vec4 loads, where W % 8 = 0 and H is even (else the general kernels run).
 */
export const POOL_KNOBS: { maxBackward: MaxPoolBackwardVariant; rows: boolean } = knobView('pool', ['maxBackward', 'rows']);

defineBackward('maxPool2d', (node, gy) => {
  const { g, argmax } = node.ctx as { g: PoolGeometry; argmax: Tensor };
  return [maxPoolBackward(g, argmax, gy)];
});

/** dx of a max-pool from dy and the forward's argmax. */
export function maxPoolBackward(g: PoolGeometry, argmax: Tensor, gy: Tensor): Tensor {
  const dx = Tensor.empty([g.N, g.C, g.H, g.W]);
  if (POOL_KNOBS.maxBackward === 'plane' && (g.H * g.W) % 4 === 0 && (g.OH * g.OW) % 4 === 0) {
    // 4-aligned planes: vec4 views of dy and the argmax; dx zeroed first, then added to in place.
    runtime().zero(dx.buffer);
    runtime().dispatch(
      { file: FILE, entry: 'max_bwd_plane', overrides: { WG: wg() } },
      { bindings: { dy4: gy.buffer, idx4: argmax.buffer, y: dx.buffer }, params: params(g, dx.size), workgroups: grid1d(g.N * g.C, wg()) },
    );
  } else {
    runtime().dispatch(
      { file: FILE, entry: 'max_bwd', overrides: { WG: wg() } },
      { bindings: { dy: gy.buffer, idx: argmax.buffer, y: dx.buffer }, params: params(g, dx.size), workgroups: grid1d(dx.size, wg()) },
    );
  }
  return dx;
}

/** Average-pool (padded zeros count in the divisor k², PyTorch's count_include_pad = true): x [N, C, H, W] → y [N, C, OH, OW]. */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const g = poolGeometry('avgPool2d', x, opts);
  const y = Tensor.empty([g.N, g.C, g.OH, g.OW]);
  if (rowsFit(g)) {
    poolRows('avg', x, g, y, null);
  } else {
    runtime().dispatch({ file: FILE, entry: 'avg_fwd', overrides: { WG: wg() } }, { bindings: { x: x.buffer, y: y.buffer }, params: params(g, y.size), workgroups: grid1d(y.size, wg()) });
  }
  return record('avgPool2d', [x], y, { g });
}
defineBackward('avgPool2d', (node, gy) => {
  const { g } = node.ctx as { g: PoolGeometry };
  return [avgPoolBackward(g, gy)];
});

/** dx of an average-pool from dy. */
export function avgPoolBackward(g: PoolGeometry, gy: Tensor): Tensor {
  const dx = Tensor.empty([g.N, g.C, g.H, g.W]);
  if (rowsFit(g)) {
    runtime().dispatch({ file: FILE, entry: 'avg_bwd_rows', overrides: { WG: wg() } }, { bindings: { dy4: gy.buffer, y4: dx.buffer }, params: params(g, dx.size), workgroups: grid1d(dx.size / 8, wg()) });
  } else {
    runtime().dispatch({ file: FILE, entry: 'avg_bwd', overrides: { WG: wg() } }, { bindings: { dy: gy.buffer, y: dx.buffer }, params: params(g, dx.size), workgroups: grid1d(dx.size, wg()) });
  }
  return dx;
}

