// The data sets the trainer knows, loaded into one shape: image bytes (CHW), a class per image, and
// query / training / database index lists (In-shop: database = gallery, classes = items).
import { existsSync } from 'node:fs';
import * as data from '../data/index.js';
import { CIFAR10_NORM, type Normalisation } from '../ops/augment.js';
import { ProgressBar } from './progress.js';
import type { TrainConfig } from './options.js';

export interface TrainData {
  images: Uint8Array;
  count: number;
  side: number;
  /** Class (CIFAR-10 label, In-shop item) of every image. */
  labels: Uint32Array;
  query: Uint32Array;
  train: Uint32Array;
  database: Uint32Array;
  norm: Normalisation;
  /** Crop padding of the augmentation. */
  pad: number;
  /** JSON of the split (written as split.json) and its description for results.json. */
  splitJSON: string;
  description: Record<string, unknown>;
  /** One line for the log: where the data came from. */
  source: string;
  /** In-shop: the paper's metric is top-k retrieval accuracy. */
  topKAccuracy: boolean;
}

/** Checks the data flags that name files, before the GPU starts (the loaders' messages speak of library options). */
export function checkDataFlags(cfg: TrainConfig): void {
  if (cfg.checksums !== undefined && !existsSync(cfg.checksums)) {
    throw new data.DataError('missing', `--checksums ${cfg.checksums}: no such file; pass a sha256 list of the .bin files (sha256sum format), or leave --checksums out to check against data/CIFAR10.sha256`, cfg.checksums);
  }
}

/** Loads the run's data set (errors are DataErrors naming the file). */
export async function loadTrainData(cfg: TrainConfig, quiet: boolean): Promise<TrainData> {
  if (cfg.dataset === 'inshop') return loadInshop(cfg, quiet);
  const bar = new ProgressBar('reading CIFAR-10', 1, process.stderr, quiet);
  const ds = await data.loadCifar10({
    data: cfg.data, checksums: cfg.checksums, recordsPerFile: cfg.recordsPerFile,
    onProgress: (done: number, total: number | undefined) => bar.update(done, { MB: (done / 2 ** 20).toFixed(0), of: total ? (total / 2 ** 20).toFixed(0) : '?' }),
  });
  bar.done();
  const split = data.makeSplit(ds, cfg.protocol, cfg.seed);
  const images = new Uint8Array(ds.train.images.length + ds.test.images.length);
  images.set(ds.train.images, 0);
  images.set(ds.test.images, ds.train.images.length);
  const labels = Uint32Array.from(data.pooledLabels(ds));
  return {
    images, count: labels.length, side: 32, labels,
    query: split.query, train: cfg.trainLimit ? split.train.slice(0, cfg.trainLimit) : split.train, database: split.database,
    norm: CIFAR10_NORM, pad: 4, splitJSON: data.splitToJSON(split), description: { ...split.description },
    source: `${ds.source} (${ds.verified ? 'sha256 verified' : 'not verified'})`, topKAccuracy: false,
  };
}

async function loadInshop(cfg: TrainConfig, quiet: boolean): Promise<TrainData> {
  if (!cfg.data) {
    throw new data.DataError('missing', 'In-shop is not downloaded automatically (it needs a sign-up): get "In-shop Clothes Retrieval Benchmark" from the DeepFashion site, unpack img/ and list_eval_partition.txt into one folder, and pass it with --data DIR.');
  }
  const bar = new ProgressBar('decoding In-shop JPEGs', 1, process.stderr, quiet);
  const ds = await data.readInshop(cfg.data, {
    side: cfg.side, skipBad: cfg.skipBad,
    onProgress: (done: number, total: number) => {
      bar.setTotal(total);
      bar.update(done);
    },
    log: (s: string) => console.log(s),
  });
  bar.done();
  const t = data.inshopTrainForK(ds, cfg.K);
  if (t.droppedItems) console.log(`In-shop: ${t.droppedItems} training items with fewer than K = ${cfg.K} images left out (${t.droppedImages} images)`);
  const train = cfg.trainLimit ? t.indices.slice(0, cfg.trainLimit) : t.indices;
  const split = { query: Array.from(ds.split.query), train: Array.from(train), gallery: Array.from(ds.split.gallery) };
  return {
    images: ds.images, count: ds.count, side: ds.side, labels: ds.itemIndex,
    query: ds.split.query, train, database: ds.split.gallery,
    norm: data.inshopNormalisation(ds), pad: Math.max(1, Math.round(ds.side / 8)),
    splitJSON: JSON.stringify({ description: ds.description, ...split }) + '\n',
    description: { ...ds.description, droppedItemsForK: t.droppedItems, droppedImagesForK: t.droppedImages },
    source: `${cfg.data} (${ds.source === 'cache' ? `cache ${ds.cacheFile}` : `${ds.decoded} JPEGs decoded`}${ds.skipped.length ? `, ${ds.skipped.length} bad entries skipped` : ''})`,
    topKAccuracy: true,
  };
}
