// Ceiling kernels for the benchmarks: peak FP32 FMA throughput and memory bandwidth of the adapter. The harness
// (src/bench/harness.ts) times several shapes of each through the override constants and keeps the fastest.

struct Params {
  n: u32,      // vec4 elements (copy) or invocations (fma)
  iters: u32,  // FMA loop trips
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;

override WG: u32 = 64;
// Independent FMA chains per invocation: 4, 8, 16 or 32 (the branches on it fold away at pipeline creation).
override CHAINS: u32 = 8;
// Dependent FMAs per chain per loop trip: 1, 2, 4 or 8. On llvmpipe each loop-carried assignment costs about an FMA
// (stored through the execution mask), so one FMA per trip measures half the FMA units (bench/NOTES.md).
override DEPTH: u32 = 1;
// vec4 elements copied per invocation, strided by the whole grid so each pass over the buffer stays contiguous.
override PER: u32 = 1;

// DEPTH dependent FMAs (the branches fold away). (Not `x`: the reflector would take it for the binding.)
fn deep4(r: vec4<f32>, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  var v = fma(r, a, b);
  if (DEPTH > 1u) { v = fma(v, a, b); }
  if (DEPTH > 2u) { v = fma(fma(v, a, b), a, b); }
  if (DEPTH > 4u) { v = fma(fma(fma(fma(v, a, b), a, b), a, b), a, b); }
  return v;
}
fn deep1(r: f32, a: f32, b: f32) -> f32 {
  var v = fma(r, a, b);
  if (DEPTH > 1u) { v = fma(v, a, b); }
  if (DEPTH > 2u) { v = fma(fma(v, a, b), a, b); }
  if (DEPTH > 4u) { v = fma(fma(fma(fma(v, a, b), a, b), a, b), a, b); }
  return v;
}

// CHAINS independent vec4 FMA chains: CHAINS × DEPTH × 4 × 2 FLOP per trip, no memory traffic in the loop.
@compute @workgroup_size(WG)
fn fma_vec4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  let s = f32(i & 7u) * 1e-3;
  var r0 = vec4(s); var r1 = vec4(s + 0.01); var r2 = vec4(s + 0.02); var r3 = vec4(s + 0.03);
  var r4 = vec4(s + 0.04); var r5 = vec4(s + 0.05); var r6 = vec4(s + 0.06); var r7 = vec4(s + 0.07);
  var r8 = vec4(s + 0.08); var r9 = vec4(s + 0.09); var r10 = vec4(s + 0.10); var r11 = vec4(s + 0.11);
  var r12 = vec4(s + 0.12); var r13 = vec4(s + 0.13); var r14 = vec4(s + 0.14); var r15 = vec4(s + 0.15);
  var r16 = vec4(s + 0.16); var r17 = vec4(s + 0.17); var r18 = vec4(s + 0.18); var r19 = vec4(s + 0.19);
  var r20 = vec4(s + 0.20); var r21 = vec4(s + 0.21); var r22 = vec4(s + 0.22); var r23 = vec4(s + 0.23);
  var r24 = vec4(s + 0.24); var r25 = vec4(s + 0.25); var r26 = vec4(s + 0.26); var r27 = vec4(s + 0.27);
  var r28 = vec4(s + 0.28); var r29 = vec4(s + 0.29); var r30 = vec4(s + 0.30); var r31 = vec4(s + 0.31);
  let a = vec4(p.a);
  let b = vec4(p.b);
  for (var t = 0u; t < p.iters; t++) {
    r0 = deep4(r0, a, b); r1 = deep4(r1, a, b); r2 = deep4(r2, a, b); r3 = deep4(r3, a, b);
    if (CHAINS > 4u) {
      r4 = deep4(r4, a, b); r5 = deep4(r5, a, b); r6 = deep4(r6, a, b); r7 = deep4(r7, a, b);
    }
    if (CHAINS > 8u) {
      r8 = deep4(r8, a, b); r9 = deep4(r9, a, b); r10 = deep4(r10, a, b); r11 = deep4(r11, a, b);
      r12 = deep4(r12, a, b); r13 = deep4(r13, a, b); r14 = deep4(r14, a, b); r15 = deep4(r15, a, b);
    }
    if (CHAINS > 16u) {
      r16 = deep4(r16, a, b); r17 = deep4(r17, a, b); r18 = deep4(r18, a, b); r19 = deep4(r19, a, b);
      r20 = deep4(r20, a, b); r21 = deep4(r21, a, b); r22 = deep4(r22, a, b); r23 = deep4(r23, a, b);
      r24 = deep4(r24, a, b); r25 = deep4(r25, a, b); r26 = deep4(r26, a, b); r27 = deep4(r27, a, b);
      r28 = deep4(r28, a, b); r29 = deep4(r29, a, b); r30 = deep4(r30, a, b); r31 = deep4(r31, a, b);
    }
  }
  var sum = r0 + r1 + r2 + r3;
  if (CHAINS > 4u) { sum += r4 + r5 + r6 + r7; }
  if (CHAINS > 8u) { sum += r8 + r9 + r10 + r11 + r12 + r13 + r14 + r15; }
  if (CHAINS > 16u) { sum += r16 + r17 + r18 + r19 + r20 + r21 + r22 + r23 + r24 + r25 + r26 + r27 + r28 + r29 + r30 + r31; }
  if (i < p.n) { y[i] = sum; }
}

// CHAINS independent scalar FMA chains: CHAINS × DEPTH × 2 FLOP per trip.
@compute @workgroup_size(WG)
fn fma_scalar(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  let s = f32(i & 7u) * 1e-3;
  var r0 = s; var r1 = s + 0.01; var r2 = s + 0.02; var r3 = s + 0.03;
  var r4 = s + 0.04; var r5 = s + 0.05; var r6 = s + 0.06; var r7 = s + 0.07;
  var r8 = s + 0.08; var r9 = s + 0.09; var r10 = s + 0.10; var r11 = s + 0.11;
  var r12 = s + 0.12; var r13 = s + 0.13; var r14 = s + 0.14; var r15 = s + 0.15;
  var r16 = s + 0.16; var r17 = s + 0.17; var r18 = s + 0.18; var r19 = s + 0.19;
  var r20 = s + 0.20; var r21 = s + 0.21; var r22 = s + 0.22; var r23 = s + 0.23;
  var r24 = s + 0.24; var r25 = s + 0.25; var r26 = s + 0.26; var r27 = s + 0.27;
  var r28 = s + 0.28; var r29 = s + 0.29; var r30 = s + 0.30; var r31 = s + 0.31;
  let a = p.a;
  let b = p.b;
  for (var t = 0u; t < p.iters; t++) {
    r0 = deep1(r0, a, b); r1 = deep1(r1, a, b); r2 = deep1(r2, a, b); r3 = deep1(r3, a, b);
    if (CHAINS > 4u) {
      r4 = deep1(r4, a, b); r5 = deep1(r5, a, b); r6 = deep1(r6, a, b); r7 = deep1(r7, a, b);
    }
    if (CHAINS > 8u) {
      r8 = deep1(r8, a, b); r9 = deep1(r9, a, b); r10 = deep1(r10, a, b); r11 = deep1(r11, a, b);
      r12 = deep1(r12, a, b); r13 = deep1(r13, a, b); r14 = deep1(r14, a, b); r15 = deep1(r15, a, b);
    }
    if (CHAINS > 16u) {
      r16 = deep1(r16, a, b); r17 = deep1(r17, a, b); r18 = deep1(r18, a, b); r19 = deep1(r19, a, b);
      r20 = deep1(r20, a, b); r21 = deep1(r21, a, b); r22 = deep1(r22, a, b); r23 = deep1(r23, a, b);
      r24 = deep1(r24, a, b); r25 = deep1(r25, a, b); r26 = deep1(r26, a, b); r27 = deep1(r27, a, b);
      r28 = deep1(r28, a, b); r29 = deep1(r29, a, b); r30 = deep1(r30, a, b); r31 = deep1(r31, a, b);
    }
  }
  var sum = r0 + r1 + r2 + r3;
  if (CHAINS > 4u) { sum += r4 + r5 + r6 + r7; }
  if (CHAINS > 8u) { sum += r8 + r9 + r10 + r11 + r12 + r13 + r14 + r15; }
  if (CHAINS > 16u) { sum += r16 + r17 + r18 + r19 + r20 + r21 + r22 + r23 + r24 + r25 + r26 + r27 + r28 + r29 + r30 + r31; }
  if (i < p.n) { y[i] = vec4(sum); }
}

// y = x over n vec4s, PER per invocation: bytes moved = 2 × 16 × n.
@compute @workgroup_size(WG)
fn copy4(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  let stride = nw.x * nw.y * WG;
  for (var j = 0u; j < PER; j++) {
    let k = i + j * stride;
    if (k < p.n) { y[k] = x[k]; }
  }
}
