#!/usr/bin/env node
// `node bench/kernels.js [options]`: the same as `tqhash bench kernels [options]` (src/cli/bench.ts).
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('bench', ['kernels', ...process.argv.slice(2)]);
