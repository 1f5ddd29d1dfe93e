// conv2d reference (NCHW activations, weights [Cout, Cin, KH, KW], square stride/padding/dilation): forward, backward-data, backward-weights.
import { expectInt, expectLength } from './check.js';

/** Shape of a conv2d: input [N, Cin, H, W], weight [Cout, Cin, KH, KW]; stride, padding (zeros, both sides), dilation apply to both axes. */
export interface Conv2dShape {
  N: number; Cin: number; H: number; W: number;
  Cout: number; KH: number; KW: number;
  /** Default 1. */
  stride?: number;
  /** Zero padding on each side, default 0. */
  padding?: number;
  /** Default 1. */
  dilation?: number;
}

/** Output length of one spatial axis: floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1 (PyTorch, ceil_mode false). */
export function convOutSize(size: number, kernel: number, stride = 1, padding = 0, dilation = 1): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

interface Geo { N: number; Cin: number; H: number; W: number; Cout: number; KH: number; KW: number; s: number; p: number; d: number; OH: number; OW: number }

function geometry(g: Conv2dShape): Geo {
  for (const k of ['N', 'Cin', 'H', 'W', 'Cout', 'KH', 'KW'] as const) expectInt(g[k], `conv2d ${k}`);
  const s = g.stride ?? 1, p = g.padding ?? 0, d = g.dilation ?? 1;
  expectInt(s, 'conv2d stride'); expectInt(p, 'conv2d padding', 0); expectInt(d, 'conv2d dilation');
  const OH = convOutSize(g.H, g.KH, s, p, d), OW = convOutSize(g.W, g.KW, s, p, d);
  if (OH < 1 || OW < 1) throw new Error(`cpu.conv2d: output would be ${OH}×${OW} for input ${g.H}×${g.W}, kernel ${g.KH}×${g.KW}, stride ${s}, padding ${p}, dilation ${d}; pad more or use a smaller kernel`);
  return { N: g.N, Cin: g.Cin, H: g.H, W: g.W, Cout: g.Cout, KH: g.KH, KW: g.KW, s, p, d, OH, OW };
}

/** Output spatial size { OH, OW } of a conv2d shape. */
export function conv2dOutShape(g: Conv2dShape): { OH: number; OW: number } {
  const { OH, OW } = geometry(g);
  return { OH, OW };
}

/** y[n,co,oh,ow] = bias[co] + Σ_{ci,kh,kw} x[n,ci,oh·s−p+kh·d, ow·s−p+kw·d]·w[co,ci,kh,kw]: x [N,Cin,H,W], w [Cout,Cin,KH,KW], bias [Cout] or null → y [N,Cout,OH,OW]. */
export function conv2d(x: Float64Array, w: Float64Array, bias: Float64Array | null, shape: Conv2dShape): Float64Array {
  const g = geometry(shape);
  expectLength(x, g.N * g.Cin * g.H * g.W, 'conv2d x', '[N, Cin, H, W]');
  expectLength(w, g.Cout * g.Cin * g.KH * g.KW, 'conv2d w', '[Cout, Cin, KH, KW]');
  if (bias) expectLength(bias, g.Cout, 'conv2d bias', '[Cout]');
  const y = new Float64Array(g.N * g.Cout * g.OH * g.OW);
  for (let n = 0; n < g.N; n++)
    for (let co = 0; co < g.Cout; co++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          let s = bias ? bias[co] : 0;
          for (let ci = 0; ci < g.Cin; ci++)
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.s - g.p + kh * g.d;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.s - g.p + kw * g.d;
                if (iw < 0 || iw >= g.W) continue;
                s += x[((n * g.Cin + ci) * g.H + ih) * g.W + iw] * w[((co * g.Cin + ci) * g.KH + kh) * g.KW + kw];
              }
            }
          y[((n * g.Cout + co) * g.OH + oh) * g.OW + ow] = s;
        }
  return y;
}

/** dx[n,ci,ih,iw] = Σ over the outputs that read x[n,ci,ih,iw] of dy·w: dy [N,Cout,OH,OW], w [Cout,Cin,KH,KW] → dx [N,Cin,H,W]. */
export function conv2dBackwardData(dy: Float64Array, w: Float64Array, shape: Conv2dShape): Float64Array {
  const g = geometry(shape);
  expectLength(dy, g.N * g.Cout * g.OH * g.OW, 'conv2dBackwardData dy', '[N, Cout, OH, OW]');
  expectLength(w, g.Cout * g.Cin * g.KH * g.KW, 'conv2dBackwardData w', '[Cout, Cin, KH, KW]');
  const dx = new Float64Array(g.N * g.Cin * g.H * g.W);
  // Scatter form: the transpose of the forward loop nest, each product added to the input position it came from.
  for (let n = 0; n < g.N; n++)
    for (let co = 0; co < g.Cout; co++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const gy = dy[((n * g.Cout + co) * g.OH + oh) * g.OW + ow];
          for (let ci = 0; ci < g.Cin; ci++)
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.s - g.p + kh * g.d;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.s - g.p + kw * g.d;
                if (iw < 0 || iw >= g.W) continue;
                dx[((n * g.Cin + ci) * g.H + ih) * g.W + iw] += gy * w[((co * g.Cin + ci) * g.KH + kh) * g.KW + kw];
              }
            }
        }
  return dx;
}

/** dw[co,ci,kh,kw] = Σ_{n,oh,ow} dy[n,co,oh,ow]·x[n,ci,oh·s−p+kh·d, ow·s−p+kw·d], db[co] = Σ_{n,oh,ow} dy: x [N,Cin,H,W], dy [N,Cout,OH,OW] → dw [Cout,Cin,KH,KW], db [Cout]. */
export function conv2dBackwardWeights(x: Float64Array, dy: Float64Array, shape: Conv2dShape): { dw: Float64Array; db: Float64Array } {
  const g = geometry(shape);
  expectLength(x, g.N * g.Cin * g.H * g.W, 'conv2dBackwardWeights x', '[N, Cin, H, W]');
  expectLength(dy, g.N * g.Cout * g.OH * g.OW, 'conv2dBackwardWeights dy', '[N, Cout, OH, OW]');
  const dw = new Float64Array(g.Cout * g.Cin * g.KH * g.KW);
  const db = new Float64Array(g.Cout);
  for (let co = 0; co < g.Cout; co++) {
    for (let ci = 0; ci < g.Cin; ci++)
      for (let kh = 0; kh < g.KH; kh++)
        for (let kw = 0; kw < g.KW; kw++) {
          let s = 0;
          for (let n = 0; n < g.N; n++)
            for (let oh = 0; oh < g.OH; oh++) {
              const ih = oh * g.s - g.p + kh * g.d;
              if (ih < 0 || ih >= g.H) continue;
              for (let ow = 0; ow < g.OW; ow++) {
                const iw = ow * g.s - g.p + kw * g.d;
                if (iw < 0 || iw >= g.W) continue;
                s += dy[((n * g.Cout + co) * g.OH + oh) * g.OW + ow] * x[((n * g.Cin + ci) * g.H + ih) * g.W + iw];
              }
            }
          dw[((co * g.Cin + ci) * g.KH + kh) * g.KW + kw] = s;
        }
    let s = 0;
    for (let n = 0; n < g.N; n++) for (let i = 0; i < g.OH * g.OW; i++) s += dy[(n * g.Cout + co) * g.OH * g.OW + i];
    db[co] = s;
  }
  return { dw, db };
}
