#!/usr/bin/env node
// Hamming top-k over random codes: GPU kernel vs the plain CPU implementation (queries/s) and a check that both
// return the same neighbours. Reference bar: FAISS IndexBinaryFlat ≈ 1,040 queries/s on this machine (DESIGN.md).
// Usage: node bench/search.js [--n 1000000] [--q 1000] [--bits 64] [--k 100] [--seed 1] [--repeats 3] [--json FILE]
import { writeFileSync } from 'node:fs';
import * as tq from '../dist/index.js';

const HELP = `node bench/search.js [--n 1000000] [--q 1000] [--bits 64] [--k 100] [--seed 1] [--repeats 3] [--json FILE]
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
let args;
try {
  if (process.argv.includes('--help')) { console.log(HELP); process.exit(0); }
  args = tq.bench.parseArgs(process.argv.slice(2), { n: 'number', q: 'number', bits: 'number', k: 'number', seed: 'number', repeats: 'number', json: 'string' });
  tq.bench.checkSearchOptions(args);
} catch (e) {
  console.error(`error: ${e.message}\n${HELP}`);
  process.exit(2);
}
await tq.init();
let failed = false;
try {
  const report = await tq.bench.runSearchBench(args);
  failed = report.check.mismatched_queries > 0;
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ command: `node bench/search.js ${process.argv.slice(2).join(' ')}`.trim(), ...report }, null, 2));
    console.log(`wrote ${args.json}`);
  }
} finally {
  await tq.gpu.disposeRuntime();
}
if (failed) process.exit(1);
