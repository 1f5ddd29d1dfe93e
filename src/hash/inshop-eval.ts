/**
 * In-shop's metric: top-k retrieval accuracy. A query is a hit at k when an image of its item is among the k
 * nearest gallery images; accuracy@k = hits / queries (a query whose item has no gallery image is a miss at every
 * k, and is counted in `noRelevant`). Rankings follow src/hash (codes.ts, metrics.ts): binary codes by Hamming
 * distance, real-valued features by squared Euclidean distance (float64, rounded to float32); ties by gallery
 * index ascending. Only the rank of the first relevant image matters, so no ranking is built: per query one pass
 * finds the nearest relevant image (d*, j*) and its rank = #{d < d*} + #{d = d*, index < j*} + 1.
 */
import { checkCodes, hammingRow, wordsPerCode } from '../cpu/codes.js';
import { euclideanRow, rowNorms } from './metrics.js';

/** The k values of the paper. */
export const INSHOP_TOPK = [1, 10, 20, 30, 40, 50];

/** Binary (codes + bits) or real-valued (features + dim) queries and gallery, with item labels. */
export interface TopKAccuracyInput {
  queryCodes?: Uint32Array;
  galleryCodes?: Uint32Array;
  /** Code length (binary). */
  bits?: number;
  queryFeatures?: Float32Array | Float64Array;
  galleryFeatures?: Float32Array | Float64Array;
  /** Feature dimension (real-valued). */
  dim?: number;
  /** Item (class) of each query and gallery image: relevant = same item. */
  queryItems: ArrayLike<number>;
  galleryItems: ArrayLike<number>;
  /** Default INSHOP_TOPK. */
  ks?: number[];
}

/** Top-k accuracy per k, plus the rank of each query's first relevant gallery image. */
export interface TopKAccuracy {
  ranking: 'hamming' | 'euclidean';
  tieRule: 'gallery index ascending';
  queries: number;
  gallery: number;
  accuracy: { k: number; accuracy: number }[];
  /** Queries whose item has no gallery image (misses at every k). */
  noRelevant: number;
  /** Per query: the 1-based rank of its first relevant gallery image, 0 when there is none. */
  firstHit: Uint32Array;
  seconds: number;
}

/** Top-k retrieval accuracy of queries against a gallery (In-shop's metric), binary (Hamming) or real-valued (Euclidean). */
export function topKAccuracy(input: TopKAccuracyInput): TopKAccuracy {
  const t0 = performance.now();
  const nq = input.queryItems.length, ng = input.galleryItems.length;
  const ks = [...(input.ks ?? INSHOP_TOPK)].sort((a, b) => a - b);
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`topKAccuracy: k must be a positive integer, got ${k}`);
  const firstHit = new Uint32Array(nq);
  let ranking: TopKAccuracy['ranking'];
  if (input.queryCodes || input.galleryCodes) {
    const { queryCodes, galleryCodes, bits } = input;
    if (!queryCodes || !galleryCodes || bits === undefined) throw new Error('topKAccuracy: binary needs queryCodes, galleryCodes and bits');
    checkCodes(queryCodes, nq, bits, 'query codes');
    checkCodes(galleryCodes, ng, bits, 'gallery codes');
    ranking = 'hamming';
    const W = wordsPerCode(bits);
    const dist = bits <= 255 ? new Uint8Array(ng) : new Uint16Array(ng);
    const hist = new Uint32Array(bits + 1);
    for (let q = 0; q < nq; q++) {
      hammingRow(queryCodes, q, galleryCodes, ng, W, dist, hist);
      firstHit[q] = rankOfFirstRelevant(dist, ng, input.galleryItems, input.queryItems[q]);
    }
  } else if (input.queryFeatures || input.galleryFeatures) {
    const { queryFeatures, galleryFeatures, dim } = input;
    if (!queryFeatures || !galleryFeatures || dim === undefined) throw new Error('topKAccuracy: real-valued needs queryFeatures, galleryFeatures and dim');
    if (queryFeatures.length !== nq * dim) throw new Error(`topKAccuracy: ${queryFeatures.length} query values for ${nq} queries × ${dim}`);
    if (galleryFeatures.length !== ng * dim) throw new Error(`topKAccuracy: ${galleryFeatures.length} gallery values for ${ng} images × ${dim}`);
    ranking = 'euclidean';
    const norms = rowNorms(galleryFeatures, ng, dim);
    const dist = new Float32Array(ng);
    for (let q = 0; q < nq; q++) {
      euclideanRow(queryFeatures, q, galleryFeatures, norms, ng, dim, dist);
      firstHit[q] = rankOfFirstRelevant(dist, ng, input.galleryItems, input.queryItems[q]);
    }
  } else {
    throw new Error('topKAccuracy: pass codes (queryCodes, galleryCodes, bits) or features (queryFeatures, galleryFeatures, dim)');
  }
  let noRelevant = 0;
  const hits = new Array<number>(ks.length).fill(0);
  for (let q = 0; q < nq; q++) {
    const r = firstHit[q];
    if (r === 0) noRelevant++;
    else for (let i = 0; i < ks.length; i++) if (r <= ks[i]) hits[i]++;
  }
  return {
    ranking,
    tieRule: 'gallery index ascending',
    queries: nq,
    gallery: ng,
    accuracy: ks.map((k, i) => ({ k, accuracy: nq ? hits[i] / nq : 0 })),
    noRelevant,
    firstHit,
    seconds: (performance.now() - t0) / 1000,
  };
}

// 1-based rank of the first gallery image of `item` in the (distance, index) order; 0 when there is none.
function rankOfFirstRelevant(dist: ArrayLike<number>, ng: number, items: ArrayLike<number>, item: number): number {
  let best = -1, bd = Infinity;
  for (let j = 0; j < ng; j++) if (items[j] === item && dist[j] < bd) (bd = dist[j]), (best = j);
  if (best < 0) return 0;
  let rank = 1;
  for (let j = 0; j < ng; j++) if (dist[j] < bd || (dist[j] === bd && j < best)) rank++;
  return rank;
}
