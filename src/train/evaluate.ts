// Evaluation: network forward without the tape → sign + pack on the GPU → Hamming ranking → metrics; the
// real-valued descriptors are ranked too (Euclidean), so the quantization drop is measured.
import { noGrad } from '../autograd.js';
import { runtime, scope, type Tensor } from '../tensor.js';
import type { ImageStore, Normalisation } from '../ops/augment.js';
import { topKAccuracy, type TopKAccuracy } from '../hash/inshop-eval.js';
import { signPack } from '../ops/quantize.js';
import type { Module } from '../nn/module.js';
import type { TrainData } from './datasets.js';
import { evaluateRetrieval, type RetrievalInput } from '../hash/metrics.js';
import { evaluateRetrievalParallel, defaultRankThreads, RankingAborted } from '../hash/rank-parallel.js';
import { evaluateRetrievalGpu } from '../hash/gpu-rank.js';
import { knob } from '../gpu/knobs.js';
import { StoppedError, throwIfStopped } from './signals.js';
import { CodeDB } from '../hash/codedb.js';
import { wordsPerCode } from '../cpu/codes.js';
import { ProgressBar } from './progress.js';
import type { TrainConfig } from './options.js';

/** Descriptors f (n × bits) and packed codes (n × words) of the images `indices`, in batches, evaluation mode. */
export async function encode(model: Module, store: ImageStore, indices: Uint32Array, bits: number, norm: Normalisation, opts: { batch?: number; label?: string; quiet?: boolean; signal?: AbortSignal } = {}): Promise<{ features: Float32Array; codes: Uint32Array }> {
  const batch = opts.batch ?? 500;
  const words = wordsPerCode(bits);
  const features = new Float32Array(indices.length * bits);
  const codes = new Uint32Array(indices.length * words);
  const bar = new ProgressBar(opts.label ?? 'encoding', indices.length, process.stderr, opts.quiet ?? false);
  const wasTraining = model.training;
  model.eval();
  const rt = runtime();
  // Each batch's results are read one batch late, as the trainer reads its loss: the host records batch b + 1 while
  // the GPU runs batch b (on llvmpipe a submit runs to its end, and this changes nothing).
  let previous: Promise<void> | undefined;
  try {
    for (let s = 0; s < indices.length; s += batch) {
      throwIfStopped(opts.signal, 'the encoding');
      const idx = indices.subarray(s, Math.min(indices.length, s + batch));
      const [f, c] = noGrad(() =>
        scope((): [Tensor, Tensor] => {
          const x = store.batch(idx, { norm });
          const f = model.forward(x);
          return [f, signPack(f)];
        }),
      );
      const read = Promise.all([rt.readLater(f.buffer, f.size * 4, 'encode'), rt.readLater(c.buffer, c.size * 4, 'encode')]);
      f.dispose(); // the copies are recorded: work recorded later on these buffers runs after them
      c.dispose();
      const done = read.then(([fb, cb]) => {
        features.set(new Float32Array(fb), s * bits);
        codes.set(new Uint32Array(cb), s * words);
        bar.update(s + idx.length);
      });
      done.catch(() => {}); // a fault surfaces where it is awaited
      if (previous) await previous;
      previous = done;
    }
    await previous;
  } finally {
    if (wasTraining) model.train();
    bar.done();
  }
  return { features, codes };
}

function labelsOf(labels: Uint32Array, idx: Uint32Array): Uint32Array {
  return Uint32Array.from(idx, (i) => labels[i]);
}

/** Evenly spaced subset of `n` entries of a sorted index list (deterministic). */
function subset(idx: Uint32Array, n: number): Uint32Array {
  if (n >= idx.length) return idx;
  return Uint32Array.from({ length: n }, (_, i) => idx[Math.floor((i * idx.length) / n)]);
}

/** Quick per-epoch validation: binary mAP@all of a query subset against a database subset. */
export async function quickValidation(model: Module, store: ImageStore, td: TrainData, cfg: TrainConfig): Promise<{ valMapBinary: number; valQueries: number; valDb: number }> {
  const q = subset(td.query, cfg.valQueries);
  const d = subset(td.database, cfg.valDb);
  const qe = await encode(model, store, q, cfg.bits, td.norm, { quiet: true });
  const de = await encode(model, store, d, cfg.bits, td.norm, { quiet: true });
  const input: RetrievalInput = { queryCodes: qe.codes, dbCodes: de.codes, queryLabels: labelsOf(td.labels, q), dbLabels: labelsOf(td.labels, d), bits: cfg.bits, topKs: [], mapAt: [] };
  const r = knob('rank.on') === 'gpu' ? await evaluateRetrievalGpu(input) : evaluateRetrieval(input);
  return { valMapBinary: r.map, valQueries: q.length, valDb: d.length };
}

export interface EvalResult {
  summary: {
    queries: number;
    database: number;
    binary: ReturnType<typeof evaluateRetrieval>;
    real: ReturnType<typeof evaluateRetrieval>;
    /** Seconds spent encoding the queries and the database (the rankings' own are binary.seconds, real.seconds). */
    encodeSeconds: number;
    /** In-shop's metric: top-k retrieval accuracy (binary and real-valued). */
    topK?: { binary: Omit<TopKAccuracy, 'firstHit'>; real: Omit<TopKAccuracy, 'firstHit'> };
  };
  db: CodeDB;
  /** The query codes (ids = image indices), so `bench/search.js --query` can look one up. */
  queries: CodeDB;
}

/** Full evaluation on the protocol's queries and database: binary (Hamming) and real-valued (Euclidean). An abort of
 *  `signal` ends it at the next batch or chunk of queries with StoppedError. */
export async function evaluateAll(model: Module, store: ImageStore, td: TrainData, cfg: TrainConfig, quiet: boolean, signal?: AbortSignal): Promise<EvalResult> {
  const q = cfg.evalLimit ? subset(td.query, cfg.evalLimit) : td.query;
  const d = cfg.evalLimit ? subset(td.database, cfg.evalLimit) : td.database;
  const te = performance.now();
  const qe = await encode(model, store, q, cfg.bits, td.norm, { label: 'encoding queries', quiet, signal });
  const de = await encode(model, store, d, cfg.bits, td.norm, { label: 'encoding database', quiet, signal });
  const encodeSeconds = (performance.now() - te) / 1000;
  const ql = labelsOf(td.labels, q), dl = labelsOf(td.labels, d);
  const topKs = [1, 10, 50, 100, 200, 500, 1000].filter((k) => k <= d.length);
  const mapAt = [1000, 5000].filter((k) => k <= d.length);
  // The rankings run on the CPU, on worker threads (the real-valued one of 10,000 × 50,000 takes minutes on one core),
  // or on the GPU (knob rank.on): binary metrics the same bits either way, real-valued ones from float32 distances on
  // the GPU (said in their protocol). One progress bar each.
  const threads = defaultRankThreads();
  const onGpu = knob('rank.on') === 'gpu';
  const ranked = async (label: string, input: RetrievalInput) => {
    const bar = new ProgressBar(label, ql.length, process.stderr, quiet);
    try {
      const withBar = { ...input, onProgress: (done: number) => bar.update(done, {}, done === ql.length) };
      return await (onGpu ? evaluateRetrievalGpu(withBar, { signal }) : evaluateRetrievalParallel(withBar, { threads, signal }));
    } catch (e) {
      if (signal?.aborted && e instanceof RankingAborted) throw new StoppedError('stopped during the ranking');
      throw e;
    } finally {
      bar.done();
    }
  };
  const t0 = performance.now();
  const binary = await ranked('ranking, binary', { queryCodes: qe.codes, dbCodes: de.codes, queryLabels: ql, dbLabels: dl, bits: cfg.bits, topKs, mapAt });
  const t1 = performance.now();
  const real = await ranked('ranking, real-valued', { queryFeatures: qe.features, dbFeatures: de.features, queryLabels: ql, dbLabels: dl, bits: cfg.bits, topKs, mapAt });
  const t2 = performance.now();
  const on = onGpu ? 'GPU' : `${threads} thread${threads > 1 ? 's' : ''}`;
  if (!quiet) console.error(`metrics: binary ${((t1 - t0) / 1000).toFixed(1)} s, real-valued ${((t2 - t1) / 1000).toFixed(1)} s (${on})`);
  let topK: EvalResult['summary']['topK'];
  if (td.topKAccuracy) {
    const drop = ({ firstHit, ...rest }: TopKAccuracy) => (void firstHit, rest);
    topK = {
      binary: drop(topKAccuracy({ queryCodes: qe.codes, galleryCodes: de.codes, bits: cfg.bits, queryItems: ql, galleryItems: dl })),
      real: drop(topKAccuracy({ queryFeatures: qe.features, galleryFeatures: de.features, dim: cfg.bits, queryItems: ql, galleryItems: dl })),
    };
  }
  const db = new CodeDB(cfg.bits);
  db.add(de.codes, dl, d);
  const queries = new CodeDB(cfg.bits);
  queries.add(qe.codes, ql, q);
  return { summary: { queries: q.length, database: d.length, binary, real, encodeSeconds, ...(topK ? { topK } : {}) }, db, queries };
}

/** The metric lines of an evaluation: In-shop's top-k accuracy (when measured), then "TAG: mAP@all binary …, real … (drop … points)". */
export function metricLines(tag: string, s: EvalResult['summary']): { topK?: string; map: string } {
  const acc = (a: { accuracy: { k: number; accuracy: number }[] }) => a.accuracy.map((p) => `@${p.k} ${p.accuracy.toFixed(3)}`).join(' ');
  return {
    ...(s.topK ? { topK: `${tag}: top-k accuracy binary ${acc(s.topK.binary)}; real ${acc(s.topK.real)}` } : {}),
    map: `${tag}: mAP@all binary ${s.binary.map.toFixed(4)}, real ${s.real.map.toFixed(4)} (drop ${(100 * (s.real.map - s.binary.map)).toFixed(2)} points)`,
  };
}
