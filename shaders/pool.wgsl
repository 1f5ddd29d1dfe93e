// 2-D max- and average-pool (NCHW, square window, stride, padding; floor mode): forward and backward.
// Backward kernels gather (each input pixel sums the windows that hold it): deterministic, no atomics.

struct Params {
  NC: u32,     // N·C planes
  H: u32,
  W: u32,
  OH: u32,
  OW: u32,
  k: u32,
  stride: u32,
  pad: u32,
  total: u32,  // elements of the kernel's output
  C: u32,      // channels: plane nc is channel nc % C (read by the PRE prologue only)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> idx: array<u32>;

override WG: u32 = 64;

// Output positions [lo, hi) along one axis whose window covers input position i.
fn windows(i: u32, osize: u32) -> vec2u {
  let t = i + p.pad;  // window o covers t ∈ [o·s, o·s + k)
  var lo = 0u;
  if (t + 1u > p.k) { lo = (t + 1u - p.k + p.stride - 1u) / p.stride; }
  let hi = min(osize, t / p.stride + 1u);
  return vec2u(lo, max(lo, hi));
}

// y = max over the window (padding never wins); argmax = h·W + w in the plane, first maximum in row-major order.
@compute @workgroup_size(WG)
fn max_fwd(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.total) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  var best = 0.0;
  var at = 0xffffffffu;
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.stride + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.stride + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let j = u32(ih) * p.W + u32(iw);
      let v = x[plane + j];
      if (at == 0xffffffffu || v > best) { best = v; at = j; }
    }
  }
  y[i] = best;
  argmax[i] = at;
}

// dx[n,c,h,w] = Σ dy over the windows whose saved argmax is (h, w).
@compute @workgroup_size(WG)
fn max_bwd(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.total) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let nc = i / (p.W * p.H);
  let me = ih * p.W + iw;
  let rh = windows(ih, p.OH);
  let rw = windows(iw, p.OW);
  var s = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      let o = (nc * p.OH + oh) * p.OW + ow;
      if (idx[o] == me) { s += dy[o]; }
    }
  }
  y[i] = s;
}

// y = (Σ of the window's in-bounds values) / k² (count_include_pad = true, PyTorch's default; src/cpu's choice).
@compute @workgroup_size(WG)
fn avg_fwd(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.total) { return; }
  let ow = i % p.OW;
  let oh = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  var s = 0.0;
  for (var kh = 0u; kh < p.k; kh++) {
    let ih = i32(oh * p.stride + kh) - i32(p.pad);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0u; kw < p.k; kw++) {
      let iw = i32(ow * p.stride + kw) - i32(p.pad);
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      s += x[plane + u32(ih) * p.W + u32(iw)];
    }
  }
  y[i] = s / f32(p.k * p.k);
}

// dx[n,c,h,w] = Σ dy / k² over the windows that hold (h, w).
@compute @workgroup_size(WG)
fn avg_bwd(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.total) { return; }
  let iw = i % p.W;
  let ih = (i / p.W) % p.H;
  let nc = i / (p.W * p.H);
  let rh = windows(ih, p.OH);
  let rw = windows(iw, p.OW);
  var s = 0.0;
  for (var oh = rh.x; oh < rh.y; oh++) {
    for (var ow = rw.x; ow < rw.y; ow++) {
      s += dy[(nc * p.OH + oh) * p.OW + ow];
    }
  }
  y[i] = s / f32(p.k * p.k);
}

// ---------- max-pool backward, variant 'plane' (the default where H·W % 4 = 0 and OH·OW % 4 = 0) ----------
// One invocation per (n, c) plane, dx zeroed by the runtime before (a buffer clear): dx[argmax] += dy window by window
// in a fixed order (deterministic: one invocation owns the plane). On llvmpipe a storage access is a loop over the
// lanes with one scalar access per component, so the read-modify-write per window is scalar (a vec4 one moved 4
// components each way: ×0.67–0.82 the CPU time with scalar ones and the clear, bench/NOTES.md 2026-12-03 evening); dy
// and the argmax are read as vec4. The gather above spends ~5 memory operations per input pixel (index decoding with
// divisions, 1–4 windows of argmax + dy).
@group(0) @binding(6) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> idx4: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn max_bwd_plane(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let nc = g.x + g.y * nw.x * WG;
  if (nc >= p.NC) { return; }
  let base = nc * p.H * p.W;
  let O4 = p.OH * p.OW / 4u;
  for (var j = 0u; j < O4; j++) {
    let d = dy4[nc * O4 + j];
    let a = idx4[nc * O4 + j];
    for (var e = 0u; e < 4u; e++) { y[base + a[e]] += d[e]; }
  }
}

// ---------- variant 'rows': the 3×3 / stride 2 / padding 1 window (DSH's pools) where W % 8 = 0 and H is even ----------
// One forward invocation makes 4 outputs of a row from 3 input rows of 8 (+1 left) columns read as vec4: 9 loads for 4
// outputs where the general kernels above spend 9 scalar loads and 3 divisions per output. Output column 4q + e reads
// input columns 8q + 2e − 1 (left tap), 8q + 2e (middle), 8q + 2e + 1 (right). The average backward makes 8 inputs of a
// row from 1 or 2 dy rows of 5 columns. Same results as the general kernels (ties: the first maximum in row-major order).
@group(0) @binding(9) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> am4: array<vec4<u32>>;
@group(0) @binding(11) var<storage, read> st: array<f32>;  // BatchNorm2d's stats [4][C]: mean, invStd, scale, shift

// The forward 'rows' kernels' prologue (src/ops/bn-pool.ts): 0 pools x as it is; 1 pools BatchNorm2d's output
// fma(x, scale_c, shift_c) and 2 its ReLU, computed on load exactly as norm.wgsl's apply computes it, so that
// BatchNorm2d (+ ReLU) + pool make the same values without writing and re-reading the normalised activations.
override PRE: u32 = 0u;

// (a, b): the plane's scale and shift, loaded once per invocation by preOf (unused when PRE = 0).
fn pre4(v: vec4f, a: vec4f, b: vec4f) -> vec4f {
  if (PRE == 0u) { return v; }
  let z = fma(v, a, b);
  if (PRE == 2u) { return max(z, vec4f(0.0)); }
  return z;
}
fn preOf(nc: u32) -> array<vec4f, 2> {
  if (PRE == 0u) { return array<vec4f, 2>(vec4f(1.0), vec4f(0.0)); }
  let c = nc % p.C;
  return array<vec4f, 2>(vec4f(st[2u * p.C + c]), vec4f(st[3u * p.C + c]));
}

// The three taps of one input row for 4 outputs: left, middle, right columns, and whether the left one is inside.
struct Taps { l: vec4f, m: vec4f, r: vec4f, lok: bool }

fn taps(row4: u32, q: u32, ab: array<vec4f, 2>) -> Taps {
  let a = pre4(x4[row4], ab[0], ab[1]);
  let b = pre4(x4[row4 + 1u], ab[0], ab[1]);
  let lok = q > 0u;
  let prev = pre4(x4[select(row4, row4 - 1u, lok)], ab[0], ab[1]).w;
  return Taps(vec4f(prev, a.y, a.w, b.y), vec4f(a.x, a.z, b.x, b.z), vec4f(a.y, a.w, b.y, b.w), lok);
}

// Invocation i of a forward 'rows' kernel: (block q of 4 outputs, output row oh, plane nc).
fn rowBlock(i: u32) -> vec3u {
  let OW4 = p.OW / 4u;
  return vec3u(i % OW4, (i / OW4) % p.OH, i / (OW4 * p.OH));
}

// The vec4 index of input column 8q of input row ih of plane nc.
fn rowStart(nc: u32, ih: u32, q: u32) -> u32 {
  return (nc * p.H + ih) * (p.W / 4u) + 2u * q;
}

@compute @workgroup_size(WG)
fn max_fwd_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.NC * p.OH * (p.OW / 4u)) { return; }
  let b = rowBlock(i);
  let q = b.x;
  let oh = b.y;
  let nc = b.z;
  let ab = preOf(nc);
  var best = vec4f(0.0);
  var at = vec4u(0xffffffffu);
  for (var kh = 0u; kh < 3u; kh++) {
    let ih = i32(2u * oh + kh) - 1;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let t = taps(rowStart(nc, u32(ih), q), q, ab);
    let c = u32(ih) * p.W + 8u * q + vec4u(0u, 2u, 4u, 6u); // middle columns' plane offsets
    // In order left, middle, right: the first maximum wins (strict >), an empty slot takes anything.
    let tl = vec4<bool>(t.lok, true, true, true) & ((at == vec4u(0xffffffffu)) | (t.l > best));
    best = select(best, t.l, tl);
    at = select(at, c - vec4u(1u), tl);
    let tm = (at == vec4u(0xffffffffu)) | (t.m > best);
    best = select(best, t.m, tm);
    at = select(at, c, tm);
    let tr = t.r > best;
    best = select(best, t.r, tr);
    at = select(at, c + vec4u(1u), tr);
  }
  y4[i] = best;
  am4[i] = at;
}

@compute @workgroup_size(WG)
fn avg_fwd_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.NC * p.OH * (p.OW / 4u)) { return; }
  let b = rowBlock(i);
  let q = b.x;
  let oh = b.y;
  let nc = b.z;
  let ab = preOf(nc);
  var s = vec4f(0.0);
  for (var kh = 0u; kh < 3u; kh++) {
    let ih = i32(2u * oh + kh) - 1;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let t = taps(rowStart(nc, u32(ih), q), q, ab);
    s += select(vec4f(0.0, t.l.yzw), t.l, t.lok) + t.m + t.r;
  }
  y4[i] = s / 9.0;
}

// dx of 8 input columns 8q … 8q + 7 of row ih: output columns 4q … 4q + 4 of output rows ⌊ih/2⌋ (and ih/2 + 1/2 for odd ih).
@compute @workgroup_size(WG)
fn avg_bwd_rows(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  let W8 = p.W / 8u;
  if (i >= p.NC * p.H * W8) { return; }
  let q = i % W8;
  let ih = (i / W8) % p.H;
  let nc = i / (W8 * p.H);
  var lo = vec4f(0.0);
  var hi = vec4f(0.0);
  let rows = select(1u, 2u, ih % 2u == 1u && ih / 2u + 1u < p.OH);
  for (var r = 0u; r < rows; r++) {
    let o = (nc * p.OH + ih / 2u + r) * W8 + q; // W8 = OW / 4
    let d = dy4[o];
    let e = select(0.0, dy4[select(o, o + 1u, q + 1u < W8)].x, q + 1u < W8);
    lo += vec4f(d.x, d.x + d.y, d.y, d.y + d.z);
    hi += vec4f(d.z, d.z + d.w, d.w, d.w + e);
  }
  y4[2u * i] = lo / 9.0;
  y4[2u * i + 1u] = hi / 9.0;
}
