// conv2d kernels (NCHW activations, weights [Cout, Cin, KH, KW]): forward, backward-data, backward-weights.
// Variants: *_naive (one output per invocation, plain loops) and *_rb (implicit GEMM, register-blocked, no
// barriers, no shared memory: the fast path on llvmpipe, see src/ops/conv.ts and bench/NOTES.md).
//
// The register-blocked forward kernel also serves backward-data: dx = conv(dy dilated by the forward stride,
// flipped and channel-transposed weights, padding K−1−p). DIL is that input dilation (1 for the forward pass).

struct Params {
  N: u32,
  Cin: u32,     // channels of the kernel's input (the forward's Cout for backward-data)
  Hin: u32,
  Win: u32,
  Cout: u32,    // channels of the kernel's output
  Hout: u32,
  Wout: u32,
  KH: u32,
  KW: u32,
  stride: u32,
  pad: i32,     // padding along H; may be negative for backward-data when the forward padding exceeds K−1
  padW: i32,    // padding along W (the rb kernels; differs from pad only for non-square kernels in backward-data)
  dil: u32,     // input dilation (naive kernels; the rb kernel takes it as the DIL override)
  CoutP: u32,   // row length of the transposed weights wt (Cout rounded up to CO_B)
  relu: u32,    // 1: fused ReLU epilogue
  hasBias: u32,
  nPer: u32,    // backward-weights: images per split
  splits: u32,  // backward-weights: number of partial sums
  total: u32,   // element count of 1-D kernels
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> wt4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<storage, read_write> db: array<f32>;
// x and dy read as vec4 by the generated kernels (src/ops/conv-gen.ts appends them to this file's text).
@group(0) @binding(9) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> dy4: array<vec4<f32>>;
// The same three buffers read through textures by the generated kernels with TEX (conv.TEX): the runtime copies
// each buffer in before the dispatch (src/gpu/runtime.ts DispatchArgs.texels, vec4 i at texel (i % TEXEL_ROW,
// i / TEXEL_ROW)).
@group(0) @binding(11) var x4t: texture_2d<f32>;
@group(0) @binding(12) var dy4t: texture_2d<f32>;
@group(0) @binding(13) var wt4t: texture_2d<f32>;
// y written as vec4 by the generated forward kernel where the output rows are whole vec4 (Wout % 4 = 0).
@group(0) @binding(14) var<storage, read_write> y4: array<vec4<f32>>;

override WG: u32 = 64;
override WGX: u32 = 8;      // x extent (SIMD lanes on llvmpipe: must be ≥ 8)
override KH: u32 = 5;       // kernel size as a compile-time constant in the rb kernels (loops unroll)
override KW: u32 = 5;
override STRIDE: u32 = 1;
override DIL: u32 = 1;

fn idx1(g: vec3u, nw: vec3u) -> u32 {
  return g.x + g.y * nw.x * WG;
}

// ---------- weight layout transforms (small: Cout·Cin·KH·KW elements) ----------

// wt[((ci·KH + kh)·KW + kw)·CoutP + co] = w[co, ci, kh, kw]; zero for co ≥ Cout (padding to CoutP).
// Output channels contiguous: the rb kernel reads CO_B of them as two vec4 loads.
@compute @workgroup_size(WG)
fn wt_forward(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  let R = p.Cin * p.KH * p.KW;
  if (i >= R * p.CoutP) { return; }
  let co = i % p.CoutP;
  let r = i / p.CoutP;
  var v = 0.0;
  if (co < p.Cout) { v = w[co * R + r]; }
  y[i] = v;
}

// For backward-data (here Cin = forward Cout, Cout = forward Cin):
// wt[((co_f·KH + kh)·KW + kw)·CoutP + ci_f] = w[co_f, ci_f, KH−1−kh, KW−1−kw] (flipped, channels swapped).
@compute @workgroup_size(WG)
fn wt_backward(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  let R = p.Cin * p.KH * p.KW;
  if (i >= R * p.CoutP) { return; }
  let cif = i % p.CoutP;
  let r = i / p.CoutP;
  let kw = r % p.KW;
  let kh = (r / p.KW) % p.KH;
  let cof = r / (p.KW * p.KH);
  var v = 0.0;
  if (cif < p.Cout) { v = w[((cof * p.Cout + cif) * p.KH + (p.KH - 1u - kh)) * p.KW + (p.KW - 1u - kw)]; }
  y[i] = v;
}

// ---------- variant 0: naive ----------

// One output element per invocation: y[n,co,oh,ow] = bias + Σ x·w (+ ReLU).
@compute @workgroup_size(WG)
fn fwd_naive(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let ow = i % p.Wout;
  let oh = (i / p.Wout) % p.Hout;
  let co = (i / (p.Wout * p.Hout)) % p.Cout;
  let n = i / (p.Wout * p.Hout * p.Cout);
  var s = 0.0;
  if (p.hasBias != 0u) { s = bias[co]; }
  for (var ci = 0u; ci < p.Cin; ci++) {
    for (var kh = 0u; kh < p.KH; kh++) {
      let ih = i32(oh * p.stride + kh) - p.pad;
      if (ih < 0 || ih >= i32(p.Hin)) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let iw = i32(ow * p.stride + kw) - p.pad;
        if (iw < 0 || iw >= i32(p.Win)) { continue; }
        s += x[((n * p.Cin + ci) * p.Hin + u32(ih)) * p.Win + u32(iw)] * w[((co * p.Cin + ci) * p.KH + kh) * p.KW + kw];
      }
    }
  }
  if (p.relu != 0u) { s = max(s, 0.0); }
  y[i] = s;
}

// One dx element per invocation (gather: sums the outputs whose window holds it). Here Cin/Hin/Win describe x
// (the forward input), Cout/Hout/Wout describe dy, as in the forward pass.
@compute @workgroup_size(WG)
fn dx_naive(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let iw = i % p.Win;
  let ih = (i / p.Win) % p.Hin;
  let ci = (i / (p.Win * p.Hin)) % p.Cin;
  let n = i / (p.Win * p.Hin * p.Cin);
  var s = 0.0;
  for (var co = 0u; co < p.Cout; co++) {
    for (var kh = 0u; kh < p.KH; kh++) {
      let th = i32(ih) + p.pad - i32(kh);
      if (th < 0 || th % i32(p.stride) != 0) { continue; }
      let oh = u32(th) / p.stride;
      if (oh >= p.Hout) { continue; }
      for (var kw = 0u; kw < p.KW; kw++) {
        let tw = i32(iw) + p.pad - i32(kw);
        if (tw < 0 || tw % i32(p.stride) != 0) { continue; }
        let ow = u32(tw) / p.stride;
        if (ow >= p.Wout) { continue; }
        s += dy[((n * p.Cout + co) * p.Hout + oh) * p.Wout + ow] * w[((co * p.Cin + ci) * p.KH + kh) * p.KW + kw];
      }
    }
  }
  y[i] = s;
}

// One dw element per invocation (and db[co] when the invocation holds (ci, kh, kw) = 0): full sum over n, oh, ow.
@compute @workgroup_size(WG)
fn dw_naive(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let kw = i % p.KW;
  let kh = (i / p.KW) % p.KH;
  let ci = (i / (p.KW * p.KH)) % p.Cin;
  let co = i / (p.KW * p.KH * p.Cin);
  var s = 0.0;
  var sb = 0.0;
  for (var n = 0u; n < p.N; n++) {
    for (var oh = 0u; oh < p.Hout; oh++) {
      let ih = i32(oh * p.stride + kh) - p.pad;
      let rowOk = ih >= 0 && ih < i32(p.Hin);
      for (var ow = 0u; ow < p.Wout; ow++) {
        let d = dy[((n * p.Cout + co) * p.Hout + oh) * p.Wout + ow];
        sb += d;
        let iw = i32(ow * p.stride + kw) - p.pad;
        if (rowOk && iw >= 0 && iw < i32(p.Win)) {
          s += d * x[((n * p.Cin + ci) * p.Hin + u32(ih)) * p.Win + u32(iw)];
        }
      }
    }
  }
  y[i] = s;
  if (kw == 0u && kh == 0u && ci == 0u) { db[co] = sb; }
}

// ---------- variant 1: register-blocked implicit GEMM ----------

// x[plane + (vh/DIL)·Win + vw/DIL] of the DIL-dilated input, zero outside it or between dilated samples.
// Branch-free (divergent lanes on llvmpipe run both sides of a branch anyway): an invalid tap reads x[plane].
fn xin(plane: u32, vh: i32, vw: i32) -> f32 {
  var ok = vh >= 0 && vw >= 0;
  var h = u32(max(vh, 0));
  var ww = u32(max(vw, 0));
  if (DIL != 1u) {
    ok = ok && h % DIL == 0u && ww % DIL == 0u;
    h = h / DIL;
    ww = ww / DIL;
  }
  ok = ok && h < p.Hin && ww < p.Win;
  let v = x[plane + select(0u, h * p.Win + ww, ok)];
  return select(0.0, v, ok);
}

const SEG: u32 = 16u;  // row segment held in registers: 3·STRIDE + KW ≤ 16 (checked by the op)

// Each invocation: 8 output channels × 4 output pixels of one row (32 accumulators, vec4 along the pixels).
// Lanes (x) run along the pixel blocks of a channel plane; the image and the channel block come from the
// workgroup id, so the weight loads are uniform across lanes (one scalar load, not a gather, on llvmpipe).
// Per (ci, kh) the 3·STRIDE + KW input values of the row segment are loaded once into registers and reused by
// every kw (the loops over KH, KW and the segment have override bounds: they unroll).
// Grid: x = ⌈Hout·⌈Wout/4⌉ / WGX⌉ pixel blocks, y = N, z = ⌈Cout/8⌉.
@compute @workgroup_size(WGX, 1, 1)
fn fwd_rb(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let pxBlocks = (p.Wout + 3u) / 4u;
  let ob = g.x;
  if (ob >= p.Hout * pxBlocks) { return; }
  let oh = ob / pxBlocks;
  let ow0 = (ob % pxBlocks) * 4u;
  let n = wid.y;
  let co0 = wid.z * 8u;
  var a0 = vec4(0.0); var a1 = vec4(0.0); var a2 = vec4(0.0); var a3 = vec4(0.0);
  var a4 = vec4(0.0); var a5 = vec4(0.0); var a6 = vec4(0.0); var a7 = vec4(0.0);
  let vw0 = i32(ow0 * STRIDE) - p.padW;
  let vh0 = i32(oh * STRIDE) - p.pad;
  let L = 3u * STRIDE + KW;
  var xs: array<f32, SEG>;
  for (var ci = 0u; ci < p.Cin; ci++) {
    let plane = (n * p.Cin + ci) * p.Hin * p.Win;
    for (var kh = 0u; kh < KH; kh++) {
      let vh = vh0 + i32(kh);
      for (var t = 0u; t < L; t++) { xs[t] = xin(plane, vh, vw0 + i32(t)); }
      let wrow = ((ci * KH + kh) * KW) * p.CoutP + co0;
      for (var kw = 0u; kw < KW; kw++) {
        let xv = vec4(xs[kw], xs[kw + STRIDE], xs[kw + 2u * STRIDE], xs[kw + 3u * STRIDE]);
        let wi = (wrow + kw * p.CoutP) / 4u;
        let wa = wt4[wi];
        let wb = wt4[wi + 1u];
        a0 = fma(xv, vec4(wa.x), a0); a1 = fma(xv, vec4(wa.y), a1);
        a2 = fma(xv, vec4(wa.z), a2); a3 = fma(xv, vec4(wa.w), a3);
        a4 = fma(xv, vec4(wb.x), a4); a5 = fma(xv, vec4(wb.y), a5);
        a6 = fma(xv, vec4(wb.z), a6); a7 = fma(xv, vec4(wb.w), a7);
      }
    }
  }
  var acc = array<vec4<f32>, 8>(a0, a1, a2, a3, a4, a5, a6, a7);
  let HWo = p.Hout * p.Wout;
  for (var j = 0u; j < 8u; j++) {
    let co = co0 + j;
    if (co >= p.Cout) { break; }
    var v = acc[j];
    if (p.hasBias != 0u) { v += vec4(bias[co]); }
    if (p.relu != 0u) { v = max(v, vec4(0.0)); }
    let o = (n * p.Cout + co) * HWo + oh * p.Wout + ow0;
    y[o] = v.x;
    if (ow0 + 1u < p.Wout) { y[o + 1u] = v.y; }
    if (ow0 + 2u < p.Wout) { y[o + 2u] = v.z; }
    if (ow0 + 3u < p.Wout) { y[o + 3u] = v.w; }
  }
}

// Backward-weights, split over the batch: part[s][co][ci,kh,kw] = Σ over the images of split s; the last Cout
// entries of each split hold Σ dy (for db). Each invocation: 8 output channels × one (ci, kh) × all KW taps
// (8·KW accumulators). Lanes (x) run along (ci, kh); the channel block and split come from the workgroup id, so
// the 8 dy values of a step are uniform loads. With stride 1 the KW taps slide along the row in registers (one
// new x load per output pixel). Grid: x = ⌈Cin·KH / WGX⌉, y = ⌈Cout/8⌉, z = splits. KW ≤ 8.
@compute @workgroup_size(WGX, 1, 1)
fn dw_rb(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  if (g.x >= p.Cin * KH) { return; }
  let ci = g.x / KH;
  let kh = g.x % KH;
  let co0 = wid.y * 8u;
  let s = wid.z;
  var acc: array<vec4<f32>, 16>;
  for (var k = 0u; k < 16u; k++) { acc[k] = vec4(0.0); }
  var xw: array<f32, 8>;
  var sa = vec4(0.0);
  var sb = vec4(0.0);
  let HWo = p.Hout * p.Wout;
  let n1 = min(p.N, (s + 1u) * p.nPer);
  var cof: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { cof[j] = min(co0 + j, p.Cout - 1u) * HWo; }
  for (var n = s * p.nPer; n < n1; n++) {
    let dyb = n * p.Cout * HWo;
    let plane = (n * p.Cin + ci) * p.Hin * p.Win;
    for (var oh = 0u; oh < p.Hout; oh++) {
      let vh = i32(oh * STRIDE + kh) - p.pad;
      let iw0 = -p.pad;
      if (STRIDE == 1u) {
        for (var kw = 1u; kw < KW; kw++) { xw[kw] = xin(plane, vh, iw0 + i32(kw) - 1); }
      }
      for (var ow = 0u; ow < p.Wout; ow++) {
        let o = dyb + oh * p.Wout + ow;
        let da = vec4(dy[o + cof[0]], dy[o + cof[1]], dy[o + cof[2]], dy[o + cof[3]]);
        let dbv = vec4(dy[o + cof[4]], dy[o + cof[5]], dy[o + cof[6]], dy[o + cof[7]]);
        sa += da;
        sb += dbv;
        let iw = i32(ow * STRIDE) + iw0;
        if (STRIDE == 1u) {
          for (var kw = 0u; kw + 1u < KW; kw++) { xw[kw] = xw[kw + 1u]; }
          xw[KW - 1u] = xin(plane, vh, iw + i32(KW) - 1);
        } else {
          for (var kw = 0u; kw < KW; kw++) { xw[kw] = xin(plane, vh, iw + i32(kw)); }
        }
        for (var kw = 0u; kw < KW; kw++) {
          acc[2u * kw] = fma(vec4(xw[kw]), da, acc[2u * kw]);
          acc[2u * kw + 1u] = fma(vec4(xw[kw]), dbv, acc[2u * kw + 1u]);
        }
      }
    }
  }
  let R = p.Cin * KH * KW;
  let base = s * (p.Cout * R + p.Cout);
  for (var j = 0u; j < 8u; j++) {
    let co = co0 + j;
    if (co >= p.Cout) { break; }
    for (var kw = 0u; kw < KW; kw++) {
      let v = acc[2u * kw + j / 4u];
      part[base + co * R + (ci * KH + kh) * KW + kw] = v[j % 4u];
    }
    if (g.x == 0u) {
      var sv = sa;
      if (j >= 4u) { sv = sb; }
      part[base + p.Cout * R + co] = sv[j % 4u];
    }
  }
}

// ---------- variant 'tiled': implicit GEMM through workgroup memory (the shape GPUs run GEMMs in) ----------
// Output channels × output pixels of all images (M = Cout, the GEMM's N = N·Hout·Wout, K = Cin·KH·KW). A workgroup
// of TWX × TWY lanes computes a tile of 4·TWY channels × 4·TWX pixels, each lane 4 × 4 of it (channels l.y + i·TWY,
// pixels l.x + j·TWX: neighbouring lanes read neighbouring words of the pixel tile and one word of the weight tile).
// Per step of BK reductions the lanes stage the weights (wt [k][CoutP], contiguous along channels) and the input taps
// (gathered from x: the im2col rows, never stored) into workgroup memory; each pixel's image and corner are
// decoded once. Also backward-data, as fwd_rb: DIL dilates the input. Grid: x = ⌈N·Hout·Wout / (4·TWX)⌉,
// y = ⌈Cout / (4·TWY)⌉. Slow on llvmpipe (barriers, workgroup memory): a candidate of the GPU preset's autotune.
override TWX: u32 = 16;
override TWY: u32 = 16;
override BK: u32 = 16;
// Derived, never set by the host: a tile's channels (BM) and pixels or taps (BN), and the lanes of a workgroup (T).
override BM: u32 = 4u * TWY;
override BN: u32 = 4u * TWX;
override T: u32 = TWX * TWY;
@group(0) @binding(11) var<storage, read> wt: array<f32>;
var<workgroup> tA: array<f32, BK * BM>;
var<workgroup> tB: array<f32, BK * BN>;
var<workgroup> pxPlane: array<u32, BN>;
var<workgroup> pxH: array<i32, BN>;
var<workgroup> pxW: array<i32, BN>;

// One staged step of the tiled kernels: this lane's 4 × 4 block += tA[kk][its rows] ⊗ tB[kk][its columns] over the
// BK reductions; rowSums += the tA rows (backward-weights' db).
fn tileMac(acc: ptr<function, array<f32, 16>>, rowSums: ptr<function, array<f32, 4>>, l: vec3u) {
  for (var kk = 0u; kk < BK; kk++) {
    var a: array<f32, 4>;
    var b: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) { a[i] = tA[kk * BM + l.y + i * TWY]; }
    for (var j = 0u; j < 4u; j++) { b[j] = tB[kk * BN + l.x + j * TWX]; }
    for (var i = 0u; i < 4u; i++) {
      (*rowSums)[i] += a[i];
      for (var j = 0u; j < 4u; j++) { (*acc)[i * 4u + j] = fma(a[i], b[j], (*acc)[i * 4u + j]); }
    }
  }
}

@compute @workgroup_size(TWX, TWY, 1)
fn fwd_tiled(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = l.y * TWX + l.x;
  let HWo = p.Hout * p.Wout;
  let P = p.N * HWo;
  let K = p.Cin * KH * KW;
  let p0 = wid.x * BN;
  let m0 = wid.y * BM;
  // Each pixel of the tile: its image's first input plane (u32 max past the last pixel) and its corner (vh, vw).
  for (var e = lid; e < BN; e += T) {
    let q = p0 + e;
    let r = q % HWo;
    pxPlane[e] = select(0xffffffffu, (q / HWo) * p.Cin, q < P);
    pxH[e] = i32((r / p.Wout) * STRIDE) - p.pad;
    pxW[e] = i32((r % p.Wout) * STRIDE) - p.padW;
  }
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 += BK) {
    workgroupBarrier();
    for (var e = lid; e < BK * BM; e += T) {
      let k = k0 + e / BM;
      let m = m0 + e % BM;
      let ok = k < K && m < p.CoutP;
      tA[e] = select(0.0, wt[select(0u, k * p.CoutP + m, ok)], ok);
    }
    for (var e = lid; e < BK * BN; e += T) {
      let k = k0 + e / BN;
      let pp = e % BN;
      let ci = k / (KH * KW);
      let t = k % (KH * KW);
      let ok = k < K && pxPlane[pp] != 0xffffffffu;
      let plane = select(0u, (pxPlane[pp] + ci) * p.Hin * p.Win, ok);
      tB[e] = select(0.0, xin(plane, pxH[pp] + i32(t / KW), pxW[pp] + i32(t % KW)), ok);
    }
    workgroupBarrier();
    var unused: array<f32, 4>;
    tileMac(&acc, &unused, l);
  }
  for (var i = 0u; i < 4u; i++) {
    let co = m0 + l.y + i * TWY;
    if (co >= p.Cout) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let q = p0 + l.x + j * TWX;
      if (q >= P) { continue; }
      var v = acc[i * 4u + j];
      if (p.hasBias != 0u) { v += bias[co]; }
      if (p.relu != 0u) { v = max(v, 0.0); }
      y[((q / HWo) * p.Cout + co) * HWo + q % HWo] = v;
    }
  }
}

// Backward-weights of the tiled variant, the same GEMM with the pixels as its reduction: part[s][co][k] = Σ over the
// pixels of split s of dy[co, pixel] · x at tap k = (ci, kh, kw) for that pixel; the last Cout entries of each split
// hold Σ dy (db). A workgroup: 4·TWY channels × 4·TWX taps; per step BK pixels of dy and of the gathered taps go
// through workgroup memory (loaded along the pixels, contiguous in NCHW). Splits: p.nPer pixels each (a multiple of
// BK). Grid: x = ⌈Cin·KH·KW / (4·TWX)⌉, y = ⌈Cout / (4·TWY)⌉, z = splits. Summed by dw_reduce, as dw_rb's.
@compute @workgroup_size(TWX, TWY, 1)
fn dw_tiled(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let lid = l.y * TWX + l.x;
  let HWo = p.Hout * p.Wout;
  let R = p.Cin * KH * KW;
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let qa = wid.z * p.nPer;
  let qb = min(p.N * HWo, qa + p.nPer);
  var acc: array<f32, 16>;
  var sdb: array<f32, 4>;
  for (var q0 = qa; q0 < qb; q0 += BK) {
    workgroupBarrier();
    for (var e = lid; e < BK * BM; e += T) {
      let q = q0 + e % BK;
      let m = m0 + e / BK;
      let ok = q < qb && m < p.Cout;
      tA[(e % BK) * BM + e / BK] = select(0.0, dy[select(0u, ((q / HWo) * p.Cout + m) * HWo + q % HWo, ok)], ok);
    }
    for (var e = lid; e < BK * BN; e += T) {
      let q = q0 + e % BK;
      let k = n0 + e / BK;
      let ok = q < qb && k < R;
      let r = q % HWo;
      let t = k % (KH * KW);
      let plane = select(0u, ((q / HWo) * p.Cin + k / (KH * KW)) * p.Hin * p.Win, ok);
      let vh = i32((r / p.Wout) * STRIDE + t / KW) - p.pad;
      let vw = i32((r % p.Wout) * STRIDE + t % KW) - p.padW;
      tB[(e % BK) * BN + e / BK] = select(0.0, xin(plane, vh, vw), ok);
    }
    workgroupBarrier();
    tileMac(&acc, &sdb, l);
  }
  let base = wid.z * (p.Cout * R + p.Cout);
  for (var i = 0u; i < 4u; i++) {
    let co = m0 + l.y + i * TWY;
    if (co >= p.Cout) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let k = n0 + l.x + j * TWX;
      if (k < R) { part[base + co * R + k] = acc[i * 4u + j]; }
    }
    if (l.x == 0u && wid.x == 0u) { part[base + p.Cout * R + co] = sdb[i]; }
  }
}

// Sums the splits of dw_rb in a fixed order (deterministic): y = dw [Cout·R], db = the bias gradient [Cout].
@compute @workgroup_size(WG)
fn dw_reduce(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  let len = p.total;  // Cout·R + Cout
  if (i >= len) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.splits; k++) { s += part[k * len + i]; }
  let nw_ = len - p.Cout;
  if (i < nw_) { y[i] = s; } else { db[i - nw_] = s; }
}

// ReLU backward through a fused epilogue: y = dy where out > 0, else 0 (x holds the conv's output).
@compute @workgroup_size(WG)
fn relu_mask(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  y[i] = select(0.0, dy[i], x[i] > 0.0);
}

// im2col (for the im2col + GEMM comparison in bench): y[n][(ci·KH + kh)·KW + kw][oh·Wout + ow] = x at that tap or 0.
@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let HWo = p.Hout * p.Wout;
  let o = i % HWo;
  let r = (i / HWo) % (p.Cin * p.KH * p.KW);
  let n = i / (HWo * p.Cin * p.KH * p.KW);
  let kw = r % p.KW;
  let kh = (r / p.KW) % p.KH;
  let ci = r / (p.KW * p.KH);
  let ih = i32((o / p.Wout) * p.stride + kh) - p.pad;
  let iw = i32((o % p.Wout) * p.stride + kw) - p.pad;
  var v = 0.0;
  if (ih >= 0 && ih < i32(p.Hin) && iw >= 0 && iw < i32(p.Win)) { v = x[((n * p.Cin + ci) * p.Hin + u32(ih)) * p.Win + u32(iw)]; }
  y[i] = v;
}
