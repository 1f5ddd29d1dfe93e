// The main job end to end on a synthetic CIFAR-shaped archive written here (the real data set is not needed):
// mAP above chance, every results.json field, resume reproduces an uninterrupted run, bad archives are named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { spawnTrain } from './train-child.js';
import { data, train, cli, nn, hash } from '../dist/index.js';
import { quietly } from './util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-smoke-'));
const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 5, learnable: true });
const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16',
  '--batch', '40', '--epochs', '2', '--train-limit', '160', '--eval-limit', '60', '--val-queries', '20', '--val-db', '60', '--quiet'];

/** The model file the checkpoint in `out` names. */
const ckptModel = (out) => join(out, 'checkpoint', JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8')).files.model);

/** Largest relative difference between two safetensors files' tensors (same names). */
function worstRelDiff(pa, pb) {
  const a = nn.readSafetensors(pa).tensors, b = nn.readSafetensors(pb).tensors;
  assert.equal(Object.keys(b).sort(), Object.keys(a).sort());
  let worst = 0;
  for (const [name, t] of Object.entries(a)) {
    const u = b[name].data;
    for (let i = 0; i < t.data.length; i++) {
      const x = Number(t.data[i]), y = Number(u[i]); // num_batches_tracked is int64 (BigInt)
      worst = Math.max(worst, Math.abs(x - y) / (1e-6 + Math.abs(x)));
    }
  }
  return worst;
}


test('trains on a synthetic archive: mAP above chance, results.json complete, report and plots written', async () => {
  const out = join(dir, 'full');
  const { code, lines } = await quietly(() => cli.run('train', [...common, '--out', out]));
  assert.is(code, 0, lines.join('\n'));
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  for (const key of ['dataset', 'protocol', 'split', 'model', 'loss', 'bits', 'seed', 'epochs', 'imagesPerSecond', 'wallSeconds', 'adapter', 'binary', 'real', 'epochLog', 'date', 'command', 'augment']) {
    assert.ok(key in r, `results.json has ${key}`);
  }
  for (const m of [r.binary, r.real]) {
    for (const key of ['map', 'mapAt', 'precisionAtK', 'pr', 'ranking', 'tieRule']) assert.ok(key in m, `metrics have ${key}`);
  }
  assert.ok('precisionRadius2' in r.binary);
  // Where the wall time went: every part measured, together within the wall time.
  const { ranking, ...parts } = r.time;
  const all = [...Object.values(parts), ranking.binary, ranking.real];
  assert.equal(Object.keys(parts), ['startup', 'training', 'validation', 'checkpoints', 'encoding']);
  assert.ok(all.every((x) => Number.isFinite(x) && x >= 0), JSON.stringify(r.time));
  assert.ok(all.reduce((a, b) => a + b, 0) <= r.wallSeconds, `${JSON.stringify(r.time)} vs wall ${r.wallSeconds}`);
  assert.is(r.time.training, r.trainSeconds);
  assert.ok(r.time.validation > 0 && r.epochLog.every((e) => e.valSeconds > 0), 'per-epoch validation timed');
  // The VM host's steal while the run went (a share of the machine's CPU time; null only without /proc/stat).
  assert.ok(r.steal === null ? !existsSync('/proc/stat') : r.steal >= 0 && r.steal <= 1, `steal ${r.steal}`);
  assert.is(r.dataset, 'cifar10');
  assert.is(r.bits, 16);
  // 10 balanced classes: a random ranking has mAP ≈ 0.1.
  assert.ok(r.binary.map > 0.3, `binary mAP ${r.binary.map} should be well above chance (0.1)`);
  for (const f of ['report.md', 'pr.svg', 'precision_at_k.svg', 'loss.svg', 'db.codes', 'query.codes', 'split.json', 'checkpoint/state.json', 'model.safetensors']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  // The checkpoint holds one set (older sets deleted), and the final model is the last checkpoint's.
  const st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.equal(readdirSync(join(out, 'checkpoint')).sort(), [st.files.model, st.files.optimizer, 'state.json'].sort());
  assert.equal(st.files, { model: `model-${st.globalStep}.safetensors`, optimizer: `optimizer-${st.globalStep}.safetensors` });
  assert.is(worstRelDiff(join(out, 'model.safetensors'), ckptModel(out)), 0);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /cifar10 · dsh · 16 bits/);
  // The code that made the result: the package version, and the commit when run from a git checkout (this one).
  assert.is(r.version.package, JSON.parse(readFileSync('package.json', 'utf8')).version);
  if (existsSync('.git')) {
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    assert.is(r.version.commit, head);
    assert.type(r.version.modified, 'boolean');
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), new RegExp(`Code: tqhash [^,]+, commit ${head.slice(0, 12)}`));
  }
  assert.match(readFileSync(join(out, 'pr.svg'), 'utf8'), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
});

test('bench/search.js --index shows the top hits of a query image with labels', async () => {
  const out = join(dir, 'full');
  const q = hash.CodeDB.load(join(out, 'query.codes'));
  const id = Number(q.ids[0]);
  const r = spawnSync(process.execPath, ['bench/search.js', '--index', join(out, 'db.codes'), '--query', String(id), '--k', '5'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`query image ${id} \\(${q.labels[0]} `));
  assert.is(r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d/.test(l)).length, 5, r.stdout);
  assert.match(r.stdout, /precision@5: [01]\.\d{3}/);
  const bad = spawnSync(process.execPath, ['bench/search.js', '--index', join(out, 'db.codes'), '--query', '99999999'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--query 99999999: no image 99999999 in the run's queries or database \(.*db\.codes holds \d+ ids: /);
});

test('an interrupted run resumed with --resume ends with the same weights as the uninterrupted one', async () => {
  const out = join(dir, 'resumed');
  let res = await quietly(() => cli.run('train', [...common, '--out', out, '--max-steps', '3']));
  assert.is(res.code, 0, res.lines.join('\n'));
  assert.ok(!existsSync(join(out, 'results.json')), 'stopped early: no results yet');
  const st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.is(st.globalStep, 3);
  // Without --resume an existing checkpoint is not overwritten.
  res = await quietly(() => cli.run('train', [...common, '--out', out]));
  assert.is(res.code, 2);
  res = await quietly(() => cli.run('train', [...common, '--out', out, '--resume']));
  assert.is(res.code, 0, res.lines.join('\n'));
  const worst = worstRelDiff(join(dir, 'full', 'model.safetensors'), join(out, 'model.safetensors'));
  // The kernels are deterministic (no float atomics), so the resumed run reproduces the weights to float tolerance.
  assert.ok(worst < 1e-5, `largest relative weight difference ${worst}`);
  const ra = JSON.parse(readFileSync(join(dir, 'full', 'results.json'), 'utf8'));
  const rb = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.ok(Math.abs(ra.binary.map - rb.binary.map) < 1e-6, `mAP ${ra.binary.map} vs ${rb.binary.map}`);
  // Wall time spans both processes: the first one's, saved with its checkpoint, plus the second's.
  assert.is(ra.sessions, 1);
  assert.is(rb.sessions, 2);
  assert.ok(rb.wallSeconds > st.wallSeconds && st.wallSeconds > 0, `wall ${rb.wallSeconds} s after ${st.wallSeconds} s before the stop`);
  assert.ok(!('wallNote' in rb));
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /over 2 processes \(resumed\)/);
});

test('--checkpoint-minutes: a run killed outright (SIGKILL) within an epoch resumes from its last save to the uninterrupted result', async () => {
  const out = join(dir, 'killed');
  // 1e-9 minutes: a save after every step within an epoch; the run is killed at the first one seen.
  const child = spawn(process.execPath, ['bench/train.js', ...common, '--checkpoint-minutes', '1e-9', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('close', (c, sig) => resolve(sig ?? c)));
  const seen = await new Promise((resolve) => {
    const timer = setInterval(() => {
      let st;
      try {
        st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
      } catch {
        return; // not written yet
      }
      if (st.step > 0) {
        child.kill('SIGKILL');
        clearInterval(timer);
        resolve(st);
      }
    }, 2);
    child.on('exit', () => { clearInterval(timer); resolve(null); });
  });
  assert.ok(seen, `the run ended before a save within an epoch was seen:\n${stderr}`);
  assert.is(await exited, 'SIGKILL');
  assert.is(seen.epochPartial.count, seen.step, 'the saved partial epoch counts the steps done in it');
  assert.not.ok(existsSync(join(out, 'results.json')));
  const r = await quietly(() => cli.run('train', [...common, '--out', out, '--resume']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.lines.join('\n'), /resumed from .*epoch \d+, step [1-9]/);
  const worst = worstRelDiff(join(dir, 'full', 'model.safetensors'), join(out, 'model.safetensors'));
  assert.ok(worst < 1e-5, `largest relative weight difference ${worst}`);
  // Each epoch's logged loss covers all of its steps, those before the kill included.
  const ra = JSON.parse(readFileSync(join(dir, 'full', 'results.json'), 'utf8'));
  const rb = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(rb.epochLog.length, ra.epochLog.length);
  for (let e = 0; e < ra.epochLog.length; e++) {
    assert.ok(Math.abs(rb.epochLog[e].loss - ra.epochLog[e].loss) <= 1e-5 * Math.abs(ra.epochLog[e].loss), `epoch ${e + 1} loss ${rb.epochLog[e].loss} vs ${ra.epochLog[e].loss}`);
  }
});

test('a save killed half-way leaves the previous checkpoint whole; the next save deletes its leftovers', () => {
  const ck = join(dir, 'torn');
  const t = (v) => ({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(v, v + 1) } });
  const state = (globalStep) => ({ epoch: 0, step: globalStep, globalStep, config: {}, lossHistory: [], epochLog: [], trainSeconds: 1, imagesSeen: 10 });
  train.saveCheckpoint(ck, t(1), t(2), state(5), {});
  // A later save killed after its tensor files (one complete, one a temporary file) but before state.json.
  nn.writeSafetensors(join(ck, 'model-9.safetensors'), t(7));
  writeFileSync(join(ck, '.optimizer-9.safetensors.123.456.tmp'), 'partial');
  let got = train.loadCheckpoint(ck);
  assert.is(got.state.globalStep, 5);
  assert.equal(Array.from(got.model.w.data), [1, 2]);
  assert.equal(Array.from(got.optimizer.w.data), [2, 3]);
  train.saveCheckpoint(ck, t(3), t(4), state(11), {});
  assert.equal(readdirSync(ck).sort(), ['model-11.safetensors', 'optimizer-11.safetensors', 'state.json']);
  got = train.loadCheckpoint(ck);
  assert.equal([got.state.globalStep, Array.from(got.model.w.data)], [11, [3, 4]]);
});

test('--model resnet trains (the larger network for real GPUs)', async () => {
  const out = join(dir, 'resnet');
  const { code, lines } = await quietly(() => cli.run('train', [...common, '--out', out, '--model', 'resnet', '--max-steps', '2']));
  assert.is(code, 0, lines.join('\n'));
  assert.match(lines.join('\n'), /model: resnet\+BN, [\d,]+ parameters/);
  const st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.is(st.globalStep, 2);
  assert.ok(Object.keys(nn.readSafetensors(ckptModel(out)).tensors).length > 10);
});

test('--augment and a fractional --warmup are recorded and must match on --resume', async () => {
  const out = join(dir, 'noaug');
  const { code, lines } = await quietly(() => cli.run('train', [...common, '--out', out, '--augment', 'none', '--warmup', '0.5', '--max-steps', '2']));
  assert.is(code, 0, lines.join('\n'));
  assert.match(lines.join('\n'), /0\.5 warm-up epochs\), wd [\d.e-]+; augmentation none/);
  const st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.is(st.config.augment, 'none');
  assert.is(st.config.warmupEpochs, 0.5);
  const r = await quietly(() => cli.run('train', [...common, '--out', out, '--warmup', '0.5', '--augment', 'flip', '--resume']));
  assert.is(r.code, 2);
  assert.match(r.errs, /--augment: saved "none", now "flip"/);
  const bad = await quietly(() => cli.run('train', [...common, '--out', join(dir, 'badaug'), '--augment', 'rotate']));
  assert.is(bad.code, 2);
  assert.match(bad.errs, /--augment/);
});

test('--resume takes the options not given from the checkpoint: the run goes on as it was started', async () => {
  const out = join(dir, 'adopt');
  let r = await quietly(() => cli.run('train', [...common, '--out', out, '--lr', '0.002', '--max-steps', '2']));
  assert.is(r.code, 0, r.errs);
  // Only --out and --resume: the data, its checksums, --epochs 2 (not the default 20), --lr and the rest are the run's.
  r = await quietly(() => cli.run('train', ['cifar10', '--out', out, '--resume', '--max-steps', '3', '--quiet']));
  assert.is(r.code, 0, r.errs);
  const text = r.lines.join('\n');
  assert.match(text, /--resume: options not given are the checkpoint's: .*--epochs 2.*--lr 0\.002/);
  assert.not.match(text, /extending the run/);
  let st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.equal([st.globalStep, st.config.epochs, st.config.lr, st.config.bits], [3, 2, 0.002, 16]);
  // A flag given must match (or, for --epochs, grow), and the message names the flags as typed.
  r = await quietly(() => cli.run('train', ['cifar10', '--out', out, '--resume', '--margin-q', '3', '--quiet']));
  assert.is(r.code, 2);
  assert.match(r.errs, /--margin-q: saved 6, now 3/);
  r = await quietly(() => cli.run('train', ['cifar10', '--out', out, '--resume', '--epochs', '1', '--quiet']));
  assert.is(r.code, 2);
  assert.match(r.errs, /planned for 2 epochs; .*Leave --epochs out/);
  st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
  assert.is(st.globalStep, 3, 'the refused resumes changed nothing');
  // Several --bits put each length in OUT/<bits>b: a single run's checkpoint in OUT is named, not ignored.
  r = await quietly(() => cli.run('train', ['cifar10', '--out', out, '--resume', '--bits', '16,32', '--quiet']));
  assert.is(r.code, 2);
  assert.match(r.errs, /holds the checkpoint of one 16-bit run, and with several --bits each length goes to .*<bits>b; pass --bits 16 alone/);
});

test('--resume with several --bits: a length that never started takes the options of the one resumed before it', async () => {
  const base = join(dir, 'lengths');
  const first = [...common.filter((a, i) => a !== '--bits' && common[i - 1] !== '--bits'), '--bits', '8,16', '--out', base, '--max-steps', '1'];
  let r = await quietly(() => cli.run('train', first));
  assert.is(r.code, 0, r.errs);
  assert.ok(existsSync(join(base, '8b', 'checkpoint')) && !existsSync(join(base, '16b')), 'stopped inside the 8-bit run');
  r = await quietly(() => cli.run('train', ['cifar10', '--out', base, '--bits', '8,16', '--resume', '--quiet']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.lines.join('\n'), /starting the 16-bit run there with the 8-bit run's options not given: .*--epochs 2/);
  const c = JSON.parse(readFileSync(join(base, '16b', 'results.json'), 'utf8')).config;
  assert.equal([c.bits, c.epochs, c.trainLimit, c.evalLimit, c.K, c.data], [16, 2, 160, 60, 4, syn.path]);
});

test('a loss that diverges before the first checkpoint says none was saved', async () => {
  const r = await quietly(() => cli.run('train', [...common, '--out', join(dir, 'diverge'), '--optimizer', 'sgd', '--lr', '1e30']));
  assert.is(r.code, 1);
  assert.match(r.errs, /the loss became (NaN|-?Infinity) .*no checkpoint had been saved yet/);
});

for (const [sig, code, name] of [['SIGTERM', 143, 'SIGTERM'], ['SIGINT', 130, 'Ctrl-C']]) {
  test(`${sig} stops the process after the current step, saves a checkpoint, and --resume continues it`, async () => {
    const out = join(dir, `sig-${sig}`);
    // 1,000 epochs of 4 steps: the signal is sent when the child reports its first step, with 3,999 steps left.
    const run = spawnTrain([...common.filter((a) => a !== '--quiet'), '--epochs', '1000', '--out', out]);
    await run.waitFor(/epoch 1\/1000 \[.*\s1\/4\s/);
    run.child.kill(sig);
    assert.is(await run.exited, code, run.out.stderr);
    assert.match(run.out.stderr, new RegExp(`${name}: stopping after this step and saving a checkpoint`));
    assert.match(run.out.stdout, /stopped at epoch \d+, step \d+ \(\d+ steps done\); checkpoint saved/);
    const st = JSON.parse(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'));
    assert.ok(st.globalStep > 0 && st.globalStep < 4000, `steps done: ${st.globalStep}`);
    assert.not.ok(existsSync(join(out, 'results.json')));
    const r = await quietly(() => cli.run('train', [...common, '--epochs', '1000', '--out', out, '--resume', '--max-steps', String(st.globalStep + 1)]));
    assert.is(r.code, 0, r.errs);
    assert.match(r.lines.join('\n'), new RegExp(`resumed from .*${st.globalStep} steps done`));
  });
}

test('a NaN loss stops the run with a message, exit code 1, and keeps the last checkpoint', async () => {
  const out = join(dir, 'nan');
  let r = await quietly(() => cli.run('train', [...common, '--out', out, '--max-steps', '2']));
  assert.is(r.code, 0, r.lines.join('\n'));
  // Poison the saved weights (a ReLU's max(NaN, 0) may swallow a NaN, the hash layer's cannot): the resumed
  // run's first loss is NaN.
  const mp = ckptModel(out);
  const m = nn.readSafetensors(mp);
  for (const [k, t] of Object.entries(m.tensors)) if (k.endsWith('weight')) t.data[0] = NaN;
  nn.writeSafetensors(mp, m.tensors, m.metadata);
  const before = readFileSync(join(out, 'checkpoint/state.json'), 'utf8');
  r = await quietly(() => cli.run('train', [...common, '--out', out, '--resume']));
  assert.is(r.code, 1);
  assert.match(r.errs, /the loss became NaN at epoch 1, step 2 .*last good checkpoint .* is kept/);
  assert.is(readFileSync(join(out, 'checkpoint/state.json'), 'utf8'), before, 'the checkpoint is not overwritten');
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('margins default to bits/4, at least 6; --margin and --margin-q override', () => {
  const { opts } = train.parseArgs(['cifar10'], train.TRAIN_SPEC);
  const got = [12, 16, 24, 32, 48, 64].map((bits) => { const c = train.resolveConfig(opts, bits, true); return [bits, c.margin, c.marginQ]; });
  assert.equal(got, [[12, 6, 6], [16, 6, 6], [24, 6, 6], [32, 8, 8], [48, 12, 12], [64, 16, 16]]);
  const set = train.parseArgs(['cifar10', '--margin', '2.5', '--margin-q', '0'], train.TRAIN_SPEC).opts;
  const c = train.resolveConfig(set, 12, false);
  assert.equal([c.margin, c.marginQ], [2.5, 0]);
});

test('a truncated or corrupt archive gives the named error, exit code 2', async () => {
  const bytes = readFileSync(syn.path);
  const cut = join(dir, 'truncated.tar.gz');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  let r = await quietly(() => cli.run('train', ['cifar10', '--data', cut, '--checksums', syn.checksumFile, '--records-per-file', '60', '--out', join(dir, 'bad1'), '--quiet']));
  assert.is(r.code, 2);
  assert.match(r.errs, /truncated\.tar\.gz/);
  const bad = Buffer.from(bytes);
  bad[Math.floor(bad.length / 2)] ^= 0xff;
  const corrupt = join(dir, 'corrupt.tar.gz');
  writeFileSync(corrupt, bad);
  r = await quietly(() => cli.run('train', ['cifar10', '--data', corrupt, '--checksums', syn.checksumFile, '--records-per-file', '60', '--out', join(dir, 'bad2'), '--quiet']));
  assert.is(r.code, 2);
  assert.match(r.errs, /corrupt\.tar\.gz/);
  r = await quietly(() => cli.run('train', ['cifar10', '--bits', '12,x']));
  assert.is(r.code, 2);
  assert.match(r.errs, /--bits 12,x: expected comma-separated whole numbers/);
  r = await quietly(() => cli.run('train', ['cifar10', '--epoch', '3']));
  assert.is(r.code, 2);
  assert.match(r.errs, /unknown option --epoch \(did you mean --epochs\?\)/);
});

test.run();
