/**
 * The CIFAR-10 evaluation protocols of PAPER.md ("Protocols"), as index lists into the pooled data set.
 *
 * Index convention (everywhere in tqhash): the 50,000 training images are 0..49,999 in file order
 * (data_batch_1 record 0 is index 0), then the 10,000 test images are 50,000..59,999.
 * Splits other than `dsh` are drawn per class: the indices of class c (ascending) are shuffled with
 * `Rng.derive(seed, c)` and cut in order into queries, then training images, then the rest.
 * All returned index lists are sorted ascending.
 */
import { createHash } from 'node:crypto';
import { DataError } from '../util/errors.js';
import { NUM_CLASSES, type Cifar10, type ImageSet } from './cifar10.js';
import { Rng } from '../util/rng.js';

export const PROTOCOLS = ['dsh', 'cifar10', 'cifar10-1', 'cifar10-2'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Query / training / database index lists and a JSON-serialisable record of how they were made. */
export interface Split {
  query: Uint32Array;
  train: Uint32Array;
  database: Uint32Array;
  description: SplitDescription;
}

export interface SplitDescription {
  dataset: 'cifar10';
  protocol: Protocol;
  /** The seed used; null for `dsh`, which is fixed. */
  seed: number | null;
  indexConvention: string;
  /** Training images in the pooled index space (50,000 for the real data set). */
  nTrainPool: number;
  nTotal: number;
  counts: { query: number; train: number; database: number };
  /** Whether the training images are part of the database. */
  trainInDatabase: boolean;
  /** sha256 of each index list as little-endian uint32 bytes. */
  sha256: { query: string; train: string; database: string };
}

const INDEX_CONVENTION = 'pooled: training images 0..nTrainPool-1 in file order, then test images nTrainPool..nTotal-1';

// Per class: how many queries and training images ('rest' = all that are not queries).
const DRAWN: Record<Exclude<Protocol, 'dsh'>, { query: number; train: number | 'rest'; trainInDatabase: boolean }> = {
  cifar10: { query: 100, train: 500, trainInDatabase: false }, // database = the other 54,000
  'cifar10-1': { query: 100, train: 500, trainInDatabase: true }, // database = all but the queries (59,000)
  'cifar10-2': { query: 1000, train: 'rest', trainInDatabase: true }, // train = database = the other 50,000
};

/** Labels of the pooled data set (training then test), the index space of every split. */
export function pooledLabels(ds: { train: { labels: Uint8Array }; test: { labels: Uint8Array } }): Uint8Array {
  const out = new Uint8Array(ds.train.labels.length + ds.test.labels.length);
  out.set(ds.train.labels, 0);
  out.set(ds.test.labels, ds.train.labels.length);
  return out;
}

/** The 3072 CHW bytes of pooled image `i` (a view, not a copy). */
export function imageAt(ds: { train: ImageSet; test: ImageSet }, i: number): Uint8Array {
  const nTrain = ds.train.labels.length;
  const set = i < nTrain ? ds.train : ds.test;
  const j = i < nTrain ? i : i - nTrain;
  if (!(j >= 0 && j < set.labels.length)) throw new RangeError(`image index ${i} outside 0..${nTrain + ds.test.labels.length - 1}`);
  return set.images.subarray(j * 3072, (j + 1) * 3072);
}

/** Copies the images of `indices` (pooled) into one N×3072 array, in that order. */
export function gatherImages(ds: { train: ImageSet; test: ImageSet }, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * 3072);
  for (let k = 0; k < indices.length; k++) out.set(imageAt(ds, indices[k]), k * 3072);
  return out;
}

/** Makes the split of `protocol` (see PAPER.md) for a data set (or its pooled labels + training count). */
export function makeSplit(ds: Pick<Cifar10, 'train' | 'test'> | { labels: Uint8Array; nTrain: number }, protocol: string = 'dsh', seed = 0): Split {
  const labels = 'labels' in ds ? ds.labels : pooledLabels(ds);
  const nTrain = 'labels' in ds ? ds.nTrain : ds.train.labels.length;
  const n = labels.length;
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new DataError('config', `unknown protocol "${protocol}": use one of ${PROTOCOLS.join(', ')}.`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError('config', `seed must be a non-negative integer, got ${seed}.`);
  const p = protocol as Protocol;

  if (p === 'dsh') {
    const train = range(0, nTrain);
    return finish(p, null, nTrain, n, range(nTrain, n), train, train, true);
  }

  const spec = DRAWN[p];
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (let i = 0; i < n; i++) {
    if (labels[i] >= NUM_CLASSES) throw new DataError('label', `label ${labels[i]} of image ${i} is outside 0..${NUM_CLASSES - 1}.`);
    byClass[labels[i]].push(i);
  }
  const query: number[] = [];
  const train: number[] = [];
  const database: number[] = [];
  for (let c = 0; c < NUM_CLASSES; c++) {
    const idx = byClass[c];
    const nTr = spec.train === 'rest' ? idx.length - spec.query : spec.train;
    if (idx.length < spec.query + nTr || nTr <= 0) {
      throw new DataError(
        'config',
        `protocol ${p} draws ${spec.query} queries${spec.train === 'rest' ? ' and at least 1 training image' : ` and ${spec.train} training images`} per class, but class ${c} has ${idx.length} images. It needs the full 60,000-image CIFAR-10; for a smaller data set use --protocol dsh.`,
      );
    }
    const perm = Rng.derive(seed, c).shuffle(Uint32Array.from(idx));
    const q = perm.subarray(0, spec.query);
    const rest = perm.subarray(spec.query);
    query.push(...q);
    train.push(...rest.subarray(0, nTr));
    database.push(...(spec.trainInDatabase ? rest : rest.subarray(nTr)));
  }
  return finish(p, seed, nTrain, n, sorted(query), sorted(train), sorted(database), spec.trainInDatabase);
}

function finish(protocol: Protocol, seed: number | null, nTrainPool: number, nTotal: number, query: Uint32Array, train: Uint32Array, database: Uint32Array, trainInDatabase: boolean): Split {
  return {
    query,
    train,
    database,
    description: {
      dataset: 'cifar10',
      protocol,
      seed,
      indexConvention: INDEX_CONVENTION,
      nTrainPool,
      nTotal,
      counts: { query: query.length, train: train.length, database: database.length },
      trainInDatabase,
      sha256: { query: sha256U32(query), train: sha256U32(train), database: sha256U32(database) },
    },
  };
}

/** sha256 (hex) of a uint32 list written little-endian, the same on any machine. */
export function sha256U32(a: Uint32Array): string {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeUInt32LE(a[i], i * 4);
  return createHash('sha256').update(buf).digest('hex');
}

/** The split as JSON text (description + index lists), for the indices file saved with results. */
export function splitToJSON(s: Split): string {
  return JSON.stringify({ ...s.description, query: Array.from(s.query), train: Array.from(s.train), database: Array.from(s.database) });
}

/** Reads `splitToJSON` output back, checking each list against its recorded sha256; `file` names errors. */
export function splitFromJSON(text: string, file = 'split file'): Split {
  let o: SplitDescription & { query: number[]; train: number[]; database: number[] };
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new DataError('format', `${file}: not JSON (${(e as Error).message}).`, file);
  }
  const { query, train, database, ...description } = o;
  const lists = { query, train, database };
  const out: Record<string, Uint32Array> = {};
  for (const [k, v] of Object.entries(lists)) {
    if (!Array.isArray(v)) throw new DataError('format', `${file}: "${k}" is not a list of indices.`, file);
    out[k] = Uint32Array.from(v);
    const want = description.sha256?.[k as keyof SplitDescription['sha256']];
    if (sha256U32(out[k]) !== want) throw new DataError('checksum', `${file}: the ${k} list does not match its recorded sha256; the file was edited or damaged.`, file);
  }
  return { query: out.query, train: out.train, database: out.database, description };
}

function range(a: number, b: number): Uint32Array {
  const out = new Uint32Array(b - a);
  for (let i = 0; i < out.length; i++) out[i] = a + i;
  return out;
}

function sorted(a: number[]): Uint32Array {
  return Uint32Array.from(a).sort();
}
