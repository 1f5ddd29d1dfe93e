// Retrieval metrics with the ranking on the GPU (src/ops/rank.ts): the GPU ranks each chunk of queries and returns the
// ranks of the relevant items; the CPU adds them up in the accumulator of src/hash/metrics.ts, chunk by chunk as
// evaluateRetrieval does. Binary: the same metrics as the CPU ranking's, to the bit. Real-valued: the distances are
// float32 sums on the GPU, float64 on the CPU (then rounded to float32), so nearly equal distances can swap.
import { Tensor, scope, runtime } from '../tensor.js';
import { hammingRelevantRanks, euclideanRelevantRanks } from '../ops/rank.js';
import { wordsPerCode } from '../cpu/codes.js';
import { finishRetrieval, prepareRetrieval, RetrievalAccumulator, RANK_CHUNK, type RankingPartial, type RetrievalInput, type RetrievalMetrics } from './metrics.js';
import { RankingAborted } from './rank-parallel.js';

/** How the real-valued ranking on the GPU computes its distances (appended to the metrics' protocol). */
export const GPU_EUCLIDEAN = 'distances summed in float32 on the GPU, Σ (q − x)² in order of the features';

/**
 * evaluateRetrieval with the ranking on the GPU: the same checks, progress after each chunk of queries; binary codes
 * give the same metrics to the bit, real-valued features (finite) a ranking by float32 distances (GPU_EUCLIDEAN, in the
 * metrics' protocol). An abort of `signal` ends it with RankingAborted. `piece`: queries per GPU launch (default: as
 * many of a chunk as fit the ranks of one binding).
 */
export async function evaluateRetrievalGpu(input: RetrievalInput, opts: { signal?: AbortSignal; piece?: number } = {}): Promise<RetrievalMetrics> {
  const t0 = performance.now();
  const prep = prepareRetrieval(input);
  if (opts.signal?.aborted) throw new RankingAborted();
  const { bits } = input;
  const ndb = input.dbLabels.length;
  const dbLabels = Int32Array.from(input.dbLabels);
  let acc = new RetrievalAccumulator(input.dbLabels, input);
  const { classCount } = acc;
  // Codes (u32, W words each) or features (f32, `bits` each): the query rows to gather and the database on the GPU.
  const binary = prep.binary;
  const cols = binary ? wordsPerCode(bits) : bits;
  const f32 = (x: Float32Array | Float64Array) => (x instanceof Float32Array ? x : Float32Array.from(x));
  const qRows = binary ? input.queryCodes! : f32(input.queryFeatures!);
  const dbRows = binary ? input.dbCodes!.subarray(0, ndb * cols) : f32(input.dbFeatures!);
  if (!binary) {
    for (const [what, x] of [['queryFeatures', qRows], ['dbFeatures', dbRows]] as const) {
      const i = x.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) throw new RangeError(`${what}[${i}] = ${x[i]}: features must be finite`);
    }
  }
  const dtype = binary ? 'u32' : 'f32';
  const db = Tensor.from(dbRows, [ndb, cols], dtype, 'ranked database');
  const dbl = Tensor.from(new Uint32Array(dbLabels.buffer), [ndb], 'u32', 'ranked labels');
  // Queries from..to−1 on the GPU: their relevant ranks (and Hamming histograms), read back while the next launch is
  // recorded.
  const launch = (from: number, to: number) => {
    const n = to - from;
    const rows = binary ? new Uint32Array(n * cols) : new Float32Array(n * cols);
    const labels = new Int32Array(n), relevant = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const q = prep.pick ? prep.pick[from + i] : from + i;
      rows.set(qRows.subarray(q * cols, (q + 1) * cols), i * cols);
      labels[i] = prep.qLabel[q];
      relevant[i] = classCount.get(labels[i]) ?? 0;
    }
    const r = scope(() => {
      const qs = Tensor.from(rows, [n, cols], dtype, 'ranked queries'), ql = Tensor.from(new Uint32Array(labels.buffer), [n], 'u32', 'query labels');
      return binary ? hammingRelevantRanks(qs, db, ql, dbl, bits, relevant) : { ranks: euclideanRelevantRanks(qs, db, ql, dbl, relevant), hist: undefined };
    });
    const rt = runtime();
    const read = Promise.all([rt.readLater(r.ranks.buffer, r.ranks.size * 4), r.hist ? rt.readLater(r.hist.buffer, r.hist.size * 4) : undefined]);
    return { labels, relevant, read, done: () => { r.ranks.dispose(); r.hist?.dispose(); } };
  };
  // Launches of at most `piece` queries within one chunk: a launch's ranks (Σ relevant) must fit one binding.
  let maxRelevant = 1;
  for (const c of classCount.values()) maxRelevant = Math.max(maxRelevant, c);
  const piece = Math.max(1, Math.min(RANK_CHUNK, opts.piece ?? Math.floor(runtime().limits.maxStorageBufferBindingSize / (4 * maxRelevant))));
  const pieces: { from: number; to: number; endsChunk: boolean }[] = [];
  for (let from = 0; from < prep.nq; from += RANK_CHUNK) {
    const end = Math.min(prep.nq, from + RANK_CHUNK);
    for (let p = from; p < end; p += piece) pieces.push({ from: p, to: Math.min(end, p + piece), endsChunk: p + piece >= end });
  }
  const partials: RankingPartial[] = [];
  let next: ReturnType<typeof launch> | undefined;
  try {
    next = pieces.length ? launch(pieces[0].from, pieces[0].to) : undefined;
    for (let i = 0; next; i++) {
      const cur = next;
      next = i + 1 < pieces.length ? launch(pieces[i + 1].from, pieces[i + 1].to) : undefined;
      const [rb, hb] = await cur.read;
      cur.done();
      if (opts.signal?.aborted) throw new RankingAborted();
      const ranks = new Uint32Array(rb), hist = hb && new Uint32Array(hb);
      for (let q = 0, off = 0; q < cur.labels.length; off += cur.relevant[q], q++) {
        const mine = ranks.subarray(off, off + cur.relevant[q]);
        if (hist) acc.addHammingRanks(mine, cur.labels[q], bits, hist.subarray(q * (bits + 1), (q + 1) * (bits + 1)));
        else acc.addEuclideanRanks(mine, cur.labels[q], bits);
      }
      if (pieces[i].endsChunk) {
        partials.push(acc.partial());
        acc = new RetrievalAccumulator(input.dbLabels, input);
        input.onProgress?.(pieces[i].to, prep.nq);
      }
    }
  } finally {
    next?.done();
    db.dispose();
    dbl.dispose();
  }
  if (prep.nq === 0) input.onProgress?.(0, 0);
  const out = finishRetrieval(prep, partials, t0);
  if (!binary) out.protocol += `; ${GPU_EUCLIDEAN}`;
  return out;
}
