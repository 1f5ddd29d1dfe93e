// Deterministic sums along one axis, viewing x as [outer, size, inner] (row-major): no atomics, no barriers.
// One pass cuts the axis into chunks of `chunk` elements; each invocation adds one chunk of one (o, i) column in
// order and writes a partial of shape [outer, chunks, inner]. The op repeats the pass on the partials until one
// chunk is left, so a sum of n elements is a tree of depth ⌈log_chunk n⌉ with sequential leaves (bound in reduce.ts).
// The same order every run: results are bit-reproducible on one adapter.

struct Params {
  n: u32,      // outputs of this pass: outer · chunks · inner (or outputs of broadcast_axis: outer · size · inner)
  size: u32,   // length of the reduced axis
  inner: u32,
  chunks: u32, // ⌈size / chunk⌉
  chunk: u32,
  alpha: f32,  // scale of the result (1/size for a mean on the last pass, else 1)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn sum_axis(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let t = g.x + g.y * nw.x * WG;
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let rest = t / p.inner;
  let c = rest % p.chunks;
  let o = rest / p.chunks;
  let a0 = c * p.chunk;
  let a1 = min(p.size, a0 + p.chunk);
  var at = (o * p.size + a0) * p.inner + i;
  var s = 0.0;
  for (var a = a0; a < a1; a++) {
    s += x[at];
    at += p.inner;
  }
  y[t] = p.alpha * s;
}

// Backward of a sum along an axis: y[o, a, i] = alpha · x[o, i] (x = ∂L/∂sum, alpha = 1 or 1/size for a mean).
@compute @workgroup_size(WG)
fn broadcast_axis(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let t = g.x + g.y * nw.x * WG;
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let o = t / (p.size * p.inner);
  y[t] = p.alpha * x[o * p.inner + i];
}
