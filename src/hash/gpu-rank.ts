// Binary retrieval metrics with the ranking on the GPU (src/ops/rank.ts): the GPU ranks each chunk of queries and
// returns the ranks of the relevant items; the CPU adds them up in the accumulator of src/hash/metrics.ts, chunk by
// chunk as evaluateRetrieval does, so the metrics are the same bits as the CPU ranking's.
import { Tensor, scope, runtime } from '../tensor.js';
import { hammingRelevantRanks } from '../ops/rank.js';
import { wordsPerCode } from '../cpu/codes.js';
import { finishRetrieval, prepareRetrieval, RetrievalAccumulator, RANK_CHUNK, type RankingPartial, type RetrievalInput, type RetrievalMetrics } from './metrics.js';
import { RankingAborted } from './rank-parallel.js';

/**
 * evaluateRetrieval of binary codes (queryCodes, dbCodes) with the Hamming ranking on the GPU: the same checks, the
 * same metrics to the bit, progress after each chunk of queries. An abort of `signal` ends it with RankingAborted.
 * `piece`: queries per GPU launch (default: as many of a chunk as fit the ranks of one binding).
 */
export async function evaluateRetrievalGpu(input: RetrievalInput, opts: { signal?: AbortSignal; piece?: number } = {}): Promise<RetrievalMetrics> {
  const t0 = performance.now();
  const prep = prepareRetrieval(input);
  if (opts.signal?.aborted) throw new RankingAborted();
  if (!prep.binary) throw new Error('evaluateRetrievalGpu: ranks binary codes (queryCodes + dbCodes); real-valued features are ranked on the CPU (evaluateRetrievalParallel)');
  const { bits } = input;
  const W = wordsPerCode(bits);
  const ndb = input.dbLabels.length;
  const queryCodes = input.queryCodes!;
  const dbLabels = Int32Array.from(input.dbLabels);
  const classCount = new Map<number, number>();
  for (const l of dbLabels) classCount.set(l, (classCount.get(l) ?? 0) + 1);
  const db = Tensor.from(input.dbCodes!.subarray(0, ndb * W), [ndb, W], 'u32', 'ranked codes');
  const dbl = Tensor.from(new Uint32Array(dbLabels.buffer), [ndb], 'u32', 'ranked labels');
  // Queries from..to−1 on the GPU: their relevant ranks and histograms, read back while the next launch is recorded.
  const launch = (from: number, to: number) => {
    const n = to - from;
    const codes = new Uint32Array(n * W), labels = new Int32Array(n), relevant = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const q = prep.pick ? prep.pick[from + i] : from + i;
      codes.set(queryCodes.subarray(q * W, (q + 1) * W), i * W);
      labels[i] = prep.qLabel[q];
      relevant[i] = classCount.get(labels[i]) ?? 0;
    }
    const r = scope(() => hammingRelevantRanks(Tensor.from(codes, [n, W], 'u32', 'ranked queries'), db, Tensor.from(new Uint32Array(labels.buffer), [n], 'u32', 'query labels'), dbl, bits, relevant));
    const rt = runtime();
    const read = Promise.all([rt.readLater(r.ranks.buffer, r.ranks.size * 4), rt.readLater(r.hist.buffer, r.hist.size * 4)]);
    return { labels, relevant, read, done: () => { r.ranks.dispose(); r.hist.dispose(); } };
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
    let acc = new RetrievalAccumulator(input.dbLabels, input);
    next = pieces.length ? launch(pieces[0].from, pieces[0].to) : undefined;
    for (let i = 0; next; i++) {
      const cur = next;
      next = i + 1 < pieces.length ? launch(pieces[i + 1].from, pieces[i + 1].to) : undefined;
      const [rb, hb] = await cur.read;
      cur.done();
      if (opts.signal?.aborted) throw new RankingAborted();
      const ranks = new Uint32Array(rb), hist = new Uint32Array(hb);
      for (let q = 0, off = 0; q < cur.labels.length; off += cur.relevant[q], q++) {
        acc.addHammingRanks(ranks.subarray(off, off + cur.relevant[q]), cur.labels[q], bits, hist.subarray(q * (bits + 1), (q + 1) * (bits + 1)));
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
  return finishRetrieval(prep, partials, t0);
}
