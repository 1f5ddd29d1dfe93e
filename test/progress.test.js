// Progress bar and duration formatting of the long jobs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train } from '../dist/index.js';

test('formatDuration', () => {
  assert.is(train.formatDuration(12.4), '12s');
  assert.is(train.formatDuration(185), '3m05s');
  assert.is(train.formatDuration(3725), '1h02m');
  assert.is(train.formatDuration(NaN), '?');
});

test('a resumed bar estimates the ETA from the steps done since it started', async () => {
  const lines = [];
  const stream = { isTTY: false, write: (s) => lines.push(s) };
  const bar = new train.ProgressBar('epoch 2/5', 100, stream).startFrom(50);
  await new Promise((r) => setTimeout(r, 200));
  bar.update(51, { loss: 1.5 }, true);
  // 1 step since the resume in ≈ 0.2 s, 49 left → ≈ 10 s (counting the 50 resumed steps as done in 0.2 s would say 0 s).
  assert.match(lines[0], /epoch 2\/5 \[#+\.*\]\s+51%\s+51\/100\s+loss 1\.5\s+elapsed 0s\s+ETA \d+s/);
  const e0 = Number(/ETA (\d+)s/.exec(lines[0])[1]);
  assert.ok(e0 >= 7 && e0 <= 15, lines[0]);
  const slow = new train.ProgressBar('epoch 1/5', 100, stream).startFrom(0);
  await new Promise((r) => setTimeout(r, 200));
  slow.update(1, {}, true);
  // One step in 0.2 s with 99 left → about 20 s.
  const eta = /ETA (\d+)s/.exec(lines[1]);
  assert.ok(eta && Number(eta[1]) >= 15 && Number(eta[1]) <= 30, lines[1]);
});

test('in a log the first update draws at once, later ones at most every 10 s', () => {
  const lines = [];
  const stream = { isTTY: false, write: (s) => lines.push(s) };
  const bar = new train.ProgressBar('epoch 1/3', 10, stream);
  bar.update(1);
  bar.update(2);
  assert.is(lines.length, 1);
  assert.match(lines[0], /epoch 1\/3 \[.*\]\s+10%\s+1\/10/);
});

test.run();
