// The application wing stays readable: no function in src/train, src/bench or src/cli is longer than 80 lines
// (scripts/fn-lengths.mjs counts them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lengthsIn } from '../scripts/fn-lengths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('no function in src/train, src/bench or src/cli over 80 lines', () => {
  const over = lengthsIn(['src/train', 'src/bench', 'src/cli'].map((d) => join(root, d))).filter(([, n]) => n > 80);
  assert.equal(over, [], over.map(([name, n, at]) => `${name} ${n} lines (${at})`).join('; '));
});

test('the counter finds functions, methods and arrow functions with their lengths', () => {
  const all = lengthsIn([join(root, 'src/bench')]);
  assert.ok(all.length > 20 && all[0][1] > 20, 'functions found in src/bench');
  const names = new Set(all.map(([name]) => name));
  for (const name of ['runKernelBench', 'run', 'convCases', 'cpuTime']) assert.ok(names.has(name), name);
});

test.run();
