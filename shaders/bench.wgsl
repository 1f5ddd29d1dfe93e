// Ceiling kernels for the benchmarks: peak FP32 FMA throughput and memory bandwidth of the adapter.

struct Params {
  n: u32,      // elements (copy) or invocations (fma)
  iters: u32,  // FMA loop trips
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;

override WG: u32 = 64;

// 8 independent vec4 FMA chains per invocation: 8 × 4 × 2 = 64 FLOP per trip, no memory traffic in the loop.
@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  let s = f32(i & 7u) * 1e-3;
  var r0 = vec4(s); var r1 = vec4(s + 0.1); var r2 = vec4(s + 0.2); var r3 = vec4(s + 0.3);
  var r4 = vec4(s + 0.4); var r5 = vec4(s + 0.5); var r6 = vec4(s + 0.6); var r7 = vec4(s + 0.7);
  let a = vec4(p.a);
  let b = vec4(p.b);
  for (var t = 0u; t < p.iters; t++) {
    r0 = fma(r0, a, b); r1 = fma(r1, a, b); r2 = fma(r2, a, b); r3 = fma(r3, a, b);
    r4 = fma(r4, a, b); r5 = fma(r5, a, b); r6 = fma(r6, a, b); r7 = fma(r7, a, b);
  }
  if (i < p.n) { y[i] = r0 + r1 + r2 + r3 + r4 + r5 + r6 + r7; }
}

// y = x, vec4 per invocation: bytes moved = 2 × 16 × n.
@compute @workgroup_size(WG)
fn copy4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.n) { y[i] = x[i]; }
}
