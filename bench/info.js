#!/usr/bin/env node
// `node bench/info.js [--json]`: the same as `tqhash info` (src/cli/info.ts), the adapter block that heads every report.
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('info', process.argv.slice(2));
