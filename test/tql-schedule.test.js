// The loss options of each training step (src/train/loss-schedule.ts): λ's warm-up and decay and the smooth form's β, by hand and
// end to end (λ = 0 at step 0 reaches the kernel: the first loss of a tql run with a warm-up is the triplet loss's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const cfg = (o) => ({ lambda: 2, lambdaWarmup: 0, lambdaDecay: 0, epochs: 10, betaGrowth: 2, loss: 'tql', tqForm: 'smooth', select: 'all', margin: 6, marginQ: 6, ...o });

test('λ ramps linearly over --lambda-warmup epochs (fractions allowed), then stays; 0 means no ramp', () => {
  const spe = 10;
  assert.equal([0, 5, 10, 15, 20, 21, 100].map((s) => train.lambdaAt(cfg({ lambdaWarmup: 2 }), s, spe)), [0, 0.5, 1, 1.5, 2, 2, 2]);
  assert.equal([0, 1, 4, 5, 6].map((s) => train.lambdaAt(cfg({ lambdaWarmup: 0.5 }), s, spe)), [0, 0.4, 1.6, 2, 2]);
  assert.is(train.lambdaAt(cfg({}), 0, spe), 2);
});

test('λ falls linearly to 0 over the last --lambda-decay epochs; with a warm-up the smaller factor wins', () => {
  const spe = 10;
  assert.equal([0, 20, 25, 30, 35, 39, 40].map((s) => train.lambdaAt(cfg({ lambdaDecay: 2, epochs: 4 }), s, spe)), [2, 2, 1.5, 1, 0.5, 0.1, 0]);
  // Warm-up over the first 2 epochs, decay over all 3: up 0, 0.5, 1 · down 1, 5/6, 2/3, 1/3.
  assert.equal([0, 5, 10, 20].map((s) => train.lambdaAt(cfg({ lambda: 6, lambdaWarmup: 2, lambdaDecay: 3, epochs: 3 }), s, spe)), [0, 1.5, 3, 2]);
});

test('β of the smooth code: 1 in the first epoch, ×--beta-growth at each epoch start', () => {
  const spe = 10;
  assert.equal([0, 9, 10, 19, 20, 35].map((s) => train.betaAt(cfg({ betaGrowth: 3 }), s, spe)), [1, 1, 3, 3, 9, 27]);
  assert.equal(train.lossOptionsAt(cfg({ lambdaWarmup: 1 }), 25, spe), { loss: 'tql', form: 'smooth', select: 'all', margin: 6, marginQ: 6, lambda: 2, beta: 4 });
});

test('end to end: with a λ warm-up the first step of a tql run has the triplet loss (λ = 0 reached the kernel); a decay scales it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tqhash-lw-'));
  const syn = writeSyntheticCifar(dir, { perFile: 40, tarGz: true, seed: 3, learnable: true });
  const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '40', '--bits', '16',
    '--batch', '40', '--epochs', '1', '--train-limit', '80', '--max-steps', '1', '--val-queries', '0', '--quiet'];
  const firstLoss = async (name, extra) => {
    const out = join(dir, name);
    const { log } = console;
    console.log = () => {};
    try {
      assert.is(await cli.run('train', [...common, ...extra, '--out', out]), 0);
    } finally {
      console.log = log;
    }
    return JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8')).lossHistory[0].loss;
  };
  const triplet = await firstLoss('triplet', ['--loss', 'triplet']);
  const warm = await firstLoss('warm', ['--loss', 'tql', '--lambda-warmup', '1']);
  const plain = await firstLoss('plain', ['--loss', 'tql']);
  assert.is(warm, triplet);
  assert.ok(plain > triplet + 1e-3, `without the warm-up the quantisation term adds to the loss: ${plain} vs ${triplet}`);
  // 2 steps in the run, decay over 4 epochs = 8 steps: step 0 has λ·(2 − 0)/8 = λ/4, so λ = 4 reaches the kernel as 1.
  const decayed = await firstLoss('decay', ['--loss', 'tql', '--lambda', '4', '--lambda-decay', '4']);
  assert.is(decayed, plain);
});

test.run();
