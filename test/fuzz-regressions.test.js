// Regression cases of issue 20 ("Untrusted files"): each fault a fuzzing probe found, rebuilt here and run in a
// child process with a 256 MB heap and a 768 MB resident cap. Each must end in a named error (a DataError naming
// the file, with the field or limit in its message) or the correct result, within 2 s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { data, nn, hash, train } from '../dist/index.js';
import { makeSpecial, patchTarHeader, runCases } from './fuzz-util.js';
import { writeSyntheticCifar, SYNTHETIC_CLASS_NAMES } from './fixtures/synthetic.js';
import { writeInshopFixture } from './fixtures/inshop.js';

const root = mkdtempSync(join(tmpdir(), 'tqhash-fuzzreg-'));
const GiB10 = 10 * 2 ** 30;
const LIMIT_MS = 2000;
const LIMIT_RSS_MB = 400;

const serialise = (cases) => cases.map((c) => ({ ...c, expect: c.expect instanceof RegExp ? String(c.expect) : c.expect }));
const run = async (cases) => {
  const results = await runCases(serialise(cases), { dir: root, heapMB: 256, rssMB: 768, caseMs: 10_000 });
  if (process.env.TQHASH_FUZZ_VERBOSE) for (const r of results) console.log(`${r.id}: ${r.outcome} ${r.ms.toFixed(0)} ms ${r.rssMB.toFixed(0)} MB`);
  return check(cases, results);
};
function check(cases, results) {
  const failures = [];
  for (const c of cases) {
    const r = results.find((x) => x.id === c.id);
    if (!r) continue;
    const want = c.expect === 'ok' ? 'ok' : 'named';
    if (r.outcome !== want || (c.expect instanceof RegExp && !c.expect.test(r.message))) failures.push(`${c.id}: ${r.outcome}: ${r.message}`);
    else if (r.ms > LIMIT_MS) failures.push(`${c.id}: took ${r.ms.toFixed(0)} ms (limit ${LIMIT_MS})`);
    else if (r.rssMB > LIMIT_RSS_MB) failures.push(`${c.id}: ${r.rssMB.toFixed(0)} MB resident (limit ${LIMIT_RSS_MB})`);
  }
  assert.is(results.length, cases.length, `only ${results.length} of ${cases.length} cases ran: ${JSON.stringify(results.at(-1))}`);
  assert.equal(failures, [], failures.join('\n'));
  return results;
}

test('1. CIFAR tar: 10 GiB long-name, pax and meta entries; folder meta as /dev/zero, FIFO, directory; class names checksummed', async () => {
  const syn = writeSyntheticCifar(join(root, 'cifar'), { perFile: 20, seed: 2 });
  const common = { parser: 'cifar', checksums: syn.checksums, recordsPerFile: 20 };
  // An entry header declaring 10 GiB, then 10 MB of zeros (10 KB gzipped) and no end.
  const bomb = (type, name) => {
    const tar = data.writeTar([{ path: name, data: new Uint8Array(10) }]).subarray(0, 512);
    patchTarHeader(tar, 0, { type, size: GiB10 });
    const p = join(root, `bomb-${type}.tar.gz`);
    writeFileSync(p, gzipSync(Buffer.concat([tar, Buffer.alloc(10 << 20)])));
    return p;
  };
  const cases = [
    { id: 'L 10 GiB', path: bomb('L', '././@LongLink'), expect: /long-name header at byte 0 declares 10737418240 bytes, over the 65536-byte limit/ },
    { id: 'x 10 GiB', path: bomb('x', 'PaxHeader'), expect: /pax header at byte 0 declares 10737418240 bytes, over the 65536-byte limit/ },
    { id: 'meta 10 GiB', path: bomb('0', 'cifar-10-batches-bin/batches.meta.txt'), expect: /batches\.meta\.txt" at byte 0 declares 10737418240 bytes, over the 268435456-byte limit for one entry/ },
  ];
  for (const kind of ['devzero', 'fifo', 'dir']) {
    const dir = join(root, `cifar-${kind}`);
    cpSync(syn.path, dir, { recursive: true });
    rmSync(join(dir, 'batches.meta.txt'));
    makeSpecial(join(dir, 'batches.meta.txt'), kind);
    cases.push({ id: `folder meta ${kind}`, path: dir, where: join(dir, 'batches.meta.txt'), expect: /batches\.meta\.txt: the CIFAR-10 file batches\.meta\.txt is (a character device|a FIFO \(named pipe\)|a directory), not a regular file/ });
  }
  const renamed = join(root, 'cifar-renamed');
  cpSync(syn.path, renamed, { recursive: true });
  writeFileSync(join(renamed, 'batches.meta.txt'), SYNTHETIC_CLASS_NAMES.slice().reverse().join('\n') + '\n');
  cases.push({ id: 'class names changed', path: renamed, expect: /batches\.meta\.txt: sha256 [0-9a-f]{64} does not match/ });
  cases.push({ id: 'untouched', path: syn.path, expect: 'ok' });
  await run(cases.map((c) => ({ ...common, ...c })));
});

test('1. tar reader: the whole-stream cap stops a gzip bomb of skipped entries; pax size must be a byte count', () => {
  const tar = data.writeTar([{ path: 'a', data: new Uint8Array(3000) }, { path: 'b', data: new Uint8Array(3000) }]);
  const r = new data.TarReader('bomb.tar', () => null, { metaBytes: 512, entryBytes: 4096, streamBytes: 5000 });
  assert.throws(() => r.push(tar), (e) => data.isDataError(e) && /bomb\.tar: the tar stream runs past 5000 bytes/.test(e.message));
  const big = data.writeTar([{ path: 'a', data: new Uint8Array(5000) }]);
  const r2 = new data.TarReader('big.tar', () => null, { metaBytes: 512, entryBytes: 4096, streamBytes: 1e6 });
  assert.throws(() => r2.push(big), /big\.tar: entry "a" at byte 0 declares 5000 bytes, over the 4096-byte limit for one entry/);
  const pax = data.writeTar([{ path: 'PaxHeader', data: new TextEncoder().encode(`29 size=${'9'.repeat(20)}\n`) }, { path: 'f', data: new Uint8Array(1) }]);
  patchTarHeader(pax, 0, { type: 'x' });
  const r3 = new data.TarReader('pax.tar', () => null);
  assert.throws(() => r3.push(pax), /pax\.tar: pax size "9{20}" is not a byte count/);
});

test('2. checkpoint state.json: paths outside the folder, special files, bad fields, a resume point outside the run', async () => {
  const t = (v) => ({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(v, v + 1) } });
  const good = join(root, 'ck-good');
  train.saveCheckpoint(good, t(1), t(2), { epoch: 1, step: 2, globalStep: 12, config: { epochs: 3 }, lossHistory: [{ step: 0, loss: 1 }], epochLog: [{}], trainSeconds: 1, imagesSeen: 10 }, {});
  const state = JSON.parse(readFileSync(join(good, 'state.json'), 'utf8'));
  const other = join(root, 'ck-other');
  train.saveCheckpoint(other, t(5), t(6), { ...state, globalStep: 12 }, {});
  let k = 0;
  const variant = (edit, prep) => {
    const dir = join(root, `ck-${k++}`);
    cpSync(good, dir, { recursive: true });
    const s = structuredClone(state);
    const out = edit(s) ?? s;
    writeFileSync(join(dir, 'state.json'), typeof out === 'string' ? out : JSON.stringify(out));
    prep?.(dir);
    return dir;
  };
  const resume = { epochs: 3, stepsPerEpoch: 10 };
  const cases = [
    { id: 'model ../dev/zero', path: variant((s) => void (s.files.model = '../../../../../../dev/zero')), expect: /field "files" must be plain file names inside the checkpoint folder/ },
    { id: 'model absolute', path: variant((s) => void (s.files.model = join(other, state.files.model))), expect: /field "files" must be plain file names/ },
    { id: 'model FIFO', path: variant((s) => void (s.files.model = 'pipe.safetensors'), (d) => makeSpecial(join(d, 'pipe.safetensors'), 'fifo')), expect: /pipe\.safetensors: the safetensors file is a FIFO \(named pipe\), not a regular file/ },
    { id: 'model /dev/zero link', path: variant((s) => void (s.files.model = 'zero.safetensors'), (d) => symlinkSync('/dev/zero', join(d, 'zero.safetensors'))), expect: /zero\.safetensors is a symbolic link/ },
    { id: "another run's model by a link", path: variant(() => {}, (d) => { rmSync(join(d, state.files.model)); symlinkSync(join(other, state.files.model), join(d, state.files.model)); }), expect: /is a symbolic link/ },
    { id: 'state null', path: variant(() => 'null'), expect: /state\.json: not a JSON object/ },
    { id: 'files {}', path: variant((s) => void (s.files = {})), expect: /field "files" must be plain file names/ },
    { id: 'no files', path: variant((s) => void delete s.files), expect: /field "files" must be .* got nothing/ },
    { id: 'step -5', path: variant((s) => void (s.step = -5)), expect: /field "step" must be a non-negative integer, got -5/ },
    { id: 'lossHistory "x"', path: variant((s) => void (s.lossHistory = 'x')), expect: /field "lossHistory" must be an array/ },
    { id: 'epoch 999', path: variant((s) => void (s.epoch = 999)), resume, expect: /epoch 999, step 2, 12 steps done: not a point of this run \(3 epochs of 10 steps/ },
    { id: 'deep nesting', path: variant((s) => JSON.stringify(s).replace('"config":{', `"config":{"x":${'['.repeat(5000)}${']'.repeat(5000)},`)), expect: /nests arrays\/objects deeper than 16 levels/ },
    { id: 'untouched', path: good, resume, expect: 'ok' },
  ];
  await run(cases.map((c) => ({ parser: 'checkpoint', ...c })));
});

// A baseline JPEG's marker segments: [marker, start, end) with the entropy data counted into its SOS segment.
function segments(b) {
  const segs = [];
  let i = 2;
  while (i < b.length) {
    const m = b[i + 1];
    if (m === 0xd9) break;
    let end = i + 2 + b.readUInt16BE(i + 2);
    if (m === 0xda) while (!(b[end] === 0xff && b[end + 1] !== 0 && (b[end + 1] < 0xd0 || b[end + 1] > 0xd7))) end++;
    segs.push({ m, start: i, end });
    i = end;
  }
  return segs;
}

test('3. JPEG: 3,000 repeated scans, a 7000×7000 frame in 1 KB, header only, a scan naming component 9', async () => {
  const w = 64, h = 48;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) & 255);
  const jpg = Buffer.from(data.encodeJpeg(rgb, w, h, 80));
  const segs = segments(jpg);
  const sos = segs.find((s) => s.m === 0xda), sof = segs.find((s) => s.m === 0xc0);
  const head = jpg.subarray(0, sos.start), scan = jpg.subarray(sos.start, sos.end), eoi = Buffer.from([0xff, 0xd9]);
  const file = (name, bytes) => {
    const p = join(root, name);
    writeFileSync(p, bytes);
    return p;
  };
  const huge = Buffer.from(head);
  huge.writeUInt16BE(7000, sof.start + 5);
  huge.writeUInt16BE(7000, sof.start + 7);
  const comp9 = Buffer.from(scan);
  comp9[5] = 9; // first component selector of the scan header
  const noTable = Buffer.from(scan);
  noTable[6] = 0x33; // the first component's Huffman tables: 3, never defined (jpeg-js: a TypeError)
  const cases = [
    { id: '3000 scans', path: file('scans.jpg', Buffer.concat([head, ...Array(3000).fill(scan), eoi])), expect: /scans\.jpg: not a readable JPEG \(more than 50 scans, the limit\)/ },
    { id: '7000×7000', path: file('huge.jpg', Buffer.concat([huge, scan.subarray(0, 200), eoi])), expect: /huge\.jpg: not a readable JPEG \(frame of 7000×7000 pixels is over the limit of 25 megapixels\)/ },
    { id: 'header only', path: file('head.jpg', Buffer.concat([head, eoi])), expect: /head\.jpg: not a readable JPEG \(no scan data/ },
    { id: 'component 9', path: file('c9.jpg', Buffer.concat([head, comp9, eoi])), expect: /c9\.jpg: not a readable JPEG \(scan 1 names component 9, which the frame does not declare\)/ },
    { id: 'untouched', path: file('good.jpg', jpg), expect: 'ok' },
  ];
  await run(cases.map((c) => ({ parser: 'jpeg', ...c })));
  // A phone's 12 MP photo (search --image) is within the frame limit.
  const phone = Buffer.from(head);
  phone.writeUInt16BE(3000, sof.start + 5);
  phone.writeUInt16BE(4000, sof.start + 7);
  assert.equal(data.checkJpegStructure(Buffer.concat([phone, scan, eoi]), 'phone.jpg'), { width: 4000, height: 3000, scans: 1 });
  // At the library API too, jpeg-js's own errors come out as the named error.
  assert.throws(() => data.decodeJpeg(Buffer.concat([head, noTable, eoi]), 'tables.jpg'), (e) => data.isDataError(e) && /^tables\.jpg: not a readable JPEG \(.*undefined/.test(e.message), 'jpeg-js TypeError wrapped');
});

test('4. In-shop: edited caches with recomputed checksums, 1.4 M images, a 1e6-digit count, /dev/zero and FIFO images, img/./X.jpg', async () => {
  const fix = writeInshopFixture(join(root, 'inshop'), { seed: 5, trainItems: 3, testItems: 2 });
  const good = await data.readInshop(fix.root, { log: () => {} });
  const sha = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
  const expect = { images: sha(good.images), itemIndex: sha(good.itemIndex) };
  const cacheBytes = readFileSync(join(fix.root, 'tqhash-inshop-32.bin'));
  let k = 0;
  const copy = () => {
    const d = join(root, `inshop-${k++}`);
    cpSync(fix.root, d, { recursive: true });
    return d;
  };
  // Rewrites the cache with edit(meta, arrays) applied and its body checksum recomputed, as a forger would.
  const forged = (edit) => {
    const d = copy();
    const metaLen = cacheBytes.readUInt32LE(20), count = cacheBytes.readUInt32LE(16);
    const metaEnd = 120 + ((metaLen + 3) & ~3);
    const meta = JSON.parse(cacheBytes.toString('utf8', 120, 120 + metaLen));
    const body = Buffer.from(cacheBytes.subarray(metaEnd));
    const itemIndex = new Uint32Array(body.buffer, body.byteOffset, count);
    const status = body.subarray(8 * count, 9 * count);
    const m2 = edit(meta, { itemIndex, status }) ?? meta;
    const mb = Buffer.from(JSON.stringify(m2));
    const head = Buffer.from(cacheBytes.subarray(0, 120));
    head.writeUInt32LE(mb.length, 20);
    const rest = Buffer.concat([mb, Buffer.alloc(((mb.length + 3) & ~3) - mb.length), body]);
    createHash('sha256').update(rest).digest().copy(head, 88);
    writeFileSync(join(d, 'tqhash-inshop-32.bin'), Buffer.concat([head, rest]));
    return d;
  };
  const partition = (d, text) => writeFileSync(join(d, 'list_eval_partition.txt'), text);
  const lines = readFileSync(fix.partitionFile, 'utf8').split('\n');
  const cases = [
    { id: 'cache meta null', root: forged(() => null), expect: 'ok' },
    { id: 'cache skipped null, status 7', root: forged((m, a) => { m.skipped = null; a.status[0] = 7; }), expect: 'ok' },
    { id: 'cache itemIndex 999999', root: forged((m, a) => void (a.itemIndex[1] = 999999)), expect: 'ok' },
    { id: 'cache itemIds not ids', root: forged((m) => void (m.itemIds = [{}, 'x'])), expect: 'ok' },
  ].map((c) => ({ ...c, expect: 'ok', exact: expect }));
  const many = copy();
  partition(many, `1400000\n${lines[1]}\n` + `${lines[2]}\n`.repeat(1000));
  cases.push({ id: '1.4 M images declared', root: many, where: join(many, 'list_eval_partition.txt'), expect: /line 1: "1400000" images is over the limit of 200000/ });
  const more = copy();
  partition(more, readFileSync(fix.partitionFile, 'utf8') + `${lines[3]}\n`.repeat(10));
  cases.push({ id: 'more lines than declared', root: more, where: join(more, 'list_eval_partition.txt'), expect: /more image lines than the \d+ that line 1 says/ });
  const digits = copy();
  partition(digits, `${'9'.repeat(1_000_000)}\n${lines.slice(1).join('\n')}`);
  cases.push({ id: '1e6-digit count', root: digits, where: join(digits, 'list_eval_partition.txt'), expect: /line 1: "9{40}…" images is over the limit of 200000/ });
  for (const kind of ['devzero', 'fifo', 'dir']) {
    const d = copy();
    rmSync(join(d, 'tqhash-inshop-32.bin'));
    const img = join(d, fix.entries[2].image);
    rmSync(img);
    makeSpecial(img, kind);
    cases.push({ id: `image ${kind}`, root: d, where: img, expect: /the image is (a character device|a FIFO \(named pipe\)|a directory), not a regular file/ });
    cases.push({ id: `image ${kind}, skipBad`, root: d, skipBad: true, cache: false, expect: 'ok' });
  }
  const dup = copy();
  const [name, ...rest] = lines[2].split(/\s+/);
  partition(dup, [String(Number(lines[0]) + 1), ...lines.slice(1), [name.replace('img/', 'img/./'), ...rest].join(' ')].join('\n'));
  cases.push({ id: 'img/./X.jpg twice', root: dup, where: join(dup, 'list_eval_partition.txt'), expect: new RegExp(`is listed again \\(as ${name.replace(/[.]/g, '\\.')}, first on line 3\\)`) });
  await run(cases.map((c) => ({ parser: 'inshop', ...c })));
});

test('5. safetensors: nested header JSON, a 20 MB header, __proto__ and constructor names', async () => {
  const file = (name, header, dataBytes = Buffer.alloc(0)) => {
    const h = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    const p = join(root, name);
    writeFileSync(p, Buffer.concat([len, h, dataBytes]));
    return p;
  };
  const nested = '{"a":' + '['.repeat(3_500_000) + ']'.repeat(3_500_000) + '}'; // 7 MB, under the 8 MiB cap
  const cases = [
    { id: 'nested 7 MB', path: file('nested.safetensors', nested), expect: /nests arrays\/objects deeper than 3 levels \(at byte 7\)/ },
    { id: 'header 20 MB', path: file('big.safetensors', '{"a":[' + '0,'.repeat(10_000_000) + '0]}'), expect: /header length \d{8} bytes exceeds the limit of 8388608 bytes/ },
    { id: 'dtype constructor', path: file('ctor.safetensors', '{"w":{"dtype":"constructor","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4)), expect: /tensor "w" has dtype "constructor"; supported: F32/ },
    { id: '__proto__ tensor', path: file('proto.safetensors', '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4)), expect: 'ok' },
  ];
  await run(cases.map((c) => ({ parser: 'safetensors', ...c })));
  const back = nn.readSafetensors(cases[3].path);
  assert.equal(Object.keys(back.tensors), ['__proto__']);
  assert.is(Object.getPrototypeOf(back.tensors), null);
  assert.equal(Array.from(back.tensors['__proto__'].data), [0]);
});

test('6. .codes: 10,000-deep metadata, negative and duplicate ids', async () => {
  const db = new hash.codedb.CodeDB(16);
  db.add(Uint32Array.of(1, 2, 3), undefined, [0, 1, 2]);
  const okPath = join(root, 'ok.codes');
  db.save(okPath);
  // Rewrites the metadata of the saved file (and its length field) to `json`.
  const withMeta = (name, json) => {
    const b = readFileSync(okPath);
    const metaLen = b.readUInt32LE(28);
    const m = Buffer.from(json);
    const out = Buffer.concat([b.subarray(0, b.length - metaLen), m]);
    out.writeUInt32LE(m.length, 28);
    const p = join(root, name);
    writeFileSync(p, out);
    return p;
  };
  const cases = [
    { id: 'deep metadata', path: withMeta('deep.codes', '{"x":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}'), expect: /deep\.codes: the code database metadata nests arrays\/objects deeper than 32 levels/ },
    { id: 'negative id', path: withMeta('neg.codes', '{"ids":[0,-1,2]}'), expect: /neg\.codes: .*id 1 = -1 must be a string or a non-negative safe integer/ },
    { id: 'duplicate id', path: withMeta('dup.codes', '{"ids":["a","b","a"]}'), expect: /dup\.codes: .*id 2 = "a" is already in the database/ },
    { id: 'depth 31 kept', path: withMeta('d31.codes', '{"x":' + '['.repeat(30) + ']'.repeat(30) + '}'), expect: 'ok' },
  ];
  await run(cases.map((c) => ({ parser: 'codes', ...c })));
  // Ids stay distinct across adds.
  assert.throws(() => db.add(Uint32Array.of(4), undefined, [2]), /id 0 = 2 is already in the database/);
  assert.is(db.size, 3);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
