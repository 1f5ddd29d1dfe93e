// Generated GEMM kernel (variant 'unrolled'): the register-blocked kernel gemm_regblock of shaders/matmul.wgsl with
// its loops over the TM × TN block and the 4 k-values of a step unrolled into named registers.
//
// Why generated (the same reason as conv-gen.ts, STYLE.md 11): Mesa leaves gemm_regblock's loops rolled, so its
// private arrays acc/av/bv live in scratch memory and every FMA pays loads and stores on llvmpipe. Written out, the
// accumulators stay in registers. Semantics, bindings and Params are gemm_regblock's: C = act(α·op(A)·op(B) + β·C +
// bias), batched by workgroup z; A, B read as vec4 (offsets, leading dimensions, batch strides multiples of 4). The
// kernel is appended to shaders/matmul.wgsl's text, so Params, bindings, the WX/WY overrides and the epilogue are
// that file's own. With `tex` (gemm.TEX) A and B are read through the textures a4t and b4t that the runtime fills from
// the same buffers (as the generated convolutions do, conv-gen.ts): same values, cheaper loads on llvmpipe.

import { vec4At } from './generated.js';

/** Knobs of one generated kernel: TM rows × TN columns per invocation (TN, and TM when A is transposed, multiples of 4);
 *  `beta`: the kernel for C = α·op(A)·op(B) + β·C with β ≠ 0 (the kernel without it ignores β and never reads C). */
export interface GemmGenKnobs { TM: number; TN: number; transA: boolean; transB: boolean; beta: boolean; tex: boolean }

const XYZW = 'xyzw';

/** The file name under which a kernel is registered (one pipeline per knob set). */
export function gemmGenFile(k: GemmGenKnobs): string {
  return `gemm-gen/gemm_m${k.TM}_n${k.TN}_${k.transA ? 't' : 'n'}${k.transB ? 't' : 'n'}${k.beta ? '_beta' : ''}${k.tex ? '_tex' : ''}.wgsl`;
}

/** WGSL of entry `gemm` for the knobs, appended to `base` (the text of shaders/matmul.wgsl). */
export function genGemmSource(k: GemmGenKnobs, base: string): string {
  const { TM, TN, transA, transB, beta, tex } = k;
  const a4 = (i: string) => vec4At(tex, 'a4', i), b4 = (i: string) => vec4At(tex, 'b4', i);
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
      for (let kk = 0; kk < 4; kk++) for (let i4 = 0; i4 < TM / 4; i4++) S.push(`let ta${kk}_${i4} = ${a4(`(baseA + (${kr(kk)}) * p.lda + m0) / 4u + ${i4}u`)};`);
      for (let i = 0; i < TM; i++) S.push(`var av${i} = vec4f(${[0, 1, 2, 3].map((kk) => `ta${kk}_${i >> 2}.${XYZW[i & 3]}`).join(', ')});`);
    } else {
      for (let i = 0; i < TM; i++) S.push(`var av${i} = ${a4(`ra${i} + k4`)};`);
    }
    if (transB) {
      // Stored N×K: one vec4 holds 4 k of one column.
      for (let q = 0; q < TN; q++) S.push(`let tb${q} = ${b4(`rb${q} + k4`)};`);
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`var bv${kk}_${j} = vec4f(${[0, 1, 2, 3].map((e) => `tb${4 * j + e}.${XYZW[kk]}`).join(', ')});`);
    } else {
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`var bv${kk}_${j} = ${b4(`(baseB + (${kr(kk)}) * p.ldb + n0) / 4u + ${j}u`)};`);
    }
    if (tail) {
      // K tail: zero the k ≥ K components of op(A) and rows of op(B) (padding may hold anything, even NaN).
      S.push(`let kIn = vec4u(k) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.K);`);
      for (let i = 0; i < TM; i++) S.push(`av${i} = select(vec4f(0.0), av${i}, kIn);`);
      for (let kk = 0; kk < 4; kk++) for (let j = 0; j < J; j++) S.push(`bv${kk}_${j} = select(vec4f(0.0), bv${kk}_${j}, kIn.${XYZW[kk]});`);
    }
    // Each accumulator takes its 4 FMAs of the step back to back: the 16 × 16 block spills on llvmpipe, and this order
    // loads and stores a spilled accumulator once per step instead of 4 times (fc1's products 1.05–1.2× faster than
    // k outermost; bench/NOTES.md, 2026-12-01).
    for (let i = 0; i < TM; i++) {
      for (let j = 0; j < J; j++) {
        for (let kk = 0; kk < 4; kk++) S.push(`c${i}_${j} = fma(vec4f(av${i}.${XYZW[kk]}), bv${kk}_${j}, c${i}_${j});`);
      }
    }
    return S.map((s) => '  ' + s);
  };
  L.push(`let K4 = p.K / 4u;`);
  L.push(`for (var k4 = 0u; k4 < K4; k4++) {`, `  let k = k4 * 4u;`, ...step(false), `}`);
  L.push(`if (p.K % 4u != 0u) {`, `  let k4 = K4;`, `  let k = K4 * 4u;`, ...step(true), `}`);
  // The epilogue as straight-line stores without branches, then one loop for bias and activation: written out per
  // element with a bounds check and epilogue() each, it took LLVM 13–19 s to compile one 16 × 16 kernel on llvmpipe
  // (2–3 s now). An element outside C is stored at the clamped index, the nearest element inside this invocation's
  // block, before that element's own store: the block is stored backwards, last row and column first. With β ≠ 0
  // (its own kernel, `beta`) every element reads C and an element outside rewrites the value it read.
  const at = (i: number, q: number) => `cBase + min(m0 + ${i}u, p.M - 1u) * p.ldc + min(n0 + ${q}u, p.N - 1u)`;
  const acc = (i: number, q: number) => `p.alpha * c${i}_${q >> 2}.${XYZW[q & 3]}`;
  L.push(`let cBase = p.offC + g.z * p.sC;`);
  for (let i = TM - 1; i >= 0; i--) {
    for (let q = TN - 1; q >= 0; q--) {
      if (!beta) L.push(`c[${at(i, q)}] = ${acc(i, q)};`);
      else L.push(`{ let ci = ${at(i, q)}; let old = c[ci]; c[ci] = select(old, ${acc(i, q)} + p.beta * old, m0 + ${i}u < p.M && n0 + ${q}u < p.N); }`);
    }
  }
  L.push(
    `if (p.hasBias != 0u || p.act != 0u) {`,
    `  for (var i = 0u; i < min(${TM}u, p.M - m0); i++) {`,
    `    let row = cBase + (m0 + i) * p.ldc + n0;`,
    `    for (var q = 0u; q < min(${TN}u, p.N - n0); q++) { c[row + q] = finish(c[row + q], n0 + q); }`,
    `  }`,
    `}`,
  );
  return `${base}
// ---- Generated by src/ops/gemm-gen.ts: ${JSON.stringify(k)} ----
@compute @workgroup_size(WX, WY)
fn gemm(@builtin(global_invocation_id) g: vec3u) {
${L.map((s) => '  ' + s).join('\n')}
}
`;
}
