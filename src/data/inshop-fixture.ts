/**
 * A small In-shop data set in the official layout, for tests and smoke runs: `list_eval_partition.txt` and
 * `img/<GENDER>/<Category>/id_XXXXXXXX/NN_V_view.jpg` JPEGs. Each item has its own colour and stripe pattern (period,
 * orientation, phase) under per-image noise and a small shift, so a network can learn to tell items apart.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJpeg } from './jpeg.js';
import { INSHOP_HEADER, INSHOP_PARTITION_FILE, type InshopStatus } from './inshop.js';
import { Rng } from '../util/rng.js';

/** Options of `writeInshopFixture`; every count is per item. */
export interface InshopFixtureOptions {
  /** Training items (default 6) and query/gallery items (default 4). */
  trainItems?: number;
  testItems?: number;
  /** Images per training item (default 4); query and gallery images per test item (defaults 2 and 3). */
  trainPerItem?: number;
  queryPerItem?: number;
  galleryPerItem?: number;
  /** JPEG size in pixels (default 64 × 64; In-shop's own are 256 × 256). */
  width?: number;
  height?: number;
  quality?: number;
  seed?: number;
}

/** One image of the fixture: its partition line, the path under the root, and the item's pattern number. */
export interface InshopFixtureEntry {
  line: number;
  image: string;
  itemId: string;
  status: InshopStatus;
  /** Absolute path of the JPEG. */
  path: string;
}

/** What was written: the root to read, the partition file, and every image in partition order. */
export interface InshopFixture {
  root: string;
  partitionFile: string;
  entries: InshopFixtureEntry[];
  /** Training item ids, then test item ids, in the order written. */
  trainItemIds: string[];
  testItemIds: string[];
}

const GENDERS = ['WOMEN', 'MEN'];
const CATEGORIES = ['Dresses', 'Tees_Tanks', 'Denim', 'Jackets_Coats', 'Sweaters'];
const VIEWS = ['1_front', '2_side', '3_back', '4_full', '7_additional'];

/** Writes a small In-shop data set in the official layout into `dir`; read it with `readInshop(dir, …)`. */
export function writeInshopFixture(dir: string, opts: InshopFixtureOptions = {}): InshopFixture {
  const nTrain = opts.trainItems ?? 6, nTest = opts.testItems ?? 4;
  const perTrain = opts.trainPerItem ?? 4, perQuery = opts.queryPerItem ?? 2, perGallery = opts.galleryPerItem ?? 3;
  const w = opts.width ?? 64, h = opts.height ?? 64, quality = opts.quality ?? 90;
  const rng = new Rng(opts.seed ?? 1);
  const entries: InshopFixtureEntry[] = [];
  const trainItemIds: string[] = [], testItemIds: string[] = [];
  // Item ids interleave train and test items, as in the official list (ids are not grouped by split).
  for (let it = 0; it < nTrain + nTest; it++) {
    const isTrain = it % 2 === 0 ? trainItemIds.length < nTrain : testItemIds.length >= nTest;
    const itemId = `id_${String(2 * it + 1).padStart(8, '0')}`;
    (isTrain ? trainItemIds : testItemIds).push(itemId);
    const folder = `img/${GENDERS[it % 2]}/${CATEGORIES[it % CATEGORIES.length]}/${itemId}`;
    mkdirSync(join(dir, folder), { recursive: true });
    const statuses: InshopStatus[] = isTrain ? Array(perTrain).fill('train') : [...Array(perQuery).fill('query'), ...Array(perGallery).fill('gallery')];
    // The item's look: base colour, stripe period and orientation.
    const base = [0, 1, 2].map((c) => 40 + ((it * 97 + c * 61 + (it * it * 13) % 50) % 170));
    const period = 3 + (it % 6), vertical = it % 4 < 2, phase = it % 3;
    statuses.forEach((status, k) => {
      const image = `${folder}/${String(1 + Math.floor(k / VIEWS.length)).padStart(2, '0')}_${VIEWS[k % VIEWS.length]}.jpg`;
      const shift = rng.int(4);
      const rgb = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const t = (vertical ? x : y) + shift + phase * period;
          const stripe = Math.floor(t / period) % 2 ? 45 : -45;
          for (let c = 0; c < 3; c++) {
            const noise = rng.int(41) - 20;
            rgb[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, base[c] + stripe + noise));
          }
        }
      }
      const path = join(dir, image);
      writeFileSync(path, encodeJpeg(rgb, w, h, quality));
      entries.push({ line: 0, image, itemId, status, path });
    });
  }
  // Column-aligned like the official file.
  const width = Math.max(...entries.map((e) => e.image.length)) + 4;
  const rows = entries.map((e, i) => {
    e.line = i + 3;
    return `${e.image.padEnd(width)}${e.itemId} ${e.status}`;
  });
  const partitionFile = join(dir, INSHOP_PARTITION_FILE);
  writeFileSync(partitionFile, `${entries.length}\n${INSHOP_HEADER.join(' ')}\n${rows.join('\n')}\n`);
  return { root: dir, partitionFile, entries, trainItemIds, testItemIds };
}
