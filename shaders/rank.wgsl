// Ranks of the relevant items, for retrieval metrics (src/ops/rank.ts): for each query, the database ranked by Hamming
// distance ascending, ties by database index ascending (as src/hash/metrics.ts), and the 1-based rank of every item of
// the query's class, in rank order. That list is all that mAP, AP@k, P@k and the PR curves need, and it is about a
// tenth of the ranking. A stable counting sort by distance without atomics: the database is cut into tiles of TILE
// items, each tile is walked in index order by one invocation, so ties stay in index order.
//   rk_count       per (query, tile): items per distance, all and relevant → CA, CR [q, tile, d]
//   rk_scan_tiles  per (query, d): CA, CR become exclusive sums over the tiles; their totals → TA [q0 + q, d], TR [q, d]
//   rk_scan_bins   per query: exclusive sums of TA, TR over the distances → BA, BR [q, d]
//   rk_emit        per (query, tile): walks the tile again; item j of distance d has rank BA[d] + CA[tile, d]++ + 1, and
//                  when relevant it is the (BR[d] + CR[tile, d]++)-th relevant item of the query: ranks[roff[q] + that]
// Lanes (x) run over queries, so every lane of a SIMD group reads the same database word.

struct Params {
  nq: u32,       // queries of this batch
  n: u32,        // database items
  tiles: u32,    // ceil(n / TILE)
  hb: u32,       // distances 0..bits: bits + 1
  lastMask: u32, // valid bits of a code's last word
  q0: u32,       // first query of this batch: queries, qlab, roff and TA are indexed q0 + q, the scratch CA, CR,
                 // TR, BA, BR (per batch) by q
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
@group(0) @binding(9) var<storage, read_write> BA: array<u32>;
@group(0) @binding(10) var<storage, read_write> BR: array<u32>;
// Where each query's ranks start in `ranks` (the host knows each query's number of relevant items).
@group(0) @binding(11) var<storage, read> roff: array<u32>;
@group(0) @binding(12) var<storage, read_write> ranks: array<u32>;

// Words per code (the word loop unrolls), lanes per workgroup, items per tile.
override W: u32 = 2;
override WX: u32 = 8;
override TILE: u32 = 256;
override WG: u32 = 64;

fn distance(q: u32, j: u32) -> u32 {
  var d = 0u;
  for (var w = 0u; w < W; w++) {
    let m = select(0xffffffffu, p.lastMask, w == W - 1u);
    d += countOneBits((queries[(p.q0 + q) * W + w] ^ db[j * W + w]) & m);
  }
  return d;
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
  for (var j = t * TILE; j < min(p.n, (t + 1u) * TILE); j++) {
    let d = distance(q, j);
    CA[row + d] += 1u;
    if (dblab[j] == lab) { CR[row + d] += 1u; }
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
  TA[p.q0 * p.hb + i] = all;
  TR[i] = rel;
}

@compute @workgroup_size(WG)
fn rk_scan_bins(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let q = g.x + g.y * nw.x * WG;
  if (q >= p.nq) { return; }
  var all = 0u;
  var rel = 0u;
  for (var d = 0u; d < p.hb; d++) {
    let i = q * p.hb + d;
    BA[i] = all;
    BR[i] = rel;
    all += TA[p.q0 * p.hb + i];
    rel += TR[i];
  }
}

@compute @workgroup_size(WX)
fn rk_emit(@builtin(global_invocation_id) g: vec3u) {
  let q = g.x;
  let t = g.y;
  if (q >= p.nq || t >= p.tiles) { return; }
  let row = (q * p.tiles + t) * p.hb;
  let lab = qlab[p.q0 + q];
  let out = roff[p.q0 + q];
  for (var j = t * TILE; j < min(p.n, (t + 1u) * TILE); j++) {
    let d = distance(q, j);
    let pos = CA[row + d];
    CA[row + d] = pos + 1u;
    if (dblab[j] == lab) {
      let o = CR[row + d];
      CR[row + d] = o + 1u;
      ranks[out + BR[q * p.hb + d] + o] = BA[q * p.hb + d] + pos + 1u;
    }
  }
}
