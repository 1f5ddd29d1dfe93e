#!/usr/bin/env node
// `node bench/step.js [options]`: the same as `tqhash bench step [options]` (src/cli/bench.ts).
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('bench', ['step', ...process.argv.slice(2)]);
