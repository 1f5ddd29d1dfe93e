#!/usr/bin/env node
// `node bench/demo.js RUN [--out DIR] [--serve [--port N]]`: the same as `tqhash demo …` (src/cli/demo.ts).
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('demo', process.argv.slice(2));
