#!/usr/bin/env node
// The main job: `node bench/train.js cifar10 [options]` (see --help). A thin entry point over dist/.
import { train } from '../dist/index.js';

process.exitCode = await train.main(process.argv.slice(2));
