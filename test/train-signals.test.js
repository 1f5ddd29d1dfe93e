// Stop requests on real child processes: two signals together are one request, a later one quits at once and
// leaves the last checkpoint whole, a signal during the final evaluation stops it promptly and --resume then
// evaluates alone; a finished run says so. The policy itself is checked against a fake clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { spawnTrain, sleep } from './train-child.js';
import { quietly } from './util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-signals-'));
// 12,000 images: reading them takes long enough for signals to land during the load, and the final evaluation of
// 2,000 × 2,000 images long enough for one to land during it, on any machine.
const syn = writeSyntheticCifar(dir, { perFile: 2000, tarGz: true, seed: 7, learnable: true });
const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '2000', '--bits', '16',
  '--batch', '40', '--epochs', '1', '--train-limit', '160', '--eval-limit', '2000', '--val-queries', '20', '--val-db', '60'];
const state = (out) => readFileSync(join(out, 'checkpoint/state.json'), 'utf8');


test('the policy: the first signal stops, repeats within 2 s are the same request, a later one quits', () => {
  const r = new train.StopRequests();
  assert.is(r.signal.aborted, false);
  assert.is(r.receive('SIGTERM', 1000), 'stop');
  assert.is(r.signal.aborted, true);
  assert.is(r.code, 143);
  assert.is(r.receive('SIGINT', 1000 + train.SAME_REQUEST_MS), 'same');
  assert.is(r.receive('SIGTERM', 1001 + train.SAME_REQUEST_MS), 'quit');
  assert.is(r.code, 143, 'the exit code is the first signal\'s');
  assert.is(train.SAME_REQUEST_MS, 2000);
});

/** A run stopped by --max-steps 3 in `out` (a checkpoint to resume). */
async function threeSteps(out) {
  const r = await quietly(() => cli.run('train', [...common, '--quiet', '--out', out, '--max-steps', '3']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.out, /--max-steps 3 reached, so no final evaluation; checkpoint saved/);
  return state(out);
}

test('two SIGINTs together are one stop request: the run stops and saves, it does not quit', async () => {
  const out = join(dir, 'double');
  const before = JSON.parse(await threeSteps(out));
  const run = spawnTrain([...common, '--out', out, '--resume']);
  await run.waitFor(/^== /m, 'stdout'); // the run's header: the data load begins (before the GPU starts)
  run.child.kill('SIGINT');
  await sleep(20);
  run.child.kill('SIGINT');
  assert.is(await run.exited, 130, run.out.stderr);
  assert.match(run.out.stderr, /Ctrl-C again within 2 s: the same stop request/);
  assert.not.match(run.out.stderr, /exiting now/);
  assert.match(run.out.stdout, /stopped at epoch 1, step 3 \(3 steps done\); checkpoint saved/);
  const after = JSON.parse(state(out));
  assert.is(after.globalStep, before.globalStep);
  assert.ok(existsSync(join(out, 'checkpoint', after.files.model)));
});

test('a signal 2 s after the first quits at once, and the last checkpoint stays whole', async () => {
  const out = join(dir, 'quit');
  const before = await threeSteps(out);
  const run = spawnTrain([...common, '--out', out, '--resume']);
  await run.waitFor(/^== /m, 'stdout'); // the run's header: the data load begins (before the GPU starts)
  run.child.kill('SIGINT');
  await run.waitFor(/Ctrl-C: stopping after this step/);
  // Held while the second signal is sent 2.2 s later, so the load cannot finish first on a fast machine.
  run.child.kill('SIGSTOP');
  await sleep(2200);
  run.child.kill('SIGINT');
  run.child.kill('SIGCONT');
  assert.is(await run.exited, 130, run.out.stderr);
  assert.match(run.out.stderr, /Ctrl-C again: exiting now; the last completed checkpoint is kept/);
  assert.not.match(run.out.stdout, /stopped at epoch/);
  assert.is(state(out), before, 'state.json untouched');
  const ck = train.loadCheckpoint(join(out, 'checkpoint'));
  assert.is(ck.state.globalStep, 3);
});

test('a signal during the final evaluation stops it promptly; --resume evaluates alone; a finished run says so', async () => {
  const out = join(dir, 'eval');
  const run = spawnTrain([...common, '--out', out]);
  await run.waitFor(/encoding queries \[/);
  run.child.kill('SIGTERM');
  assert.is(await run.exited, 143, run.out.stderr);
  assert.match(run.out.stdout, /stopped during the final evaluation; the trained model is saved .*--resume runs the evaluation alone/);
  assert.not.ok(existsSync(join(out, 'results.json')));
  assert.ok(existsSync(join(out, 'model.safetensors')));
  const steps = JSON.parse(state(out)).globalStep;
  let r = await quietly(() => cli.run('train', [...common, '--quiet', '--out', out, '--resume']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.out, new RegExp(`training finished \\(${steps} steps done\\); running the final evaluation`));
  assert.not.match(r.out, /epoch 2/);
  const results = readFileSync(join(out, 'results.json'), 'utf8');
  assert.is(JSON.parse(results).steps, steps);
  r = await quietly(() => cli.run('train', [...common, '--quiet', '--out', out, '--resume']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.out, /the run in .* is finished \(1 epochs, 4 steps\); its results are in .*results\.json\. Nothing to do; to train it longer, pass --resume with a larger --epochs/);
  assert.is(readFileSync(join(out, 'results.json'), 'utf8'), results, 'not evaluated again');
});

test.run();
