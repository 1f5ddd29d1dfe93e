// Counter-based Philox4x32-10 in u32 arithmetic, bit-exact with src/cpu/philox.ts (which documents the mapping):
// key = (seed lo, seed hi); element e uses block j = ⌊e/4⌋, lane e mod 4, counter (j lo, j hi, stream, 0),
// stream 0 for uniforms and 1 for normals. One invocation computes one block and writes the (up to) four outputs
// that fall in [offset, offset + n); output k holds element e = offset + k.

struct Params {
  n: u32,        // outputs
  blocks: u32,   // blocks to compute: ⌈(offset mod 4 + n) / 4⌉
  j0lo: u32,     // first block ⌊offset / 4⌋, split in 32-bit halves
  j0hi: u32,
  shift: u32,    // offset mod 4
  keylo: u32,
  keyhi: u32,
  a: f32,        // uniform: lo; normal: mean
  b: f32,        // uniform: hi − lo; normal: std
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

override WG: u32 = 64;

// High 32 bits of a·b: WGSL has no 64-bit product, so multiply 16-bit halves (each partial < 2³²) and carry.
fn mulhi32(a: u32, b: u32) -> u32 {
  let ah = a >> 16u; let al = a & 0xffffu;
  let bh = b >> 16u; let bl = b & 0xffffu;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl; let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}

fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u); }
    let hi0 = mulhi32(0xD2511F53u, c.x); let lo0 = 0xD2511F53u * c.x;
    let hi1 = mulhi32(0xCD9E8D57u, c.z); let lo1 = 0xCD9E8D57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
  }
  return c;
}

// The block t blocks after the first one (64-bit counter add with carry).
fn philox_block(t: u32, stream: u32) -> vec4<u32> {
  let lo = p.j0lo + t;
  let hi = p.j0hi + select(0u, 1u, lo < t);
  return philox(vec4<u32>(lo, hi, stream, 0u), vec2<u32>(p.keylo, p.keyhi));
}

// 24 random bits → [0, 1), exact in f32.
fn to_unit(r: u32) -> f32 {
  return f32(r >> 8u) * 5.9604644775390625e-8;
}

// ln u1 for u1 = (k + 1)·2⁻²⁴. llvmpipe's log is off by ~1e-8 absolute near 1, which is 0.1 % of a small radius
// (measured); there ln(1 − d), d = 1 − u1 exact from k, comes from its series (7 terms: < 5e-10 relative for d < 1/16).
fn log_unit(u1: f32, k: u32) -> f32 {
  let d = f32(0xffffffu - k) * 5.9604644775390625e-8;
  let series = -d * (1.0 + d * (1.0 / 2.0 + d * (1.0 / 3.0 + d * (1.0 / 4.0 + d * (1.0 / 5.0 + d * (1.0 / 6.0 + d / 7.0))))));
  return select(log(u1), series, d < 0.0625);
}

fn put(t: u32, lane: u32, v: f32) {
  let k = 4u * t + lane;
  if (k >= p.shift && k - p.shift < p.n) { y[k - p.shift] = v; }
}

// y = lo + (hi − lo)·u, u uniform in [0, 1).
@compute @workgroup_size(WG)
fn random_uniform(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let t = g.x + g.y * nw.x * WG;
  if (t >= p.blocks) { return; }
  let r = philox_block(t, 0u);
  for (var l = 0u; l < 4u; l++) { put(t, l, p.a + p.b * to_unit(r[l])); }
}

// y = mean + std·z, z standard normal by Box–Muller on lane pairs (0, 1) and (2, 3) of the block.
@compute @workgroup_size(WG)
fn random_normal(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let t = g.x + g.y * nw.x * WG;
  if (t >= p.blocks) { return; }
  let r = philox_block(t, 1u);
  for (var q = 0u; q < 2u; q++) {
    let u1 = f32((r[2u * q] >> 8u) + 1u) * 5.9604644775390625e-8;  // (0, 1]: log is finite
    let u2 = to_unit(r[2u * q + 1u]);
    let radius = sqrt(-2.0 * log_unit(u1, r[2u * q] >> 8u));
    // cos/sin of 2π·u2 from an argument in [−π, π): smaller arguments, smaller f32 errors; (u2 − ½) is exact.
    let theta = 6.283185307179586 * (u2 - 0.5);
    put(t, 2u * q, p.a + p.b * (-radius * cos(theta)));
    put(t, 2u * q + 1u, p.a + p.b * (-radius * sin(theta)));
  }
}
