// The study runner (src/train/study.ts) on a synthetic CIFAR-shaped archive: a 2×2 grid (loss × seed) of a few steps
// per cell: folders named from the cells, an interrupted study resumed, finished cells skipped on a rerun, a stop
// request honoured, the aggregate checked against hand computation from the cells' results.json, README and SVGs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, readdirSync, statSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { quietly } from './util.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-study-'));
const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 7, learnable: true });
const study = join(dir, 'study');
// 80 training images in P×K = 10×4 batches: 2 steps per epoch, one epoch; 60 queries × 60 database images.
const opts = ['--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16', '--batch', '40',
  '--epochs', '1', '--train-limit', '80', '--eval-limit', '60', '--val-queries', '0', '--quiet'];
const args = ['--grid', 'loss=tql,triplet seed=1,2', ...opts, '--out', study];
const CELLS = ['loss-tql_seed-1', 'loss-tql_seed-2', 'loss-triplet_seed-1', 'loss-triplet_seed-2'];

const results = (cell) => JSON.parse(readFileSync(join(study, cell, 'results.json'), 'utf8'));
const state = (cell) => JSON.parse(readFileSync(join(study, cell, 'checkpoint/state.json'), 'utf8'));

test('the grid and the options are checked up front, with one-line messages', () => {
  const bad = [
    [['--grid', 'los=tql'], /los is not a train option/],
    [['--grid', 'loss=foo'], /--grid loss=foo: choose one of tql, triplet, triplet\+quant/],
    [['--grid', 'bits=12,3'], /--grid bits=3: must be ≥ 4/],
    [['--grid', 'seed=1,1'], /seed lists 1 twice/],
    [['--grid', 'seed=1 seed=2'], /seed appears twice/],
    [['--grid', 'out=a'], /the study sets it/],
    [['--grid', 'lambda='], /lambda has an empty value/],
    [['--grid', 'loss'], /"loss" is not KEY=V1,V2/],
    [['--grid', 'loss=tql', '--loss', 'triplet'], /--loss is given both in --grid and as an option/],
    [['--grid', 'seed=1', '--bits', '12,24'], /put them in the grid \(bits=12,24\)/],
    [['--grid', 'seed=1', '--clases', '3'], /unknown option --clases \(did you mean --classes\?\)/],
    [['--grid', 'classes=11'], /CIFAR-10 has 10 classes/],
    [['--grid', 'seed=1', 'foo'], /unexpected argument "foo"/],
    [['--seed', '1'], /--grid is required/],
    [['--aggregate'], /--aggregate needs --out/],
    [['--aggregate', '--out', join(dir, 'nothing-here')], /study.json does not exist: .* is not a study folder/],
  ];
  for (const [argv, re] of bad) assert.throws(() => cli.parseStudyArgs(argv), re, argv.join(' '));
  const a = cli.parseStudyArgs(['inshop', '--grid', 'loss=tql,triplet+quant bn=true,false tq-form=smooth', '--lambda', '0.5', '--out', 'x']);
  assert.is(a.plan.dataset, 'inshop');
  assert.equal(a.plan.train, ['--lambda', '0.5']);
  assert.equal(train.studyCells(a.plan).map((c) => c.name), ['loss-tql_bn-true_tq-form-smooth', 'loss-tql_bn-false_tq-form-smooth', 'loss-triplet-quant_bn-true_tq-form-smooth', 'loss-triplet-quant_bn-false_tq-form-smooth']);
  const cfg = train.cellConfig(a.plan, train.studyCells(a.plan)[3]);
  assert.equal([cfg.loss, cfg.bn, cfg.tqForm, cfg.lambda, cfg.out], ['triplet+quant', false, 'smooth', 0.5, join('x', 'loss-triplet-quant_bn-false_tq-form-smooth')]);
});

test('sample standard deviation: n − 1 in the denominator, none below two values', () => {
  assert.equal(train.meanSd([1, 2, 3, 6]), { n: 4, mean: 3, sd: Math.sqrt(14 / 3) });
  assert.equal(train.meanSd([0.5]), { n: 1, mean: 0.5, sd: null });
});

test('an interrupted study (--max-steps) resumes every cell from its checkpoint to the end', async () => {
  let r = await quietly(() => cli.studyMain([...args, '--max-steps', '1']));
  assert.is(r.code, 0, r.errs);
  assert.match(r.lines.join('\n'), /checkpoint saved in .*; continue with the same study command/, 'a study has no --resume');
  assert.equal(readdirSync(study).filter((f) => !f.includes('.')).sort(), CELLS);
  for (const c of CELLS) {
    assert.is(state(c).globalStep, 1, c);
    assert.not.ok(existsSync(join(study, c, 'results.json')));
  }
  assert.ok(JSON.parse(readFileSync(join(study, 'study.json'), 'utf8')).cells.every((c) => c.status === 'not finished'));
  r = await quietly(() => cli.studyMain(args));
  assert.is(r.code, 0, r.errs);
  for (const c of CELLS) {
    const res = results(c);
    assert.is(res.sessions, 2, `${c} resumed, not restarted`);
    assert.is(res.steps, 2);
    // The cell's own command reproduces it; its config is what a rerun compares.
    assert.match(res.command, new RegExp(`^node bench/train.js cifar10 .*--loss=${c.split('_')[0].slice(5)} --seed=${c.slice(-1)} --out \\S*${c} --resume$`));
    assert.is(res.config.seed, Number(c.slice(-1)));
  }
  assert.is(results(CELLS[0]).loss, 'tql');
  assert.is(results(CELLS[2]).loss, 'triplet');
});

test('a rerun skips the finished cells (results.json untouched); other options in the same folder are refused', async () => {
  const before = CELLS.map((c) => statSync(join(study, c, 'results.json')).mtimeMs);
  const r = await quietly(() => cli.studyMain(args));
  assert.is(r.code, 0, r.errs);
  assert.is(r.lines.filter((l) => /finished before .*; skipped$/.test(l)).length, 4, r.lines.join('\n'));
  assert.equal(CELLS.map((c) => statSync(join(study, c, 'results.json')).mtimeMs), before);
  const other = await quietly(() => cli.studyMain([...args, '--lr', '0.002']));
  assert.is(other.code, 2);
  assert.match(other.errs, /results.json was made with other options than this cell's:\n {2}--lr: saved 0.001, now 0.002/);
});

test('the aggregate matches hand computation from the cells\' results.json', () => {
  const s = JSON.parse(readFileSync(join(study, 'study.json'), 'utf8'));
  const score = (c) => { const r = results(c); return { binary: r.binary.map, real: r.real.map, drop: r.real.map - r.binary.map }; };
  const hand = (xs) => {
    const mean = (xs[0] + xs[1]) / 2;
    return { n: 2, mean, sd: Math.abs(xs[0] - xs[1]) / Math.SQRT2 }; // sample sd of two values: |a − b| / √2
  };
  const close = (got, want, what) => {
    assert.is(got.n, want.n, what);
    for (const k of ['mean', 'sd']) assert.ok(Math.abs(got[k] - want[k]) <= 1e-12, `${what} ${k}: ${got[k]} vs ${want[k]}`);
  };
  assert.is(s.conditions.length, 2);
  for (const [i, loss] of ['tql', 'triplet'].entries()) {
    const c = s.conditions[i];
    assert.equal(c.values, { loss });
    assert.equal(c.seeds, [1, 2]);
    for (const m of ['binary', 'real', 'drop']) close(c[m], hand([score(`loss-${loss}_seed-1`)[m], score(`loss-${loss}_seed-2`)[m]]), `${loss} ${m}`);
  }
  assert.is(s.comparisons.length, 1);
  const p = s.comparisons[0];
  assert.equal([p.key, p.a, p.b, p.seeds], ['loss', 'tql', 'triplet', [1, 2]]);
  for (const m of ['binary', 'real', 'drop']) {
    const d = [1, 2].map((seed) => score(`loss-tql_seed-${seed}`)[m] - score(`loss-triplet_seed-${seed}`)[m]);
    close(p[m], hand(d), `tql − triplet ${m}`);
    assert.equal([p[m].aHigher, p[m].bHigher, p[m].equal], [d.filter((x) => x > 0).length, d.filter((x) => x < 0).length, d.filter((x) => x === 0).length]);
  }
  assert.is(s.plan.command.startsWith("node bench/study.js --grid 'loss=tql,triplet seed=1,2' "), true, s.plan.command);
  assert.is(s.version.package, JSON.parse(readFileSync('package.json', 'utf8')).version);
});

test('--aggregate alone rewrites README.md and the SVGs: command, adapter, commit, tables, error bars', async () => {
  for (const f of ['README.md', 'map.svg', 'drop.svg']) rmSync(join(study, f));
  const r = await quietly(() => cli.studyMain(['--aggregate', '--out', study]));
  assert.is(r.code, 0, r.errs);
  const md = readFileSync(join(study, 'README.md'), 'utf8');
  const s = JSON.parse(readFileSync(join(study, 'study.json'), 'utf8'));
  assert.match(md, /^# Study: loss × seed — cifar10 · dsh · 16 bits · mAP@all/);
  assert.ok(md.includes(`Command: \`${s.plan.command}\``));
  assert.match(md, /Cells: 4 of 4 finished, trained \d{4}-\d\d-\d\d/);
  assert.match(md, /Adapter: \S/);
  const c = s.conditions[0];
  assert.ok(md.includes(`| tql | 2 of 2 | ${c.binary.mean.toFixed(4)} ± ${c.binary.sd.toFixed(4)} |`), md);
  assert.match(md, /\| loss tql − triplet \| all \| 1, 2 \| [+-]?\d+\.\d\d ± \d+\.\d\d \| \d \/ \d \/ \d \|/);
  if (s.version.commit) assert.ok(md.includes(`commit ${s.version.commit.slice(0, 12)}`));
  for (const f of ['map.svg', 'drop.svg']) {
    const svg = readFileSync(join(study, f), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.is(svg.match(/<circle /g).length, 2 + 1, `${f}: two means (x = loss) and the legend's marker of the one series`);
  }
  // Two seeds that differ give a bar per condition (sd > 0).
  assert.is(readFileSync(join(study, 'map.svg'), 'utf8').match(/class="errorbar"/g)?.length ?? 0, s.conditions.filter((x) => x.binary.sd > 0).length);
});

test('a larger --epochs extends a finished cell; a results.json that holds no object is named, not a crash', async () => {
  const out = join(dir, 'extend');
  const one = ['--grid', 'seed=5', ...opts, '--out', out];
  let r = await quietly(() => cli.studyMain(one));
  assert.is(r.code, 0, r.errs);
  const two = one.map((a, i) => (one[i - 1] === '--epochs' ? '2' : a));
  r = await quietly(() => cli.studyMain(two));
  assert.is(r.code, 0, r.errs);
  assert.match(r.lines.join('\n'), /extending the run from 1 to 2 epochs/);
  assert.is(JSON.parse(readFileSync(join(out, 'seed-5', 'results.json'), 'utf8')).epochs, 2);
  writeFileSync(join(out, 'seed-5', 'results.json'), 'null');
  r = await quietly(() => cli.studyMain(two));
  assert.is(r.code, 2, r.errs);
  assert.match(r.errs, /seed-5\/results\.json holds no results object; move that cell's folder away to run it again/);
  assert.not.match(r.errs, /TypeError|\n\s+at /);
});

test('a stop request ends the study after the running cell saved its checkpoint', async () => {
  const out = join(dir, 'stopped');
  const a = cli.parseStudyArgs(['--grid', 'seed=3,4', ...opts, '--out', out]);
  const ctl = new AbortController();
  // The request arrives as the first cell starts: it stops before its first step and saves.
  const log = (s) => { if (s.includes('study cell 1/2')) ctl.abort(); };
  const r = await quietly(() => train.runStudy(a.plan, { stopSignal: ctl.signal, quiet: true, log }));
  assert.equal([r.code.stopped, r.code.finished], [true, 0]);
  assert.is(JSON.parse(readFileSync(join(out, 'seed-3/checkpoint/state.json'), 'utf8')).globalStep, 0);
  assert.not.ok(existsSync(join(out, 'seed-4')), 'the second cell never started');
  assert.ok(existsSync(join(out, 'README.md')));
});

test.run();
