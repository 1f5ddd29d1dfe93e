#!/usr/bin/env node
// The `tqhash` command (package.json "bin"): the subcommand table is src/cli/index.ts.
import { cli } from '../dist/index.js';

process.exitCode = await cli.main(process.argv.slice(2));
