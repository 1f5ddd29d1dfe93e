// Generated conv2d kernels (variant 'unrolled'): the register-blocked implicit GEMM of shaders/conv.wgsl with every
// loop over taps, pixels and channels unrolled into named registers.
//
// Why generated, not plain WGSL (STYLE.md 11): WGSL has no unroll attribute, and Mesa (GLSL → NIR → llvmpipe) leaves
// loops of this size rolled; a private array indexed by a rolled loop variable then lives in scratch memory. The same
// kernel written with loops and arrays (override knobs) ran 1.5–3× SLOWER than the 8 × 4 'rb' kernel; unrolled here it
// runs ~2× faster (bench/NOTES-conv.md). On llvmpipe every storage-buffer load costs as much as 10–40 vec4 FMAs
// (1.4–3 ns per invocation), so both kernels maximise FMAs per load: vec4 loads of both operands, 16-byte aligned
// (W % 4 = 0), large blocks per invocation, and each input row loaded once per input channel (forward: the taps
// unrolled) or once per step down the output rows (backward-weights: a window that slides).
//
// Each kernel is appended to shaders/conv.wgsl's text (as gemm-gen.ts does with matmul.wgsl), so Params, the
// bindings (x4, dy4, wt4, bias, y, part) and the WGX override are that file's own (KH and KW are unrolled here).
//
// TEX (conv.TEX): the kernel reads x4, dy4 and wt4 through the textures x4t, dy4t and wt4t (shaders/conv.wgsl) that
// the runtime fills from the same buffers before the dispatch. Same values, same sums: only where the loads come from.
// On llvmpipe a storage-buffer load is a loop over the SIMD lanes, a texel fetch is not: the kernels ran 1.2–1.35×
// faster (bench/NOTES-conv.md round 11).
//
// Constraints (checked by the op, which otherwise runs 'rb'): stride 1, no dilation, 0 ≤ PADW ≤ 4, KW − PADW ≤ 5, the
// input row length % 4 = 0 (forward and backward-data), the output row length % 4 = 0 (backward-weights).

import { vec4At } from './generated.js';

/** Knobs of one generated forward kernel: CO_B output channels × RB rows × PXW pixels per invocation; the kernel's
 *  KH × KW taps and its padding along W are unrolled into the code. */
/** Y4: the output rows are whole vec4 (Wout % 4 = 0) and the kernel stores each vec4 of outputs at once (y4). */
export interface FwdGenKnobs { CO_B: 4 | 8 | 16; PXW: 8 | 16 | 32; RB: 1 | 2 | 3 | 4 | 6 | 8; KH: number; KW: number; PADW: number; TEX?: boolean; Y4?: boolean }

const XYZW = 'xyzw';

/**
 * The opening and closing lines of a counted loop `for (var v = init; v < end; step)` written as WGSL `loop` with its
 * exit test at the bottom of each trip (`break if` in `continuing`), for loops that run at least once. The same
 * trips; on llvmpipe conv2's backward-weights kernel ran 1.3–1.7× faster this way (conv3's ~1.2×, conv1's the same)
 * and the training step took ×0.93 the CPU time (bench/NOTES-conv.md round 10).
 */
const loopLines = (v: string, init: string, step: string, end: string): [string, string] => [`var ${v} = ${init}; loop {`, `continuing { ${step}; break if ${v} >= ${end}; } }`];

/** The sizes both generated kernels take as override constants of their pipelines (not the batch): input channels,
 *  rows and row length, output channels, rows and row length, the padding along H; the forward kernel's COUTP is
 *  the transposed weights' row length. */
export const GEN_SIZES = ['CIN', 'HIN', 'WIN', 'COUT', 'HOUT', 'WOUT', 'PADH', 'COUTP'] as const;
const sizeDecls = (names: readonly string[]) => names.map((n) => `override ${n}: ${n === 'PADH' ? 'i32' : 'u32'};`).join('\n');

/** Lines loading input row `ih` (an i32 expression; a row outside 0 … HIN − 1 reads as zeros) of the plane at
 *  `plane` (vec4 offset) into the registers x{slot}_0 … x{slot}_{NB−1}, at the column blocks cx_j (cok_j: inside the
 *  row). For the backward-weights kernel's sliding window (the forward kernel loads its rows as `let`s). */
function rowLoad(ind: string, slot: string, ih: string, NB: number, plane: string, tex: boolean | undefined): string[] {
  return [
    `${ind}{`,
    `${ind}  let ih = ${ih};`,
    `${ind}  let rok = ih >= 0 && ih < i32(HIN);`,
    `${ind}  let rb = ${plane} + u32(clamp(ih, 0, i32(HIN) - 1)) * W4;`,
    ...Array.from({ length: NB }, (_, j) => `${ind}  x${slot}_${j} = select(vec4f(0.0), ${vec4At(tex, 'x4', `rb + cx${j}`)}, rok && cok${j});`),
    `${ind}}`,
  ];
}

/** WGSL of the forward kernel `fwd` (also backward-data), appended to `base` (the text of shaders/conv.wgsl):
 *  y[N, Cout, Hout, Wout] from x4 (x as vec4) and wt4 (weights [(ci·KH + kh)·KW + kw][CoutP]). */
export function genFwdSource(k: FwdGenKnobs, base: string): string {
  const { CO_B, PXW, RB, KH, KW, PADW, TEX, Y4 } = k;
  const QB = PXW / 4, NB = QB + 2, CB = CO_B / 4;
  const acc = (r: number, q: number, c: number) => `a${r}_${q}_${c}`;
  const L: string[] = [];
  L.push(`let bw = (WOUT + ${PXW}u - 1u) / ${PXW}u;`);
  L.push(`let nPB = ((HOUT + ${RB}u - 1u) / ${RB}u) * bw;`);
  L.push(`if (g.x >= p.N * nPB) { return; }`);
  L.push(`let n = g.x / nPB;`, `let pb = g.x % nPB;`);
  L.push(`let oh0 = (pb / bw) * ${RB}u;`, `let ow0 = (pb % bw) * ${PXW}u;`);
  L.push(`let co0 = wid.y * ${CO_B}u;`, `let W4 = WIN / 4u;`, `let b0 = i32(ow0 / 4u) - 1;`);
  for (let r = 0; r < RB; r++) for (let q = 0; q < QB; q++) for (let c = 0; c < CO_B; c++) L.push(`var ${acc(r, q, c)} = vec4f(0.0);`);
  // Column blocks ow0/4 − 1 + j (inputs ow0 − 4 … ow0 + PXW + 3): loop-invariant validity and clamped offsets.
  for (let j = 0; j < NB; j++) L.push(`let cb${j} = b0 + ${j}; let cok${j} = cb${j} >= 0 && cb${j} < i32(W4); let cx${j} = u32(clamp(cb${j}, 0, i32(W4) - 1));`);
  // The taps are unrolled inside the loop over input channels: each input row and weight vector is a `let` of one
  // trip and only the accumulators are carried between trips. llvmpipe stores every variable carried across a loop
  // trip through the execution mask, at about the cost of an FMA; with the tap rows as a loop of their own the
  // accumulators were stored once per tap row and the sliding rows shifted per tap row, now once per input channel
  // (1.25–1.5× faster on llvmpipe; bench/NOTES-conv.md round 8). Block row r at tap row kh reads input row
  // oh0 + r + kh − pad, so the RB + KH − 1 rows of a channel are each loaded once, row RB − 1 + kh when tap row kh
  // first needs it.
  const comp = (i: number, t: number) => `x${i}_${t >> 2}.${XYZW[t & 3]}`;
  const [ciOpen, ciClose] = loopLines('ci', '0u', 'ci++', 'CIN');
  L.push(ciOpen);
  L.push(`  let plane4 = (n * CIN + ci) * HIN * W4;`);
  const loadRow = (i: number) => {
    L.push(`  let ih${i} = i32(oh0 + ${i}u) - PADH; let rok${i} = ih${i} >= 0 && ih${i} < i32(HIN); let rb${i} = plane4 + u32(clamp(ih${i}, 0, i32(HIN) - 1)) * W4;`);
    for (let j = 0; j < NB; j++) L.push(`  let x${i}_${j} = select(vec4f(0.0), ${vec4At(TEX, 'x4', `rb${i} + cx${j}`)}, rok${i} && cok${j});`);
  };
  for (let kh = 0; kh < KH; kh++) {
    for (let i = kh === 0 ? 0 : RB - 1 + kh; i < RB + kh; i++) loadRow(i);
    // All KW weight vectors of the tap row first, then each accumulator's KW FMAs back to back (one reload and store
    // of a spilled accumulator per tap row). Each output's sum keeps its order (kw, then kh, then ci).
    L.push(`  let wrow${kh} = ((ci * ${KH}u + ${kh}u) * ${KW}u) * COUTP + co0;`);
    for (let kw = 0; kw < KW; kw++) for (let c4 = 0; c4 < CB; c4++) L.push(`  let w${kh}_${kw}_${c4} = ${vec4At(TEX, 'wt4', `(wrow${kh} + ${kw}u * COUTP) / 4u + ${c4}u`)};`);
    for (let r = 0; r < RB; r++) {
      const i = r + kh;
      for (let q = 0; q < QB; q++) {
        for (let c = 0; c < CO_B; c++) {
          let e = acc(r, q, c);
          for (let kw = 0; kw < KW; kw++) {
            // Output pixel ow0 + 4q + e at tap kw reads input column (ow0 − 4) + (4 + 4q + e + kw − PADW).
            const t = 4 + 4 * q + kw - PADW;
            const xv = t % 4 === 0 ? `x${i}_${t / 4}` : `vec4f(${[0, 1, 2, 3].map((e) => comp(i, t + e)).join(', ')})`;
            e = `fma(${xv}, vec4f(w${kh}_${kw}_${c >> 2}.${XYZW[c & 3]}), ${e})`;
          }
          L.push(`  ${acc(r, q, c)} = ${e};`);
        }
      }
    }
  }
  L.push(ciClose);
  L.push(`let HWo = HOUT * WOUT;`);
  for (let c = 0; c < CO_B; c++) {
    L.push(`if (co0 + ${c}u < COUT) {`);
    L.push(`  let co = co0 + ${c}u;`, `  var bv = 0.0;`, `  if (p.hasBias != 0u) { bv = bias[co]; }`);
    for (let r = 0; r < RB; r++) {
      L.push(`  if (oh0 + ${r}u < HOUT) {`);
      L.push(`    let o = (n * COUT + co) * HWo + (oh0 + ${r}u) * WOUT + ow0;`);
      for (let q = 0; q < QB; q++) {
        L.push(`    { var v = ${acc(r, q, c)} + vec4f(bv); if (p.relu != 0u) { v = max(v, vec4f(0.0)); }`);
        if (Y4) L.push(`      if (ow0 + ${4 * q}u < WOUT) { y4[o / 4u + ${q}u] = v; }`);
        else for (let e = 0; e < 4; e++) L.push(`      if (ow0 + ${4 * q + e}u < WOUT) { y[o + ${4 * q + e}u] = v.${XYZW[e]}; }`);
        L.push(`    }`);
      }
      L.push(`  }`);
    }
    L.push(`}`);
  }
  return `${base}
// generated by src/ops/conv-gen.ts: forward ${JSON.stringify(k)}
// The sizes are override constants (GEN_SIZES: one pipeline per layer shape): constant divisors, bounds and strides
// make the kernel 1.1–1.2× faster on llvmpipe than the same code reading them from p (bench/NOTES-conv.md round 5).
${sizeDecls(GEN_SIZES)}
// Lanes (x) run along (image, pixel block); the channel block is the workgroup's y.
@compute @workgroup_size(WGX, 1, 1)
fn fwd(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  ${L.join('\n  ')}
}
`;
}

/** Knobs of one generated backward-weights kernel: CO_B output channels × CI_B input channels × all KH·KW taps per
 *  invocation; SG: the subgroup variant (below). */
export interface DwGenKnobs { CO_B: 4 | 8; CI_B: 1 | 2 | 3 | 4; KH: number; KW: number; PADW: number; SG?: boolean; TEX?: boolean }

/** How many sums one invocation of the backward-weights kernel keeps: as many as dwSumExprs makes (it checks), counted
 *  without building them. */
export const dwSums = (k: DwBlock) => k.CO_B * k.CI_B * k.KH * k.KW + k.CO_B;
type DwBlock = Pick<DwGenKnobs, 'CO_B' | 'CI_B' | 'KH' | 'KW'>;

/**
 * The accumulation of the backward-weights kernels: declarations (co0, ci0, the accumulators a{i}_{c}_{kh}_{kw} and
 * sd{c}) and the body for one column of 8 output pixels (ob, a vec4 offset in the row, the image's dyb and plane4_{i}
 * in scope), which runs down the column row by row: per step CO_B·2 vec4 dy loads and, per input channel, the 4 vec4
 * of one new input row (its window of KH rows slides) feed CO_B·CI_B·KH·KW dot products of 8 terms (scalar
 * accumulators: fewer live registers than vec4 ones).
 */
function dwAccumulate(k: DwGenKnobs, block: string): { decls: string[]; image: string[]; column: string[] } {
  const { CO_B, CI_B, KH, KW, PADW, TEX } = k;
  const NB = 4;
  const decls: string[] = [], image: string[] = [], L: string[] = [];
  decls.push(`let cobs = (COUT + ${CO_B}u - 1u) / ${CO_B}u;`);
  decls.push(`let ci0 = (${block} / cobs) * ${CI_B}u;`, `let co0 = (${block} % cobs) * ${CO_B}u;`);
  decls.push(`let HWo = HOUT * WOUT;`, `let Wo4 = WOUT / 4u;`, `let W4 = WIN / 4u;`);
  for (let c = 0; c < CO_B; c++) {
    decls.push(`let cof${c} = min(co0 + ${c}u, COUT - 1u) * HWo / 4u;`);
    decls.push(`var sd${c} = vec4f(0.0);`);
    for (let i = 0; i < CI_B; i++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) decls.push(`var a${i}_${c}_${kh}_${kw} = 0.0;`);
  }
  // The input rows of output row oh at taps kh = 0 … KH−1 are ih = oh + kh − pad: a window of KH rows (NB vec4 each)
  // per input channel that slides down one row per step, so a step loads one new row instead of KH (1.7–1.9× faster
  // on llvmpipe than rows outer with every row reloaded; bench/NOTES-conv.md round 5). The dy loads of a step serve
  // CI_B input channels (round 7).
  for (let i = 0; i < CI_B; i++) for (let kh = 0; kh < KH; kh++) for (let j = 0; j < NB; j++) decls.push(`var x${i}_${kh}_${j} = vec4f(0.0);`);
  image.push(`let dyb = n * COUT * HWo / 4u;`);
  // A channel past CIN (CIN % CI_B ≠ 0) reads channel CIN − 1 and is never stored.
  for (let i = 0; i < CI_B; i++) image.push(`let plane4_${i} = (n * CIN + min(ci0 + ${i}u, CIN - 1u)) * HIN * W4;`);
  L.push(`let hi = ob + 1u < Wo4;`); // Wout % 8 = 4: the last step's second quad lies past the row
  L.push(`let b0 = i32(ob) - 1;`);
  for (let j = 0; j < NB; j++) L.push(`let cb${j} = b0 + ${j}; let cok${j} = cb${j} >= 0 && cb${j} < i32(W4); let cx${j} = u32(clamp(cb${j}, 0, i32(W4) - 1));`);
  const loadRow = (ind: string, i: number, slot: number, ih: string) => L.push(...rowLoad(ind, `${i}_${slot}`, ih, NB, `plane4_${i}`, TEX));
  // Before row 0, window slot kh + 1 holds input row kh − pad (the shift at the top of the step moves it to slot kh).
  for (let i = 0; i < CI_B; i++) for (let kh = 0; kh + 1 < KH; kh++) loadRow('', i, kh + 1, `${kh} - PADH`);
  const [ohOpen, ohClose] = loopLines('oh', '0u', 'oh++', 'HOUT');
  L.push(ohOpen);
  for (let i = 0; i < CI_B; i++) {
    for (let kh = 0; kh + 1 < KH; kh++) for (let j = 0; j < NB; j++) L.push(`  x${i}_${kh}_${j} = x${i}_${kh + 1}_${j};`);
    loadRow('  ', i, KH - 1, `i32(oh + ${KH - 1}u) - PADH`);
  }
  L.push(`  let o = dyb + oh * Wo4 + ob;`);
  for (let c = 0; c < CO_B; c++) {
    L.push(`  let d${c}a = ${vec4At(TEX, 'dy4', `o + cof${c}`)};`);
    L.push(`  let d${c}b = select(vec4f(0.0), ${vec4At(TEX, 'dy4', `o + cof${c} + select(0u, 1u, hi)`)}, hi);`);
    L.push(`  sd${c} += d${c}a + d${c}b;`);
  }
  const comp = (i: number, kh: number, t: number) => `x${i}_${kh}_${t >> 2}.${XYZW[t & 3]}`;
  const xv = (i: number, kh: number, t: number) => (t % 4 === 0 ? `x${i}_${kh}_${t / 4}` : `vec4f(${[0, 1, 2, 3].map((e) => comp(i, kh, t + e)).join(', ')})`);
  // Output channel outermost: each channel's two dy vec4 meet all CI_B·KH·KW taps in a row (1.1–1.4× faster on
  // llvmpipe than taps outer and channels inner, with the same sums in the same order; bench/NOTES-conv.md round 9).
  for (let c = 0; c < CO_B; c++) for (let i = 0; i < CI_B; i++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
    // Output pixel ow0 + e at tap kw reads input column (ow0 − 4) + (4 + e + kw − PADW).
    const t = 4 + kw - PADW;
    L.push(`  a${i}_${c}_${kh}_${kw} += dot(d${c}a, ${xv(i, kh, t)}) + dot(d${c}b, ${xv(i, kh, t + 4)});`);
  }
  L.push(ohClose);
  return { decls, image, column: L };
}

/** The sums of one invocation: weight sums (c, i, kh, kw), then the bias sums (c). */
function dwSumExprs(k: DwBlock): string[] {
  const out: string[] = [];
  for (let c = 0; c < k.CO_B; c++) for (let i = 0; i < k.CI_B; i++) for (let kh = 0; kh < k.KH; kh++) for (let kw = 0; kw < k.KW; kw++) out.push(`a${i}_${c}_${kh}_${kw}`);
  for (let c = 0; c < k.CO_B; c++) out.push(`sd${c}.x + sd${c}.y + sd${c}.z + sd${c}.w`);
  // dwSums counts these without building them (the op sizes the subgroup variant's workgroup scratch by it, per call).
  if (out.length !== dwSums(k)) throw new Error(`conv-gen: dwSums ${dwSums(k)} ≠ ${out.length} sums generated`);
  return out;
}

/**
 * WGSL of the backward-weights kernel `dw`: part[s][co][ci, kh, kw] = Σ over the images of split s (the last Cout
 * entries of each split: Σ dy, for db). Plain variant: one invocation per (input-channel block, output-channel block)
 * and split, lanes along the blocks, each running every column of 8 output pixels of its split's images. Subgroup
 * variant (k.SG): dwSubgroupSource.
 */
export function genDwSource(k: DwGenKnobs, base: string): string {
  if (k.SG) return dwSubgroupSource(k, base);
  const { decls, image, column } = dwAccumulate(k, 'g.x');
  const sums = dwSumExprs(k), KK = k.KH * k.KW, W = k.CO_B * k.CI_B * KK;
  const L = [...decls, `let cibs = (CIN + ${k.CI_B}u - 1u) / ${k.CI_B}u;`, `if (g.x >= cibs * cobs) { return; }`, ...dwSplitLines(KK)];
  const [nOpen, nClose] = loopLines('n', 'n0', 'n++', 'n1'), [obOpen, obClose] = loopLines('ob', '0u', 'ob += 2u', 'Wo4');
  L.push(`if (n0 < n1) {`, `  ${nOpen}`, ...image.map((l) => `    ${l}`));
  L.push(`    ${obOpen}`, ...column.map((l) => `      ${l}`), `    ${obClose}`, `  ${nClose}`, `}`);
  for (let c = 0; c < k.CO_B; c++) {
    L.push(`if (co0 + ${c}u < COUT) {`);
    for (let i = 0; i < k.CI_B; i++) {
      L.push(`  if (ci0 + ${i}u < CIN) {`);
      L.push(`    let o = base + (co0 + ${c}u) * R + (ci0 + ${i}u) * ${KK}u;`);
      for (let t = 0; t < KK; t++) L.push(`    part[o + ${t}u] = ${sums[(c * k.CI_B + i) * KK + t]};`);
      L.push(`  }`);
    }
    L.push(`  if (ci0 == 0u) { part[base + COUT * R + co0 + ${c}u] = ${sums[W + c]}; }`);
    L.push(`}`);
  }
  return `${base}
// generated by src/ops/conv-gen.ts: backward-weights ${JSON.stringify(k)}
${DW_SIZES}
// Lanes (x) run along (input channel, output-channel block); the batch split is the workgroup's y.
@compute @workgroup_size(WGX, 1, 1)
fn dw(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  ${L.join('\n  ')}
}
`;
}

/** The images of split s = wid.y (n0 … n1 − 1) and where its partial sums start (both variants). */
const dwSplitLines = (KK: number) => [`let s = wid.y;`, `let n0 = s * p.nPer;`, `let n1 = min(p.N, n0 + p.nPer);`, `let R = CIN * ${KK}u;`, `let base = s * (COUT * R + COUT);`];

const DW_SIZES = `// The sizes are override constants, as in the forward kernel (GEN_SIZES but COUTP).
${sizeDecls(GEN_SIZES.filter((n) => n !== 'COUTP'))}`;

/**
 * The subgroup variant of `dw` (for GPUs: needs the 'subgroups' feature): one workgroup per (block, split), its WGX
 * lanes taking the split's (image, column) items in turn, so a split runs WGX times as many invocations with the same
 * partial sums to write. Each subgroup sums its lanes with subgroupAdd; its first lane stores the sums in a slot of
 * workgroup memory (SGSLOTS = WGX / the adapter's smallest subgroup size); the slots are added in the order of their
 * first lanes' local index (a fixed order, so results do not depend on which subgroup came first).
 */
function dwSubgroupSource(k: DwGenKnobs, base: string): string {
  const { decls, image, column } = dwAccumulate(k, 'wid.x');
  const sums = dwSumExprs(k), KK = k.KH * k.KW, W = k.CO_B * k.CI_B * KK;
  const L = [...decls, ...dwSplitLines(KK)];
  // A trip count the same for the whole workgroup keeps the subgroup and barrier calls below in uniform control flow.
  L.push(`let nOb = (Wo4 + 1u) / 2u;`, `let items = (n1 - n0) * nOb;`, `slotOf[lid] = NO_SLOT;`);
  L.push(`for (var r = 0u; r < (items + WGX - 1u) / WGX; r++) {`, `  let it = r * WGX + lid;`, `  if (it < items) {`);
  L.push(`    let n = n0 + it / nOb;`, `    let ob = (it % nOb) * 2u;`, ...image.map((l) => `    ${l}`), ...column.map((l) => `    ${l}`), `  }`, `}`);
  sums.forEach((e, j) => L.push(`let v${j} = subgroupAdd(${e});`));
  L.push(`if (sgi == 0u) {`, `  let slot = atomicAdd(&nSlots, 1u);`, `  slotOf[lid] = slot;`, `  let o = slot * ${sums.length}u;`);
  sums.forEach((_, j) => L.push(`  red[o + ${j}u] = v${j};`));
  L.push(`}`, `workgroupBarrier();`);
  L.push(`if (lid == 0u) {`, `  var c = 0u;`, `  for (var l = 0u; l < WGX; l++) { if (slotOf[l] != NO_SLOT) { order[c] = slotOf[l]; c++; } }`, `  nOrdered = c;`, `}`, `workgroupBarrier();`);
  L.push(`let slots = nOrdered;`);
  // Lanes store the sums j = lid, lid + WGX, …: weight sum j is (c, i, t) = (j / (CI_B·KK), j / KK % CI_B, j % KK).
  L.push(`for (var j = lid; j < ${sums.length}u; j += WGX) {`, `  var v = 0.0;`, `  for (var q = 0u; q < slots; q++) { v += red[order[q] * ${sums.length}u + j]; }`);
  L.push(`  if (j < ${W}u) {`, `    let c = j / ${k.CI_B * KK}u; let i = (j / ${KK}u) % ${k.CI_B}u;`);
  L.push(`    if (co0 + c < COUT && ci0 + i < CIN) { part[base + (co0 + c) * R + (ci0 + i) * ${KK}u + j % ${KK}u] = v; }`);
  L.push(`  } else if (ci0 == 0u && co0 + j - ${W}u < COUT) {`, `    part[base + COUT * R + co0 + j - ${W}u] = v;`, `  }`, `}`);
  return `enable subgroups;
${base}
// generated by src/ops/conv-gen.ts: backward-weights, subgroup variant ${JSON.stringify(k)}
${DW_SIZES}
override SGSLOTS: u32;  // at most WGX / (the adapter's smallest subgroup size) subgroups per workgroup
const NO_SLOT = 0xffffffffu;
var<workgroup> red: array<f32, SGSLOTS * ${sums.length}u>;
var<workgroup> slotOf: array<u32, WGX>;
var<workgroup> order: array<u32, SGSLOTS>;
var<workgroup> nSlots: atomic<u32>;
var<workgroup> nOrdered: u32;
// The workgroup is one (input-channel block, output-channel block): x; the batch split: y.
@compute @workgroup_size(WGX, 1, 1)
fn dw(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) sgi: u32) {
  ${L.join('\n  ')}
}
`;
}
