// Generated GEMM kernel (variant 'unrolled'): the register-blocked kernel gemm_regblock of shaders/matmul.wgsl with
// its loops over the TM × TN block and the 4 k-values of a step unrolled into named registers.
//
// Why generated (the same reason as conv-gen.ts, STYLE.md 11): Mesa leaves gemm_regblock's loops rolled, so its
// private arrays acc/av/bv live in scratch memory and every FMA pays loads and stores on llvmpipe. Written out, the
// accumulators stay in registers. Semantics, bindings and Params are gemm_regblock's: C = act(α·op(A)·op(B) + β·C +
// bias), batched by workgroup z; A, B read as vec4 (offsets, leading dimensions, batch strides multiples of 4).

/** Knobs of one generated kernel: TM rows × TN columns per invocation (TN, and TM when A is transposed, multiples of 4). */
export interface GemmGenKnobs { TM: number; TN: number; transA: boolean; transB: boolean }

const XYZW = 'xyzw';

// The declarations of shaders/matmul.wgsl the kernel uses (WGSL has no include; field names must match for the
// by-name params filling, and the epilogue is the same rule).
const HEADER = `struct Params {
  M: u32, N: u32, K: u32,
  lda: u32, ldb: u32, ldc: u32,
  offA: u32, offB: u32, offC: u32, offBias: u32,
  sA: u32, sB: u32, sC: u32,
  alpha: f32, beta: f32,
  hasBias: u32,
  act: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<storage, read> a4: array<vec4f>;
@group(0) @binding(6) var<storage, read> b4: array<vec4f>;
override WX: u32 = 8u;
override WY: u32 = 8u;

fn epilogue(v: f32, n: u32, ci: u32) -> f32 {
  var r = p.alpha * v;
  if (p.beta != 0.0) { r += p.beta * c[ci]; }
  if (p.hasBias != 0u) { r += bias[p.offBias + n]; }
  if (p.act == 1u) { r = max(r, 0.0); } else if (p.act == 2u) { r = tanh(r); }
  return r;
}
`;

/** The file name under which a kernel is registered (one pipeline per knob set). */
export function gemmGenFile(k: GemmGenKnobs): string {
  return `gemm-gen/gemm_m${k.TM}_n${k.TN}_${k.transA ? 't' : 'n'}${k.transB ? 't' : 'n'}.wgsl`;
}

/** WGSL of entry `gemm` for the knobs. */
export function genGemmSource(k: GemmGenKnobs): string {
  const { TM, TN, transA, transB } = k;
  if (TN % 4 || TN < 4 || TM < 1 || (transA && TM % 4) || TM > 16 || TN > 16) {
    throw new Error(`gemm-gen: TM = ${TM}, TN = ${TN} (TN, and TM with a transposed A, multiples of 4; both ≤ 16)`);
  }
  const J = TN / 4;
  const L: string[] = [];
  L.push(`let n0 = g.x * ${TN}u;`, `let m0 = g.y * ${TM}u;`);
  L.push(`if (m0 >= p.M || n0 >= p.N) { return; }`);
  L.push(`let baseA = p.offA + g.z * p.sA;`, `let baseB = p.offB + g.z * p.sB;`);
  // Loop-invariant vec4 row offsets (rows past the matrix are clamped; their results are discarded).
  if (!transA) for (let i = 0; i < TM; i++) L.push(`let ra${i} = (baseA + min(m0 + ${i}u, p.M - 1u) * p.lda) / 4u;`);
  if (transB) for (let q = 0; q < TN; q++) L.push(`let rb${q} = (baseB + min(n0 + ${q}u, p.N - 1u) * p.ldb) / 4u;`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < J; j++) L.push(`var c${i}_${j} = vec4f(0.0);`);

  // One k-step of 4: loads into av_i (vec4 over kk) and bv_kk_j (vec4 over 4 columns), then TM·4·J FMAs.
  const step = (tail: boolean): string[] => {
    const S: string[] = [];
    const kr = (kk: number) => (tail ? `min(k + ${kk}u, p.K - 1u)` : `k + ${kk}u`);
    if (transA) {
      // Stored K×M: one vec4 holds 4 rows at one k.
      for (let kk = 0; kk < 4; kk++) for (let i4 = 0; i4 < TM / 4; i4++) S.push(`let ta${kk}_${i4} = a4[(baseA + (${kr(kk)}) * p.lda + m0) / 4u + ${i4}u];`);
      for (let i = 0; i < TM; i++) S.push(`var av${i} = vec4f(${[0, 1, 2, 3].map((kk) => `ta${kk}_${i >> 2}.${XYZW[i & 3]}`).join(', ')});`);
    } else {
      for (let i = 0; i < TM; i++) S.push(`var av${i} = a4[ra${i} + k4];`);
    }
    if (transB) {
      // Stored N×K: one vec4 holds 4 k of one column.
      for (let q = 0; q < TN; q++) S.push(`let tb${q} = b4[rb${q} + k4];`);
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`var bv${kk}_${j} = vec4f(${[0, 1, 2, 3].map((e) => `tb${4 * j + e}.${XYZW[kk]}`).join(', ')});`);
    } else {
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`var bv${kk}_${j} = b4[(baseB + (${kr(kk)}) * p.ldb + n0) / 4u + ${j}u];`);
    }
    if (tail) {
      // K tail: zero the k ≥ K components of op(A) and rows of op(B) (padding may hold anything, even NaN).
      S.push(`let kIn = vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K);`);
      for (let i = 0; i < TM; i++) S.push(`av${i} = select(vec4f(0.0), av${i}, kIn);`);
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`bv${kk}_${j} = select(vec4f(0.0), bv${kk}_${j}, kIn.${XYZW[kk]});`);
    }
    for (let kk = 0; kk < 4; kk++) {
      for (let i = 0; i < TM; i++) {
        for (let j = 0; j < J; j++) S.push(`c${i}_${j} = fma(vec4f(av${i}.${XYZW[kk]}), bv${kk}_${j}, c${i}_${j});`);
      }
    }
    return S.map((s) => '  ' + s);
  };
  L.push(`let K4 = p.K / 4u;`);
  L.push(`for (var k4 = 0u; k4 < K4; k4++) {`, `  let k = k4 * 4u;`, ...step(false), `}`);
  L.push(`if (p.K % 4u != 0u) {`, `  let k4 = K4;`, `  let k = K4 * 4u;`, ...step(true), `}`);
  L.push(`let cBase = p.offC + g.z * p.sC;`);
  for (let i = 0; i < TM; i++) {
    L.push(`if (m0 + ${i}u < p.M) {`, `  let row = cBase + (m0 + ${i}u) * p.ldc + n0;`);
    for (let q = 0; q < TN; q++) {
      L.push(`  if (n0 + ${q}u < p.N) { c[row + ${q}u] = epilogue(c${i}_${q >> 2}.${XYZW[q & 3]}, n0 + ${q}u, row + ${q}u); }`);
    }
    L.push(`}`);
  }
  return `${HEADER}
@compute @workgroup_size(WX, WY)
fn gemm(@builtin(global_invocation_id) g: vec3u) {
${L.map((s) => '  ' + s).join('\n')}
}
`;
}
