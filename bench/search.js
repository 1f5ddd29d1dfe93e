#!/usr/bin/env node
// Hamming top-k over random codes: GPU kernel variants vs the plain CPU implementation (queries/s), a check that all
// return the same neighbours, and with --peer the ratio to FAISS IndexBinaryFlat measured in the same run
// (bench/peers/peers.py before and after ours; --peer FILE reads a saved peers.py JSON instead).
// Usage: node bench/search.js [--n 1000000] [--q 1000] [--bits 64] [--k 100] [--seed 1] [--repeats 5] [--variants bmin,hist] [--peer [FILE]] [--json FILE]
import { writeFileSync } from 'node:fs';
import * as tq from '../dist/index.js';

const HELP = `node bench/search.js [--n 1000000] [--q 1000] [--bits 64] [--k 100] [--seed 1] [--repeats 5] [--variants bmin,hist] [--peer [FILE]] [--json FILE]
  --peer         run FAISS IndexBinaryFlat (bench/peers/peers.py, TQHASH_PYTHON or /usr/bin/python3 with python3-faiss) before and after ours: ratio of one run
  --peer FILE    the ratio against a saved peers.py JSON
node bench/search.js --index OUT/db.codes --query IMAGE [--k 10] [--queries OUT/query.codes]   (top hits of one image)`;
if (process.argv.includes('--index')) {
  // Lookup mode: the codes of a training run, no GPU needed.
  try {
    const a = tq.train.parseArgs(process.argv.slice(2), {
      index: { type: 'string', help: 'db.codes of a run' }, query: { type: 'int', min: 0, help: 'image index' },
      k: { type: 'int', default: 10, min: 1, help: 'hits' }, queries: { type: 'string', help: 'query.codes (default beside --index)' },
    }).opts;
    if (a.query === undefined) throw new tq.train.UsageError('--query IMAGE is required with --index (an image index of the run\'s queries or database)');
    console.log(tq.train.formatLookup(await tq.train.lookup(a.index, a.query, a.k, a.queries)));
    process.exit(0);
  } catch (e) {
    console.error(`error: ${e.message}\n${HELP}`);
    process.exit(2);
  }
}
let args, peer;
try {
  if (process.argv.includes('--help')) { console.log(HELP); process.exit(0); }
  const split = tq.bench.takePeerArg(process.argv.slice(2));
  peer = split.peer;
  args = tq.bench.parseArgs(split.argv, { n: 'number', q: 'number', bits: 'number', k: 'number', seed: 'number', repeats: 'number', variants: 'string', json: 'string' });
  tq.bench.checkSearchOptions(args);
} catch (e) {
  console.error(`error: ${e.message}\n${HELP}`);
  process.exit(2);
}
await tq.init();
let failed = false;
try {
  const report = await tq.bench.runSearchBench({ ...args, variants: args.variants?.split(','), peer });
  failed = report.variants.some((v) => v.mismatched_queries > 0);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ command: `node bench/search.js ${process.argv.slice(2).join(' ')}`.trim(), ...report }, null, 2));
    console.log(`wrote ${args.json}`);
  }
} finally {
  await tq.gpu.disposeRuntime();
}
if (failed) process.exit(1);
