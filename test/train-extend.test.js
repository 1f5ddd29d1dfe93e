// Finished runs can be extended with a larger --epochs (the schedule re-planned, the report says so) but not
// shortened; the warm-up is capped at a quarter of the run, so a short run reaches the peak learning rate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { quietly } from './util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-extend-'));
const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 4, learnable: true });
const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16',
  '--batch', '40', '--train-limit', '160', '--eval-limit', '60', '--val-queries', '20', '--val-db', '60', '--quiet'];


test('a finished run is extended by --resume --epochs N: schedule re-planned, results and report say so', async () => {
  const out = join(dir, 'ext');
  let r = await quietly(() => cli.run('train', [...common, '--epochs', '1', '--out', out]));
  assert.is(r.code, 0, r.errs);
  r = await quietly(() => cli.run('train', [...common, '--epochs', '2', '--out', out, '--resume']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.out, /extending the run from 1 to 2 epochs at step 4: the learning-rate schedule is re-planned for 2 epochs/);
  assert.match(r.out, /resumed from .*epoch 2, step 0, 4 steps done/);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal([res.epochs, res.steps, res.epochLog.length], [2, 8, 2]);
  assert.equal(res.extensions, [{ step: 4, fromEpochs: 1, toEpochs: 2 }]);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /Extended with --resume --epochs: from 1 to 2 epochs at step 4; the learning-rate schedule was re-planned/);
  r = await quietly(() => cli.run('train', [...common, '--epochs', '1', '--out', out, '--resume']));
  assert.is(r.code, 2);
  assert.match(r.errs, /--resume --epochs 1: the run in .* was planned for 2 epochs; it can be extended \(--epochs 3 or more\) but not shortened/);
  r = await quietly(() => cli.run('train', [...common, '--epochs', '2', '--out', out]));
  assert.is(r.code, 2);
  assert.match(r.errs, /already holds a checkpoint; pass --resume/);
});

test('warm-up is capped at a quarter of the run: --epochs 1 reaches the peak learning rate', () => {
  const { opts } = train.parseArgs(['cifar10', '--epochs', '1'], train.TRAIN_SPEC);
  const cfg = train.resolveConfig(opts, 48, false);
  assert.is(cfg.warmupEpochs, 1);
  assert.is(train.WARMUP_CAP, 0.25);
  assert.is(train.warmupSteps(cfg, 100), 25);
  const lrs = Array.from({ length: 100 }, (_, s) => train.lrAt(cfg, s, 100));
  assert.is(Math.max(...lrs), cfg.lr);
  const peakAt = lrs.indexOf(cfg.lr);
  assert.ok(peakAt >= 23 && peakAt <= 25, `peak at step ${peakAt}`);
  assert.ok(lrs[0] < cfg.lr / 10 && lrs[99] < cfg.lr / 10, 'rises from near 0, decays to near the minimum');
  // The default run (7 epochs, 1 warm-up epoch) is unchanged.
  const seven = train.resolveConfig(train.parseArgs(['cifar10'], train.TRAIN_SPEC).opts, 48, false);
  assert.is(train.warmupSteps(seven, 100), 100);
});

test('the warm-up text says "capped" only when the cap cut it, not when --warmup rounded to whole steps', () => {
  const cfgOf = (argv) => train.resolveConfig(train.parseArgs(['cifar10', ...argv], train.TRAIN_SPEC).opts, 48, false);
  // 0.25 of 193 steps rounds to 48 steps (0.249 epochs); the cap of 2 epochs is 96 steps: not capped.
  assert.is(train.warmupText(cfgOf(['--epochs', '2', '--warmup', '0.25']), 193), '0.249 warm-up epochs');
  // 1 epoch of a 2-epoch run is cut to a quarter of it, 96 steps.
  assert.is(train.warmupText(cfgOf(['--epochs', '2', '--warmup', '1']), 193), '0.497 warm-up epochs (--warmup 1 capped at 25 % of the run)');
  assert.is(train.warmupText(cfgOf(['--epochs', '10']), 100), '1 warm-up epochs');
});

test.run();
