// Max- and average-pool references (NCHW, square kernel/stride/padding, ceil_mode false): forward and backward.
import { expectInt, expectLength } from './check.js';

/** Shape of a 2-D pool: input [N, C, H, W], square window `kernel`, `stride` (default kernel), zero/−∞ `padding` (default 0, at most kernel/2). */
export interface Pool2dShape {
  N: number; C: number; H: number; W: number;
  kernel: number;
  stride?: number;
  padding?: number;
}

interface Geo { N: number; C: number; H: number; W: number; k: number; s: number; p: number; OH: number; OW: number }

function geometry(g: Pool2dShape, name: string): Geo {
  for (const key of ['N', 'C', 'H', 'W', 'kernel'] as const) expectInt(g[key], `${name} ${key}`);
  const k = g.kernel, s = g.stride ?? k, p = g.padding ?? 0;
  expectInt(s, `${name} stride`); expectInt(p, `${name} padding`, 0);
  if (2 * p > k) throw new Error(`cpu.${name}: padding ${p} exceeds kernel/2 = ${k / 2} (PyTorch's limit; a window could hold only padding)`);
  const OH = Math.floor((g.H + 2 * p - k) / s) + 1, OW = Math.floor((g.W + 2 * p - k) / s) + 1;
  if (OH < 1 || OW < 1) throw new Error(`cpu.${name}: output would be ${OH}×${OW} for input ${g.H}×${g.W}, kernel ${k}, stride ${s}, padding ${p}`);
  return { N: g.N, C: g.C, H: g.H, W: g.W, k, s, p, OH, OW };
}

/** Output spatial size { OH, OW } = floor((H + 2p − kernel)/stride) + 1 of a pool shape (ceil_mode false). */
export function pool2dOutShape(g: Pool2dShape): { OH: number; OW: number } {
  const { OH, OW } = geometry(g, 'pool2d');
  return { OH, OW };
}

/** y = max over each window (padding never wins); argmax = index h·W + w inside the (n, c) plane of x, the first maximum in row-major window order on ties: x [N,C,H,W] → y, argmax [N,C,OH,OW]. */
export function maxPool2d(x: Float64Array, shape: Pool2dShape): { y: Float64Array; argmax: Int32Array } {
  const g = geometry(shape, 'maxPool2d');
  expectLength(x, g.N * g.C * g.H * g.W, 'maxPool2d x', '[N, C, H, W]');
  const y = new Float64Array(g.N * g.C * g.OH * g.OW);
  const argmax = new Int32Array(y.length);
  for (let nc = 0; nc < g.N * g.C; nc++) {
    const plane = nc * g.H * g.W;
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        let best = -Infinity, at = -1;
        for (let kh = 0; kh < g.k; kh++) {
          const ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.k; kw++) {
            const iw = ow * g.s - g.p + kw;
            if (iw < 0 || iw >= g.W) continue;
            const v = x[plane + ih * g.W + iw];
            // Strict '>': a later equal value does not replace the first maximum.
            if (v > best || at < 0) { best = v; at = ih * g.W + iw; }
          }
        }
        const o = (nc * g.OH + oh) * g.OW + ow;
        y[o] = best;
        argmax[o] = at;
      }
  }
  return { y, argmax };
}

/** dx[n,c,argmax] += dy (only the recorded maximum of each window gets the gradient; overlapping windows add): dy, argmax [N,C,OH,OW] → dx [N,C,H,W]. */
export function maxPool2dBackward(dy: Float64Array, argmax: Int32Array, shape: Pool2dShape): Float64Array {
  const g = geometry(shape, 'maxPool2dBackward');
  expectLength(dy, g.N * g.C * g.OH * g.OW, 'maxPool2dBackward dy', '[N, C, OH, OW]');
  expectLength(argmax, dy.length, 'maxPool2dBackward argmax', '[N, C, OH, OW]');
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let nc = 0; nc < g.N * g.C; nc++)
    for (let o = 0; o < g.OH * g.OW; o++) {
      const i = nc * g.OH * g.OW + o;
      dx[nc * g.H * g.W + argmax[i]] += dy[i];
    }
  return dx;
}

/** y = (sum of the window's in-bounds values) / kernel² — padded zeros count in the divisor (PyTorch's default count_include_pad = true): x [N,C,H,W] → y [N,C,OH,OW]. */
export function avgPool2d(x: Float64Array, shape: Pool2dShape): Float64Array {
  const g = geometry(shape, 'avgPool2d');
  expectLength(x, g.N * g.C * g.H * g.W, 'avgPool2d x', '[N, C, H, W]');
  const y = new Float64Array(g.N * g.C * g.OH * g.OW);
  const div = g.k * g.k;
  for (let nc = 0; nc < g.N * g.C; nc++) {
    const plane = nc * g.H * g.W;
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        let s = 0;
        for (let kh = 0; kh < g.k; kh++) {
          const ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.k; kw++) {
            const iw = ow * g.s - g.p + kw;
            if (iw < 0 || iw >= g.W) continue;
            s += x[plane + ih * g.W + iw];
          }
        }
        y[(nc * g.OH + oh) * g.OW + ow] = s / div;
      }
  }
  return y;
}

/** dx[in-bounds window positions] += dy / kernel² (count_include_pad = true): dy [N,C,OH,OW] → dx [N,C,H,W]. */
export function avgPool2dBackward(dy: Float64Array, shape: Pool2dShape): Float64Array {
  const g = geometry(shape, 'avgPool2dBackward');
  expectLength(dy, g.N * g.C * g.OH * g.OW, 'avgPool2dBackward dy', '[N, C, OH, OW]');
  const dx = new Float64Array(g.N * g.C * g.H * g.W);
  const div = g.k * g.k;
  for (let nc = 0; nc < g.N * g.C; nc++) {
    const plane = nc * g.H * g.W;
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        const gy = dy[(nc * g.OH + oh) * g.OW + ow] / div;
        for (let kh = 0; kh < g.k; kh++) {
          const ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.k; kw++) {
            const iw = ow * g.s - g.p + kw;
            if (iw < 0 || iw >= g.W) continue;
            dx[plane + ih * g.W + iw] += gy;
          }
        }
      }
  }
  return dx;
}
