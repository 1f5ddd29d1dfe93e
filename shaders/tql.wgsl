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

override WX: u32 = 8;
override WY: u32 = 8;
override WG: u32 = 64;
override RWG: u32 = 256;

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
fn anchorReal() -> bool {
  return p.form == 0u || p.form == 2u;
}

// The code of the quantisation term: sign(v), or tanh(β·v) for 'smooth'.
fn code(v: f32) -> f32 {
  // A branch on a uniform, not a select: the other forms do not pay for the exp.
  if (p.form == 3u) { return tanh1(p.beta * v); }
  return sgn(v);
}

// ∂code/∂v: the straight-through 1 on |v| ≤ 1 (else 0), or β·(1 − tanh²(βv)) = β·4t/(1 + t)², t = e^(−2β|v|), for
// 'smooth' (no cancellation where tanh saturates; t underflows to 0 there).
fn code_d(v: f32) -> f32 {
  if (p.form == 3u) {
    let t = exp(-2.0 * abs(p.beta * v));
    return p.beta * 4.0 * t / ((1.0 + t) * (1.0 + t));
  }
  return select(0.0, 1.0, abs(v) <= 1.0);
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
    D[a * B + j] = d;
    Dq[a * B + j] = dq;
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
    let d = D[a * B + j];
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
  let ya = labels[a];
  let isPos = labels[j] == ya;
  let tql = p.loss == 0u;
  let m = p.margin;
  let mq = p.marginQ;
  let dj = D[ij];
  let qj = Dq[ij];
  var ct = 0u;
  var cq = 0u;
  var sum = 0.0;
  var nact = 0u;
  var valid = 0u;
  if (p.select == 2u) {
    let ps = sel[2u * a];
    let ns = sel[2u * a + 1u];
    if (j != a && ps != NONE && (j == ps || j == ns)) {
      let zt = D[a * B + ps] - D[a * B + ns] + m;
      let zq = Dq[a * B + ps] - Dq[a * B + ns] + mq;
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
      let dt = D[a * B + t];
      let qt = Dq[a * B + t];
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
    S[ij] = sg * f32(ct);
    Q[ij] = sg * f32(cq);
    lossPart[ij] = sum;
    counts[2u * ij] = nact;
    counts[2u * ij + 1u] = valid;
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
    let sij = S[i * B + j];
    let sji = S[j * B + i];
    let fj = f[j * k + c];
    acc += (sij + sji) * fj;
    cs += sji;
    if (tql) {
      let bj = code(fj);
      qa += Q[i * B + j] * bj;
      let qji = select(0.0, Q[j * B + i], others);
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

// Backward: dx = the forward's gradient times ∂(outer)/∂loss = gy[0].
@compute @workgroup_size(WG)
fn tql_scale(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i < p.B * p.k) { dx[i] = grad[i] * gy[0]; }
}
