/**
 * Retrieval metrics for a query set against a labelled database (relevant = same class).
 *
 * Rankings: binary codes by Hamming distance ascending, real-valued descriptors by squared Euclidean distance
 * ascending; ties by database index ascending, in both.
 * - mAP@all: AP = (1/R) Σ_{relevant at rank r} P@r, R = number of relevant items in the database; a query with
 *   R = 0 has AP 0. mAP is the mean over all queries.
 * - mAP@k (DeepHash-pytorch / HashNet convention): AP@k = (1/R_k) Σ_{r ≤ k, relevant at r} P@r, R_k = relevant
 *   items within the top k; AP@k = 0 when R_k = 0.
 * - P@k: relevant items in the top k divided by k (k ≤ database size), mean over queries.
 * - Precision within Hamming radius 2: relevant / retrieved among items at distance ≤ 2; a query that retrieves
 *   nothing counts as precision 0.
 * - Precision–recall: binary, one point per Hamming radius r = 0..bits (items at distance ≤ r retrieved);
 *   real-valued, one point per rank cut-off. Precision is averaged over the queries that retrieve at least one
 *   item at that point (others have no precision), recall over the queries with R > 0.
 * Binary rankings never sort: distances are small integers, so one counting pass per query gives exact ranks.
 */
import { hammingRow, wordsPerCode } from './bits.js';

export interface RetrievalInput {
  /** Binary: packed codes (see bits.ts). */
  queryCodes?: Uint32Array;
  dbCodes?: Uint32Array;
  /** Real-valued: descriptors, row-major (n × bits). */
  queryFeatures?: Float32Array;
  dbFeatures?: Float32Array;
  queryLabels: ArrayLike<number>;
  dbLabels: ArrayLike<number>;
  /** Code length (binary) or descriptor dimension (real-valued). */
  bits: number;
  /** k values of P@k (default 1, 10, 100, 1000 where ≤ database size). */
  topKs?: number[];
  /** k values of mAP@k (default 1000 where ≤ database size). */
  mapAt?: number[];
  /** Rank cut-offs of the real-valued PR curve (default 50 points spread over the database). */
  prCutoffs?: number[];
}

export interface PrPoint {
  /** Hamming radius (binary) or rank cut-off (real-valued). */
  at: number;
  precision: number;
  recall: number;
}

/** Metrics of one ranking; plain data, JSON-serialisable. */
export interface RetrievalMetrics {
  ranking: 'hamming' | 'euclidean';
  tieRule: 'database index ascending';
  queries: number;
  database: number;
  map: number;
  mapAt: Record<string, number>;
  precisionAtK: { k: number; precision: number }[];
  pr: PrPoint[];
  /** Binary only. */
  precisionRadius2?: number;
  seconds: number;
}

function defaults(input: RetrievalInput, ndb: number) {
  const topKs = (input.topKs ?? [1, 10, 100, 1000]).filter((k) => k >= 1 && k <= ndb).sort((a, b) => a - b);
  const mapAt = (input.mapAt ?? [1000]).filter((k) => k >= 1 && k <= ndb).sort((a, b) => a - b);
  return { topKs, mapAt };
}

function checkLabels(input: RetrievalInput, nq: number, ndb: number): void {
  if (input.queryLabels.length !== nq) throw new Error(`retrieval: ${input.queryLabels.length} query labels for ${nq} queries`);
  if (input.dbLabels.length !== ndb) throw new Error(`retrieval: ${input.dbLabels.length} database labels for ${ndb} database items`);
}

/** Accumulates per-query results in rank order; shared by the binary and real-valued paths. */
class Accumulator {
  apSum = 0;
  readonly apAtSum: Float64Array;
  readonly pAtKSum: Float64Array;
  readonly relAtK: Uint32Array;
  readonly apAtPart: Float64Array;
  readonly relWithin: Uint32Array;
  constructor(readonly topKs: number[], readonly mapAt: number[]) {
    this.apAtSum = new Float64Array(mapAt.length);
    this.pAtKSum = new Float64Array(topKs.length);
    this.relAtK = new Uint32Array(topKs.length);
    this.apAtPart = new Float64Array(mapAt.length);
    this.relWithin = new Uint32Array(mapAt.length);
  }
  begin(): void {
    this.relAtK.fill(0);
    this.apAtPart.fill(0);
    this.relWithin.fill(0);
  }
  /** A relevant item at 1-based `rank`, being the `j`-th relevant item (1-based). */
  relevant(rank: number, j: number): number {
    const p = j / rank;
    for (let i = 0; i < this.topKs.length; i++) if (rank <= this.topKs[i]) this.relAtK[i]++;
    for (let i = 0; i < this.mapAt.length; i++) {
      if (rank <= this.mapAt[i]) {
        this.apAtPart[i] += p;
        this.relWithin[i]++;
      }
    }
    return p;
  }
  end(apNumerator: number, R: number): void {
    this.apSum += R > 0 ? apNumerator / R : 0;
    for (let i = 0; i < this.mapAt.length; i++) this.apAtSum[i] += this.relWithin[i] > 0 ? this.apAtPart[i] / this.relWithin[i] : 0;
    for (let i = 0; i < this.topKs.length; i++) this.pAtKSum[i] += this.relAtK[i] / this.topKs[i];
  }
}

/** Binary codes, Hamming ranking (exact, counting per query). */
export function binaryRetrieval(input: RetrievalInput): RetrievalMetrics {
  const t0 = performance.now();
  const { queryCodes, dbCodes, bits } = input;
  if (!queryCodes || !dbCodes) throw new Error('binaryRetrieval: queryCodes and dbCodes are required');
  const W = wordsPerCode(bits);
  if (queryCodes.length % W || dbCodes.length % W) throw new Error(`binaryRetrieval: code arrays are not multiples of ${W} words (${bits} bits)`);
  const nq = queryCodes.length / W, ndb = dbCodes.length / W;
  checkLabels(input, nq, ndb);
  const { topKs, mapAt } = defaults(input, ndb);
  const ql = input.queryLabels, dl = input.dbLabels;
  const acc = new Accumulator(topKs, mapAt);
  const dist = bits < 256 ? new Uint8Array(ndb) : new Uint16Array(ndb);
  const count = new Uint32Array(bits + 1), relCount = new Uint32Array(bits + 1);
  const start = new Uint32Array(bits + 1), relStart = new Uint32Array(bits + 1);
  const prPrec = new Float64Array(bits + 1), prPrecN = new Uint32Array(bits + 1), prRec = new Float64Array(bits + 1);
  let recallQueries = 0, r2Sum = 0;
  for (let q = 0; q < nq; q++) {
    hammingRow(queryCodes, q * W, dbCodes, ndb, W, dist);
    const label = ql[q];
    count.fill(0);
    relCount.fill(0);
    for (let j = 0; j < ndb; j++) {
      const d = dist[j];
      count[d]++;
      if (dl[j] === label) relCount[d]++;
    }
    let R = 0, n = 0;
    for (let d = 0; d <= bits; d++) {
      start[d] = n;
      relStart[d] = R;
      n += count[d];
      R += relCount[d];
    }
    // Walk the database in index order: rank within a distance bucket follows the index (the tie rule).
    acc.begin();
    let apNum = 0;
    for (let j = 0; j < ndb; j++) {
      const d = dist[j];
      const rank = ++start[d];
      if (dl[j] === label) apNum += acc.relevant(rank, ++relStart[d]);
    }
    acc.end(apNum, R);
    // PR by radius and precision within radius 2.
    let ret = 0, rel = 0;
    for (let d = 0; d <= bits; d++) {
      ret += count[d];
      rel += relCount[d];
      if (ret > 0) {
        prPrec[d] += rel / ret;
        prPrecN[d]++;
      }
      if (R > 0) prRec[d] += rel / R;
      if (d === Math.min(2, bits)) r2Sum += ret > 0 ? rel / ret : 0;
    }
    if (R > 0) recallQueries++;
  }
  const pr: PrPoint[] = [];
  for (let d = 0; d <= bits; d++) pr.push({ at: d, precision: prPrecN[d] ? prPrec[d] / prPrecN[d] : NaN, recall: recallQueries ? prRec[d] / recallQueries : NaN });
  return finish('hamming', nq, ndb, acc, pr, t0, nq ? r2Sum / nq : 0);
}

function finish(ranking: 'hamming' | 'euclidean', nq: number, ndb: number, acc: Accumulator, pr: PrPoint[], t0: number, r2?: number): RetrievalMetrics {
  const mapAt: Record<string, number> = {};
  acc.mapAt.forEach((k, i) => (mapAt[String(k)] = nq ? acc.apAtSum[i] / nq : 0));
  return {
    ranking,
    tieRule: 'database index ascending',
    queries: nq,
    database: ndb,
    map: nq ? acc.apSum / nq : 0,
    mapAt,
    precisionAtK: acc.topKs.map((k, i) => ({ k, precision: nq ? acc.pAtKSum[i] / nq : 0 })),
    pr,
    ...(r2 !== undefined ? { precisionRadius2: r2 } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Real-valued descriptors, squared Euclidean ranking (exact: keys pack the float32 distance and the index into one double). */
export function realRetrieval(input: RetrievalInput): RetrievalMetrics {
  const t0 = performance.now();
  const { queryFeatures: qf, dbFeatures: df, bits: dim } = input;
  if (!qf || !df) throw new Error('realRetrieval: queryFeatures and dbFeatures are required');
  if (qf.length % dim || df.length % dim) throw new Error(`realRetrieval: feature arrays are not multiples of the dimension ${dim}`);
  const nq = qf.length / dim, ndb = df.length / dim;
  if (ndb > 2 ** 21) throw new Error(`realRetrieval: ${ndb} database items exceed the 2^21 the exact key packing allows`);
  checkLabels(input, nq, ndb);
  const { topKs, mapAt } = defaults(input, ndb);
  const cut = (input.prCutoffs ?? Array.from({ length: 50 }, (_, i) => Math.max(1, Math.round(((i + 1) * ndb) / 50)))).filter((c) => c >= 1 && c <= ndb).sort((a, b) => a - b);
  const ql = input.queryLabels, dl = input.dbLabels;
  const acc = new Accumulator(topKs, mapAt);
  const dbNorm = new Float64Array(ndb);
  for (let j = 0; j < ndb; j++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += df[j * dim + i] * df[j * dim + i];
    dbNorm[j] = s;
  }
  const keys = new Float64Array(ndb);
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const prPrec = new Float64Array(cut.length), prRec = new Float64Array(cut.length);
  let recallQueries = 0;
  const q64 = new Float64Array(dim);
  for (let q = 0; q < nq; q++) {
    let qn = 0;
    for (let i = 0; i < dim; i++) {
      q64[i] = qf[q * dim + i];
      qn += q64[i] * q64[i];
    }
    for (let j = 0; j < ndb; j++) {
      let dot = 0;
      const o = j * dim;
      for (let i = 0; i < dim; i++) dot += q64[i] * df[o + i];
      // Distances are rounded to float32 before ranking (ties then fall to the index, as documented).
      f32[0] = Math.max(0, qn + dbNorm[j] - 2 * dot);
      keys[j] = u32[0] * 2097152 + j;
    }
    keys.sort();
    const label = ql[q];
    let R = 0;
    for (let j = 0; j < ndb; j++) if (dl[j] === label) R++;
    acc.begin();
    let apNum = 0, rel = 0, ci = 0;
    for (let r = 0; r < ndb; r++) {
      const j = keys[r] % 2097152;
      if (dl[j] === label) apNum += acc.relevant(r + 1, ++rel);
      while (ci < cut.length && cut[ci] === r + 1) {
        prPrec[ci] += rel / (r + 1);
        if (R > 0) prRec[ci] += rel / R;
        ci++;
      }
    }
    acc.end(apNum, R);
    if (R > 0) recallQueries++;
  }
  const pr = cut.map((c, i) => ({ at: c, precision: nq ? prPrec[i] / nq : NaN, recall: recallQueries ? prRec[i] / recallQueries : NaN }));
  return finish('euclidean', nq, ndb, acc, pr, t0);
}

/** Binary metrics when codes are given, real-valued when features are given. */
export function evaluateRetrieval(input: RetrievalInput): RetrievalMetrics {
  if (input.queryCodes && input.dbCodes) return binaryRetrieval(input);
  if (input.queryFeatures && input.dbFeatures) return realRetrieval(input);
  throw new Error('evaluateRetrieval: give queryCodes + dbCodes (binary) or queryFeatures + dbFeatures (real-valued)');
}
