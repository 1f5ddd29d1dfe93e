#!/usr/bin/env node
// How often the ste form's quantisation hinges sit exactly on their kink (z_q = 0), on a run's database codes or on
// random codes: `node bench/kinks.js [--codes RUN/db.codes] [--bits 12,24,32,48] [--margin-q M] [--batches 20]`.
import { train, hash } from '../dist/index.js';

const SPEC = {
  codes: { type: 'string', help: "a run's db.codes (codes with labels); default: uniformly random codes at each --bits" },
  bits: { type: 'intlist', default: [12, 24, 32, 48], min: 4, max: 256, help: 'code lengths of the random codes' },
  'margin-q': { type: 'float', help: 'm_q (default tqlDefaults: max(bits/4, 6))' },
  classes: { type: 'int', default: 10, min: 2, help: 'P: classes per batch' },
  batch: { type: 'int', default: 130, min: 4, help: 'images per batch, P×K' },
  batches: { type: 'int', default: 20, min: 1, help: 'batches measured' },
  seed: { type: 'int', default: 1, min: 0, help: 'seed of the batches (and of the random codes)' },
  help: { type: 'bool', default: false, help: 'this text' },
};

try {
  const { opts } = train.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    console.log(train.usage('usage: node bench/kinks.js [--codes RUN/db.codes] [options]', SPEC));
    process.exit(0);
  }
  const P = opts.classes, K = Math.floor(opts.batch / P);
  const sets = [];
  if (opts.codes) {
    const db = hash.CodeDB.load(opts.codes);
    if (!db.labels) throw new train.UsageError(`${opts.codes} has no labels; the database codes of a training run have them`);
    sets.push({ what: opts.codes, k: db.bits, n: db.size, codes: Float64Array.from(hash.unpackCodes(db.data, db.size, db.bits)), labels: db.labels, random: false });
  } else {
    for (const k of opts.bits) sets.push({ what: 'random codes', k, n: 5000, ...train.randomCodes(5000, k, P, opts.seed), random: true });
  }
  console.log(`ste hinges exactly on the kink (z_q = 0), batch-all over ${opts.batches} P×K = ${P}×${K} batches, seed ${opts.seed}`);
  console.log('| codes | bits | m_q | valid triplets | on the kink | firing (z_q > 0) | random codes, exact |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of sets) {
    const mq = opts['margin-q'] ?? train.defaultMargin(s.k);
    const r = train.measureKinks(s.codes, s.labels, s.n, s.k, { P, K, batches: opts.batches, marginQ: mq, seed: opts.seed });
    const pc = (x) => `${((100 * x) / r.valid).toFixed(2)} %`;
    console.log(`| ${s.what} | ${s.k} | ${mq} | ${r.valid} | ${pc(r.kinks)} | ${pc(r.firing)} | ${s.random ? `${(100 * train.randomKinkShare(s.k, mq)).toFixed(2)} %` : '–'} |`);
  }
} catch (e) {
  if (!(e instanceof train.UsageError) && !(e instanceof RangeError) && e?.name !== 'DataError') throw e;
  console.error(`error: ${e.message}`);
  process.exitCode = 2;
}
