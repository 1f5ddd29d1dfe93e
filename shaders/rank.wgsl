// Ranks of the relevant items, for retrieval metrics (src/ops/rank.ts): for each query, the database ranked by a key
// ascending, ties by database index ascending (as src/hash/metrics.ts), and the 1-based rank of every item of the
// query's class, in rank order. That list is all that mAP, AP@k, P@k and the PR curves need, and it is about a tenth of
// the ranking. Keys: the Hamming distance (one pass: digit = key) or the f32 bits of a squared Euclidean distance (an
// LSD radix sort, 4 passes of 8 bits: for non-negative floats the bit order is the numeric order).
//
// Each pass is a stable counting sort by a digit of the key, without atomics: the items are cut into tiles of TILE,
// each tile walked in order by one invocation, so ties keep their order.
//   rk_hamming / rk_euclid  per (query, item): the keys K [q, j] (items in index order)
//   rk_count       per (query, tile): items per digit → CA [q, tile, d]; on the last pass also the relevant ones → CR
//   rk_scan_tiles  per (query, d): CA, CR become exclusive sums over the tiles; their totals → TA, TR [q, d]
//   rk_scan_bins   per query: exclusive sums of TA, TR over the digits → B [q, d] = (all, roff[q0 + q] + relevant)
//   rk_scatter     per (query, tile), a pass before the last: item at position i of digit d moves to B[d].x + CA[tile, d]++
//                  (its key to Kout, its index to Iout)
//   rk_emit        per (query, tile), the last pass: the item of digit d has rank B[d].x + CA[tile, d]++ + 1, and when
//                  relevant it goes to ranks[B[d].y + CR[tile, d]++] (B.y already holds the query's offset roff)
// Every entry point binds at most 8 storage buffers, WebGPU's default limit per stage (test/limits.test.js).
// Lanes (x) run over queries in the per-tile kernels, so every lane of a SIMD group walks the same positions.

struct Params {
  nq: u32,       // queries of this batch
  n: u32,        // database items
  tiles: u32,    // ceil(n / TILE)
  hb: u32,       // digits of this pass (Hamming: bits + 1; radix: 256)
  lastMask: u32, // Hamming: valid bits of a code's last word
  q0: u32,       // first query of this batch: queries, qlab, roff and hist are indexed q0 + q; the scratch by q
  shift: u32,    // digit = (key >> shift) & mask
  mask: u32,
  first: u32,    // 1: the items are in index order (no Iin)
  last: u32,     // 1: rk_count also counts the relevant items
  dim: u32,      // Euclidean: features per item
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<u32>;
@group(0) @binding(2) var<storage, read> db: array<u32>;
// Class labels (int32 bit patterns): relevant ⇔ equal.
@group(0) @binding(3) var<storage, read> qlab: array<u32>;
@group(0) @binding(4) var<storage, read> dblab: array<u32>;
@group(0) @binding(5) var<storage, read_write> CA: array<u32>;
@group(0) @binding(6) var<storage, read_write> CR: array<u32>;
@group(0) @binding(7) var<storage, read_write> TA: array<u32>;
@group(0) @binding(8) var<storage, read_write> TR: array<u32>;
// Per (query, digit): where its items start in the ranking (x) and where its relevant items start in `ranks` (y).
@group(0) @binding(9) var<storage, read_write> B: array<vec2u>;
// Where each query's ranks start in `ranks` (the host knows each query's number of relevant items).
@group(0) @binding(11) var<storage, read> roff: array<u32>;
@group(0) @binding(12) var<storage, read_write> ranks: array<u32>;
// Keys and database indices of the items, [q, position]: in (Kin, Iin), out (Kout, Iout, and K from rk_hamming/rk_euclid).
@group(0) @binding(13) var<storage, read> Kin: array<u32>;
@group(0) @binding(14) var<storage, read> Iin: array<u32>;
@group(0) @binding(15) var<storage, read_write> Kout: array<u32>;
@group(0) @binding(16) var<storage, read_write> Iout: array<u32>;
// Each query's distance histogram (Hamming: TA of its one pass, [q0 + q, d]).
@group(0) @binding(17) var<storage, read_write> hist: array<u32>;
@group(0) @binding(18) var<storage, read> qf: array<f32>;
@group(0) @binding(19) var<storage, read> dbf: array<f32>;

// Words per code (the word loop unrolls), lanes per workgroup of the per-tile kernels, items per tile.
override W: u32 = 2;
override WX: u32 = 8;
override TILE: u32 = 256;
override WG: u32 = 64;

@compute @workgroup_size(WG)
fn rk_hamming(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.nq * p.n) { return; }
  let q = i / p.n;
  let j = i % p.n;
  var d = 0u;
  for (var w = 0u; w < W; w++) {
    let m = select(0xffffffffu, p.lastMask, w == W - 1u);
    d += countOneBits((queries[(p.q0 + q) * W + w] ^ db[j * W + w]) & m);
  }
  Kout[i] = d;
}

// Σ_c (q_c − x_c)² in f32, in order of c, as its bit pattern (≥ 0, so the bit order is the numeric order).
@compute @workgroup_size(WG)
fn rk_euclid(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.nq * p.n) { return; }
  let q = i / p.n;
  let j = i % p.n;
  var d = 0.0;
  for (var c = 0u; c < p.dim; c++) {
    let e = qf[(p.q0 + q) * p.dim + c] - dbf[j * p.dim + c];
    d += e * e;
  }
  Kout[i] = bitcast<u32>(d);
}

fn itemIndex(row: u32, pos: u32) -> u32 {
  if (p.first == 1u) { return pos; }
  return Iin[row + pos];
}

@compute @workgroup_size(WX)
fn rk_count(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  let t = g.y;
  if (q >= p.nq || t >= p.tiles) { return; }
  let row = (q * p.tiles + t) * p.hb;
  for (var d = 0u; d < p.hb; d++) {
    CA[row + d] = 0u;
    CR[row + d] = 0u;
  }
  let lab = qlab[p.q0 + q];
  let items = q * p.n;
  for (var i = t * TILE; i < min(p.n, (t + 1u) * TILE); i++) {
    let d = (Kin[items + i] >> p.shift) & p.mask;
    CA[row + d] += 1u;
    if (p.last == 1u && dblab[itemIndex(items, i)] == lab) { CR[row + d] += 1u; }
  }
}

@compute @workgroup_size(WG)
fn rk_scan_tiles(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.nq * p.hb) { return; }
  let q = i / p.hb;
  let d = i % p.hb;
  var all = 0u;
  var rel = 0u;
  for (var t = 0u; t < p.tiles; t++) {
    let c = (q * p.tiles + t) * p.hb + d;
    let a = CA[c];
    let r = CR[c];
    CA[c] = all;
    CR[c] = rel;
    all += a;
    rel += r;
  }
  TA[i] = all;
  TR[i] = rel;
}

@compute @workgroup_size(WG)
fn rk_scan_bins(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let q = g.x + g.y * nw.x * WG;
  if (q >= p.nq) { return; }
  var all = 0u;
  var rel = roff[p.q0 + q];
  for (var d = 0u; d < p.hb; d++) {
    let i = q * p.hb + d;
    B[i] = vec2u(all, rel);
    all += TA[i];
    rel += TR[i];
  }
}

@compute @workgroup_size(WX)
fn rk_scatter(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  let t = g.y;
  if (q >= p.nq || t >= p.tiles) { return; }
  let row = (q * p.tiles + t) * p.hb;
  let items = q * p.n;
  for (var i = t * TILE; i < min(p.n, (t + 1u) * TILE); i++) {
    let key = Kin[items + i];
    let d = (key >> p.shift) & p.mask;
    let pos = CA[row + d];
    CA[row + d] = pos + 1u;
    let o = items + B[q * p.hb + d].x + pos;
    Kout[o] = key;
    Iout[o] = itemIndex(items, i);
  }
}

@compute @workgroup_size(WX)
fn rk_emit(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  let t = g.y;
  if (q >= p.nq || t >= p.tiles) { return; }
  let row = (q * p.tiles + t) * p.hb;
  let lab = qlab[p.q0 + q];
  let items = q * p.n;
  for (var i = t * TILE; i < min(p.n, (t + 1u) * TILE); i++) {
    let d = (Kin[items + i] >> p.shift) & p.mask;
    let pos = CA[row + d];
    CA[row + d] = pos + 1u;
    if (dblab[itemIndex(items, i)] == lab) {
      let o = CR[row + d];
      CR[row + d] = o + 1u;
      let base = B[q * p.hb + d];
      ranks[base.y + o] = base.x + pos + 1u;
    }
  }
}

// The Hamming histograms, [q0 + q, d] (TA of the one pass).
@compute @workgroup_size(WG)
fn rk_hist(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.nq * p.hb) { return; }
  hist[p.q0 * p.hb + i] = TA[i];
}
