#!/usr/bin/env node
// Training-step throughput of the hashing network (forward + TQL loss + backward + Adam, one submit per step), and a
// per-kernel breakdown: each dispatch of one recorded step replayed alone, aggregated per kernel.
// Usage: node bench/step.js [--batch 128] [--model dsh|resnet] [--bits 48] [--steps N] [--no-bn] [--no-breakdown] [--quick] [--json FILE]
import { writeFileSync } from 'node:fs';
import * as tq from '../dist/index.js';

const HELP = `node bench/step.js [--batch 128] [--model dsh|resnet] [--bits 48] [--steps 10] [--no-bn] [--no-breakdown] [--quick] [--json FILE]`;
let args;
try {
  if (process.argv.includes('--help')) { console.log(HELP); process.exit(0); }
  args = tq.bench.parseArgs(process.argv.slice(2), { batch: 'number', model: 'string', bits: 'number', steps: 'number', bn: 'bool', breakdown: 'bool', quick: 'bool', json: 'string' });
  if (args.model !== undefined && args.model !== 'dsh' && args.model !== 'resnet') throw new Error(`--model ${args.model}: use dsh or resnet`);
} catch (e) {
  console.error(`${e.message}\n${HELP}`);
  process.exit(2);
}
await tq.init();
try {
  const report = await tq.bench.runStepBench({
    batch: args.batch, model: args.model, bits: args.bits, steps: args.steps, bn: args.bn, noBreakdown: args.breakdown === false, quick: !!args.quick,
  });
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ command: `node bench/step.js ${process.argv.slice(2).join(' ')}`.trim(), ...report }, null, 2));
    console.log(`wrote ${args.json}`);
  }
} finally {
  await tq.gpu.disposeRuntime();
}
