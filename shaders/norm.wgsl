// BatchNorm2d (NCHW, statistics per channel over N·H·W): one-pass (Welford) statistics, running-stat update, apply,
// backward. Every reduction is a fixed-order tree of f32 sums (per (n, c) plane, then over n): deterministic.

struct Params {
  N: u32,
  C: u32,
  HW: u32,
  total: u32,     // N·C·HW for element-wise kernels
  eps: f32,
  momentum: f32,
  update: u32,    // 1: update the running statistics (training)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;   // [2][C][N] per-plane statistics or partial sums
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;  // [4][C]: mean, invStd, scale, shift
@group(0) @binding(6) var<storage, read> gamma: array<f32>;
@group(0) @binding(7) var<storage, read> beta: array<f32>;
@group(0) @binding(8) var<storage, read_write> runMean: array<f32>;
@group(0) @binding(9) var<storage, read_write> runVar: array<f32>;
@group(0) @binding(10) var<storage, read> st: array<f32>;          // stats, read-only (apply, backward)
@group(0) @binding(11) var<storage, read_write> dgb: array<f32>;   // [2][C]: dgamma, dbeta

override WG: u32 = 64;
// 1: the layer is BatchNorm2d followed by ReLU, fused (nn Sequential): apply writes max(z, 0) with z = x·scale + shift,
// and the backward kernels take dz = dy where z > 0, else 0, recomputing z from x with the same fma as apply (so the
// mask is the forward's, bit for bit) instead of a separate ReLU pass over the activations each way.
override RELU: u32 = 0u;

fn relu1(z: f32) -> f32 { if (RELU != 0u) { return max(z, 0.0); } return z; }
fn relu4(z: vec4f) -> vec4f { if (RELU != 0u) { return max(z, vec4f(0.0)); } return z; }
// dz of the fused ReLU: d where z > 0 (what the ReLU's own backward passes), d unchanged without RELU.
// (Parameters are not named x: the binding reflection would take the name for the buffer x.)
// a, b: the channel's scale and shift (st[2C + c], st[3C + c]), loaded once by the caller.
fn mask1(d: f32, v: f32, a: f32, b: f32) -> f32 {
  if (RELU == 0u) { return d; }
  return select(0.0, d, fma(v, a, b) > 0.0);
}
fn mask4(d: vec4f, v: vec4f, a: vec4f, b: vec4f) -> vec4f {
  if (RELU == 0u) { return d; }
  return select(vec4f(0.0), d, fma(v, a, b) > vec4f(0.0));
}

fn idx1(g: vec3u, nw: vec3u) -> u32 {
  return g.x + g.y * nw.x * WG;
}

// Statistics in one pass over x: per (n, c) plane, Welford's running mean and sum of squared deviations M2 (stable
// like a two-pass sum: no E[x²] − E[x]² cancellation); part[c·N + n] = the plane's mean, part[C·N + c·N + n] = its M2.
@compute @workgroup_size(WG)
fn plane_stats(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.N * p.C) { return; }
  let c = i % p.C;
  let n = i / p.C;
  let base = i * p.HW;
  var mean = 0.0;
  var m2 = 0.0;
  for (var j = 0u; j < p.HW; j++) {
    let v = x[base + j];
    let d = v - mean;
    mean = fma(d, 1.0 / f32(j + 1u), mean);
    m2 = fma(d, v - mean, m2);
  }
  part[c * p.N + n] = mean;
  part[p.C * p.N + c * p.N + n] = m2;
}

// Mean and biased variance → invStd, scale = γ·invStd, shift = β − mean·scale; running stats (unbiased variance) when update = 1.
@compute @workgroup_size(WG)
fn finalize(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let c = idx1(g, nw);
  if (c >= p.C) { return; }
  // Planes merged with Chan et al.'s rule for equal counts HW: mean of the means; M2 = Σ M2_plane + HW·Σ (mean_plane − mean)².
  var sm = 0.0;
  for (var n = 0u; n < p.N; n++) { sm += part[c * p.N + n]; }
  let mu = sm / f32(p.N);
  var s = 0.0;
  var sd = 0.0;
  for (var n = 0u; n < p.N; n++) {
    s += part[p.C * p.N + c * p.N + n];
    let d = part[c * p.N + n] - mu;
    sd = fma(d, d, sd);
  }
  let M = f32(p.N * p.HW);
  let v = fma(sd, f32(p.HW), s) / M;
  let inv = 1.0 / sqrt(v + p.eps);
  stats[c] = mu;
  stats[p.C + c] = inv;
  stats[2u * p.C + c] = gamma[c] * inv;
  stats[3u * p.C + c] = beta[c] - mu * gamma[c] * inv;
  if (p.update != 0u) {
    runMean[c] = (1.0 - p.momentum) * runMean[c] + p.momentum * mu;
    runVar[c] = (1.0 - p.momentum) * runVar[c] + p.momentum * v * M / (M - 1.0);
  }
}

// Eval: stats from the running statistics (mean = runMean, invStd = 1/√(runVar + eps), scale, shift).
@compute @workgroup_size(WG)
fn eval_stats(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let c = idx1(g, nw);
  if (c >= p.C) { return; }
  let mu = runMean[c];
  let inv = 1.0 / sqrt(runVar[c] + p.eps);
  stats[c] = mu;
  stats[p.C + c] = inv;
  stats[2u * p.C + c] = gamma[c] * inv;
  stats[3u * p.C + c] = beta[c] - mu * gamma[c] * inv;
}

// y = x·scale[c] + shift[c].
@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let c = (i / p.HW) % p.C;
  y[i] = relu1(fma(x[i], st[2u * p.C + c], st[3u * p.C + c]));
}

// Backward pass 1: part[c·N + n] = Σ dy, part[C·N + c·N + n] = Σ dy·x̂ over plane (n, c).
@compute @workgroup_size(WG)
fn bwd_plane(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.N * p.C) { return; }
  let c = i % p.C;
  let n = i / p.C;
  let mu = st[c];
  let inv = st[p.C + c];
  let base = i * p.HW;
  let a = st[2u * p.C + c];
  let b = st[3u * p.C + c];
  var sd = 0.0;
  var sdx = 0.0;
  for (var j = 0u; j < p.HW; j++) {
    let xv = x[base + j];
    let d = mask1(dy[base + j], xv, a, b);
    sd += d;
    sdx += d * (xv - mu);
  }
  part[c * p.N + n] = sd;
  part[p.C * p.N + c * p.N + n] = sdx * inv;
}

// dgb[c] = dγ = Σ dy·x̂, dgb[C + c] = dβ = Σ dy.
@compute @workgroup_size(WG)
fn bwd_reduce(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let c = idx1(g, nw);
  if (c >= p.C) { return; }
  var sd = 0.0;
  var sdx = 0.0;
  for (var n = 0u; n < p.N; n++) {
    sd += part[c * p.N + n];
    sdx += part[p.C * p.N + c * p.N + n];
  }
  dgb[c] = sdx;
  dgb[p.C + c] = sd;
}

// Training dx = γ·invStd/M·(M·dy − dβ − x̂·dγ) (batch statistics depend on x).
@compute @workgroup_size(WG)
fn bwd_dx(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let c = (i / p.HW) % p.C;
  let inv = st[p.C + c];
  let M = f32(p.N * p.HW);
  let xv = x[i];
  let xh = (xv - st[c]) * inv;
  y[i] = gamma[c] * inv / M * (M * mask1(dy[i], xv, st[2u * p.C + c], st[3u * p.C + c]) - dgb[p.C + c] - xh * dgb[c]);
}

// Eval dx = dy·scale[c] (running statistics are constants).
@compute @workgroup_size(WG)
fn bwd_dx_eval(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.total) { return; }
  let c = (i / p.HW) % p.C;
  let a = st[2u * p.C + c];
  y[i] = mask1(dy[i], x[i], a, st[3u * p.C + c]) * a;
}

// ---------- vec4 variants (H·W % 4 = 0): on llvmpipe each load or store costs ≈ 2–3 ns per invocation whatever it
// moves, so 4 elements per load cut these memory-bound passes ~2–4× (bench/NOTES-conv.md). Same sums, same order
// within a plane up to the 4 interleaved partial sums (s.x + s.y + s.z + s.w at the end). ----------
@group(0) @binding(12) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> y4: array<vec4<f32>>;

fn hsum(v: vec4f) -> f32 { return (v.x + v.y) + (v.z + v.w); }

// plane_stats with 4 interleaved Welford streams (one per vec4 lane, HW/4 values each), merged at the end.
@compute @workgroup_size(WG)
fn plane_stats4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.N * p.C) { return; }
  let c = i % p.C;
  let n = i / p.C;
  let H4 = p.HW / 4u;
  let base = i * H4;
  var mean = vec4f(0.0);
  var m2 = vec4f(0.0);
  for (var j = 0u; j < H4; j++) {
    let v = x4[base + j];
    let d = v - mean;
    mean = fma(d, vec4f(1.0 / f32(j + 1u)), mean);
    m2 = fma(d, v - mean, m2);
  }
  let mu = hsum(mean) * 0.25;
  let dm = mean - vec4f(mu);
  part[c * p.N + n] = mu;
  part[p.C * p.N + c * p.N + n] = hsum(m2) + f32(H4) * dot(dm, dm);
}

// The vec4 element-wise kernels make RUN consecutive vec4 of one channel plane per invocation (HW/4 % RUN = 0): the
// channel's statistics are loaded once per RUN instead of once per vec4 (on llvmpipe every load costs as much as
// tens of FMAs, whatever its size).
override RUN: u32 = 1;

@compute @workgroup_size(WG)
fn apply4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw) * RUN;
  if (i >= p.total / 4u) { return; }
  let c = (i / (p.HW / 4u)) % p.C;
  let a = vec4f(st[2u * p.C + c]);
  let b = vec4f(st[3u * p.C + c]);
  for (var r = 0u; r < RUN; r++) { y4[i + r] = relu4(fma(x4[i + r], a, b)); }
}

@compute @workgroup_size(WG)
fn bwd_plane4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw);
  if (i >= p.N * p.C) { return; }
  let c = i % p.C;
  let n = i / p.C;
  let mu = vec4f(st[c]);
  let inv = st[p.C + c];
  let a = vec4f(st[2u * p.C + c]);
  let b = vec4f(st[3u * p.C + c]);
  let H4 = p.HW / 4u;
  let base = i * H4;
  var sd = vec4f(0.0);
  var sdx = vec4f(0.0);
  for (var j = 0u; j < H4; j++) {
    let xv = x4[base + j];
    let d = mask4(dy4[base + j], xv, a, b);
    sd += d;
    sdx = fma(d, xv - mu, sdx);
  }
  part[c * p.N + n] = hsum(sd);
  part[p.C * p.N + c * p.N + n] = hsum(sdx) * inv;
}

@compute @workgroup_size(WG)
fn bwd_dx4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw) * RUN;
  if (i >= p.total / 4u) { return; }
  let c = (i / (p.HW / 4u)) % p.C;
  let inv = st[p.C + c];
  let M = f32(p.N * p.HW);
  let mu = vec4f(st[c]);
  let k = gamma[c] * inv / M;
  let db = vec4f(dgb[p.C + c]);
  let dg = dgb[c];
  let a = vec4f(st[2u * p.C + c]);
  let b = vec4f(st[3u * p.C + c]);
  for (var r = 0u; r < RUN; r++) {
    let xv = x4[i + r];
    let xh = (xv - mu) * inv;
    y4[i + r] = k * (M * mask4(dy4[i + r], xv, a, b) - db - xh * dg);
  }
}

@compute @workgroup_size(WG)
fn bwd_dx_eval4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = idx1(g, nw) * RUN;
  if (i >= p.total / 4u) { return; }
  let c = (i / (p.HW / 4u)) % p.C;
  let a = vec4f(st[2u * p.C + c]);
  let b = vec4f(st[3u * p.C + c]);
  for (var r = 0u; r < RUN; r++) { y4[i + r] = mask4(dy4[i + r], x4[i + r], a, b) * a; }
}
