// Optimiser steps, one fused kernel per parameter tensor per step, in place on w and the state buffers.
// Formulas and their order of operations follow src/cpu/optim.ts (PyTorch semantics). lr, the step's bias
// corrections and the other hyper-parameters travel in the params uniform, so one pipeline serves every step.

struct Params {
  n: u32,
  lr: f32,
  momentum: f32,   // SGD μ
  wd: f32,         // weight decay
  nesterov: u32,   // SGD: 1 for Nesterov momentum
  beta1: f32,
  beta2: f32,
  omb1: f32,       // 1 − β1 and 1 − β2, rounded once from float64 (1 − f32(0.9) in f32 is off by 2e-7 relative)
  omb2: f32,
  eps: f32,
  bc1: f32,        // Adam: 1 − β1ᵗ and 1 − β2ᵗ (computed on the host in float64)
  bc2: f32,
  decoupled: u32,  // Adam: 1 for AdamW (w ← w·(1 − lr·wd)), 0 for L2 decay in the gradient
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;   // SGD momentum buffer; Adam first moment
@group(0) @binding(4) var<storage, read_write> v: array<f32>;   // Adam second moment

override WG: u32 = 64;

// SGD without momentum: w ← w − lr·(g + wd·w) (no state).
@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  let wi = w[i];
  w[i] = wi - p.lr * (grad[i] + p.wd * wi);
}

// SGD with momentum: g' = g + wd·w; m ← μ·m + g'; w ← w − lr·(nesterov ? g' + μ·m : m).
@compute @workgroup_size(WG)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  let wi = w[i];
  let gi = grad[i] + p.wd * wi;
  let mi = p.momentum * m[i] + gi;
  m[i] = mi;
  let step = select(mi, gi + p.momentum * mi, p.nesterov == 1u);
  w[i] = wi - p.lr * step;
}

// Adam / AdamW: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; w ← w − lr·(m/bc1) / (√(v/bc2) + eps).
@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  var wi = w[i];
  var gi = grad[i];
  if (p.decoupled == 1u) { wi = wi * (1.0 - p.lr * p.wd); } else { gi = gi + p.wd * wi; }
  let mi = p.beta1 * m[i] + p.omb1 * gi;
  let vi = p.beta2 * v[i] + p.omb2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  w[i] = wi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}

// vec4 variants (n a multiple of 4, p.n counts vec4s): one vec4 per invocation runs the step ≈ 2× faster than the
// scalar kernels on llvmpipe (memory-bound; measured in scratch/ew/bw.mjs), same formulas lane by lane.
@group(0) @binding(5) var<storage, read_write> w4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> m4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> v4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn sgd_v4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  let wi = w4[i];
  w4[i] = wi - p.lr * (grad4[i] + p.wd * wi);
}

@compute @workgroup_size(WG)
fn sgd_momentum_v4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  let wi = w4[i];
  let gi = grad4[i] + p.wd * wi;
  let mi = p.momentum * m4[i] + gi;
  m4[i] = mi;
  let step = select(mi, gi + p.momentum * mi, p.nesterov == 1u);
  w4[i] = wi - p.lr * step;
}

@compute @workgroup_size(WG)
fn adam_v4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i >= p.n) { return; }
  var wi = w4[i];
  var gi = grad4[i];
  if (p.decoupled == 1u) { wi = wi * (1.0 - p.lr * p.wd); } else { gi = gi + p.wd * wi; }
  let mi = p.beta1 * m4[i] + p.omb1 * gi;
  let vi = p.beta2 * v4[i] + p.omb2 * gi * gi;
  m4[i] = mi;
  v4[i] = vi;
  w4[i] = wi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}
