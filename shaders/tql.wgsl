// Fused triplet(-quantization) loss, forward and gradient together (semantics: src/cpu/tql.ts; PAPER.md).
// No B×B×B tensor: the pipeline is
//   tql_dist    D[a,j] = ‖f_a − f_j‖² and Dq[a,j] = ‖f_a − b_j‖² (asym, asym-ste) or ‖b_a − b_j‖² (ste, smooth),
//               b = sign(f) with sign(0) = +1, or tanh(β·f) for smooth
//   tql_hard    (select 'hard') per anchor: farthest positive, nearest negative (ties → lowest index)
//   tql_pairs   per (anchor a, other j): loops over the third image, counting the hinges that fire; for a positive j
//               also the loss sum, #active and #valid of the triplets (a, j, ·)
//   tql_reduce  one workgroup: deterministic tree sums of those, the 'triplet+quant' term, loss and 1/denominator
//   tql_grad    ∂L/∂f from the signed hinge counts (a W·F-style sum, exact integer weights)
//   tql_scale   backward: ∂L/∂f · ∂(outer)/∂loss
// tql_dist, tql_pairs ('all', 'semihard') and tql_grad have register-blocked twins (knob tql.variant, k % 4 = 0): tql_dist4
// (4 anchors × 8 others), tql_pairs4 (16 others) and tql_grad4 (4 rows × 8 columns) read vec4 rows, the pair matrices'
// rows padded to Bs = 4·⌈B/4⌉. On llvmpipe a load instruction costs about as much as 50–100 FMAs whatever its width:
// the scalar kernels load 2–5 times per term, the twins once per 6–21 terms (B = 128, k = 48: 17 → 2 ms for the three).
// Every output still sums the same terms in the same order with the same expressions: bit-identical results.
// Signed counts S[a,j]: −#{n : hinge (a, j, n) fires} for a positive j, +#{p : hinge (a, p, j) fires} for a negative j.
// Then ∂l_t/∂f_i = 2·[Σ_j (S[i,j] + S[j,i])·f_j − f_i·Σ_j S[j,i]] (summed over the triplets: anchor, positive and negative
// roles), and the same with the quantisation counts Q: 'asym' reaches the anchor only, 2·Σ_j Q[i,j]·b_j; 'asym-ste' adds
// the positive and negative roles through their codes, 2·b′_i·[Σ_j Q[j,i]·f_j − b_i·Σ_j Q[j,i]]; 'ste' and 'smooth' are
// the triplet formula on codes, 2·b′_i·[Σ_j (Q[i,j] + Q[j,i])·b_j − b_i·Σ_j Q[j,i]], with b′ = ∂b/∂f (code_d).
// Distances are direct sums of squared differences, not ‖u‖² + ‖v‖² − 2u·v from a Gram matrix: the latter cancels
// (relative error ≈ k·u/d for a small d) and moves hinges and semi-hard/hard choices that sit near their kinks, while
// the B²k work is small next to the B³ triplet loop.

struct Params {
  B: u32,
  k: u32,
  // Row stride of the pair matrices D, Dq, S and Q: B, or B rounded up to a multiple of 4 for the blocked kernels
  // (vec4 rows). lossPart and counts always have stride B (tql_reduce's summation order).
  Bs: u32,
  // 0 'tql', 1 'triplet', 2 'triplet+quant'
  loss: u32,
  // 0 'asym', 1 'ste', 2 'asym-ste', 3 'smooth'
  form: u32,
  // 0 'all', 1 'semihard', 2 'hard'
  select: u32,
  margin: f32,
  marginQ: f32,
  lambda: f32,
  // β of the smooth code tanh(β·f)
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> D: array<f32>;
@group(0) @binding(4) var<storage, read_write> Dq: array<f32>;
@group(0) @binding(5) var<storage, read_write> sel: array<u32>;
@group(0) @binding(6) var<storage, read_write> S: array<f32>;
@group(0) @binding(7) var<storage, read_write> Q: array<f32>;
@group(0) @binding(8) var<storage, read_write> lossPart: array<f32>;
@group(0) @binding(9) var<storage, read_write> counts: array<u32>;
@group(0) @binding(10) var<storage, read_write> loss: array<f32>;
@group(0) @binding(11) var<storage, read_write> stats: array<u32>;
@group(0) @binding(12) var<storage, read_write> grad: array<f32>;
@group(0) @binding(13) var<storage, read> gy: array<f32>;
@group(0) @binding(14) var<storage, read_write> dx: array<f32>;
// vec4 views of f, labels and the pair matrices for the blocked kernels: 16-byte aligned rows need k % 4 = 0 and Bs % 4 = 0.
@group(0) @binding(15) var<storage, read> f4: array<vec4<f32>>;
@group(0) @binding(16) var<storage, read> lab4: array<vec4<u32>>;
@group(0) @binding(17) var<storage, read_write> D4: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read_write> Dq4: array<vec4<f32>>;
@group(0) @binding(19) var<storage, read_write> S4: array<vec4<f32>>;
@group(0) @binding(20) var<storage, read_write> Q4: array<vec4<f32>>;
@group(0) @binding(21) var<storage, read_write> grad4: array<vec4<f32>>;

override WX: u32 = 8;
override WY: u32 = 8;
override WG: u32 = 64;
override RWG: u32 = 256;
// The blocked kernels take the loss, form and select codes (as in Params) as overrides, so that their tests fold when
// the pipeline is made: on llvmpipe a branch on a uniform still costs its body (measured: the semi-hard test took 18%
// of tql_pairs4 at select 'all').
override LOSS: u32 = 0;
override FORM: u32 = 0;
override SEL: u32 = 0;

const NONE: u32 = 0xffffffffu;

fn sgn(v: f32) -> f32 {
  return select(-1.0, 1.0, v >= 0.0);
}

// tanh as in elementwise.wgsl (the built-in cancels near 0 on llvmpipe): odd series below 0.3, else (1 − t)/(1 + t)
// with t = e^(−2|x|), which saturates to ±1 without inf/inf.
fn tanh1(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.3) {
    let z = x * x;
    let q = ((((-1382.0 / 155925.0 * z + 62.0 / 2835.0) * z - 17.0 / 315.0) * z + 2.0 / 15.0) * z - 1.0 / 3.0) * z;
    return x + x * q;
  }
  let t = exp(-2.0 * ax);
  return sign(x) * (1.0 - t) / (1.0 + t);
}

// The forms whose anchor side is the real-valued f_a: 'asym' and 'asym-ste'.
fn anchorRealOf(form: u32) -> bool {
  return form == 0u || form == 2u;
}

fn anchorReal() -> bool {
  return anchorRealOf(p.form);
}

// The code of the quantisation term: sign(v), or tanh(β·v) for 'smooth'.
fn codeOf(v: f32, form: u32) -> f32 {
  // A branch on a uniform, not a select: the other forms do not pay for the exp.
  if (form == 3u) { return tanh1(p.beta * v); }
  return sgn(v);
}

fn code(v: f32) -> f32 {
  return codeOf(v, p.form);
}

// ∂code/∂v: the straight-through 1 on |v| ≤ 1 (else 0), or β·(1 − tanh²(βv)) = β·4t/(1 + t)², t = e^(−2β|v|), for
// 'smooth' (no cancellation where tanh saturates; t underflows to 0 there).
fn codeDOf(v: f32, form: u32) -> f32 {
  if (form == 3u) {
    let t = exp(-2.0 * abs(p.beta * v));
    return p.beta * 4.0 * t / ((1.0 + t) * (1.0 + t));
  }
  return select(0.0, 1.0, abs(v) <= 1.0);
}

fn code_d(v: f32) -> f32 {
  return codeDOf(v, p.form);
}

// code of 4 values in the blocked kernels' loops (form FORM).
fn code4(v: vec4<f32>) -> vec4<f32> {
  return vec4(codeOf(v.x, FORM), codeOf(v.y, FORM), codeOf(v.z, FORM), codeOf(v.w, FORM));
}

// Row r of a blocked kernel's 4-row block starting at r0, clamped to the last row: rows past B (the last block of a B
// that is not a multiple of 4) compute on row B − 1 and their results are not stored or land in row padding.
fn clampRow(r0: u32, r: u32) -> u32 {
  return min(r0 + r, p.B - 1u);
}

// One invocation per (a, j); x (SIMD lanes) runs over j.
@compute @workgroup_size(WX, WY)
fn tql_dist(@builtin(global_invocation_id) g: vec3u) {
  let B = p.B;
  let k = p.k;
  // Clamped, not returned: loads of row a stay uniform in uniform control flow (llvmpipe broadcasts them).
  let j = min(g.x, B - 1u);
  let a = min(g.y, B - 1u);
  var d = 0.0;
  var dq = 0.0;
  let quant = p.loss == 0u;
  for (var c = 0u; c < k; c++) {
    let fa = f[a * k + c];
    let fj = f[j * k + c];
    let e = fa - fj;
    d += e * e;
    if (quant) {
      // (±1 − ±1)² is exact; (f − ±1)² rounds like D.
      let eq = select(code(fa), fa, anchorReal()) - code(fj);
      dq += eq * eq;
    }
  }
  if (g.x < B && g.y < B) {
    D[a * p.Bs + j] = d;
    Dq[a * p.Bs + j] = dq;
  }
}

// d + Σ over 4 columns c, in order, of (u_c − v_c)² (v as 4 vec4 columns x, y, z, w, each over 4 others j): the
// scalar kernel's e = fa − fj; d += e * e, four times, for 4 j at once.
fn sq4(d: vec4<f32>, u: vec4<f32>, x: vec4<f32>, y: vec4<f32>, z: vec4<f32>, w: vec4<f32>) -> vec4<f32> {
  let ex = u.x - x;
  let ey = u.y - y;
  let ez = u.z - z;
  let ew = u.w - w;
  return (((d + ex * ex) + ey * ey) + ez * ez) + ew * ew;
}

// One column group (4 columns c) of 4 others j, transposed: x..w hold f[j, c] for the 4 j, bx..bw their codes.
struct JCols {
  x: vec4<f32>,
  y: vec4<f32>,
  z: vec4<f32>,
  w: vec4<f32>,
  bx: vec4<f32>,
  by: vec4<f32>,
  bz: vec4<f32>,
  bw: vec4<f32>,
}

// Rows j0..j3 (offsets into f4) at column group c.
fn jcols(j0: u32, j1: u32, j2: u32, j3: u32, c: u32) -> JCols {
  let f0 = f4[j0 + c];
  let f1 = f4[j1 + c];
  let f2 = f4[j2 + c];
  let f3 = f4[j3 + c];
  let x = vec4(f0.x, f1.x, f2.x, f3.x);
  let y = vec4(f0.y, f1.y, f2.y, f3.y);
  let z = vec4(f0.z, f1.z, f2.z, f3.z);
  let w = vec4(f0.w, f1.w, f2.w, f3.w);
  if (LOSS != 0u) { return JCols(x, y, z, w, x, y, z, w); }
  let b0 = code4(f0);
  let b1 = code4(f1);
  let b2 = code4(f2);
  let b3 = code4(f3);
  return JCols(x, y, z, w, vec4(b0.x, b1.x, b2.x, b3.x), vec4(b0.y, b1.y, b2.y, b3.y), vec4(b0.z, b1.z, b2.z, b3.z), vec4(b0.w, b1.w, b2.w, b3.w));
}

// D and Dq of one anchor a against 4 others j.
struct Dist4 {
  d: vec4<f32>,
  dq: vec4<f32>,
}

// r plus the 4 columns of group J: fa = f[a, c..c+3], ua = the anchor side of the quantisation term.
fn distStep(r: Dist4, fa: vec4<f32>, ua: vec4<f32>, J: JCols) -> Dist4 {
  let d = sq4(r.d, fa, J.x, J.y, J.z, J.w);
  if (LOSS != 0u) { return Dist4(d, r.dq); }
  return Dist4(d, sq4(r.dq, ua, J.bx, J.by, J.bz, J.bw));
}

// Row a's results for the 4 others of block jb, if a < B and jb is a block (columns past B are row padding).
fn storeDist(a: u32, jb: u32, r: Dist4) {
  if (a < p.B && jb < (p.B + 3u) / 4u) {
    let i = a * (p.Bs / 4u) + jb;
    D4[i] = r.d;
    Dq4[i] = r.dq;
  }
}

// tql_dist register-blocked (k % 4 = 0): one invocation per 4 anchors a × 8 others j (2 blocks of 4, vec4 over j);
// x runs over the j blocks. Per 4 columns: 12 vec4 loads of f for 128 terms (the scalar kernel loads twice per term),
// each output's terms in the scalar kernel's order.
@compute @workgroup_size(WX, WY)
fn tql_dist4(@builtin(global_invocation_id) g: vec3u) {
  let B = p.B;
  let k4 = p.k / 4u;
  let nb = (B + 3u) / 4u;
  let ab = min(g.y, nb - 1u);
  let jA = 8u * g.x;
  let jB = 8u * g.x + 4u;
  let a0 = clampRow(4u * ab, 0u) * k4;
  let a1 = clampRow(4u * ab, 1u) * k4;
  let a2 = clampRow(4u * ab, 2u) * k4;
  let a3 = clampRow(4u * ab, 3u) * k4;
  let jA0 = clampRow(jA, 0u) * k4;
  let jA1 = clampRow(jA, 1u) * k4;
  let jA2 = clampRow(jA, 2u) * k4;
  let jA3 = clampRow(jA, 3u) * k4;
  let jB0 = clampRow(jB, 0u) * k4;
  let jB1 = clampRow(jB, 1u) * k4;
  let jB2 = clampRow(jB, 2u) * k4;
  let jB3 = clampRow(jB, 3u) * k4;
  let real = anchorRealOf(FORM);
  let zero = Dist4(vec4(0.0), vec4(0.0));
  var rA0 = zero;
  var rA1 = zero;
  var rA2 = zero;
  var rA3 = zero;
  var rB0 = zero;
  var rB1 = zero;
  var rB2 = zero;
  var rB3 = zero;
  for (var c = 0u; c < k4; c++) {
    let fa0 = f4[a0 + c];
    let fa1 = f4[a1 + c];
    let fa2 = f4[a2 + c];
    let fa3 = f4[a3 + c];
    // (±1 − ±1)² is exact; (f − ±1)² rounds like D.
    var ua0 = fa0;
    var ua1 = fa1;
    var ua2 = fa2;
    var ua3 = fa3;
    if (LOSS == 0u && !real) {
      ua0 = code4(fa0);
      ua1 = code4(fa1);
      ua2 = code4(fa2);
      ua3 = code4(fa3);
    }
    let JA = jcols(jA0, jA1, jA2, jA3, c);
    let JB = jcols(jB0, jB1, jB2, jB3, c);
    rA0 = distStep(rA0, fa0, ua0, JA);
    rA1 = distStep(rA1, fa1, ua1, JA);
    rA2 = distStep(rA2, fa2, ua2, JA);
    rA3 = distStep(rA3, fa3, ua3, JA);
    rB0 = distStep(rB0, fa0, ua0, JB);
    rB1 = distStep(rB1, fa1, ua1, JB);
    rB2 = distStep(rB2, fa2, ua2, JB);
    rB3 = distStep(rB3, fa3, ua3, JB);
  }
  if (g.y < nb) {
    let a = 4u * ab;
    storeDist(a, jA / 4u, rA0);
    storeDist(a + 1u, jA / 4u, rA1);
    storeDist(a + 2u, jA / 4u, rA2);
    storeDist(a + 3u, jA / 4u, rA3);
    storeDist(a, jB / 4u, rB0);
    storeDist(a + 1u, jB / 4u, rB1);
    storeDist(a + 2u, jB / 4u, rB2);
    storeDist(a + 3u, jB / 4u, rB3);
  }
}

// select 'hard': sel[2a] = farthest positive, sel[2a+1] = nearest negative (strict comparisons: ties keep the lowest index).
@compute @workgroup_size(WG)
fn tql_hard(@builtin(global_invocation_id) g: vec3u) {
  let a = g.x;
  let B = p.B;
  if (a >= B) { return; }
  let ya = labels[a];
  var pi = NONE;
  var ni = NONE;
  var dp = -1.0;
  var dn = 0.0;
  for (var j = 0u; j < B; j++) {
    if (j == a) { continue; }
    let d = D[a * p.Bs + j];
    if (labels[j] == ya) {
      if (pi == NONE || d > dp) { dp = d; pi = j; }
    } else if (ni == NONE || d < dn) {
      dn = d;
      ni = j;
    }
  }
  let ok = pi != NONE && ni != NONE;
  sel[2u * a] = select(NONE, pi, ok);
  sel[2u * a + 1u] = select(NONE, ni, ok);
}

// Whether triplet (a, pp, nn) with these distances is selected ('all' and 'semihard'; 'hard' is decided by sel).
fn selected(dap: f32, dan: f32) -> bool {
  return p.select != 1u || (dap < dan && dan < dap + p.margin);
}

// One invocation per (a, j); x runs over j. Both roles of a pair evaluate a triplet with the same expressions
// (dap − dan + m, no products, so no contraction), so their hinge decisions agree exactly.
// The loop over the third image t is the same for every lane (row a of D, labels[t]) and branch-free: a positive j
// pairs with negatives t, a negative j with positives t, chosen by selects. Measured on llvmpipe: uniform loads in
// uniform control flow are broadcast, divergent ones gathered lane by lane (≈ 3× slower here).
@compute @workgroup_size(WX, WY)
fn tql_pairs(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let B = p.B;
  let j = min(g.x, B - 1u);
  let a = min(g.y, B - 1u);
  let ij = a * B + j;
  // Row a of the pair matrices (stride Bs).
  let row = a * p.Bs;
  let ya = labels[a];
  let isPos = labels[j] == ya;
  let tql = p.loss == 0u;
  let m = p.margin;
  let mq = p.marginQ;
  let dj = D[row + j];
  let qj = Dq[row + j];
  var ct = 0u;
  var cq = 0u;
  var sum = 0.0;
  var nact = 0u;
  var valid = 0u;
  if (p.select == 2u) {
    let ps = sel[2u * a];
    let ns = sel[2u * a + 1u];
    if (j != a && ps != NONE && (j == ps || j == ns)) {
      let zt = D[row + ps] - D[row + ns] + m;
      let zq = Dq[row + ps] - Dq[row + ns] + mq;
      ct = select(0u, 1u, zt > 0.0);
      cq = select(0u, 1u, tql && zq > 0.0);
      if (j == ps) {
        let l = max(zt, 0.0) + select(0.0, p.lambda * max(zq, 0.0), tql);
        sum = l;
        nact = select(0u, 1u, l > 0.0);
        valid = 1u;
      }
    }
  } else {
    for (var t = 0u; t < B; t++) {
      let dt = D[row + t];
      let qt = Dq[row + t];
      let tPos = labels[t] == ya;
      // j positive: triplet (a, j, t) needs a negative t; j negative: triplet (a, t, j) needs a positive t ≠ a.
      let dap = select(dt, dj, isPos);
      let dan = select(dj, dt, isPos);
      let ok = select(tPos && t != a, !tPos, isPos) && selected(dap, dan);
      let zt = dap - dan + m;
      let zq = select(qt, qj, isPos) - select(qj, qt, isPos) + mq;
      let ft = ok && zt > 0.0;
      let fq = ok && tql && zq > 0.0;
      ct += select(0u, 1u, ft);
      cq += select(0u, 1u, fq);
      let l = select(0.0, max(zt, 0.0) + select(0.0, p.lambda * zq, fq), ok);
      sum += l;
      nact += select(0u, 1u, l > 0.0);
      valid += select(0u, 1u, ok);
    }
    if (!isPos || j == a) {
      sum = 0.0;
      nact = 0u;
      valid = 0u;
    }
    if (j == a) {
      ct = 0u;
      cq = 0u;
    }
  }
  if (g.x < B && g.y < B) {
    // A positive's counts enter with −, a negative's with + (see the header).
    let sg = select(1.0, -1.0, isPos);
    S[row + j] = sg * f32(ct);
    Q[row + j] = sg * f32(cq);
    lossPart[ij] = sum;
    counts[2u * ij] = nact;
    counts[2u * ij + 1u] = valid;
  }
}

// One third image t against 4 others j (vec4): whether the triplet is selected, whether its hinges fire, its loss.
struct Hinge4 {
  ok: vec4<bool>,
  ft: vec4<bool>,
  fq: vec4<bool>,
  l: vec4<f32>,
}

// tql_pairs' loop body for one t, with the same expressions; t past B (row padding) is never selected.
fn hinge4(t: u32, a: u32, dt: f32, qt: f32, tPos: bool, isPos: vec4<bool>, dj: vec4<f32>, qj: vec4<f32>) -> Hinge4 {
  let inRow = t < p.B;
  let dap = select(vec4(dt), dj, isPos);
  let dan = select(dj, vec4(dt), isPos);
  var ok = select(vec4(tPos && t != a && inRow), vec4(!tPos && inRow), isPos);
  if (SEL == 1u) { ok = ok & (dap < dan) & (dan < dap + p.margin); }
  let zt = dap - dan + p.margin;
  let zq = select(vec4(qt), qj, isPos) - select(qj, vec4(qt), isPos) + p.marginQ;
  let ft = ok & (zt > vec4(0.0));
  let fq = ok & vec4(LOSS == 0u) & (zq > vec4(0.0));
  let l = select(vec4(0.0), max(zt, vec4(0.0)) + select(vec4(0.0), p.lambda * zq, fq), ok);
  return Hinge4(ok, ft, fq, l);
}

fn count4(b: vec4<bool>) -> vec4<u32> {
  return select(vec4(0u), vec4(1u), b);
}

// What tql_pairs accumulates over t, for 4 others j.
struct Pairs4 {
  ct: vec4<u32>,
  cq: vec4<u32>,
  sum: vec4<f32>,
  nact: vec4<u32>,
  valid: vec4<u32>,
}

// 4 others j of anchor a: whether each is a positive, and its D[a,j], Dq[a,j].
struct Others4 {
  pos: vec4<bool>,
  d: vec4<f32>,
  q: vec4<f32>,
}

fn others4(a: u32, ya: u32, jb: u32) -> Others4 {
  let row = a * (p.Bs / 4u);
  return Others4(lab4[jb] == vec4(ya), D4[row + jb], Dq4[row + jb]);
}

// s plus the triplets of 4 consecutive third images t0..t0+3 (their D, Dq and positiveness as vec4) with the others o:
// one update of each accumulator (integer counts in any order, the loss sum in t order).
fn addHinges(s: Pairs4, o: Others4, a: u32, t0: u32, dt: vec4<f32>, qt: vec4<f32>, tPos: vec4<bool>) -> Pairs4 {
  let h0 = hinge4(t0, a, dt.x, qt.x, tPos.x, o.pos, o.d, o.q);
  let h1 = hinge4(t0 + 1u, a, dt.y, qt.y, tPos.y, o.pos, o.d, o.q);
  let h2 = hinge4(t0 + 2u, a, dt.z, qt.z, tPos.z, o.pos, o.d, o.q);
  let h3 = hinge4(t0 + 3u, a, dt.w, qt.w, tPos.w, o.pos, o.d, o.q);
  let z = vec4(0.0);
  return Pairs4(
    s.ct + ((count4(h0.ft) + count4(h1.ft)) + (count4(h2.ft) + count4(h3.ft))),
    s.cq + ((count4(h0.fq) + count4(h1.fq)) + (count4(h2.fq) + count4(h3.fq))),
    (((s.sum + h0.l) + h1.l) + h2.l) + h3.l,
    s.nact + ((count4(h0.l > z) + count4(h1.l > z)) + (count4(h2.l > z) + count4(h3.l > z))),
    s.valid + ((count4(h0.ok) + count4(h1.ok)) + (count4(h2.ok) + count4(h3.ok))),
  );
}

// tql_pairs' epilogue for anchor a and the 4 others of block jb (those past B only into row padding of S and Q).
fn storePairs(a: u32, jb: u32, isPos: vec4<bool>, r: Pairs4) {
  let B = p.B;
  let j = 4u * jb + vec4(0u, 1u, 2u, 3u);
  let other = j != vec4(a);
  let keep = isPos & other;
  let sg = select(vec4(1.0), vec4(-1.0), isPos);
  let row = a * (p.Bs / 4u);
  S4[row + jb] = sg * vec4<f32>(select(vec4(0u), r.ct, other));
  Q4[row + jb] = sg * vec4<f32>(select(vec4(0u), r.cq, other));
  let sum = select(vec4(0.0), r.sum, keep);
  let nact = select(vec4(0u), r.nact, keep);
  let valid = select(vec4(0u), r.valid, keep);
  for (var s = 0u; s < 4u; s++) {
    if (j[s] < B) {
      let ij = a * B + j[s];
      lossPart[ij] = sum[s];
      counts[2u * ij] = nact[s];
      counts[2u * ij + 1u] = valid[s];
    }
  }
}

// tql_pairs register-blocked, select 'all' and 'semihard' ('hard' has no loop: tql_pairs): one invocation per anchor a
// and 16 others j (4 vec4 blocks); x runs over the j blocks. Per 4 third images t: 3 vec4 loads (D and Dq of row a,
// labels) for 64 (j, t) pairs (the scalar kernel loads 3 times per pair); each output sums its t in the same order.
// Measured at B = 128, k = 48: 1.8 ms with 4 others per invocation, 1.3 ms with 8, 1.1 ms with 16.
@compute @workgroup_size(WX, WY)
fn tql_pairs4(@builtin(global_invocation_id) g: vec3u) {
  let B = p.B;
  let nb = (B + 3u) / 4u;
  let j0 = 4u * g.x;
  let a = min(g.y, B - 1u);
  let row = a * (p.Bs / 4u);
  let ya = lab4[a / 4u][a % 4u];
  // Blocks past the last one redo it and are not stored; j past B (label padding) only reach row padding of S and Q.
  let oA = others4(a, ya, min(j0, nb - 1u));
  let oB = others4(a, ya, min(j0 + 1u, nb - 1u));
  let oC = others4(a, ya, min(j0 + 2u, nb - 1u));
  let oD = others4(a, ya, min(j0 + 3u, nb - 1u));
  let zero = Pairs4(vec4(0u), vec4(0u), vec4(0.0), vec4(0u), vec4(0u));
  var sA = zero;
  var sB = zero;
  var sC = zero;
  var sD = zero;
  for (var tb = 0u; tb < nb; tb++) {
    let dt = D4[row + tb];
    let qt = Dq4[row + tb];
    let tPos = lab4[tb] == vec4(ya);
    sA = addHinges(sA, oA, a, 4u * tb, dt, qt, tPos);
    sB = addHinges(sB, oB, a, 4u * tb, dt, qt, tPos);
    sC = addHinges(sC, oC, a, 4u * tb, dt, qt, tPos);
    sD = addHinges(sD, oD, a, 4u * tb, dt, qt, tPos);
  }
  if (j0 < nb && g.y < B) {
    storePairs(a, j0, oA.pos, sA);
    if (j0 + 1u < nb) { storePairs(a, j0 + 1u, oB.pos, sB); }
    if (j0 + 2u < nb) { storePairs(a, j0 + 2u, oC.pos, sC); }
    if (j0 + 3u < nb) { storePairs(a, j0 + 3u, oD.pos, sD); }
  }
}

var<workgroup> redF: array<f32, RWG>;
var<workgroup> redQ: array<f32, RWG>;
var<workgroup> redA: array<u32, RWG>;
var<workgroup> redV: array<u32, RWG>;
var<workgroup> redN: array<u32, RWG>;

// One workgroup: fixed-order strided partial sums, then a tree (deterministic). Writes loss[0] and stats = [active, valid].
@compute @workgroup_size(RWG)
fn tql_reduce(@builtin(local_invocation_index) t: u32) {
  let B = p.B;
  let n = B * B;
  var s = 0.0;
  var a = 0u;
  var v = 0u;
  for (var i = t; i < n; i += RWG) {
    s += lossPart[i];
    a += counts[2u * i];
    v += counts[2u * i + 1u];
  }
  var q = 0.0;
  if (p.loss == 2u) {
    for (var i = t; i < B * p.k; i += RWG) {
      let e = f[i] - sgn(f[i]);
      q += e * e;
    }
  }
  // Non-finite features (exponent bits all ones, tested as integers so no fast-math can drop it): the hinges'
  // max(NaN, 0) would silently give 0, so the loss is made NaN instead and the trainer stops.
  var bad = 0u;
  for (var i = t; i < B * p.k; i += RWG) {
    bad += select(0u, 1u, (bitcast<u32>(f[i]) & 0x7f800000u) == 0x7f800000u);
  }
  redF[t] = s;
  redN[t] = bad;
  redQ[t] = q;
  redA[t] = a;
  redV[t] = v;
  workgroupBarrier();
  for (var h = RWG / 2u; h > 0u; h >>= 1u) {
    if (t < h) {
      redF[t] += redF[t + h];
      redQ[t] += redQ[t + h];
      redA[t] += redA[t + h];
      redV[t] += redV[t + h];
      redN[t] += redN[t + h];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let denom = f32(max(1u, select(redA[0], redV[0], p.select == 2u)));
    var l = redF[0] / denom;
    if (p.loss == 2u) { l += p.lambda * redQ[0] / f32(B * p.k); }
    // A quiet NaN built from the runtime count (a constant NaN would be a shader-creation error).
    loss[0] = select(l, bitcast<f32>(0x7fc00000u | min(redN[0], 1u)), redN[0] > 0u);
    stats[0] = redA[0];
    stats[1] = redV[0];
  }
}

// One invocation per (i, c); x runs over the k columns, so lanes share the reads of S and Q.
@compute @workgroup_size(WX, WY)
fn tql_grad(@builtin(global_invocation_id) g: vec3u) {
  let B = p.B;
  let k = p.k;
  let c = min(g.x, k - 1u);
  let i = min(g.y, B - 1u);
  let tql = p.loss == 0u;
  let real = anchorReal();
  // Whether the quantisation gradient also reaches the positive and negative (every form but 'asym').
  let others = p.form != 0u;
  var acc = 0.0;
  var cs = 0.0;
  var qa = 0.0;
  var qo = 0.0;
  var csq = 0.0;
  for (var j = 0u; j < B; j++) {
    let sij = S[i * p.Bs + j];
    let sji = S[j * p.Bs + i];
    let fj = f[j * k + c];
    acc += (sij + sji) * fj;
    cs += sji;
    if (tql) {
      let bj = code(fj);
      qa += Q[i * p.Bs + j] * bj;
      let qji = select(0.0, Q[j * p.Bs + i], others);
      qo += qji * select(bj, fj, real);
      csq += qji;
    }
  }
  let fi = f[i * k + c];
  var gr = 2.0 * (acc - fi * cs);
  if (tql) {
    // i as the positive or negative: Σ_j Q[j,i]·(u_j − b_i), u the anchor side (f or b), through ∂b_i/∂f_i.
    let di = code_d(fi);
    let po = di * (qo - code(fi) * csq);
    // i as the anchor: Σ_j Q[i,j]·b_j, through ∂b_i/∂f_i when the anchor side is a code.
    let an = select(di * qa, qa, real);
    gr += 2.0 * p.lambda * select(an + po, an, p.form == 0u);
  }
  gr /= f32(max(1u, select(stats[0], stats[1], p.select == 2u)));
  if (p.loss == 2u) {
    gr += p.lambda * 2.0 * (fi - sgn(fi)) / f32(B * k);
  }
  if (g.x < k && g.y < B) { grad[i * k + c] = gr; }
}

// acc + Σ over 4 others j, in order, of (S[i,j] + S[j,i])·f_j (sij, sji over the 4 j; f_j over 4 columns): the scalar
// kernel's acc += (sij + sji) * fj, four times.
fn wf4(acc: vec4<f32>, sij: vec4<f32>, sji: vec4<f32>, f0: vec4<f32>, f1: vec4<f32>, f2: vec4<f32>, f3: vec4<f32>) -> vec4<f32> {
  return (((acc + (sij.x + sji.x) * f0) + (sij.y + sji.y) * f1) + (sij.z + sji.z) * f2) + (sij.w + sji.w) * f3;
}

// acc + Σ over 4 others j, in order, of w_j·u_j: the scalar kernel's qa += Q[i,j] * bj (and qo += qji * …), four times.
fn wb4(acc: vec4<f32>, w: vec4<f32>, u0: vec4<f32>, u1: vec4<f32>, u2: vec4<f32>, u3: vec4<f32>) -> vec4<f32> {
  return (((acc + w.x * u0) + w.y * u1) + w.z * u2) + w.w * u3;
}

// tql_grad's epilogue for one row i and 4 columns (vec4), with the same expressions, and the options from params as
// there, not the overrides: a select folded away here would let the compiler contract a product into the sum after it
// (an FMA) where tql_grad cannot, and change the bits ('smooth', 'ste': di·qa + po).
fn gradRow(fi: vec4<f32>, acc: vec4<f32>, cs: f32, qa: vec4<f32>, qo: vec4<f32>, csq: f32) -> vec4<f32> {
  var gr = 2.0 * (acc - fi * cs);
  if (p.loss == 0u) {
    let di = vec4(code_d(fi.x), code_d(fi.y), code_d(fi.z), code_d(fi.w));
    let po = di * (qo - vec4(code(fi.x), code(fi.y), code(fi.z), code(fi.w)) * csq);
    let an = select(di * qa, qa, anchorReal());
    gr += 2.0 * p.lambda * select(an + po, an, p.form == 0u);
  }
  gr /= f32(max(1u, select(stats[0], stats[1], p.select == 2u)));
  if (p.loss == 2u) {
    gr += p.lambda * 2.0 * (fi - select(vec4(-1.0), vec4(1.0), fi >= vec4(0.0))) / f32(p.B * p.k);
  }
  return gr;
}

// 4 consecutive others j in one group of 4 columns: f_j and, for loss 'tql', the codes b_j.
struct Cols4 {
  f0: vec4<f32>,
  f1: vec4<f32>,
  f2: vec4<f32>,
  f3: vec4<f32>,
  b0: vec4<f32>,
  b1: vec4<f32>,
  b2: vec4<f32>,
  b3: vec4<f32>,
}

fn cols4(j: u32, cb: u32) -> Cols4 {
  let k4 = p.k / 4u;
  let f0 = f4[j * k4 + cb];
  let f1 = f4[(j + 1u) * k4 + cb];
  let f2 = f4[(j + 2u) * k4 + cb];
  let f3 = f4[(j + 3u) * k4 + cb];
  if (LOSS != 0u) { return Cols4(f0, f1, f2, f3, f0, f1, f2, f3); }
  return Cols4(f0, f1, f2, f3, code4(f0), code4(f1), code4(f2), code4(f3));
}

// tql_grad's sums over j for one row i and 4 columns.
struct GradSums {
  acc: vec4<f32>,
  qa: vec4<f32>,
  qo: vec4<f32>,
}

// r plus 4 others j: S[i, j..j+3] (sij), S[j..j+3, i] (sji), and the same of Q.
fn gradStep(r: GradSums, w: Cols4, sij: vec4<f32>, sji: vec4<f32>, qij: vec4<f32>, qji: vec4<f32>) -> GradSums {
  let acc = wf4(r.acc, sij, sji, w.f0, w.f1, w.f2, w.f3);
  if (LOSS != 0u) { return GradSums(acc, r.qa, r.qo); }
  let qa = wb4(r.qa, qij, w.b0, w.b1, w.b2, w.b3);
  if (FORM == 0u) { return GradSums(acc, qa, r.qo); }
  let real = anchorRealOf(FORM);
  let qo = wb4(r.qo, qji, select(w.b0, w.f0, real), select(w.b1, w.f1, real), select(w.b2, w.f2, real), select(w.b3, w.f3, real));
  return GradSums(acc, qa, qo);
}

// r plus one other j (the last ones when B % 4 ≠ 0), as tql_grad's loop body.
fn gradStep1(r: GradSums, fj: vec4<f32>, sij: f32, sji: f32, qij: f32, qji: f32) -> GradSums {
  let acc = r.acc + (sij + sji) * fj;
  if (LOSS != 0u) { return GradSums(acc, r.qa, r.qo); }
  let bj = code4(fj);
  let qa = r.qa + qij * bj;
  if (FORM == 0u) { return GradSums(acc, qa, r.qo); }
  return GradSums(acc, qa, r.qo + qji * select(bj, fj, anchorRealOf(FORM)));
}

// Row i of the gradient in column group cb, if i < B and cb < k/4.
fn storeGrad(i: u32, cb: u32, r: GradSums, cs: f32, csq: f32) {
  let k4 = p.k / 4u;
  if (i < p.B && cb < k4) { grad4[i * k4 + cb] = gradRow(f4[i * k4 + cb], r.acc, cs, r.qa, r.qo, csq); }
}

// tql_grad register-blocked (k % 4 = 0): one invocation per 4 rows i × 8 columns c (2 groups of 4, vec4); x runs over
// the i blocks. Per 4 others j: 20 vec4 loads (f[j, c..c+7], S[j, i..i+3], S[i, j..j+3] and Q[i, j..j+3] for the 4
// rows; 24 with Q[j, i..i+3] for the forms other than 'asym') for 128 terms (the scalar kernel loads 5 times per term).
// Each output sums its j in the same order with the same expressions. Measured at B = 128, k = 48: 0.70 ms with 4
// columns per invocation, 0.52 ms with 8, 0.80 ms with 16.
@compute @workgroup_size(WX, WY)
fn tql_grad4(@builtin(global_invocation_id) g: vec3u) {
  let B = p.B;
  let k4 = p.k / 4u;
  let bs4 = p.Bs / 4u;
  let nb = (B + 3u) / 4u;
  let ib = min(g.x, nb - 1u);
  // The second column group past k (k/4 odd) redoes the first and is not stored.
  let cA = min(2u * g.y, k4 - 1u);
  let cB = min(2u * g.y + 1u, k4 - 1u);
  let i0 = clampRow(4u * ib, 0u);
  let i1 = clampRow(4u * ib, 1u);
  let i2 = clampRow(4u * ib, 2u);
  let i3 = clampRow(4u * ib, 3u);
  let zero = GradSums(vec4(0.0), vec4(0.0), vec4(0.0));
  var rA0 = zero;
  var rA1 = zero;
  var rA2 = zero;
  var rA3 = zero;
  var rB0 = zero;
  var rB1 = zero;
  var rB2 = zero;
  var rB3 = zero;
  // Σ_j S[j,i] and Σ_j Q[j,i], vec4 over the 4 rows i.
  var cs = vec4(0.0);
  var csq = vec4(0.0);
  let full = B / 4u;
  for (var jb = 0u; jb < full; jb++) {
    let j = 4u * jb;
    let wA = cols4(j, cA);
    let wB = cols4(j, cB);
    // S[j..j+3, i] from the columns of the 4 rows i, and each row's S[i, j..j+3]; the same of Q where used.
    let c0 = S4[j * bs4 + ib];
    let c1 = S4[(j + 1u) * bs4 + ib];
    let c2 = S4[(j + 2u) * bs4 + ib];
    let c3 = S4[(j + 3u) * bs4 + ib];
    let s0 = S4[i0 * bs4 + jb];
    let s1 = S4[i1 * bs4 + jb];
    let s2 = S4[i2 * bs4 + jb];
    let s3 = S4[i3 * bs4 + jb];
    var q0 = vec4(0.0);
    var q1 = vec4(0.0);
    var q2 = vec4(0.0);
    var q3 = vec4(0.0);
    var d0 = vec4(0.0);
    var d1 = vec4(0.0);
    var d2 = vec4(0.0);
    var d3 = vec4(0.0);
    if (LOSS == 0u) {
      q0 = Q4[i0 * bs4 + jb];
      q1 = Q4[i1 * bs4 + jb];
      q2 = Q4[i2 * bs4 + jb];
      q3 = Q4[i3 * bs4 + jb];
      if (FORM != 0u) {
        d0 = Q4[j * bs4 + ib];
        d1 = Q4[(j + 1u) * bs4 + ib];
        d2 = Q4[(j + 2u) * bs4 + ib];
        d3 = Q4[(j + 3u) * bs4 + ib];
        csq = (((csq + d0) + d1) + d2) + d3;
      }
    }
    let sj0 = vec4(c0.x, c1.x, c2.x, c3.x);
    let sj1 = vec4(c0.y, c1.y, c2.y, c3.y);
    let sj2 = vec4(c0.z, c1.z, c2.z, c3.z);
    let sj3 = vec4(c0.w, c1.w, c2.w, c3.w);
    let qj0 = vec4(d0.x, d1.x, d2.x, d3.x);
    let qj1 = vec4(d0.y, d1.y, d2.y, d3.y);
    let qj2 = vec4(d0.z, d1.z, d2.z, d3.z);
    let qj3 = vec4(d0.w, d1.w, d2.w, d3.w);
    rA0 = gradStep(rA0, wA, s0, sj0, q0, qj0);
    rA1 = gradStep(rA1, wA, s1, sj1, q1, qj1);
    rA2 = gradStep(rA2, wA, s2, sj2, q2, qj2);
    rA3 = gradStep(rA3, wA, s3, sj3, q3, qj3);
    rB0 = gradStep(rB0, wB, s0, sj0, q0, qj0);
    rB1 = gradStep(rB1, wB, s1, sj1, q1, qj1);
    rB2 = gradStep(rB2, wB, s2, sj2, q2, qj2);
    rB3 = gradStep(rB3, wB, s3, sj3, q3, qj3);
    cs = (((cs + c0) + c1) + c2) + c3;
  }
  // The last j when B % 4 ≠ 0, one at a time (same terms, same order).
  for (var j = 4u * full; j < B; j++) {
    let jb = j / 4u;
    let u = j % 4u;
    let fA = f4[j * k4 + cA];
    let fB = f4[j * k4 + cB];
    let c = S4[j * bs4 + ib];
    let s0 = S4[i0 * bs4 + jb][u];
    let s1 = S4[i1 * bs4 + jb][u];
    let s2 = S4[i2 * bs4 + jb][u];
    let s3 = S4[i3 * bs4 + jb][u];
    var q = vec4(0.0);
    var d = vec4(0.0);
    if (LOSS == 0u) {
      q = vec4(Q4[i0 * bs4 + jb][u], Q4[i1 * bs4 + jb][u], Q4[i2 * bs4 + jb][u], Q4[i3 * bs4 + jb][u]);
      if (FORM != 0u) {
        d = Q4[j * bs4 + ib];
        csq = csq + d;
      }
    }
    rA0 = gradStep1(rA0, fA, s0, c.x, q.x, d.x);
    rA1 = gradStep1(rA1, fA, s1, c.y, q.y, d.y);
    rA2 = gradStep1(rA2, fA, s2, c.z, q.z, d.z);
    rA3 = gradStep1(rA3, fA, s3, c.w, q.w, d.w);
    rB0 = gradStep1(rB0, fB, s0, c.x, q.x, d.x);
    rB1 = gradStep1(rB1, fB, s1, c.y, q.y, d.y);
    rB2 = gradStep1(rB2, fB, s2, c.z, q.z, d.z);
    rB3 = gradStep1(rB3, fB, s3, c.w, q.w, d.w);
    cs = cs + c;
  }
  if (g.x < nb) {
    let i = 4u * ib;
    let cb = 2u * g.y;
    storeGrad(i, cb, rA0, cs.x, csq.x);
    storeGrad(i + 1u, cb, rA1, cs.y, csq.y);
    storeGrad(i + 2u, cb, rA2, cs.z, csq.z);
    storeGrad(i + 3u, cb, rA3, cs.w, csq.w);
    storeGrad(i, cb + 1u, rB0, cs.x, csq.x);
    storeGrad(i + 1u, cb + 1u, rB1, cs.y, csq.y);
    storeGrad(i + 2u, cb + 1u, rB2, cs.z, csq.z);
    storeGrad(i + 3u, cb + 1u, rB3, cs.w, csq.w);
  }
}

// Backward: dx = the forward's gradient times ∂(outer)/∂loss = gy[0].
@compute @workgroup_size(WG)
fn tql_scale(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.B * p.k) { dx[i] = grad[i] * gy[0]; }
}
