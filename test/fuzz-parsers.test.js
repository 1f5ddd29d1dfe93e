// Seeded mutation fuzzer over the parsers of untrusted files: CIFAR-10 (tar, tar.gz, folder), safetensors, .codes,
// JPEG, In-shop (partition file and cache) and checkpoints. Each parser gets valid inputs built here, mutated by
// byte flips, truncations, huge length fields, duplicated slices, JSON token swaps, special files (FIFO, /dev/zero
// symlink, folder, dangling link) and path tricks; every case runs in a child with a 256 MB heap, a 768 MB resident
// cap and a 5 s limit, and must end in a correct result or a named error. TQHASH_FUZZ_CASES sets the number of
// mutated cases per parser (default 150), TQHASH_FUZZ_SEED the seed (default 1).
import { test } from 'uvu';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { data, nn, hash, train } from '../dist/index.js';
import { FUZZ_SEED, SPECIAL, assertAllHandled, fuzzCases, makeRng, makeSpecial, mutate, patchTarHeader, runCases, tarHeaderOffsets } from './fuzz-util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';
import { writeInshopFixture } from './fixtures/inshop.js';

const N = fuzzCases(150);
const root = mkdtempSync(join(tmpdir(), 'tqhash-fuzz-'));
const sha = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

// Replacement values for JSON tokens: wrong types, edges of numbers, names that are Object.prototype's, nesting.
const BAD_VALUES = ['null', 'true', '-1', '-5', '0.5', '1e308', '4294967296', '9007199254740993', '"x"', '""', '[]', '{}', '"__proto__"', '"constructor"', '{"__proto__":{"polluted":1}}', '['.repeat(200) + ']'.repeat(200), '"' + 'a'.repeat(5000) + '"'];
const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/g;

/** Swaps one JSON token (a string, number or literal) of `text` for a bad value; returns { text, how }. */
function mutateJson(text, r) {
  const tokens = [...text.matchAll(TOKEN)];
  const t = r.pick(tokens);
  const v = r.pick(BAD_VALUES);
  return { text: text.slice(0, t.index) + v + text.slice(t.index + t[0].length), how: `token ${t[0].slice(0, 30)} → ${v.slice(0, 30)}` };
}

const PATH_TRICKS = ['../x.safetensors', '../../../../../../dev/zero', '/dev/zero', '/etc/passwd', 'a/b', '.', '..', '', '.hidden', 'x\\..\\y', 'model.safetensors/', 'nul\u0000x'];

/** Runs the cases in one child and fails on anything but ok or named. */
async function fuzz(what, cases) {
  const results = await runCases(cases, { dir: root, heapMB: 256, rssMB: 768, caseMs: 5000 });
  assertAllHandled(results, cases, what);
}

test(`safetensors: ${N} mutated files + special files`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 1);
  const good = nn.encodeSafetensors(
    { 'a.weight': { shape: [3, 4], data: new Float32Array(12).fill(1.5) }, b: { shape: [5], data: Int32Array.of(1, -2, 3, -4, 5) }, c: { shape: [7], data: new Uint8Array(7) }, e: { shape: [0], data: new Float64Array(0) } },
    { format: 'pt', note: 'x' },
  );
  const n = Number(good.readBigUInt64LE(0));
  const header = good.toString('utf8', 8, 8 + n), body = good.subarray(8 + n);
  const cases = [];
  for (let i = 0; i < N; i++) {
    let bytes, how;
    if (r.chance(0.4)) {
      const m = mutateJson(header, r);
      const h = Buffer.from(m.text);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      bytes = Buffer.concat([len, h, body]);
      how = m.how;
    } else ({ bytes, how } = mutate(good, r, [{ off: 0, width: 8 }, { off: 0, width: 4 }]));
    const path = join(root, `st-${i}.safetensors`);
    writeFileSync(path, bytes);
    cases.push({ id: `st-${i}`, parser: 'safetensors', path, how });
  }
  for (const kind of SPECIAL) {
    const path = join(root, `st-${kind}.safetensors`);
    makeSpecial(path, kind);
    cases.push({ id: `st-${kind}`, parser: 'safetensors', path, how: kind });
  }
  await fuzz('safetensors', cases);
});

test(`.codes: ${N} mutated files + special files`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 2);
  const db = new hash.codedb.CodeDB(24);
  const codes = Uint32Array.from({ length: 40 }, (_, i) => (i * 2654435761) & 0xffffff);
  db.add(codes, Uint32Array.from({ length: 40 }, (_, i) => i % 10), Array.from({ length: 40 }, (_, i) => `img-${i}`));
  db.meta = { dataset: 'cifar10', protocol: { name: 'dsh', bits: 24 } };
  const goodPath = join(root, 'good.codes');
  db.save(goodPath);
  const good = readFileSync(goodPath);
  const metaLen = good.readUInt32LE(28);
  const meta = good.toString('utf8', good.length - metaLen);
  const fields = [4, 8, 12, 24, 28].map((off) => ({ off, width: 4 })).concat([{ off: 16, width: 8 }]);
  const cases = [];
  for (let i = 0; i < N; i++) {
    let bytes, how;
    if (r.chance(0.3)) {
      const m = mutateJson(meta, r);
      const mb = Buffer.from(m.text);
      bytes = Buffer.concat([good.subarray(0, good.length - metaLen), mb]);
      bytes.writeUInt32LE(mb.length, 28);
      how = m.how;
    } else ({ bytes, how } = mutate(good, r, fields));
    const path = join(root, `codes-${i}.codes`);
    writeFileSync(path, bytes);
    cases.push({ id: `codes-${i}`, parser: 'codes', path, how });
  }
  for (const kind of SPECIAL) {
    const path = join(root, `codes-${kind}.codes`);
    makeSpecial(path, kind);
    cases.push({ id: `codes-${kind}`, parser: 'codes', path, how: kind });
  }
  await fuzz('.codes', cases);
});

test(`JPEG: ${N} mutated files + special files`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 3);
  const w = 40, h = 24;
  const good = Buffer.from(data.encodeJpeg(Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 13) & 255), w, h, 75));
  // Length fields: every segment's 2-byte big-endian length, the frame's height, width and component count.
  const fields = [];
  for (let i = 2; i + 4 <= good.length && good[i] === 0xff && good[i + 1] !== 0xda; i += 2 + good.readUInt16BE(i + 2)) {
    fields.push({ off: i + 2, width: 2, be: true });
    if (good[i + 1] === 0xc0) fields.push({ off: i + 5, width: 2, be: true }, { off: i + 7, width: 2, be: true }, { off: i + 9, width: 1 });
  }
  const cases = [];
  for (let i = 0; i < N; i++) {
    const { bytes, how } = mutate(good, r, fields);
    const path = join(root, `jpeg-${i}.jpg`);
    writeFileSync(path, bytes);
    cases.push({ id: `jpeg-${i}`, parser: 'jpeg', path, how });
  }
  await fuzz('JPEG', cases);
});

test(`CIFAR-10: ${N} mutated archives (tar and tar.gz) + special files and path tricks in folders`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 4);
  const syn = writeSyntheticCifar(join(root, 'cifar'), { perFile: 4, seed: 7 });
  const order = ['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  const tar = data.writeTar([{ path: 'cifar-10-batches-bin/' }, ...order.map((f) => ({ path: `cifar-10-batches-bin/${f}`, data: syn.files[f] }))]);
  const heads = tarHeaderOffsets(tar);
  const fields = heads.map((off) => ({ off: off + 124, width: 8, be: true }));
  const names = ['../../../../tmp/evil.bin', '/data_batch_1.bin', 'cifar-10-batches-bin/../data_batch_1.bin', 'x/batches.meta.txt', 'cifar-10-batches-bin/data_batch_1.bin'];
  const common = { parser: 'cifar', checksums: syn.checksums, recordsPerFile: 4 };
  const cases = [];
  for (let i = 0; i < N; i++) {
    let bytes, how;
    if (r.chance(0.35)) {
      bytes = Buffer.from(tar);
      const off = r.pick(heads), patch = {};
      if (r.chance(0.5)) patch.type = r.pick(['L', 'x', 'g', '5', '2', '0', 'K']);
      if (r.chance(0.5)) patch.size = r.pick([0, 1, 511, 512, 3073, 2 ** 16, 2 ** 20, 2 ** 33, 2 ** 52]);
      if (r.chance(0.3)) patch.name = r.pick(names);
      patchTarHeader(bytes, off, patch);
      how = `header at ${off}: ${JSON.stringify(patch)}`;
    } else ({ bytes, how } = mutate(tar, r, fields));
    const gz = r.chance(0.5);
    const path = join(root, `cifar-${i}.tar${gz ? '.gz' : ''}`);
    writeFileSync(path, gz ? gzipSync(bytes) : bytes);
    cases.push({ ...common, id: `cifar-${i}`, path, how: `${gz ? 'gz ' : ''}${how}` });
  }
  for (const kind of SPECIAL) {
    for (const f of ['batches.meta.txt', 'data_batch_3.bin']) {
      const dir = join(root, `cifar-${kind}-${f}`);
      cpSync(syn.path, dir, { recursive: true });
      rmSync(join(dir, f));
      makeSpecial(join(dir, f), kind);
      cases.push({ ...common, id: `cifar-${kind}-${f}`, path: dir, how: `${f} is ${kind}` });
    }
    const archive = join(root, `cifar-archive-${kind}.tar.gz`);
    makeSpecial(archive, kind);
    cases.push({ ...common, id: `cifar-archive-${kind}`, path: archive, how: `archive is ${kind}` });
  }
  await fuzz('CIFAR-10', cases);
});

test(`In-shop: ${N} mutated partition files and caches (raw and with a recomputed checksum) + special files`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 5);
  const fix = writeInshopFixture(join(root, 'inshop'), { seed: 9, trainItems: 3, testItems: 2, trainPerItem: 3, galleryPerItem: 2, width: 32, height: 32 });
  const good = await data.readInshop(fix.root, { log: () => {} });
  const exact = { images: sha(good.images), itemIndex: sha(good.itemIndex) };
  const part = readFileSync(fix.partitionFile);
  const cache = readFileSync(join(fix.root, 'tqhash-inshop-32.bin'));
  // A case folder: the partition file and cache given, img/ a link to the fixture's (links to regular files are fine).
  const folder = (i, partBytes, cacheBytes) => {
    const d = join(root, `inshop-${i}`);
    mkdirSync(d);
    writeFileSync(join(d, 'list_eval_partition.txt'), partBytes);
    if (cacheBytes) writeFileSync(join(d, 'tqhash-inshop-32.bin'), cacheBytes);
    symlinkSync(join(fix.root, 'img'), join(d, 'img'));
    return d;
  };
  const resum = (b) => {
    createHash('sha256').update(b.subarray(120)).digest().copy(b, 88);
    return b;
  };
  const imageNames = ['img/../../../../dev/zero', '/dev/zero', 'img/./WOMEN/../WOMEN/x.jpg', 'img//a.jpg', 'img\\a.jpg', '../img/a.jpg', 'img/a.jpg/'];
  const cases = [];
  for (let i = 0; i < N; i++) {
    const k = r.int(4);
    let d, how, c = {};
    if (k === 0) {
      // The partition file changes: the cache is stale, the JPEGs are decoded again.
      let text = part.toString('utf8');
      if (r.chance(0.3)) {
        const lines = text.split('\n');
        const at = 2 + r.int(lines.length - 3);
        lines[at] = lines[at].replace(/^\S+/, r.pick(imageNames));
        text = lines.join('\n');
        how = `line ${at + 1} image name`;
      }
      const m = mutate(Buffer.from(text), r, []);
      d = folder(i, m.bytes, cache);
      how = `${how ?? ''} partition ${m.how}`;
    } else if (k === 1) {
      const m = mutate(cache, r, [12, 16, 20].map((off) => ({ off, width: 4 })));
      d = folder(i, part, m.bytes);
      how = `cache ${m.how}`;
      c = { exact };
    } else if (k === 2) {
      // A forged cache: mutated, then its body checksum recomputed; used when it checks out (pixels are data, so
      // only its consistency is checked), else rebuilt.
      const m = mutate(cache.subarray(120), r, []);
      const b = resum(Buffer.concat([cache.subarray(0, 120), m.bytes]));
      d = folder(i, part, b);
      how = `forged cache body ${m.how}`;
    } else {
      const metaLen = cache.readUInt32LE(20);
      const mj = mutateJson(cache.toString('utf8', 120, 120 + metaLen), r);
      const mb = Buffer.from(mj.text);
      const pad = Buffer.alloc(((mb.length + 3) & ~3) - mb.length);
      const head = Buffer.from(cache.subarray(0, 120));
      head.writeUInt32LE(mb.length, 20);
      d = folder(i, part, resum(Buffer.concat([head, mb, pad, cache.subarray(120 + ((metaLen + 3) & ~3))])));
      how = `forged cache metadata ${mj.how}`;
    }
    cases.push({ id: `inshop-${i}`, parser: 'inshop', root: d, how, ...c });
  }
  for (const kind of SPECIAL) {
    const d1 = folder(`part-${kind}`, '', null);
    rmSync(join(d1, 'list_eval_partition.txt'));
    makeSpecial(join(d1, 'list_eval_partition.txt'), kind);
    cases.push({ id: `inshop-partition-${kind}`, parser: 'inshop', root: d1, how: `partition is ${kind}` });
    const d2 = folder(`cache-${kind}`, part, null);
    makeSpecial(join(d2, 'tqhash-inshop-32.bin'), kind);
    cases.push({ id: `inshop-cache-${kind}`, parser: 'inshop', root: d2, how: `cache is ${kind}`, exact: kind === 'dir' ? undefined : exact });
    const d3 = join(root, `inshop-img-${kind}`);
    cpSync(fix.root, d3, { recursive: true });
    rmSync(join(d3, 'tqhash-inshop-32.bin'));
    const img = join(d3, fix.entries[r.int(fix.entries.length)].image);
    rmSync(img, { force: true });
    makeSpecial(img, kind);
    cases.push({ id: `inshop-img-${kind}`, parser: 'inshop', root: d3, where: img, how: `an image is ${kind}` });
  }
  await fuzz('In-shop', cases);
});

test(`checkpoints: ${N} mutated state.json and tensor files + special files and path tricks`, async () => {
  const r = makeRng(FUZZ_SEED * 101 + 6);
  const t = (v) => ({ 'features.0.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(v) }, 'bn.num_batches_tracked': { dtype: 'I32', shape: [], data: Int32Array.of(3) } });
  const good = join(root, 'ck');
  train.saveCheckpoint(good, t(1), t(2), { epoch: 1, step: 3, globalStep: 13, config: { epochs: 4, bits: 48 }, lossHistory: [{ step: 0, loss: 2 }, { step: 12, loss: 1 }], epochLog: [{ epoch: 1, loss: 1.5 }], trainSeconds: 4, imagesSeen: 130, wallSeconds: 5, sessions: 1, epochPartial: { loss: 3, count: 3, seconds: 1 } }, { tag: 'x' });
  const stateText = readFileSync(join(good, 'state.json'), 'utf8');
  const state = JSON.parse(stateText);
  const resume = { epochs: 4, stepsPerEpoch: 10 };
  const cases = [];
  for (let i = 0; i < N; i++) {
    const d = join(root, `ck-${i}`);
    cpSync(good, d, { recursive: true });
    const k = r.int(4);
    let how;
    if (k === 0) {
      const m = mutateJson(stateText, r);
      writeFileSync(join(d, 'state.json'), m.text);
      how = m.how;
    } else if (k === 1) {
      const m = mutate(Buffer.from(stateText), r, []);
      writeFileSync(join(d, 'state.json'), m.bytes);
      how = `state.json ${m.how}`;
    } else if (k === 2) {
      const s = structuredClone(state);
      s.files[r.pick(['model', 'optimizer'])] = r.pick(PATH_TRICKS);
      writeFileSync(join(d, 'state.json'), JSON.stringify(s));
      how = `files ${JSON.stringify(s.files)}`;
    } else {
      const f = join(d, r.pick([state.files.model, state.files.optimizer]));
      const m = mutate(readFileSync(f), r, [{ off: 0, width: 8 }]);
      writeFileSync(f, m.bytes);
      how = `tensor file ${m.how}`;
    }
    cases.push({ id: `ck-${i}`, parser: 'checkpoint', path: d, resume, how });
  }
  for (const kind of SPECIAL) {
    for (const f of ['state.json', state.files.model]) {
      const d = join(root, `ck-${kind}-${f}`);
      cpSync(good, d, { recursive: true });
      rmSync(join(d, f));
      makeSpecial(join(d, f), kind);
      // A dangling state.json link is "no checkpoint" (null): the child counts that as wrong, so skip it.
      if (!(kind === 'dangling' && f === 'state.json')) cases.push({ id: `ck-${kind}-${f}`, parser: 'checkpoint', path: d, resume, how: `${f} is ${kind}` });
    }
  }
  await fuzz('checkpoint', cases);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
