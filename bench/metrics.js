#!/usr/bin/env node
// `node bench/metrics.js [options]`: the same as `tqhash bench metrics [options]` (src/cli/bench.ts).
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('bench', ['metrics', ...process.argv.slice(2)]);
