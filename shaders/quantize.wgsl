// Sign quantisation with bit packing: codes[r, w] bit b = 1 iff f[r, 32w + b] ≥ 0 (sign(0) = +1; −0 ≥ 0 holds, so −0 → 1;
// NaN → 0), unused high bits of the last word 0. Same convention as src/hash/codes.ts.
//
// The sign is read from the float's bits, never by a float comparison: WGSL lets a device flush subnormals to zero,
// and NVIDIA's does (H200, Dawn Vulkan), so `x >= 0.0` said 1 for x = −1e-40 there (−1e-40 → −0), 0 on llvmpipe
// and on the CPU. As bits: non-negative and not NaN ⇔ u ≤ 0x7f800000 (+0 … +inf); the one negative that counts is −0.

struct Params {
  n: u32,
  k: u32,
  words: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// The f32 descriptors, as their bit patterns.
@group(0) @binding(1) var<storage, read> f: array<u32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;

override WG: u32 = 64;

// 1 iff the f32 with bits u is ≥ 0: +0 … +inf, and −0.
fn non_negative(u: u32) -> bool {
  return u <= 0x7f800000u || u == 0x80000000u;
}

// One invocation per output word (row-major [n, words]).
@compute @workgroup_size(WG)
fn sign_pack(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.n * p.words) { return; }
  let r = i / p.words;
  let w = i % p.words;
  let c0 = w * 32u;
  let nb = min(32u, p.k - c0);
  var word = 0u;
  for (var b = 0u; b < nb; b++) {
    word |= select(0u, 1u << b, non_negative(f[r * p.k + c0 + b]));
  }
  codes[i] = word;
}
