// Ranking on worker threads: the chunks of queries of `evaluateRetrieval` spread over threads, their sums added in
// chunk order, so the metrics are the same bits as the single-threaded evaluation's.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { finishRetrieval, prepareRetrieval, rankChunk, rankPrepared, RANK_CHUNK, type PreparedRetrieval, type RankingPartial, type RetrievalInput, type RetrievalMetrics } from './metrics.js';

/** The ranking was abandoned because its `signal` was aborted (a stop request). */
export class RankingAborted extends Error {
  override name = 'RankingAborted';
}

/** Threads used by default: one per core, at most 8 (each holds a copy of the queries and the database). */
export function defaultRankThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * `evaluateRetrieval` on worker threads (default: one per core, at most 8): same checks, same metrics to the bit,
 * progress after each chunk of queries. One thread, or a single chunk, runs on the calling thread. An abort of
 * `signal` ends it after the chunks in flight with RankingAborted.
 */
export async function evaluateRetrievalParallel(input: RetrievalInput, opts: { threads?: number; signal?: AbortSignal } = {}): Promise<RetrievalMetrics> {
  const t0 = performance.now();
  const prep = prepareRetrieval(input); // a bad input throws here, on the caller's thread
  const nq = prep.nq;
  const chunks = Math.ceil(nq / RANK_CHUNK);
  const threads = Math.min(opts.threads ?? defaultRankThreads(), chunks);
  const signal = opts.signal;
  if (!(threads > 1)) return signal ? rankYielding(prep, t0, signal) : rankPrepared(prep, t0);
  const { onProgress, ...plain } = input;
  const partials: RankingPartial[] = new Array(chunks);
  const workers: Worker[] = [];
  let next = 0, done = 0, doneQueries = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new RankingAborted());
      signal?.addEventListener('abort', () => reject(new RankingAborted()), { once: true });
      const feed = (w: Worker) => {
        if (next >= chunks) return;
        const c = next++;
        w.postMessage({ chunk: c, from: c * RANK_CHUNK, to: Math.min(nq, (c + 1) * RANK_CHUNK) });
      };
      for (let t = 0; t < threads; t++) {
        const w = new Worker(new URL('./rank-worker.js', import.meta.url), { workerData: { input: plain } });
        workers.push(w);
        w.on('message', (m: { chunk: number; partial: RankingPartial }) => {
          partials[m.chunk] = m.partial;
          done++;
          doneQueries += Math.min(nq, (m.chunk + 1) * RANK_CHUNK) - m.chunk * RANK_CHUNK;
          if (done === chunks) return resolve();
          onProgress?.(doneQueries, nq);
          feed(w);
        });
        w.on('error', (e) => reject(new Error(`ranking worker: ${e.message}`)));
        w.on('exit', (code) => {
          if (done < chunks) reject(new Error(`ranking worker exited (code ${code}) with ${chunks - done} of ${chunks} chunks of queries left`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  onProgress?.(nq, nq);
  return finishRetrieval(prep, partials, t0);
}

/** rankPrepared on the calling thread, yielding to the event loop between chunks so that an abort is seen. */
async function rankYielding(prep: PreparedRetrieval, t0: number, signal: AbortSignal): Promise<RetrievalMetrics> {
  const partials: RankingPartial[] = [];
  for (let from = 0; from < prep.nq; from += RANK_CHUNK) {
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new RankingAborted();
    const to = Math.min(prep.nq, from + RANK_CHUNK);
    partials.push(rankChunk(prep, from, to));
    prep.input.onProgress?.(to, prep.nq);
  }
  return finishRetrieval(prep, partials, t0);
}
