// The application wing stays readable: no function in src/train, src/cli (or src/bench, once its cases are split)
// is longer than 80 lines (scripts/fn-lengths.mjs counts them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lengthsIn } from '../scripts/fn-lengths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('no function in src/train or src/cli over 80 lines', () => {
  const over = lengthsIn([join(root, 'src/train'), join(root, 'src/cli')]).filter(([, n]) => n > 80);
  assert.equal(over, [], over.map(([name, n, at]) => `${name} ${n} lines (${at})`).join('; '));
});

test('the counter sees a long function', () => {
  const all = lengthsIn([join(root, 'src/bench')]);
  assert.ok(all.length > 10 && all[0][1] > 20, 'functions found in src/bench');
});

test.run();
