/**
 * DeepFashion In-shop Clothes Retrieval in its official layout (PAPER.md, "In-shop"):
 * `list_eval_partition.txt` (line 1: the image count; line 2: `image_name item_id evaluation_status`; then per
 * image `img/<GENDER>/<Category>/id_XXXXXXXX/NN_V_view.jpg  id_XXXXXXXX  train|query|gallery`) and the `img/`
 * tree of JPEGs. Images are decoded, resampled to side × side (area filter) and kept as CHW bytes like CIFAR-10;
 * a cache file beside the data makes every run after the first start in seconds.
 *
 * Index convention: image i is the i-th kept line of the partition file, in file order. Items (classes) are dense:
 * the training items (ids ascending) are 0..trainItems−1, then the query/gallery items (ids ascending).
 *
 * Inputs are untrusted: the partition file and every image are read only if they are regular files within LIMITS,
 * image names are normalised (`img/./a.jpg` is `img/a.jpg`) and must stay under img/, the image buffer is sized
 * from the validated count, and a cache file is used only when every field of it checks out (else rebuilt).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { join, posix, resolve } from 'node:path';
import { DataError, isDataError, type DataErrorCode } from '../util/errors.js';
import { decodeJpeg, resizeToChw, JPEG_PIPELINE, type Fit } from './jpeg.js';
import { sha256U32 } from './protocols.js';
import { LIMITS, checkJsonDepth, openRegular, readExactly, readRegularFile } from '../util/untrusted.js';

export const INSHOP_PARTITION_FILE = 'list_eval_partition.txt';
export const INSHOP_HEADER = ['image_name', 'item_id', 'evaluation_status'];
export const INSHOP_STATUSES = ['train', 'query', 'gallery'] as const;
export type InshopStatus = (typeof INSHOP_STATUSES)[number];

/** One line of the partition file. `line` is 1-based in the file (the first image is on line 3). */
export interface InshopEntry {
  line: number;
  image: string;
  itemId: string;
  status: InshopStatus;
}

/** An input skipped under `skipBad`: the file, the partition line when there is one, why, and the error code it would have raised. */
export interface InshopSkip {
  file: string;
  line?: number;
  reason: string;
  code: DataErrorCode;
}

/** What `parseInshopPartition` found: good entries and (under skipBad) the skipped lines. */
export interface InshopPartition {
  entries: InshopEntry[];
  skipped: InshopSkip[];
  /** The count on line 1. */
  declared: number;
}

const IMAGE_RE = /^img\/(?:[^/\s]+\/)*[^/\s]+\.jpe?g$/i;
const ITEM_RE = /^id_\d+$/;

/** Parses list_eval_partition.txt; a bad line is a DataError naming `file` and the line, or with skipBad a recorded skip. */
export function parseInshopPartition(text: string, file: string, opts: { skipBad?: boolean } = {}): InshopPartition {
  const lines = text.split(/\r?\n/);
  const expect = `expected the official ${INSHOP_PARTITION_FILE}: line 1 the image count, line 2 "${INSHOP_HEADER.join(' ')}", then one "img/…/NN_V_view.jpg id_XXXXXXXX train|query|gallery" per image`;
  const first = lines[0]?.trim() ?? '';
  const shown = JSON.stringify(first.length > 40 ? `${first.slice(0, 40)}…` : first);
  if (!/^\d+$/.test(first)) throw new DataError('format', `${file}, line 1: ${shown} is not an image count; ${expect}.`, file);
  const declared = first.length <= 9 ? Number(first) : Infinity;
  if (declared > LIMITS.inshopImages) {
    throw new DataError('format', `${file}, line 1: ${shown} images is over the limit of ${LIMITS.inshopImages} (In-shop lists 52,712); ${expect}.`, file);
  }
  const header = (lines[1] ?? '').trim().split(/\s+/);
  if (header.join(' ') !== INSHOP_HEADER.join(' ')) {
    throw new DataError('format', `${file}, line 2: header ${JSON.stringify((lines[1] ?? '').trim())}; ${expect}.`, file);
  }
  const entries: InshopEntry[] = [];
  const skipped: InshopSkip[] = [];
  const seen = new Map<string, number>();
  let rows = 0;
  for (let i = 2; i < lines.length; i++) {
    const raw = lines[i];
    if (!raw.trim()) continue;
    if (++rows > declared) {
      throw new DataError('truncated', `${file}, line ${i + 1}: more image lines than the ${declared} that line 1 says. The file was edited: restore the official ${INSHOP_PARTITION_FILE} (or correct the count on line 1).`, file);
    }
    const line = i + 1;
    const f = raw.trim().split(/\s+/);
    const image = f.length === 3 ? normaliseImageName(f[0]) : null;
    let why: string | null = null;
    if (f.length !== 3) why = `${f.length} fields, expected 3 (image_name item_id evaluation_status)`;
    else if (image === null) why = `image name ${JSON.stringify(f[0])} is not a path "img/…/*.jpg" inside img/`;
    else if (!ITEM_RE.test(f[1])) why = `item id ${JSON.stringify(f[1])} is not "id_" followed by digits`;
    else if (!(INSHOP_STATUSES as readonly string[]).includes(f[2])) why = `evaluation status ${JSON.stringify(f[2])} is not train, query or gallery`;
    else if (seen.has(image)) why = `image ${f[0]} is listed again (${image === f[0] ? '' : `as ${image}, `}first on line ${seen.get(image)})`;
    if (why) {
      const msg = `${file}, line ${line}: ${why}; got ${JSON.stringify(raw.length > 200 ? raw.slice(0, 200) + '…' : raw)}.`;
      if (!opts.skipBad) throw new DataError('format', `${msg} Fix or delete the line, or pass --skip-bad (skipBad in the API) to skip bad lines and images.`, file);
      skipped.push({ file, line, reason: why, code: 'format' });
      continue;
    }
    seen.set(image!, line);
    entries.push({ line, image: image!, itemId: f[1], status: f[2] as InshopStatus });
  }
  if (rows !== declared) {
    throw new DataError(
      'truncated',
      `${file}: line 1 says ${declared} images, but ${rows} image lines follow the header. The file is cut off or was edited: restore the official ${INSHOP_PARTITION_FILE} (or correct the count on line 1).`,
      file,
    );
  }
  return { entries, skipped, declared };
}

/** The image name in normal form (`img/a/./b.jpg` → `img/a/b.jpg`), or null unless it is a .jpg path inside img/. */
export function normaliseImageName(name: string): string | null {
  if (name.includes('\\') || name.includes('\0')) return null;
  const n = posix.normalize(name);
  if (!IMAGE_RE.test(n) || n.split('/').includes('..')) return null;
  return n;
}

/** Options of `readInshop`. */
export interface InshopOptions {
  /** Square side the images are resampled to (default 32, the CIFAR network's input). */
  side?: number;
  /** Non-square images: 'stretch' (default) or 'crop' (centred square). In-shop's img/ images are 256×256 already. */
  fit?: Fit;
  /** Skip and count bad partition lines, missing images and unreadable JPEGs instead of stopping (default false). */
  skipBad?: boolean;
  /** The cache file: true (default) = `<root>/tqhash-inshop-<side>[-crop].bin`, a path, or false for none. */
  cache?: boolean | string;
  /** Called while images are decoded (not on a cache hit). */
  onProgress?: (done: number, total: number) => void;
  /** Where log lines go (cache hit, stale cache, skipped inputs); console.log by default. */
  log?: (line: string) => void;
}

/** How the data set was split; JSON-serialisable, goes into every result. */
export interface InshopDescription {
  dataset: 'inshop';
  protocol: 'inshop';
  indexConvention: string;
  partitionFile: string;
  partitionSha256: string;
  side: number;
  fit: Fit;
  decoder: string;
  counts: { images: number; train: number; query: number; gallery: number; trainItems: number; testItems: number };
  /** Queries whose item has no gallery image: a miss at every k. */
  queriesWithoutGallery: number;
  skipped: number;
  /** sha256 of each index list as little-endian uint32 bytes. */
  sha256: { train: string; query: string; gallery: string };
}

/** The data set in memory: CHW bytes per image, a dense item index per image, the three splits. */
export interface Inshop {
  /** count × 3·side·side bytes, CHW per image (R plane, G plane, B plane; rows of `side`). */
  images: Uint8Array;
  count: number;
  side: number;
  /** Dense item (class) index per image; items 0..trainItems−1 are the training items. */
  itemIndex: Uint32Array;
  /** The official id of each dense item index (`id_00000001`…). */
  itemIds: string[];
  trainItems: number;
  /** Image indices per split, ascending. */
  split: { train: Uint32Array; query: Uint32Array; gallery: Uint32Array };
  /** Image path (as in the partition file) and partition line of each image. */
  files: string[];
  lines: Uint32Array;
  /** Inputs skipped under skipBad (empty otherwise): also reported in the log. */
  skipped: InshopSkip[];
  /** 'cache' when read from the cache file, 'decoded' when the JPEGs were decoded in this call. */
  source: 'cache' | 'decoded';
  /** JPEGs decoded in this call (0 on a cache hit). */
  decoded: number;
  cacheFile: string | null;
  root: string;
  description: InshopDescription;
}

/** Where the partition file and the img/ tree are under `root` (also accepts the official download's Eval/ and Img/ folders). */
export function locateInshop(root: string): { partition: string; imageRoot: string } {
  if (!existsSync(root)) throw new DataError('missing', `${root} does not exist. Point --data at the In-shop folder holding ${INSHOP_PARTITION_FILE} and img/.`, root);
  const parts = [join(root, INSHOP_PARTITION_FILE), join(root, 'Eval', INSHOP_PARTITION_FILE)];
  const partition = parts.find((p) => existsSync(p));
  if (!partition) {
    throw new DataError('missing', `no ${INSHOP_PARTITION_FILE} in ${root} (looked for ${parts.join(', ')}). It ships with DeepFashion In-shop (Eval/${INSHOP_PARTITION_FILE}).`, parts[0]);
  }
  const imageRoot = [root, join(root, 'Img')].find((d) => existsSync(join(d, 'img'))) ?? root;
  return { partition, imageRoot };
}

const CACHE_MAGIC = 'TQHINSHP';
const CACHE_VERSION = 1;
const HEADER_BYTES = 120; // magic 8, version 4, side 4, count 4, meta bytes 4, sha256 × 3 (partition, options, body)

/** The default cache path for a root and side. */
export function inshopCachePath(root: string, side: number, fit: Fit = 'stretch'): string {
  return join(root, `tqhash-inshop-${side}${fit === 'crop' ? '-crop' : ''}.bin`);
}

/** Reads In-shop from `root` (decoding every JPEG, or from the cache file when it is current); see InshopOptions. */
export async function readInshop(root: string, opts: InshopOptions = {}): Promise<Inshop> {
  const side = opts.side ?? 32;
  const fit = opts.fit ?? 'stretch';
  const skipBad = opts.skipBad ?? false;
  const log = opts.log ?? ((s: string) => console.log(s));
  if (!Number.isInteger(side) || side < 1 || side > 1024) throw new DataError('config', `In-shop: side must be an integer in 1..1024, got ${side}.`);
  if (fit !== 'stretch' && fit !== 'crop') throw new DataError('config', `In-shop: fit must be 'stretch' or 'crop', got ${JSON.stringify(fit)}.`);
  root = resolve(root);
  const { partition, imageRoot } = locateInshop(root);
  const partBytes = readRegularFile(partition, LIMITS.inshopPartitionBytes, 'In-shop partition file');
  const partSha = createHash('sha256').update(partBytes).digest('hex');
  const optionsKey = JSON.stringify({ side, fit, skipBad, pipeline: JPEG_PIPELINE, version: CACHE_VERSION });
  const optSha = createHash('sha256').update(optionsKey).digest('hex');
  const cacheFile = opts.cache === false ? null : typeof opts.cache === 'string' ? resolve(opts.cache) : inshopCachePath(root, side, fit);

  if (cacheFile && existsSync(cacheFile)) {
    const hit = loadCache(cacheFile, partSha, optSha, side, log);
    if (hit) {
      log(`In-shop: ${hit.count} images of ${side}×${side} from the cache ${cacheFile}${hit.skipped.length ? ` (${hit.skipped.length} inputs were skipped when it was made)` : ''}`);
      return finish({ ...hit, side, root, cacheFile, partition, partSha, fit, source: 'cache', decoded: 0 });
    }
  }

  const parsed = parseInshopPartition(partBytes.toString('utf8'), partition, { skipBad });
  const per = 3 * side * side;
  const n0 = parsed.entries.length;
  checkImageBytes(n0, side, partition);
  let images = new Uint8Array(n0 * per);
  const kept: InshopEntry[] = [];
  const skipped = parsed.skipped.slice();
  const t0 = performance.now();
  for (let i = 0; i < n0; i++) {
    const e = parsed.entries[i];
    const path = join(imageRoot, e.image);
    let bytes: Uint8Array;
    try {
      bytes = readRegularFile(path, LIMITS.jpegFileBytes, 'image');
    } catch (err) {
      if (!isDataError(err)) throw err;
      const reason = err.code === 'missing' ? 'image file not found' : reasonOf(err, path);
      if (!skipBad) {
        throw new DataError('missing', `${partition}, line ${e.line}: ${reason}: ${path}. Extract img/ of In-shop (Img/img.zip) next to ${INSHOP_PARTITION_FILE}, or pass --skip-bad (skipBad in the API) to skip missing images.`, path);
      }
      skipped.push({ file: path, line: e.line, reason, code: 'missing' });
      continue;
    }
    try {
      resizeToChw(decodeJpeg(bytes, path), side, fit, images, kept.length * per);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const reason = reasonOf(err, path);
      if (!skipBad) {
        throw new DataError('corrupt', `${partition}, line ${e.line}: ${path} is ${reason}. Restore the file from the official Img/img.zip, or pass --skip-bad (skipBad in the API) to skip unreadable images.`, path);
      }
      skipped.push({ file: path, line: e.line, reason, code: 'corrupt' });
      continue;
    }
    kept.push(e);
    if ((i & 63) === 63 || i === n0 - 1) {
      opts.onProgress?.(i + 1, n0);
      await new Promise<void>((r) => setImmediate(r)); // lets Ctrl-C and progress output through during a long decode
    }
  }
  if (kept.length < n0) images = images.slice(0, kept.length * per);
  const secs = (performance.now() - t0) / 1000;
  log(`In-shop: decoded ${kept.length} JPEGs to ${side}×${side} in ${secs.toFixed(1)} s (${((1000 * secs) / Math.max(1, kept.length)).toFixed(2)} ms/image)`);
  if (skipped.length) {
    const byCode = new Map<string, number>();
    for (const s of skipped) byCode.set(s.code, (byCode.get(s.code) ?? 0) + 1);
    log(`In-shop: skipped ${skipped.length} inputs (${[...byCode].map(([c, k]) => `${k} ${c}`).join(', ')}); first: ${skipped[0].file}${skipped[0].line ? `, line ${skipped[0].line}` : ''}: ${skipped[0].reason}`);
  }

  // Dense items: training items first (ids ascending), then the others.
  const trainIds = [...new Set(kept.filter((e) => e.status === 'train').map((e) => e.itemId))].sort();
  const trainSet = new Set(trainIds);
  const otherIds = [...new Set(kept.filter((e) => !trainSet.has(e.itemId)).map((e) => e.itemId))].sort();
  const itemIds = [...trainIds, ...otherIds];
  const dense = new Map(itemIds.map((id, k) => [id, k]));
  const itemIndex = Uint32Array.from(kept, (e) => dense.get(e.itemId)!);
  const status = Uint8Array.from(kept, (e) => INSHOP_STATUSES.indexOf(e.status));
  const files = kept.map((e) => e.image);
  const lines = Uint32Array.from(kept, (e) => e.line);

  const data = { images, count: kept.length, itemIndex, status, itemIds, trainItems: trainIds.length, files, lines, skipped };
  if (cacheFile) {
    try {
      writeCache(cacheFile, data, side, partSha, optSha, { partition, options: JSON.parse(optionsKey) });
      log(`In-shop: wrote the cache ${cacheFile} (${(statSync(cacheFile).size / 2 ** 20).toFixed(1)} MiB); later runs read it instead of the JPEGs`);
    } catch (err) {
      log(`In-shop: could not write the cache ${cacheFile} (${(err as Error).message}); continuing without it (pass another path with the cache option, or free the folder)`);
    }
  }
  return finish({ ...data, side, root, cacheFile, partition, partSha, fit, source: 'decoded', decoded: kept.length });
}

// A DataError's message without the leading "<path>: ", for messages that name the path themselves.
function reasonOf(err: Error, path: string): string {
  return err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2).replace(/\.$/, '') : err.message;
}

// The decoded images live in one array: its size is checked before it is allocated.
function checkImageBytes(count: number, side: number, file: string): void {
  const bytes = count * 3 * side * side;
  if (bytes > LIMITS.inshopImageBytes) {
    throw new DataError('config', `${file}: ${count} images of ${side}×${side} need ${bytes} bytes, over the limit of ${LIMITS.inshopImageBytes} for the image array; use a smaller side (--side).`, file);
  }
}

interface CoreData {
  images: Uint8Array;
  count: number;
  itemIndex: Uint32Array;
  status: Uint8Array;
  itemIds: string[];
  trainItems: number;
  files: string[];
  lines: Uint32Array;
  skipped: InshopSkip[];
}

function finish(d: CoreData & { side: number; root: string; cacheFile: string | null; partition: string; partSha: string; fit: Fit; source: 'cache' | 'decoded'; decoded: number }): Inshop {
  const lists: number[][] = [[], [], []];
  for (let i = 0; i < d.count; i++) lists[d.status[i]].push(i);
  const [train, query, gallery] = lists.map((l) => Uint32Array.from(l));
  const galleryItems = new Set(Array.from(gallery, (i) => d.itemIndex[i]));
  let queriesWithoutGallery = 0;
  for (const q of query) if (!galleryItems.has(d.itemIndex[q])) queriesWithoutGallery++;
  const description: InshopDescription = {
    dataset: 'inshop',
    protocol: 'inshop',
    indexConvention: `image i = the i-th kept line of ${INSHOP_PARTITION_FILE} in file order; items: training ids ascending, then query/gallery ids ascending`,
    partitionFile: d.partition,
    partitionSha256: d.partSha,
    side: d.side,
    fit: d.fit,
    decoder: JPEG_PIPELINE,
    counts: { images: d.count, train: train.length, query: query.length, gallery: gallery.length, trainItems: d.trainItems, testItems: d.itemIds.length - d.trainItems },
    queriesWithoutGallery,
    skipped: d.skipped.length,
    sha256: { train: sha256U32(train), query: sha256U32(query), gallery: sha256U32(gallery) },
  };
  return {
    images: d.images,
    count: d.count,
    side: d.side,
    itemIndex: d.itemIndex,
    itemIds: d.itemIds,
    trainItems: d.trainItems,
    split: { train, query, gallery },
    files: d.files,
    lines: d.lines,
    skipped: d.skipped,
    source: d.source,
    decoded: d.decoded,
    cacheFile: d.cacheFile,
    root: d.root,
    description,
  };
}

const pad4 = (n: number) => (n + 3) & ~3;

// Cache layout (little-endian): header (HEADER_BYTES), then the body: meta JSON (padded to 4 bytes), item index
// u32 × count, partition line u32 × count, split status u8 × count (0 train, 1 query, 2 gallery; padded to 4), images count × 3·side².
function writeCache(file: string, d: CoreData, side: number, partSha: string, optSha: string, extra: Record<string, unknown>): void {
  const meta = Buffer.from(JSON.stringify({ itemIds: d.itemIds, trainItems: d.trainItems, files: d.files, skipped: d.skipped, ...extra }), 'utf8');
  const body: Uint8Array[] = [
    meta,
    new Uint8Array(pad4(meta.length) - meta.length),
    new Uint8Array(d.itemIndex.buffer, d.itemIndex.byteOffset, d.itemIndex.byteLength),
    new Uint8Array(d.lines.buffer, d.lines.byteOffset, d.lines.byteLength),
    d.status,
    new Uint8Array(pad4(d.count) - d.count),
    d.images,
  ];
  const bodySha = createHash('sha256');
  for (const b of body) bodySha.update(b);
  const head = Buffer.alloc(HEADER_BYTES);
  head.write(CACHE_MAGIC, 0, 'latin1');
  head.writeUInt32LE(CACHE_VERSION, 8);
  head.writeUInt32LE(side, 12);
  head.writeUInt32LE(d.count, 16);
  head.writeUInt32LE(meta.length, 20);
  Buffer.from(partSha, 'hex').copy(head, 24);
  Buffer.from(optSha, 'hex').copy(head, 56);
  bodySha.digest().copy(head, 88);
  // A reader sees the old cache or the complete new one.
  writeFileAtomic(file, [head, ...body]);
}

// The cached data when the file is complete, current and consistent; null (with a log line saying why) when it
// must be rebuilt. Sizes are checked against the file's real size before anything past the header is read.
function loadCache(file: string, partSha: string, optSha: string, side: number, log: (s: string) => void): CoreData | null {
  const stale = (why: string) => {
    log(`In-shop: the cache ${file} is stale (${why}); rebuilding it from the JPEGs`);
    return null;
  };
  let buf: Buffer;
  try {
    const { fd, size } = openRegular(file, Number.MAX_SAFE_INTEGER, 'In-shop cache');
    try {
      const head = readExactly(fd, Math.min(size, HEADER_BYTES), 0, file, 'In-shop cache');
      const why = checkCacheHeader(head, size, partSha, optSha, side);
      if (why) return stale(why);
      buf = Buffer.concat([head, readExactly(fd, size - HEADER_BYTES, HEADER_BYTES, file, 'In-shop cache')]);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (!isDataError(err)) throw err;
    return stale(reasonOf(err, file));
  }
  if (!createHash('sha256').update(buf.subarray(HEADER_BYTES)).digest().equals(buf.subarray(88, 120))) return stale('its checksum does not match: damaged');
  const count = buf.readUInt32LE(16);
  const metaLen = buf.readUInt32LE(20);
  let meta: unknown;
  try {
    const metaBytes = buf.subarray(HEADER_BYTES, HEADER_BYTES + metaLen);
    checkJsonDepth(metaBytes, 3, file, 'cache metadata');
    meta = JSON.parse(metaBytes.toString('utf8'));
  } catch {
    return stale('its metadata does not parse');
  }
  let o = HEADER_BYTES + pad4(metaLen);
  // Copies for the small arrays (alignment); the images stay a view of the file's bytes.
  const itemIndex = new Uint32Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + 4 * count));
  o += 4 * count;
  const lines = new Uint32Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + 4 * count));
  o += 4 * count;
  const status = buf.subarray(o, o + count);
  o += pad4(count);
  const images = new Uint8Array(buf.buffer, buf.byteOffset + o, count * 3 * side * side);
  const d = { images, count, itemIndex, status, lines };
  const why = checkCacheContents(meta, d);
  if (why) return stale(`its contents do not add up: ${why}`);
  const m = meta as Pick<CoreData, 'itemIds' | 'trainItems' | 'files' | 'skipped'>;
  return { ...d, itemIds: m.itemIds, trainItems: m.trainItems, files: m.files, skipped: m.skipped };
}

// Why a cache header cannot be used (null when it can): magic, version, side, checksums, and every size within
// LIMITS and equal to the file's real size.
function checkCacheHeader(head: Buffer, size: number, partSha: string, optSha: string, side: number): string | null {
  if (head.length < HEADER_BYTES || head.toString('latin1', 0, 8) !== CACHE_MAGIC) return 'not a tqhash In-shop cache file';
  if (head.readUInt32LE(8) !== CACHE_VERSION) return `format version ${head.readUInt32LE(8)}, this build writes ${CACHE_VERSION}`;
  if (head.readUInt32LE(12) !== side) return `made for side ${head.readUInt32LE(12)}, side ${side} was asked`;
  if (head.toString('hex', 24, 56) !== partSha) return `${INSHOP_PARTITION_FILE} changed since it was made`;
  if (head.toString('hex', 56, 88) !== optSha) return 'made with other options (fit, skipBad) or another decoder version';
  const count = head.readUInt32LE(16);
  const metaLen = head.readUInt32LE(20);
  if (count > LIMITS.inshopImages || count * 3 * side * side > LIMITS.inshopImageBytes) return `${count} images, over the limits (${LIMITS.inshopImages} images, ${LIMITS.inshopImageBytes} bytes)`;
  if (metaLen > LIMITS.inshopCacheMetaBytes) return `${metaLen} bytes of metadata, over the limit of ${LIMITS.inshopCacheMetaBytes}`;
  const expected = HEADER_BYTES + pad4(metaLen) + 8 * count + pad4(count) + count * 3 * side * side;
  if (size !== expected) return `${size} bytes, expected ${expected}: truncated or damaged`;
  return null;
}

const isU32 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const SKIP_CODES = new Set<string>(['missing', 'truncated', 'label', 'checksum', 'corrupt', 'format', 'network', 'config']);

// What is wrong with a cache's metadata and per-image arrays (null when nothing): the cache's checksum only shows
// that the file is as written, not that whoever wrote it wrote sense.
function checkCacheContents(meta: unknown, d: Pick<CoreData, 'count' | 'itemIndex' | 'status' | 'lines'>): string | null {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return 'the metadata is not an object';
  const m = meta as Record<string, unknown>;
  const ids = m.itemIds;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && ITEM_RE.test(id)) || new Set(ids).size !== ids.length) return 'itemIds is not a list of distinct item ids';
  if (!Number.isInteger(m.trainItems) || (m.trainItems as number) < 0 || (m.trainItems as number) > ids.length) return `trainItems ${JSON.stringify(m.trainItems)} is not in 0..${ids.length}`;
  const files = m.files;
  if (!Array.isArray(files) || files.length !== d.count || !files.every((f) => typeof f === 'string' && normaliseImageName(f) === f)) return `files is not a list of ${d.count} image names`;
  if (new Set(files).size !== files.length) return 'files lists an image twice';
  const skipped = m.skipped;
  const skipOk = (k: unknown) => typeof k === 'object' && k !== null && typeof (k as InshopSkip).file === 'string' && typeof (k as InshopSkip).reason === 'string' && SKIP_CODES.has((k as InshopSkip).code) && ((k as InshopSkip).line === undefined || isU32((k as InshopSkip).line));
  if (!Array.isArray(skipped) || !skipped.every(skipOk)) return 'skipped is not a list of skipped inputs';
  for (let i = 0; i < d.count; i++) {
    if (d.itemIndex[i] >= ids.length) return `image ${i} has item index ${d.itemIndex[i]}, but there are ${ids.length} items`;
    if (d.status[i] > 2) return `image ${i} has split ${d.status[i]}, not 0..2`;
    if (d.status[i] === 0 && d.itemIndex[i] >= (m.trainItems as number)) return `training image ${i} has item index ${d.itemIndex[i]}, not a training item (< ${m.trainItems})`;
    if (d.lines[i] < 3 || (i > 0 && d.lines[i] <= d.lines[i - 1])) return `image ${i} is on partition line ${d.lines[i]}, not after line ${i > 0 ? d.lines[i - 1] : 2}`;
  }
  return null;
}

/** Training images usable by a P×K sampler with K images per item: items with fewer than K training images are left out (counted). */
export function inshopTrainForK(ds: Pick<Inshop, 'itemIndex' | 'split'>, K: number): { indices: Uint32Array; items: number; droppedItems: number; droppedImages: number } {
  if (!Number.isInteger(K) || K < 1) throw new DataError('config', `In-shop: K must be a positive integer, got ${K}.`);
  const perItem = new Map<number, number>();
  for (const i of ds.split.train) perItem.set(ds.itemIndex[i], (perItem.get(ds.itemIndex[i]) ?? 0) + 1);
  const keep = Array.from(ds.split.train).filter((i) => perItem.get(ds.itemIndex[i])! >= K);
  let droppedItems = 0;
  for (const c of perItem.values()) if (c < K) droppedItems++;
  return { indices: Uint32Array.from(keep), items: perItem.size - droppedItems, droppedItems, droppedImages: ds.split.train.length - keep.length };
}

/** Per-channel mean and std of pixel/255 over the training images (for the augment kernel's normalisation). */
export function inshopNormalisation(ds: Pick<Inshop, 'images' | 'side' | 'split'>): { mean: [number, number, number]; std: [number, number, number] } {
  const plane = ds.side * ds.side;
  const s = [0, 0, 0], s2 = [0, 0, 0];
  for (const i of ds.split.train) {
    for (let c = 0; c < 3; c++) {
      const o = (i * 3 + c) * plane;
      let a = 0, b = 0;
      for (let p = 0; p < plane; p++) {
        const v = ds.images[o + p];
        a += v;
        b += v * v;
      }
      s[c] += a;
      s2[c] += b;
    }
  }
  const n = Math.max(1, ds.split.train.length * plane);
  const mean = s.map((v) => v / n / 255) as [number, number, number];
  const std = s2.map((v, c) => Math.sqrt(Math.max(v / n / 65025 - mean[c] * mean[c], 1e-12))) as [number, number, number];
  return { mean, std };
}
