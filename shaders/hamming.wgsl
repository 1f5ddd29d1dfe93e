// Exact Hamming top-k without a Q×N distance matrix (ranking: distance ascending, ties by database index ascending).
// Codes are u32 words [n, W], bit i in word i/32 (src/hash/codes.ts). The database is cut into chunks of CH codes
// (global chunk ids run over all segments of the database, in index order).
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
