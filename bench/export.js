#!/usr/bin/env node
// `node bench/export.js RUN --format F [--out DIR]`: the same as `tqhash export RUN --format F` (src/cli/export.ts).
import { pathToFileURL } from 'node:url';
import { cli } from '../dist/index.js';

export const { parseExportArgs, EXPORT_HELP: HELP } = cli;
/** Runs the command; returns the exit code (0 done, 2 bad arguments, RUN folder or --out, 1 failed: src/cli/export.ts). */
export const main = (argv) => cli.run('export', argv);

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
