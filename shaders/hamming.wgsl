// Exact Hamming top-k without a Q×N distance matrix (ranking: distance ascending, ties by database index ascending).
// Codes are u32 words [n, W], bit i in word i/32 (src/hash/codes.ts). The database is cut into chunks of CH codes
// (global chunk ids run over all segments of the database, in index order). Two variants (knob `variant` of
// src/ops/hamming.ts): `hist`, the first version, just below; `bmin`, the default on software adapters, further down.
//   ham_hist     per (query, chunk): histogram of distances 0..bits → H[q, chunk, d]; also the chunk's smallest distance
//                per block of BLK codes, so collection can skip blocks
//   ham_scan     per query: threshold T = smallest d with #(dist ≤ d) ≥ k; H becomes exclusive offsets: the output slot of
//                the first code of distance d ≤ T in each chunk, counting all codes of smaller distance, then those of
//                distance d in earlier chunks (counting sort by (distance, index))
//   ham_collect  per (query, chunk): rescans the blocks that hold a code within T; writes code i of distance d ≤ T to slot
//                off[d]++ when the slot is < k, so the output is sorted and ties go to lower indices, with no atomics
// Lanes (x) run over queries, 4 per invocation: every lane of a SIMD group reads the same database word.

struct Params {
  nq: u32,       // queries of this batch
  n: u32,        // codes in this segment
  bits: u32,
  k: u32,        // results per query (≤ total codes)
  chunk0: u32,   // global id of this segment's first chunk
  nchunks: u32,  // chunks of the whole database
  base: u32,     // global index of this segment's first code
  lastMask: u32, // valid bits of the last word
  q0: u32,       // first query of this batch (queries and outputs are indexed q0 + q; H, bmin and thr per batch)
  nblk: u32,     // variant bmin: blocks of MBLK codes holding at least one code, over the whole database
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<u32>;
@group(0) @binding(2) var<storage, read> db: array<u32>;
@group(0) @binding(3) var<storage, read_write> H: array<u32>;
@group(0) @binding(4) var<storage, read_write> bmin: array<u32>;
@group(0) @binding(5) var<storage, read_write> thr: array<u32>;
@group(0) @binding(6) var<storage, read_write> outIdx: array<u32>;
@group(0) @binding(7) var<storage, read_write> outDist: array<u32>;

// Words per code (the word loop unrolls), lanes per workgroup (x: groups of 4 queries; ≥ 8 on llvmpipe).
override W: u32 = 2;
override WX: u32 = 8;
// Codes per chunk and per skip block (BLK divides CH).
override CH: u32 = 4096;
override BLK: u32 = 128;
override WG: u32 = 64;

// Histogram bins per query: bits + 1 (distances 0..bits).
override HB: u32 = 65;
const NONE: u32 = 0xffffffffu;

// Each invocation holds 4 queries (one per vec4 component) in registers: one database load serves 4 × (lanes) pairs.
// The chunk comes from workgroup_id and no invocation returns early, so database addresses are uniform in
// uniform control flow: llvmpipe then loads once and broadcasts instead of gathering lane by lane (measured 2–3×).
fn loadQueries(g4: u32) -> array<vec4u, 8> {
  var qw: array<vec4u, 8>;
  for (var j = 0u; j < 4u; j++) {
    let q = min(g4 * 4u + j, p.nq - 1u);
    for (var w = 0u; w < W; w++) { qw[w][j] = queries[(p.q0 + q) * W + w]; }
  }
  return qw;
}

fn dist4(qw: array<vec4u, 8>, i: u32) -> vec4u {
  var d = vec4u(0u);
  for (var w = 0u; w < W; w++) {
    var x = qw[w] ^ vec4u(db[i * W + w]);
    if (w == W - 1u) { x &= vec4u(p.lastMask); }
    d += countOneBits(x);
  }
  return d;
}

var<workgroup> wh: array<u32, WX * 4 * HB>;

@compute @workgroup_size(WX)
fn ham_hist(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.y;
  let start = c * CH;
  let end = min(start + CH, p.n);
  let qw = loadQueries(g.x);
  let hb = HB;
  // Each invocation's 4 histograms live in workgroup memory, not private arrays: LLVM took 40–70 s to compile
  // 4 private 257-entry arrays on llvmpipe (and the speed is the same).
  let h = lid * 4u * HB;
  for (var d = 0u; d < 4u * HB; d++) { wh[h + d] = 0u; }
  let nblk = CH / BLK;
  let gc = p.chunk0 + c;
  for (var b = 0u; b < nblk; b++) {
    let s = start + b * BLK;
    let e = min(s + BLK, end);
    var m = vec4u(NONE);
    for (var i = s; i < e; i++) {
      let d = dist4(qw, i);
      wh[h + d.x] += 1u;
      wh[h + HB + d.y] += 1u;
      wh[h + 2u * HB + d.z] += 1u;
      wh[h + 3u * HB + d.w] += 1u;
      m = min(m, d);
    }
    for (var j = 0u; j < 4u; j++) {
      let q = g.x * 4u + j;
      if (q < p.nq) { bmin[(q * p.nchunks + gc) * nblk + b] = m[j]; }
    }
  }
  for (var j = 0u; j < 4u; j++) {
    let q = g.x * 4u + j;
    if (q < p.nq) {
      let o = (q * p.nchunks + gc) * hb;
      for (var d = 0u; d < hb; d++) { H[o + d] = wh[h + j * HB + d]; }
    }
  }
}

@compute @workgroup_size(WG)
fn ham_scan(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let q = g.x + g.y * nw.x * WG;
  if (q >= p.nq) { return; }
  let hb = p.bits + 1u;
  let row = q * p.nchunks * hb;
  var run: array<u32, 257>;
  for (var d = 0u; d < hb; d++) { run[d] = 0u; }
  for (var c = 0u; c < p.nchunks; c++) {
    for (var d = 0u; d < hb; d++) { run[d] += H[row + c * hb + d]; }
  }
  var t = 0u;
  var cum = 0u;
  for (var d = 0u; d < hb; d++) {
    let total = run[d];
    run[d] = cum;
    cum += total;
    t = d;
    if (cum >= p.k) { break; }
  }
  for (var c = 0u; c < p.nchunks; c++) {
    for (var d = 0u; d <= t; d++) {
      let h = H[row + c * hb + d];
      H[row + c * hb + d] = run[d];
      run[d] += h;
    }
  }
  thr[q] = t;
}

// Collection: 4 queries per invocation like ham_hist; a block is rescanned when one of them has a code within its threshold.
@compute @workgroup_size(WX)
fn ham_collect(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.y;
  let start = c * CH;
  let end = min(start + CH, p.n);
  let hb = p.bits + 1u;
  let gc = p.chunk0 + c;
  let nblk = CH / BLK;
  var t = vec4u(0u);
  var valid = vec4<bool>(false);
  for (var j = 0u; j < 4u; j++) {
    let q = g.x * 4u + j;
    valid[j] = q < p.nq;
    t[j] = select(0u, thr[min(q, p.nq - 1u)], valid[j]);
  }
  // Output slots per query and distance ≤ T (counting-sort offsets from ham_scan).
  let h = lid * 4u * HB;
  for (var j = 0u; j < 4u; j++) {
    let o = (min(g.x * 4u + j, p.nq - 1u) * p.nchunks + gc) * hb;
    for (var d = 0u; d <= t[j]; d++) { wh[h + j * HB + d] = H[o + d]; }
  }
  let qw = loadQueries(g.x);
  for (var b = 0u; b < nblk; b++) {
    var need = false;
    for (var j = 0u; j < 4u; j++) {
      let q = min(g.x * 4u + j, p.nq - 1u);
      need = need || (valid[j] && bmin[(q * p.nchunks + gc) * nblk + b] <= t[j]);
    }
    if (!need) { continue; }
    let s = start + b * BLK;
    let e = min(s + BLK, end);
    for (var i = s; i < e; i++) {
      let d = dist4(qw, i);
      for (var j = 0u; j < 4u; j++) {
        if (valid[j] && d[j] <= t[j]) {
          let slot = wh[h + j * HB + d[j]];
          wh[h + j * HB + d[j]] = slot + 1u;
          if (slot < p.k) {
            let q = p.q0 + g.x * 4u + j;
            outIdx[q * p.k + slot] = p.base + i;
            outDist[q * p.k + slot] = d[j];
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Variant "bmin" (default): no per-pair memory traffic. On llvmpipe every load or store is a scalar loop over the SIMD
// lanes (~30 ns per instruction and thread, even masked off, and an `if` does not skip its body), while a vec4 popcount
// is a few AVX-512 instructions; the histogram variant above does one workgroup read-modify-write per pair and is bound by it.
//   hb_min     per (query, block of MBLK codes): the block's smallest distance, in registers (4·QV queries per
//              invocation, uniform database loads); two 16-bit minima per word → P[q, block / 2]
//   hb_thresh  per query: t0 = the smallest d with ≥ K' = min(k, blocks) blocks of minimum ≤ d. Each such block holds
//              a code within t0, so the true k-th distance T ≤ t0; the candidate blocks are those of minimum < t0 plus the
//              first K' − #(< t0) of minimum = t0 in index order (exactly K' blocks → list L). A code outside L has
//              d ≥ t0, and each listed block holds a code ahead of it (smaller distance, or equal with a lower index).
//   hb_cand    per query and database range: the codes of its listed blocks with d ≤ t0, in index order → C, D
//   hb_select  per query: distance histogram of the candidates, threshold T, counting-sort offsets → sorted top-k
// Lanes (x) of hb_thresh / hb_cand / hb_select run over queries, one each: their loads are per-lane gathers, but they
// touch only N / MBLK / 2 words and K'·MBLK codes per query.
@group(0) @binding(8) var<storage, read_write> P: array<u32>;
@group(0) @binding(9) var<storage, read_write> L: array<u32>;
@group(0) @binding(10) var<storage, read_write> C: array<u32>;
@group(0) @binding(11) var<storage, read_write> D: array<u32>;
@group(0) @binding(12) var<storage, read_write> cnt: array<u32>;
// The block minima again, as vec4 (4 words, 8 blocks).
@group(0) @binding(14) var<storage, read> P4: array<vec4u>;
// The database again, as vec4 (whole vec4s of the range; a 16-byte dummy when the range holds fewer than 4 words).
@group(0) @binding(13) var<storage, read> db4: array<vec4u>;

// Vec4 query groups per invocation of hb_min (QV · W ≤ 16), codes per block minimum, lanes per workgroup of the per-query kernels.
override QV: u32 = 4;
override MBLK: u32 = 64;
override WQ: u32 = 16;
// Histogram bins of the per-query kernels: bits + 2 (distances 0..bits, then one bin for "empty block").
override HB2: u32 = 66;
// An empty block's minimum: above every distance, and < 0x8000 so that the SWAR counts of hb_thresh cannot borrow.
const EMPTY: u32 = 0x7fffu;
const EMPTY2: u32 = 0x7fff7fffu;

// Words of block minima per query and row stride (whole vec4s; the padding words are read as empty).
fn wordsPerQuery() -> u32 { return p.nchunks * (CH / (2u * MBLK)); }
fn rowStride() -> u32 { return (wordsPerQuery() + 3u) / 4u * 4u; }

var<workgroup> hq: array<u32, WQ * HB2>;

@compute @workgroup_size(WX)
fn hb_min(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.y;
  let start = c * CH;
  let end = min(start + CH, p.n);
  var qw: array<vec4u, 16>;
  for (var v = 0u; v < QV; v++) {
    for (var j = 0u; j < 4u; j++) {
      let q = min((g.x * QV + v) * 4u + j, p.nq - 1u);
      for (var w = 0u; w < W; w++) { qw[v * W + w][j] = queries[(p.q0 + q) * W + w]; }
    }
  }
  let nw = CH / (2u * MBLK);
  let wps = rowStride();
  for (var pb = 0u; pb < nw; pb++) {
    var pk: array<vec4u, 16>;
    for (var h = 0u; h < 2u; h++) {
      var m: array<vec4u, 16>;
      for (var v = 0u; v < QV; v++) { m[v] = vec4u(EMPTY); }
      let s = start + (2u * pb + h) * MBLK;
      let e = max(s, min(s + MBLK, end));  // blocks past the end are empty (and e − s must not wrap)
      // Groups of 4 codes = W vec4 loads (4·W words) instead of 4·W scalar loads (measured 1.4–1.6×); then the tail.
      let full = s + ((e - s) / 4u) * 4u;
      for (var i4 = s * W / 4u; i4 < full * W / 4u; i4 += W) {
        var x: array<vec4u, 8>;
        for (var u = 0u; u < W; u++) { x[u] = db4[i4 + u]; }
        for (var cc = 0u; cc < 4u; cc++) {
          for (var v = 0u; v < QV; v++) {
            var d = vec4u(0u);
            for (var w = 0u; w < W; w++) {
              let f = cc * W + w;
              var y = vec4u(x[f / 4u][f % 4u]);
              if (w == W - 1u) { y &= vec4u(p.lastMask); }
              d += countOneBits(qw[v * W + w] ^ y);
            }
            m[v] = min(m[v], d);
          }
        }
      }
      for (var i = full; i < e; i++) {
        var d: array<vec4u, 16>;
        for (var w = 0u; w < W; w++) {
          var x = vec4u(db[i * W + w]);
          if (w == W - 1u) { x &= vec4u(p.lastMask); }
          for (var v = 0u; v < QV; v++) {
            let y = countOneBits(qw[v * W + w] ^ x);
            if (w == 0u) { d[v] = y; } else { d[v] += y; }
          }
        }
        for (var v = 0u; v < QV; v++) { m[v] = min(m[v], d[v]); }
      }
      for (var v = 0u; v < QV; v++) {
        if (h == 0u) { pk[v] = m[v]; } else { pk[v] |= m[v] << vec4u(16u); }
      }
    }
    for (var v = 0u; v < QV; v++) {
      for (var j = 0u; j < 4u; j++) {
        let q = (g.x * QV + v) * 4u + j;
        if (q < p.nq) { P[q * wps + (p.chunk0 + c) * nw + pb] = pk[v][j]; }
      }
    }
  }
}

// Threshold by SWAR counting (default): the fields ≤ c of a word are the set bits of ((0x8000 + c)·0x10001 − x) &
// 0x80008000, so a sweep counts 8 thresholds with ALU only (vec4 loads of 4 words); each sweep splits [lo, hi] into 9
// buckets (2 sweeps for 64 bits, 3 for 256). The histogram version (hb_thresh_hist) does 2 workgroup
// read-modify-writes per word instead.
fn le4(x: vec4u, c: u32) -> vec4u {
  return countOneBits((vec4u((0x8000u + c) * 0x10001u) - x) & vec4u(0x80008000u));
}

fn minima4(row: u32, i: u32, wpq: u32) -> vec4u {
  return select(P4[row + i], vec4u(EMPTY2), vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) >= vec4u(wpq));
}

fn hsum(v: vec4u) -> u32 { return v.x + v.y + v.z + v.w; }

@compute @workgroup_size(WQ)
fn hb_thresh(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  if (q >= p.nq) { return; }
  let wpq = wordsPerQuery();
  let nv = rowStride() / 4u;
  let row = q * nv;
  let kb = min(p.k, p.nblk);
  // Invariant: #(minimum ≤ hi) ≥ kb and below = #(minimum < lo) < kb; t0 ∈ [lo, hi].
  var lo = 0u;
  var hi = p.bits;
  var below = 0u;
  loop {
    if (lo >= hi) { break; }
    let st = (hi - lo + 9u) / 9u;
    var cc: array<vec4u, 8>;
    for (var r = 0u; r < 8u; r++) { cc[r] = vec4u(0u); }
    for (var i = 0u; i < nv; i++) {
      let x = minima4(row, i, wpq);
      for (var r = 0u; r < 8u; r++) { cc[r] += le4(x, lo + (r + 1u) * st - 1u); }
    }
    // The first threshold reaching kb bounds t0; none: t0 is in the last bucket.
    var nlo = lo + 8u * st;
    var nhi = hi;
    var prev = below;
    var found = false;
    for (var r = 0u; r < 8u; r++) {
      let c = hsum(cc[r]);
      if (!found && c >= kb) {
        found = true;
        nhi = min(hi, lo + (r + 1u) * st - 1u);
        nlo = lo + r * st;
        below = prev;
      }
      prev = c;
    }
    if (!found) { below = prev; }
    lo = nlo;
    hi = nhi;
  }
  listBlocks(q, lo, below, kb, wpq, nv);
}

// Blocks of minimum < t0 (fewer than kb), then the first kb − below of minimum t0, in index order → L; t0 → thr.
fn listBlocks(q: u32, t0in: u32, below: u32, kb: u32, wpq: u32, nv: u32) {
  var t0 = t0in;
  var eq = kb - below;
  // Fewer blocks than k: every block is listed and every code is a candidate.
  if (p.nblk < p.k) { t0 = p.bits; eq = 0xffffffffu; }
  let lrow = q * (p.k + 1u);
  let row = q * nv;
  var j = 0u;
  for (var i = 0u; i < nv; i++) {
    let x = minima4(row, i, wpq);
    for (var s = 0u; s < 8u; s++) {
      let f = (x[s / 2u] >> (16u * (s % 2u))) & 0xffffu;
      let take = f < t0 || (f == t0 && eq > 0u);
      eq -= u32(f == t0 && eq > 0u);
      // Unconditional store (a masked one costs the same on llvmpipe); slot k of the row takes the overflow.
      L[lrow + j] = 8u * i + s;
      j += u32(take);
    }
    if (j >= kb) { break; }
  }
  thr[q] = t0;
  cnt[q] = 0u;
}

// The first version of the threshold: a histogram of the block minima in workgroup memory.
@compute @workgroup_size(WQ)
fn hb_thresh_hist(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = g.x;
  if (q >= p.nq) { return; }
  let h = lid * HB2;
  let over = p.bits + 1u;
  for (var d = 0u; d <= over; d++) { hq[h + d] = 0u; }
  let wpq = wordsPerQuery();
  let nv = rowStride() / 4u;
  for (var i = 0u; i < nv; i++) {
    let x = minima4(q * nv, i, wpq);
    for (var s = 0u; s < 8u; s++) { hq[h + min((x[s / 2u] >> (16u * (s % 2u))) & 0xffffu, over)] += 1u; }
  }
  let kb = min(p.k, p.nblk);
  var t0 = 0u;
  var below = 0u;
  var cum = 0u;
  for (var d = 0u; d <= p.bits; d++) {
    below = cum;
    cum += hq[h + d];
    t0 = d;
    if (cum >= kb) { break; }
  }
  listBlocks(q, t0, below, kb, wpq, nv);
}

@compute @workgroup_size(WQ)
fn hb_cand(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  if (q >= p.nq) { return; }
  var qv: array<u32, 8>;
  for (var w = 0u; w < W; w++) { qv[w] = queries[(p.q0 + q) * W + w]; }
  let t0 = thr[q];
  let kb = min(p.k, p.nblk);
  let b0 = p.chunk0 * (CH / MBLK);
  let b1 = b0 + (p.n + MBLK - 1u) / MBLK;
  let cap = kb * MBLK + 1u;
  let crow = q * cap;
  var n = cnt[q];
  for (var j = 0u; j < kb; j++) {
    let b = L[q * (p.k + 1u) + j];
    if (b < b0 || b >= b1) { continue; }
    let s = (b - b0) * MBLK;
    let e = min(s + MBLK, p.n);
    // 4 codes per W vec4 loads (per-lane gathers: a vec4 costs what a scalar does), then the tail.
    var i = s;
    for (; i + 4u <= e; i += 4u) {
      var x: array<vec4u, 8>;
      for (var u = 0u; u < W; u++) { x[u] = db4[i * W / 4u + u]; }
      for (var cc = 0u; cc < 4u; cc++) {
        var d = 0u;
        for (var w = 0u; w < W; w++) {
          let f = cc * W + w;
          var y = qv[w] ^ x[f / 4u][f % 4u];
          if (w == W - 1u) { y &= p.lastMask; }
          d += countOneBits(y);
        }
        // Unconditional stores; the count advances only for a candidate.
        C[crow + n] = p.base + i + cc;
        D[crow + n] = d;
        n += u32(d <= t0);
      }
    }
    for (; i < e; i++) {
      var d = 0u;
      for (var w = 0u; w < W; w++) {
        var y = qv[w] ^ db[i * W + w];
        if (w == W - 1u) { y &= p.lastMask; }
        d += countOneBits(y);
      }
      C[crow + n] = p.base + i;
      D[crow + n] = d;
      n += u32(d <= t0);
    }
  }
  cnt[q] = n;
}

@compute @workgroup_size(WQ)
fn hb_select(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = g.x;
  if (q >= p.nq) { return; }
  let h = lid * HB2;
  let t0 = thr[q];
  for (var d = 0u; d <= t0; d++) { hq[h + d] = 0u; }
  let cap = min(p.k, p.nblk) * MBLK + 1u;
  let crow = q * cap;
  let n = cnt[q];
  for (var i = 0u; i < n; i++) { hq[h + D[crow + i]] += 1u; }
  // T = the k-th distance; bins 0..T become exclusive output offsets.
  var cum = 0u;
  var t = 0u;
  for (var d = 0u; d <= t0; d++) {
    let c = hq[h + d];
    hq[h + d] = cum;
    cum += c;
    t = d;
    if (cum >= p.k) { break; }
  }
  let orow = (p.q0 + q) * p.k;
  for (var i = 0u; i < n; i++) {
    let d = D[crow + i];
    if (d <= t) {
      let slot = hq[h + d];
      hq[h + d] = slot + 1u;
      if (slot < p.k) {
        outIdx[orow + slot] = C[crow + i];
        outDist[orow + slot] = d;
      }
    }
  }
}
