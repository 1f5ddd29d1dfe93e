// File-system faults of the main job: one `error:` line naming the path and the fix, exit code 2, before the GPU
// starts and the data loads; a checkpoint that cannot be read is named the same way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { quietly } from './util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-output-'));
const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 3, learnable: true });
const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16',
  '--batch', '40', '--epochs', '1', '--train-limit', '160', '--eval-limit', '60', '--val-queries', '20', '--val-db', '60', '--quiet'];


/** Runs the job; asserts exit 2 with one error line matching `re`, printed before the adapter and the data. */
async function failsEarly(args, re) {
  const r = await quietly(() => cli.run('train', args));
  assert.is(r.code, 2, r.out + r.errs);
  assert.is(r.errs.split('\n').length, 1, r.errs);
  assert.match(r.errs, /^error: /);
  assert.match(r.errs, re);
  assert.not.match(r.out, /adapter|data:/, 'nothing started');
  return r;
}

test('--out names an existing file, or a folder under a file', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  await failsEarly([...common, '--out', file], new RegExp(`--out ${file} is a file, not a folder: choose another --out, or move the file away`));
  await failsEarly([...common, '--out', join(file, 'run')], new RegExp(`cannot write --out ${file}/run \\(ENOTDIR\\): a file stands where a folder is needed`));
});

test('--out where the system refuses to write (/sys) fails before the data loads', async () => {
  await failsEarly([...common, '--out', '/sys/tqhash-out'], /cannot write --out \/sys\/tqhash-out \((EPERM|EACCES|EROFS)\): .*choose (another|a) folder/);
});

test('a checkpoint folder that is a file is named', async () => {
  const out = join(dir, 'ckfile');
  mkdirSync(out);
  writeFileSync(join(out, 'checkpoint'), 'not a folder');
  await failsEarly([...common, '--out', out], /the checkpoint folder .*checkpoint is a file, not a folder: choose another --out, or move the file away/);
});

test('each write fault gets its fix: EACCES, EPERM, EROFS, ENOSPC', () => {
  const err = (code) => Object.assign(new Error(`${code}: boom`), { code });
  const m = (code) => train.outputError('/r/x', err(code), '--out').message;
  assert.match(m('EACCES'), /^cannot write --out \/r\/x \(EACCES\): permission denied: make it writable \(chmod u\+w \/r\/x\)/);
  assert.match(m('EPERM'), /\(EPERM\): .*read-only or immutable.*lsattr \/r\/x/);
  assert.match(m('EROFS'), /\(EROFS\): the file system is mounted read-only/);
  assert.match(m('ENOSPC'), /\(ENOSPC\): no space left/);
  assert.ok(train.outputError('/r/x', err('EACCES')) instanceof train.OutputError);
});

test('an unreadable checkpoint on --resume: state.json not JSON, a missing model file', async () => {
  const out = join(dir, 'ck');
  let r = await quietly(() => cli.run('train', [...common, '--out', out, '--max-steps', '2']));
  assert.is(r.code, 0, r.errs);
  const sp = join(out, 'checkpoint', 'state.json');
  const good = readFileSync(sp, 'utf8');
  const model = join(out, 'checkpoint', JSON.parse(good).files.model);
  writeFileSync(sp, '{"version": 1, "files"');
  r = await failsEarly([...common, '--out', out, '--resume'], /checkpoint.*state\.json.*(JSON|json)/);
  assert.match(r.errs, /start over|another --out|delete|Move/);
  writeFileSync(sp, good);
  rmSync(model);
  r = await failsEarly([...common, '--out', out, '--resume'], new RegExp(`model-2\\.safetensors`));
  assert.match(r.errs, /another --out/);
});

test('--out under /proc fails at once (Node\'s recursive mkdir would spin there forever)', async () => {
  await failsEarly([...common, '--out', '/proc/tqhash-out/run'], /cannot write --out \/proc\/tqhash-out\/run \(ENOENT\): the system refuses to create a folder there/);
});

test('a new run refuses a folder holding a run\'s files but no checkpoint, and leaves the files as they were', async () => {
  const out = join(dir, 'userfiles');
  mkdirSync(out);
  writeFileSync(join(out, 'report.md'), 'my notes');
  writeFileSync(join(out, 'results.json'), '{"mine": true}');
  await failsEarly([...common, '--out', out], /userfiles already holds results\.json, report\.md but no checkpoint to continue: a new run would write over them; choose another --out, or move them away/);
  assert.is(readFileSync(join(out, 'report.md'), 'utf8'), 'my notes');
  assert.is(readFileSync(join(out, 'results.json'), 'utf8'), '{"mine": true}');
  assert.not.ok(existsSync(join(out, 'checkpoint')), 'no checkpoint folder left behind');
});

test('a data error comes before the GPU starts and leaves no folder behind', async () => {
  const out = join(dir, 'new', 'deeper');
  const r = await failsEarly([...common.filter((a, i) => common[i - 1] !== '--data' && a !== '--data'), '--data', join(dir, 'no-such-data'), '--out', out], /--data .*no-such-data: no such file or folder/);
  assert.not.match(r.out, /features|limits/, 'the adapter is not described: the GPU did not start');
  assert.not.ok(existsSync(join(dir, 'new')), 'the folders made for --out are removed');
});

test('a P×K batch the training set cannot fill is named with its flags, before the GPU starts', async () => {
  const args = [...common.filter((a, i) => a !== '--train-limit' && common[i - 1] !== '--train-limit'), '--train-limit', '5', '--out', join(dir, 'tiny')];
  await failsEarly(args, /P=10 classes per batch \(tqhash train --classes\), but the training set has only \d classes; use P ≤ \d/);
  assert.not.ok(existsSync(join(dir, 'tiny')));
});

test.run();
