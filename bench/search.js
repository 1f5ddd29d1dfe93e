#!/usr/bin/env node
// `node bench/search.js [options]`: the same as `tqhash bench search [options]`; with --index FILE --query ID, the same
// as `tqhash search --index FILE --query ID` (the top hits of one image of a run). Both in src/cli/.
import { cli } from '../dist/index.js';

const argv = process.argv.slice(2);
process.exitCode = await (argv.some((a) => a === '--index' || a.startsWith('--index=')) ? cli.run('search', argv) : cli.run('bench', ['search', ...argv]));
