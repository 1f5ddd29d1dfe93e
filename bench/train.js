#!/usr/bin/env node
// `node bench/train.js cifar10 [options]`: the same as `tqhash train cifar10 [options]` (src/cli/train.ts).
import { cli } from '../dist/index.js';

process.exitCode = await cli.run('train', process.argv.slice(2));
