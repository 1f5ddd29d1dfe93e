// The ste kink measurement (src/train/kinks.ts, bench/kinks.js): the closed form for random codes by hand, the sampled
// share against it, and the tool on a saved code file whose kink count is known by construction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { train, hash } from '../dist/index.js';

test('random codes: P(h_an − h_ap = m_q/4) = C(2k, k + m_q/4) / 4^k, 0 off the lattice', () => {
  assert.ok(Math.abs(train.randomKinkShare(4, 4) - 56 / 256) < 1e-15); // C(8, 5) / 4⁴
  assert.ok(Math.abs(train.randomKinkShare(16, 8) - 471435600 / 4 ** 16) < 1e-15); // C(32, 18) / 4¹⁶
  assert.is(train.randomKinkShare(48, 6), 0);
  assert.is(train.randomKinkShare(4, 20), 0);
});

test('the sampled share of random codes matches the closed form', () => {
  const k = 16, { codes, labels } = train.randomCodes(2000, k, 10, 4);
  const r = train.measureKinks(codes, labels, 2000, k, { P: 10, K: 6, batches: 6, marginQ: 8, seed: 2 });
  assert.is(r.valid, 6 * 10 * 6 * 5 * 54); // per batch: 60 anchors × 5 positives × 54 negatives
  // Triplets of one batch share codes, so the effective sample is far below r.valid: 0.015 is ~4 sd of the batch mean.
  assert.ok(Math.abs(r.kinks / r.valid - train.randomKinkShare(k, 8)) < 0.015, `${r.kinks / r.valid} vs ${train.randomKinkShare(k, 8)}`);
  assert.ok(r.firing > 0 && r.firing + r.kinks < r.valid);
});

test('bench/kinks.js on a code file: every valid triplet on the kink when d(b_a,b_n) − d(b_a,b_p) = m_q', () => {
  // Two classes of identical codes, 8 bits: class 0 all +1, class 1 with 2 bits flipped: h_ap = 0, h_an = 2 → kink at m_q = 8.
  const db = new hash.CodeDB(8);
  const f = new Float32Array(40 * 8).fill(1);
  for (let i = 20; i < 40; i++) { f[i * 8] = -1; f[i * 8 + 1] = -1; }
  db.add(hash.signPackCpu(f, 40, 8), Uint32Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 1)));
  const file = join(mkdtempSync(join(tmpdir(), 'tqhash-kinks-')), 'db.codes');
  db.save(file);
  const run = (mq) => spawnSync(process.execPath, ['bench/kinks.js', '--codes', file, '--classes', '2', '--batch', '8', '--batches', '2', '--margin-q', String(mq)], { encoding: 'utf8' });
  const on = run(8);
  assert.is(on.status, 0, on.stderr);
  assert.match(on.stdout, /\| 8 \| 8 \| 192 \| 100\.00 % \| 0\.00 % \| – \|/); // 2 batches × 8 anchors × 3 positives × 4 negatives
  assert.match(run(9).stdout, /\| 192 \| 0\.00 % \| 100\.00 % \|/);
  const bad = spawnSync(process.execPath, ['bench/kinks.js', '--codes', file, '--classes', '3', '--batch', '9'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^error: measureKinks: 2 classes have ≥ 3 codes; need P = 3/);
});

test.run();
