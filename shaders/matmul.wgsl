// GEMM: C = act(alpha · op(A) · op(B) + beta · C + bias), batched, op = identity or transpose.
// op(A) is M×K, op(B) is K×N, C is M×N (row stride ldc). A is stored M×K (lda ≥ K), or K×M when TRANS_A (lda ≥ M);
// B is stored K×N (ldb ≥ N), or N×K when TRANS_B (ldb ≥ K). Batch z reads A at offA + z·sA, B at offB + z·sB
// and writes C at offC + z·sC (a stride of 0 broadcasts). bias (length N, at offBias) is added along rows.
// Kernel variants (kept alive, selected by the op): gemm_naive → gemm_tiled → gemm_regblock.

struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32, offBias: u32,
  sA: u32, sB: u32, sC: u32,
  alpha: f32, beta: f32,
  // Epilogue switches as params, not overrides: each regblock pipeline costs 3–5 s of cold LLVM compile on llvmpipe.
  hasBias: u32,
  act: u32,   // 0 none, 1 relu, 2 tanh
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
// The same buffers seen as vec4 (regblock: offsets, leading dimensions and batch strides must be multiples of 4).
@group(0) @binding(5) var<storage, read> a4: array<vec4f>;
@group(0) @binding(6) var<storage, read> b4: array<vec4f>;
// a4 and b4 read through textures by the generated kernel with tex (gemm.TEX): the runtime copies the buffers in
// before the dispatch (src/gpu/runtime.ts DispatchArgs.texels).
@group(0) @binding(7) var a4t: texture_2d<f32>;
@group(0) @binding(8) var b4t: texture_2d<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;

// The fused epilogue for one output element: v = (op(A)·op(B))[m, n], ci its index in c.
fn epilogue(v: f32, n: u32, ci: u32) -> f32 {
  var r = p.alpha * v;
  if (p.beta != 0.0) { r += p.beta * c[ci]; }
  return finish(r, n);
}

// The epilogue's second half: bias and activation of r = α·v (+ β·C) in column n.
fn finish(r0: f32, n: u32) -> f32 {
  var r = r0;
  if (p.hasBias != 0u) { r += bias[p.offBias + n]; }
  if (p.act == 1u) { r = max(r, 0.0); } else if (p.act == 2u) { r = tanh(r); }
  return r;
}

fn idxA(base: u32, m: u32, k: u32) -> u32 {
  if (TRANS_A) { return base + k * p.lda + m; }
  return base + m * p.lda + k;
}

fn idxB(base: u32, k: u32, n: u32) -> u32 {
  if (TRANS_B) { return base + n * p.ldb + k; }
  return base + k * p.ldb + n;
}

// ---- Variant 1: naive, one output per invocation. ----
override NAIVE_WX: u32 = 16u;
override NAIVE_WY: u32 = 16u;

@compute @workgroup_size(NAIVE_WX, NAIVE_WY)
fn gemm_naive(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let m = g.y;
  if (m >= p.M || n >= p.N) { return; }
  let baseA = p.offA + g.z * p.sA;
  let baseB = p.offB + g.z * p.sB;
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) {
    s = fma(a[idxA(baseA, m, k)], b[idxB(baseB, k, n)], s);
  }
  let ci = p.offC + g.z * p.sC + m * p.ldc + n;
  c[ci] = epilogue(s, n, ci);
}

// ---- Variant 2: shared-memory tiles of TS×TS, one output per invocation. ----
override TS: u32 = 16u;
const TS_MAX = 32u;
var<workgroup> tileA: array<f32, TS_MAX * TS_MAX>;
var<workgroup> tileB: array<f32, TS_MAX * TS_MAX>;

@compute @workgroup_size(TS, TS)
fn gemm_tiled(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let n = g.x;
  let m = g.y;
  let baseA = p.offA + g.z * p.sA;
  let baseB = p.offB + g.z * p.sB;
  var s = 0.0;
  for (var k0 = 0u; k0 < p.K; k0 += TS) {
    // Thread (l.x, l.y) loads A[m, k0 + l.x] and B[k0 + l.y, n]; zeros outside the matrices.
    let ka = k0 + l.x;
    let kb = k0 + l.y;
    var va = 0.0;
    var vb = 0.0;
    if (m < p.M && ka < p.K) { va = a[idxA(baseA, m, ka)]; }
    if (n < p.N && kb < p.K) { vb = b[idxB(baseB, kb, n)]; }
    tileA[l.y * TS + l.x] = va;
    tileB[l.y * TS + l.x] = vb;
    workgroupBarrier();
    for (var t = 0u; t < TS; t++) {
      s = fma(tileA[l.y * TS + t], tileB[t * TS + l.x], s);
    }
    workgroupBarrier();
  }
  if (m < p.M && n < p.N) {
    let ci = p.offC + g.z * p.sC + m * p.ldc + n;
    c[ci] = epilogue(s, n, ci);
  }
}

// ---- Variant 3: register-blocked. Each invocation computes TM rows × TN columns with vec4 loads along the
// contiguous dimension of each operand; no shared memory, no barriers. ----
// On llvmpipe every storage-buffer load is a per-lane scalar loop (~2 ns per vec4 load per invocation, measured,
// whatever the address pattern), so the kernel is bound by the number of load instructions: vec4 loads and
// larger TM·TN amortise them until the accumulators spill (16×8 and up measured 2–3× slower with these loops).
// Rows/columns past M/N are clamped or read past the matrix (WebGPU keeps such reads inside the buffer); their
// results are never stored, as C[m, n] depends only on row m of op(A) and column n of op(B). The K tail is masked.
override TM: u32 = 8u;   // rows per invocation, ≤ 16, multiple of 4 when TRANS_A
override TN: u32 = 8u;   // columns per invocation, ≤ 16, multiple of 4
override WX: u32 = 8u;   // workgroup x (columns; the SIMD lane direction on llvmpipe: keep ≥ 8)
override WY: u32 = 1u;   // workgroup y (rows)
const TMAX = 16u;

@compute @workgroup_size(WX, WY)
fn gemm_regblock(@builtin(global_invocation_id) g: vec3u) {
  let n0 = g.x * TN;
  let m0 = g.y * TM;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let baseA = p.offA + g.z * p.sA;
  let baseB = p.offB + g.z * p.sB;
  // Loads stay inline (helper functions taking pointers to these arrays measured ~30 % slower).
  var acc: array<vec4f, 64>;  // acc[i * 4 + j]: row i, columns 4j..4j+3
  var av: array<vec4f, TMAX>; // av[i]: row i of op(A) at k..k+3
  var bv: array<vec4f, TMAX>; // bv[kk * 4 + j]: op(B) at k + kk, columns 4j..4j+3
  var t: array<vec4f, TMAX>;  // transposed loads
  for (var k = 0u; k < p.K; k += 4u) {
    let tail = k + 4u > p.K;
    let kIn = vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K);
    if (TRANS_A) {
      // Stored K×M: one vec4 holds 4 rows at one k.
      for (var kk = 0u; kk < 4u; kk++) {
        let kr = min(k + kk, p.K - 1u);
        for (var i4 = 0u; i4 < TM / 4u; i4++) {
          t[kk * 4u + i4] = a4[(baseA + kr * p.lda + m0) / 4u + i4];
        }
      }
      for (var i = 0u; i < TM; i++) {
        av[i] = vec4f(t[i / 4u][i % 4u], t[4u + i / 4u][i % 4u], t[8u + i / 4u][i % 4u], t[12u + i / 4u][i % 4u]);
      }
    } else {
      for (var i = 0u; i < TM; i++) {
        av[i] = a4[(baseA + min(m0 + i, p.M - 1u) * p.lda + k) / 4u];
      }
    }
    if (TRANS_B) {
      // Stored N×K: one vec4 holds 4 k of one column.
      for (var q = 0u; q < TN; q++) {
        t[q] = b4[(baseB + min(n0 + q, p.N - 1u) * p.ldb + k) / 4u];
      }
      for (var kk = 0u; kk < 4u; kk++) {
        for (var j = 0u; j < TN / 4u; j++) {
          bv[kk * 4u + j] = vec4f(t[4u * j][kk], t[4u * j + 1u][kk], t[4u * j + 2u][kk], t[4u * j + 3u][kk]);
        }
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let kr = min(k + kk, p.K - 1u);
        for (var j = 0u; j < TN / 4u; j++) {
          bv[kk * 4u + j] = b4[(baseB + kr * p.ldb + n0) / 4u + j];
        }
      }
    }
    if (tail) {
      // K tail: zero the k ≥ K components of op(A) and rows of op(B) (padding may hold anything, even NaN).
      for (var i = 0u; i < TM; i++) { av[i] = select(vec4f(0.0), av[i], kIn); }
      for (var kk = 0u; kk < 4u; kk++) {
        for (var j = 0u; j < TN / 4u; j++) { bv[kk * 4u + j] = select(vec4f(0.0), bv[kk * 4u + j], kIn[kk]); }
      }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      for (var i = 0u; i < TM; i++) {
        let s = vec4f(av[i][kk]);
        for (var j = 0u; j < TN / 4u; j++) {
          acc[i * 4u + j] = fma(s, bv[kk * 4u + j], acc[i * 4u + j]);
        }
      }
    }
  }
  let cBase = p.offC + g.z * p.sC;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + j;
      if (n < p.N) {
        let ci = cBase + m * p.ldc + n;
        c[ci] = epilogue(acc[i * 4u + j / 4u][j % 4u], n, ci);
      }
    }
  }
}

// ---- Helpers of the op. ----
override WG: u32 = 64u;

// Bias gradient: c[offC + n] (+)= Σ_r a[offA + r·lda + n] for r < M (rows), n < N; beta = 1 accumulates.
@compute @workgroup_size(WG)
fn colsum(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  if (n >= p.N) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.M; r++) { s += a[p.offA + r * p.lda + n]; }
  let ci = p.offC + n;
  if (p.beta != 0.0) { s += p.beta * c[ci]; }
  c[ci] = s;
}

// Packs batch z of a strided matrix (M rows × K columns at offA + z·sA, row stride lda) into c, tight with row
// stride ldc ≥ K (a multiple of 4) and batch stride sC, zero-filling columns K..ldc: the vec4 layout regblock needs.
@compute @workgroup_size(WG)
fn pack(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.M * p.ldc) { return; }
  let r = i / p.ldc;
  let col = i % p.ldc;
  var v = 0.0;
  if (col < p.K) { v = a[p.offA + g.z * p.sA + r * p.lda + col]; }
  c[p.offC + g.z * p.sC + i] = v;
}

// Activation backward through the saved output y (in b): c = a · act'(y), for M elements.
@compute @workgroup_size(WG)
fn act_backward(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.M) { return; }
  let y = b[i];
  var d = 1.0;
  if (p.act == 1u) { d = select(0.0, 1.0, y > 0.0); } else if (p.act == 2u) { d = 1.0 - y * y; }
  c[i] = a[i] * d;
}
