// In-shop data layer: a generated fixture in the official layout read back exactly; named errors for bad lines,
// missing images and corrupt JPEGs; skipBad counts; the cache file is written, reused and rebuilt when stale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, cpSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInshopModule } from './inshop-util.js';
import { writeInshopFixture } from './fixtures/inshop.js';

const m = await loadInshopModule();
const root = mkdtempSync(join(tmpdir(), 'tqhash-inshop-'));
let n = 0;
const fresh = () => join(root, `d${n++}`);
// One fixture, written once; tests that damage it work on copies.
const FIX = writeInshopFixture(join(root, 'fixture'), { seed: 3 });
const quiet = () => {
  const lines = [];
  return { log: (s) => lines.push(s), lines };
};
function copyFixture() {
  const d = fresh();
  cpSync(FIX.root, d, { recursive: true });
  rmSync(join(d, 'tqhash-inshop-32.bin'), { force: true });
  return d;
}

async function rejects(fn, code, ...patterns) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a DataError(${code}), nothing was thrown`);
  assert.ok(m.isDataError(err), `expected a DataError, got ${err && err.stack}`);
  assert.is(err.code, code, err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

test('fixture read back: splits, dense items, CHW bytes equal to decode + area resize of each file', async () => {
  const d = copyFixture();
  const q = quiet();
  const ds = await m.readInshop(d, { log: q.log });
  const E = FIX.entries;
  assert.is(ds.count, E.length);
  assert.is(ds.side, 32);
  assert.is(ds.images.length, E.length * 3 * 32 * 32);
  assert.is(ds.source, 'decoded');
  assert.is(ds.decoded, E.length);
  assert.equal(ds.skipped, []);
  assert.equal(ds.files, E.map((e) => e.image));
  assert.equal(Array.from(ds.lines), E.map((e) => e.line));
  // Items: the 6 training ids ascending, then the 4 test ids ascending.
  assert.is(ds.trainItems, 6);
  assert.equal(ds.itemIds, [...FIX.trainItemIds].sort().concat([...FIX.testItemIds].sort()));
  for (let i = 0; i < E.length; i++) assert.is(ds.itemIds[ds.itemIndex[i]], E[i].itemId);
  const want = (s) => E.map((e, i) => (e.status === s ? i : -1)).filter((i) => i >= 0);
  assert.equal(Array.from(ds.split.train), want('train'));
  assert.equal(Array.from(ds.split.query), want('query'));
  assert.equal(Array.from(ds.split.gallery), want('gallery'));
  assert.equal([ds.split.train.length, ds.split.query.length, ds.split.gallery.length], [24, 8, 12]);
  for (const i of ds.split.train) assert.ok(ds.itemIndex[i] < ds.trainItems);
  for (const i of [...ds.split.query, ...ds.split.gallery]) assert.ok(ds.itemIndex[i] >= ds.trainItems);
  for (let i = 0; i < E.length; i += 7) {
    const exp = m.resizeToChw(m.decodeJpeg(readFileSync(E[i].path)), 32);
    assert.ok(Buffer.from(ds.images.subarray(i * 3072, (i + 1) * 3072)).equals(Buffer.from(exp)), `image ${i}`);
  }
  const desc = ds.description;
  assert.is(desc.dataset, 'inshop');
  assert.equal(desc.counts, { images: 44, train: 24, query: 8, gallery: 12, trainItems: 6, testItems: 4 });
  assert.is(desc.queriesWithoutGallery, 0);
  assert.is(desc.partitionSha256.length, 64);
  assert.ok(JSON.parse(JSON.stringify(desc)), 'description is JSON');
  assert.ok(q.lines.some((l) => /decoded 44 JPEGs/.test(l)), q.lines.join('\n'));
});

test('cache: written next to the data, reused without decoding, rebuilt (with a log line) when stale', async () => {
  const d = copyFixture();
  const first = await m.readInshop(d, { log: () => {} });
  const cache = join(d, 'tqhash-inshop-32.bin');
  assert.ok(existsSync(cache), 'cache file written');
  assert.is(first.cacheFile, cache);
  assert.ok(!existsSync(`${cache}.${process.pid}.tmp`), 'no temp file left');
  const q = quiet();
  const t0 = performance.now();
  const second = await m.readInshop(d, { log: q.log });
  const ms = performance.now() - t0;
  assert.is(second.source, 'cache');
  assert.is(second.decoded, 0);
  assert.ok(Buffer.from(second.images).equals(Buffer.from(first.images)));
  assert.equal(Array.from(second.itemIndex), Array.from(first.itemIndex));
  assert.equal(second.itemIds, first.itemIds);
  assert.equal(second.files, first.files);
  assert.equal(second.description, first.description);
  assert.ok(q.lines.some((l) => /from the cache/.test(l)), q.lines.join('\n'));
  assert.ok(ms < 2000, `cache hit took ${ms.toFixed(0)} ms`);

  // Partition file changed → stale, rebuilt.
  const part = join(d, 'list_eval_partition.txt');
  writeFileSync(part, readFileSync(part, 'utf8') + '\n');
  const q2 = quiet();
  const third = await m.readInshop(d, { log: q2.log });
  assert.is(third.source, 'decoded');
  assert.ok(q2.lines.some((l) => /stale .*list_eval_partition\.txt changed/.test(l)), q2.lines.join('\n'));
  assert.is((await m.readInshop(d, { log: () => {} })).source, 'cache');

  // The same cache path asked for another side → stale.
  const q3 = quiet();
  const s16 = await m.readInshop(d, { side: 16, cache: cache, log: q3.log });
  assert.is(s16.source, 'decoded');
  assert.is(s16.images.length, 44 * 3 * 16 * 16);
  assert.ok(q3.lines.some((l) => /made for side 32, side 16 was asked/.test(l)), q3.lines.join('\n'));

  // Damaged cache (truncated) → stale, rebuilt; another side gets its own file by default.
  truncateSync(cache, statSync(cache).size - 10);
  const q4 = quiet();
  assert.is((await m.readInshop(d, { side: 16, cache, log: q4.log })).source, 'decoded');
  assert.ok(q4.lines.some((l) => /truncated or damaged/.test(l)), q4.lines.join('\n'));
  const s64 = await m.readInshop(d, { side: 64, log: () => {} });
  assert.ok(existsSync(join(d, 'tqhash-inshop-64.bin')));
  assert.is(s64.images.length, 44 * 3 * 64 * 64);

  // Unwritable cache location: said in the log, the data is still returned.
  const q5 = quiet();
  const nc = await m.readInshop(d, { cache: join(d, 'no', 'such', 'dir', 'c.bin'), log: q5.log });
  assert.is(nc.count, 44);
  assert.ok(q5.lines.some((l) => /could not write the cache/.test(l)), q5.lines.join('\n'));
  // cache: false writes nothing.
  const d2 = copyFixture();
  await m.readInshop(d2, { cache: false, log: () => {} });
  assert.ok(!existsSync(join(d2, 'tqhash-inshop-32.bin')));
});

test('bad partition lines: a DataError naming the file and the line', async () => {
  const d = copyFixture();
  const part = join(d, 'list_eval_partition.txt');
  const good = readFileSync(part, 'utf8');
  const lines = good.split('\n');
  const edit = (i, s) => writeFileSync(part, lines.map((l, j) => (j === i ? s : l)).join('\n'));
  edit(5, lines[5].replace(/ train$/, ' training'));
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /list_eval_partition\.txt, line 6/, /evaluation status "training"/, /skipBad/);
  edit(7, 'img/WOMEN/Dresses/id_00000001/01_1_front.jpg id_00000001');
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /line 8: 2 fields, expected 3/);
  edit(3, lines[3].replace(/id_(\d+) /, 'item$1 '));
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /line 4: item id "item\d+"/);
  edit(4, lines[2]);
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /line 5: image .* is listed again \(first on line 3\)/);
  edit(0, 'many');
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /line 1: "many" is not an image count/);
  edit(1, 'image_name evaluation_status');
  await rejects(() => m.readInshop(d, { cache: false }), 'format', /line 2: header/);
  edit(0, '45');
  await rejects(() => m.readInshop(d, { cache: false }), 'truncated', /line 1 says 45 images, but 44/);
  rmSync(part);
  await rejects(() => m.readInshop(d, { cache: false }), 'missing', /no list_eval_partition\.txt in/);
  await rejects(() => m.readInshop(join(d, 'nowhere'), { cache: false }), 'missing', /does not exist/);
  await rejects(() => m.readInshop(FIX.root, { side: 0, cache: false }), 'config', /side must be/);
});

test('missing image and corrupt JPEG: named errors; skipBad skips and counts them (and bad lines), in the cache too', async () => {
  const d = copyFixture();
  const E = FIX.entries;
  const rel = (e) => join(d, e.image);
  rmSync(rel(E[4]));
  const err = await rejects(() => m.readInshop(d, { cache: false }), 'missing', /line 7: image file not found/, new RegExp(E[4].image.replace(/[.]/g, '\\.')), /skipBad/);
  assert.is(err.file, rel(E[4]));
  writeFileSync(rel(E[4]), readFileSync(E[4].path));
  const bytes = readFileSync(E[10].path);
  writeFileSync(rel(E[10]), bytes.subarray(0, bytes.length >> 1)); // truncated
  await rejects(() => m.readInshop(d, { cache: false }), 'corrupt', /line 13: .* is not a readable JPEG/);
  writeFileSync(rel(E[10]), 'GIF89a not a jpeg');
  await rejects(() => m.readInshop(d, { cache: false }), 'corrupt', /line 13/);

  // skipBad: the corrupt one, a missing one and a bad line, each counted with file, line and reason.
  rmSync(rel(E[20]));
  const part = join(d, 'list_eval_partition.txt');
  const lines = readFileSync(part, 'utf8').split('\n');
  lines[30] = lines[30].replace(/ (query|gallery|train)$/, ' test');
  writeFileSync(part, lines.join('\n'));
  const q = quiet();
  const ds = await m.readInshop(d, { skipBad: true, log: q.log });
  assert.is(ds.count, 41);
  assert.equal(ds.skipped.map((s) => [s.code, s.line]), [['format', 31], ['corrupt', 13], ['missing', 23]]);
  assert.match(ds.skipped[1].file, E[10].image);
  assert.is(ds.description.skipped, 3);
  assert.ok(!ds.files.includes(E[10].image) && !ds.files.includes(E[20].image) && !ds.files.includes(E[28].image));
  assert.ok(q.lines.some((l) => /skipped 3 inputs \(1 format, 1 corrupt, 1 missing\)/.test(l)), q.lines.join('\n'));
  // Kept images still carry their own pixels.
  const k = ds.files.indexOf(E[30].image);
  assert.ok(Buffer.from(ds.images.subarray(k * 3072, (k + 1) * 3072)).equals(Buffer.from(m.resizeToChw(m.decodeJpeg(readFileSync(E[30].path)), 32))));
  const again = await m.readInshop(d, { skipBad: true, log: () => {} });
  assert.is(again.source, 'cache');
  assert.equal(again.skipped, ds.skipped);
  // Without skipBad the same cache is not valid (its options differ): the error comes back.
  await rejects(() => m.readInshop(d, { log: () => {} }), 'format', /line 31/);
});

test("the official download's layout: Eval/list_eval_partition.txt and Img/img/", async () => {
  const d = fresh();
  cpSync(join(FIX.root, 'list_eval_partition.txt'), join(d, 'Eval', 'list_eval_partition.txt'), { recursive: true });
  cpSync(join(FIX.root, 'img'), join(d, 'Img', 'img'), { recursive: true });
  const ds = await m.readInshop(d, { cache: false, log: () => {} });
  assert.is(ds.count, 44);
  assert.is(ds.description.partitionFile, join(d, 'Eval', 'list_eval_partition.txt'));
});

test('P×K helper and normalisation', async () => {
  const ds = await m.readInshop(FIX.root, { log: () => {} });
  const all = m.inshopTrainForK(ds, 4);
  assert.equal([all.indices.length, all.items, all.droppedItems, all.droppedImages], [24, 6, 0, 0]);
  const none = m.inshopTrainForK(ds, 5);
  assert.equal([none.indices.length, none.items, none.droppedItems, none.droppedImages], [0, 0, 6, 24]);
  const norm = m.inshopNormalisation(ds);
  for (let c = 0; c < 3; c++) {
    assert.ok(norm.mean[c] > 0.1 && norm.mean[c] < 0.9, `mean ${norm.mean}`);
    assert.ok(norm.std[c] > 0.05 && norm.std[c] < 0.5, `std ${norm.std}`);
  }
});

test('fixture is learnable: raw-pixel nearest neighbour finds the query item at top-1', async () => {
  const ds = await m.readInshop(FIX.root, { log: () => {} });
  const feats = (idx) => Float32Array.from({ length: idx.length * 3072 }, (_, t) => ds.images[idx[Math.floor(t / 3072)] * 3072 + (t % 3072)] / 255);
  const r = m.topKAccuracy({
    queryFeatures: feats(ds.split.query),
    galleryFeatures: feats(ds.split.gallery),
    dim: 3072,
    queryItems: Array.from(ds.split.query, (i) => ds.itemIndex[i]),
    galleryItems: Array.from(ds.split.gallery, (i) => ds.itemIndex[i]),
  });
  assert.is(r.accuracy[0].k, 1);
  assert.ok(r.accuracy[0].accuracy >= 0.75, JSON.stringify(r.accuracy));
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
