// Child process of the parser fuzzer (started by runCases in test/fuzz-util.js): runs each case of the JSON file
// named on the command line, printing "S <id>" before and "R <result>" after it. A case passes as `ok` when the
// parser returns a result that checks out, or `named` when it throws a DataError whose one-line message names the
// file; `wrong` (a result that does not check out) and `raw` (any other error) are failures.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { data, nn, hash, train } from '../dist/index.js';

const sha = (a) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

// parser name → [run the parser on the case, check its result (a string says what is wrong)]
const PARSERS = {
  cifar: [
    (c) => data.readCifar10(c.path, { checksums: c.checksums, recordsPerFile: c.recordsPerFile }),
    (r, c) => (r.verified && r.train.labels.length === 5 * c.recordsPerFile && r.classNames.length === 10 ? null : 'unverified or wrong sizes'),
  ],
  safetensors: [
    (c) => nn.readSafetensors(c.path),
    (r) => {
      if (Object.getPrototypeOf(r.tensors) !== null) return 'tensors has a prototype';
      for (const [k, t] of Object.entries(r.tensors)) if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) return `tensor ${k}: shape and data disagree`;
      return null;
    },
  ],
  codes: [
    (c) => hash.codedb.CodeDB.load(c.path),
    (db, c) => {
      // What loads must save and load again to the same codes (a 10,000-deep metadata object did not).
      db.save(`${c.path}.again`);
      const back = hash.codedb.CodeDB.load(`${c.path}.again`);
      rmSync(`${c.path}.again`);
      return back.size === db.size && sha(back.data) === sha(db.data) ? null : 'save → load changed the codes';
    },
  ],
  jpeg: [
    (c) => data.decodeJpeg(readFileSync(c.path), c.path),
    (img) => (img.width * img.height * 3 === img.rgb.length && img.width * img.height <= 4e6 ? null : `${img.width}×${img.height} with ${img.rgb.length} bytes`),
  ],
  inshop: [
    (c) => data.readInshop(c.root, { cache: c.cache ?? true, skipBad: c.skipBad, log: () => {} }),
    (d, c) => {
      if (c.exact) return sha(d.images) === c.exact.images && sha(d.itemIndex) === c.exact.itemIndex ? null : 'differs from the data set';
      for (const i of d.itemIndex) if (i >= d.itemIds.length) return `item index ${i} of ${d.itemIds.length} items`;
      const n = d.split.train.length + d.split.query.length + d.split.gallery.length;
      return n === d.count && d.images.length === d.count * 3 * d.side * d.side ? null : 'splits or images do not add up';
    },
  ],
  checkpoint: [
    (c) => {
      const ck = train.loadCheckpoint(c.path);
      if (ck && c.resume) train.checkResumePoint(ck.state, c.resume.epochs, c.resume.stepsPerEpoch, `${c.path}/state.json`);
      return ck;
    },
    (ck) => (ck && Object.getPrototypeOf(ck.model) === null && Array.isArray(ck.state.lossHistory) ? null : 'no checkpoint or an unchecked one'),
  ],
};

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const c of cases) {
  process.stdout.write(`S ${c.id}\n`);
  const t0 = performance.now();
  let outcome, message = null;
  try {
    const [run, check] = PARSERS[c.parser];
    message = check(await run(c), c);
    outcome = message ? 'wrong' : 'ok';
  } catch (e) {
    const where = c.where ?? c.path ?? c.root;
    const named = data.isDataError(e) && e.message.includes(where) && !e.message.includes('\n');
    outcome = named ? 'named' : 'raw';
    message = named ? e.message : String((e && e.stack) || e).split('\n').slice(0, 3).join(' | ');
  }
  const rssMB = process.memoryUsage().rss / 2 ** 20;
  process.stdout.write(`R ${JSON.stringify({ id: c.id, outcome, message, ms: performance.now() - t0, rssMB })}\n`);
}
