// Small utility kernels: fill, copy, an empty kernel (the timing baseline) and an index-sum used by runtime tests.

struct Params {
  n: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

override WG: u32 = 64;

// y[i] = value
@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.n) { y[i] = p.value; }
}

// y[i] = x[i] * value
@compute @workgroup_size(WG)
fn scale_copy(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.n) { y[i] = x[i] * p.value; }
}

// y[i] += value (used to check that many dispatches of one submit run in order)
@compute @workgroup_size(WG)
fn add_scalar(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.n) { y[i] = y[i] + p.value; }
}

// Does nothing: the dispatch-overhead baseline of the benchmarks.
@compute @workgroup_size(WG)
fn empty() {
}

// y[i] += x[i]: gradient accumulation (autograd's `grad += g`).
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.n) { y[i] = y[i] + x[i]; }
}

// y[i] = NaN: tests poison outputs so that an element a kernel forgets to write fails the comparison.
@compute @workgroup_size(WG)
fn poison(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  // Built from a runtime value: a constant NaN is rejected by the WGSL compiler.
  if (i < p.n) { y[i] = bitcast<f32>(0x7fc00000u | (p.n & 0u)); }
}
