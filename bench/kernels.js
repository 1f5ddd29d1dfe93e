#!/usr/bin/env node
// Kernel benchmark: adapter block + ceilings measured in this process, then every kernel family at the network's shapes,
// variants side by side, with GFLOP/s or GB/s, fraction of the ceiling and the float64 CPU reference's time.
// Usage: node bench/kernels.js [--json FILE] [--filter NAME] [--quick] [--batch N] [--cpu-budget SECONDS]
import { writeFileSync } from 'node:fs';
import * as tq from '../dist/index.js';

const HELP = `node bench/kernels.js [--json FILE] [--filter NAME] [--quick] [--batch N] [--cpu-budget S]
  --json FILE      also write { adapter, ceilings, rows } to FILE
  --filter NAME    only rows whose family/name/variant/shape contains NAME (e.g. gemm, conv2, adam, vec4)
  --quick          CI-sized shapes and short timings
  --batch N        network batch (default: 128 and 256)
  --cpu-budget S   a float64 CPU reference projected over S seconds is timed on a slice and scaled (default 20)`;

let args;
try {
  if (process.argv.includes('--help')) { console.log(HELP); process.exit(0); }
  args = tq.bench.parseArgs(process.argv.slice(2), { json: 'string', filter: 'string', quick: 'bool', batch: 'number', 'cpu-budget': 'number' });
} catch (e) {
  console.error(`${e.message}\n${HELP}`);
  process.exit(2);
}
await tq.init();
try {
  const report = await tq.bench.runKernelBench({
    filter: args.filter, quick: !!args.quick, batches: args.batch ? [args.batch] : undefined, cpuBudgetS: args['cpu-budget'],
  });
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ command: `node bench/kernels.js ${process.argv.slice(2).join(' ')}`.trim(), ...report }, null, 2));
    console.log(`wrote ${args.json} (${report.rows.length} rows)`);
  }
} finally {
  await tq.gpu.disposeRuntime();
}
