// Softmax cross-entropy over logits [B, C] with u32 labels [B]: per-row losses and the row statistics the backward
// needs (max and log-sum-exp), then dlogits. Max-subtracted, so large logits do not overflow. A label ≥ C (the
// host validates host labels; GPU labels cannot be checked without a read-back) gives NaN for that row and its
// gradient, never an out-of-bounds read, so the training loop's NaN check stops the run.

struct Params {
  B: u32,
  C: u32,
  scale: f32,  // backward: 1/B (the mean); ∂L/∂loss is read from dloss on the GPU
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;    // [B, 2]: max, log Σ exp(x − max)
@group(0) @binding(5) var<storage, read> rowStats: array<f32>;
@group(0) @binding(6) var<storage, read> dloss: array<f32>;
@group(0) @binding(7) var<storage, read_write> dlogits: array<f32>;

override WG: u32 = 64;

// NaN from a runtime value (a constant NaN does not compile).
fn nan(seed: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (seed & 0u));
}

// One invocation per row: loss_b = max + log Σ exp(x − max) − x[label].
@compute @workgroup_size(WG)
fn ce_forward(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let b = g.x + g.y * nw.x * WG;
  if (b >= p.B) { return; }
  let row = b * p.C;
  var mx = logits[row];
  for (var c = 1u; c < p.C; c++) { mx = max(mx, logits[row + c]); }
  var z = 0.0;
  for (var c = 0u; c < p.C; c++) { z += exp(logits[row + c] - mx); }
  let lse = log(z);
  let label = labels[b];
  if (label < p.C) {
    rowLoss[b] = lse - (logits[row + label] - mx);
    stats[2u * b] = mx;
    stats[2u * b + 1u] = lse;
  } else {
    rowLoss[b] = nan(label);
    stats[2u * b] = nan(label);
    stats[2u * b + 1u] = nan(label);
  }
}

// dlogits[b, c] = dloss · (softmax(x_b)[c] − [c = label_b]) / B, one invocation per element.
@compute @workgroup_size(WG)
fn ce_backward(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let label = labels[b];
  let prob = exp(logits[i] - rowStats[2u * b] - rowStats[2u * b + 1u]);
  let onehot = select(0.0, 1.0, c == label);
  let d = dloss[0] * p.scale * (prob - onehot);
  dlogits[i] = select(nan(label), d, label < p.C);
}
