#!/usr/bin/env node
// A study: a grid of training runs, resumable, aggregated (`node bench/study.js --help`). A thin entry point over dist/.
import { train } from '../dist/index.js';

process.exitCode = await train.studyMain(process.argv.slice(2));
