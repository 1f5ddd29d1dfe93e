#!/usr/bin/env node
// Training-step throughput of the hashing network (forward + TQL loss + backward + Adam, one submit per step), and a
// per-kernel breakdown: each dispatch of one recorded step replayed alone, aggregated per kernel.
// With --peer, PyTorch's step of the same network, loss and optimiser (bench/peers/peers.py) before and after ours: the
// ratio of one run (--peer FILE reads a saved peers.py JSON instead).
// Usage: node bench/step.js [--batch 128] [--model dsh|resnet] [--bits 48] [--steps N] [--no-bn] [--no-breakdown] [--quick] [--peer [FILE]] [--json FILE]
import { writeFileSync } from 'node:fs';
import * as tq from '../dist/index.js';

const HELP = `node bench/step.js [--batch 128] [--model dsh|resnet] [--bits 48] [--steps 10] [--no-bn] [--no-breakdown] [--quick] [--peer [FILE]] [--json FILE]
  --peer         run PyTorch's step (bench/peers/peers.py, TQHASH_PYTHON or /usr/bin/python3 with python3-torch) before and after ours: ratio of one run
  --peer FILE    the ratio against a saved peers.py JSON`;
let args, peer;
try {
  if (process.argv.includes('--help')) { console.log(HELP); process.exit(0); }
  const split = tq.bench.takePeerArg(process.argv.slice(2));
  peer = split.peer;
  args = tq.bench.parseArgs(split.argv, { batch: 'number', model: 'string', bits: 'number', steps: 'number', bn: 'bool', breakdown: 'bool', quick: 'bool', json: 'string' });
  if (args.model !== undefined && args.model !== 'dsh' && args.model !== 'resnet') throw new Error(`--model ${args.model}: use dsh or resnet`);
} catch (e) {
  console.error(`${e.message}\n${HELP}`);
  process.exit(2);
}
await tq.init();
try {
  const report = await tq.bench.runStepBench({
    batch: args.batch, model: args.model, bits: args.bits, steps: args.steps, bn: args.bn, noBreakdown: args.breakdown === false, quick: !!args.quick, peer,
  });
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ command: `node bench/step.js ${process.argv.slice(2).join(' ')}`.trim(), ...report }, null, 2));
    console.log(`wrote ${args.json}`);
  }
} finally {
  await tq.gpu.disposeRuntime();
}
