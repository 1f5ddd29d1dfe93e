#!/usr/bin/env node
// A study: a grid of training runs, resumable, aggregated (`node bench/study.js --help`). A thin entry point over dist/.
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('study', process.argv.slice(2));
