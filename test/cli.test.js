// The `tqhash` command (bin/tqhash.js, src/cli/): `npx tqhash --help` lists the subcommands; each subcommand's --help,
// its one-line errors (exit 2, no stack trace), and a tiny run taken through train → eval → search → export as child processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { cli, data, hash } from '../dist/index.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'tqhash-cli-'));
const tqhash = (...args) => spawnSync(process.execPath, [join(root, 'bin/tqhash.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });

/** Asserts exit code 2 and exactly one stderr line `error: …` matching `re`. */
function oneError(r, re) {
  assert.is(r.status, 2, `exit ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], re);
}

test('npx tqhash --help lists every subcommand; no command or an unknown one exits 2', () => {
  const r = spawnSync('npx', ['--no-install', 'tqhash', '--help'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  for (const name of cli.COMMANDS.keys()) assert.match(r.stdout, new RegExp(`^  ${name} +\\S`, 'm'), `lists ${name}`);
  assert.equal([...cli.COMMANDS.keys()], ['train', 'study', 'eval', 'search', 'export', 'info', 'bench', 'demo']);
  const none = tqhash();
  assert.is(none.status, 2);
  assert.match(none.stderr, /usage: tqhash <command>/);
  oneError(tqhash('trian'), /unknown command "trian" \(did you mean train\?\)/);
});

test('every subcommand has --help: usage line and its options with defaults', () => {
  for (const args of [['train'], ['eval'], ['search'], ['export'], ['info'], ['demo'], ['bench', 'kernels'], ['bench', 'step'], ['bench', 'search']]) {
    const r = tqhash(...args, '--help');
    assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: tqhash ${args.join(' ')}`), args.join(' '));
    assert.match(r.stdout, /\n  --help /);
  }
  assert.match(tqhash('train', '--help').stdout, /--epochs <int> .*\(default 20\)/);
  assert.match(tqhash('train', '-h').stdout, /^usage: tqhash train/, '-h is --help');
  assert.match(tqhash('help', 'train').stdout, /^usage: tqhash train/, 'tqhash help train is train --help');
  assert.match(tqhash('study', '--help').stdout, /^usage: tqhash study .*\n.*\n[^]*Train options: those of tqhash train --help/);
  assert.match(tqhash('bench', '--help').stdout, /usage: tqhash bench kernels\|step\|search/);
});

test('user mistakes: one error line, exit 2, before any GPU work', () => {
  oneError(tqhash('train', 'cifar10', '--epoch', '3'), /unknown option --epoch \(did you mean --epochs\?\)/);
  oneError(tqhash('train', 'cifar10', '--bits', '12,x'), /--bits 12,x: expected comma-separated whole numbers/);
  oneError(tqhash('train', 'cifar10', '--bits', '16,32,16'), /--bits 16,32,16: 16 appears twice; list each code length once/);
  oneError(tqhash('train', 'cifar10', '--lr', 'fast'), /--lr fast: expected a number/);
  oneError(tqhash('train', 'cifar10', '--side', '300'), /--side 300: must be ≤ 256/);
  oneError(tqhash('train', 'cifar10', '--side', '64'), /--side is an inshop option: .*leave it out/);
  oneError(tqhash('train', 'cifar10', '--skip-bad'), /--skip-bad is an inshop option/);
  oneError(tqhash('train', 'inshop', '--protocol', 'cifar10'), /--protocol is a cifar10 option: In-shop has its own split/);
  oneError(tqhash('train', 'cifar10', '--schedule', 'linear'), /--schedule linear: choose one of cosine, step, constant/);
  oneError(tqhash('train', 'cifar10', '--quiet=yes'), /--quiet takes no value/);
  oneError(tqhash('train', 'cifar10', '--epochs'), /--epochs needs a value/);
  oneError(tqhash('train', 'mnist'), /unknown dataset "mnist": use cifar10 or inshop/);
  oneError(tqhash('eval'), /RUN folder missing/);
  oneError(tqhash('eval', join(dir, 'nope')), /nope: not a training run folder \(no such folder/);
  oneError(tqhash('search', join(dir, 'nope')), /--query ID or --image FILE is required/);
  oneError(tqhash('search', dir, '--query', '1', '--image', 'x.jpg'), /give --query or --image, not both/);
  oneError(tqhash('search', dir, '--query', '-1'), /--query needs a value/);
  oneError(tqhash('search', dir, '--query', '1'), /db\.codes: no such file; RUN is a folder a finished tqhash train run wrote/);
  oneError(tqhash('export', dir, '--format', 'parquet'), /unknown format "parquet"/);
  oneError(tqhash('info', 'extra'), /unexpected argument "extra"/);
  oneError(tqhash('bench', 'conv'), /unknown benchmark "conv": use kernels, step, search/);
  oneError(tqhash('bench', 'step', '--model', 'vgg'), /--model vgg: choose one of dsh, resnet/);
  oneError(tqhash('bench', 'search', '--variants', 'fast'), /--variants fast: use bmin and\/or hist/);
  // The benchmarks' own range checks are usage errors too, made before the GPU starts (one line: no adapter warnings).
  oneError(tqhash('bench', 'step', '--batch', '1'), /--batch 1: need a whole number ≥ 4/);
  oneError(tqhash('bench', 'step', '--batch', '0'), /--batch 0: need a whole number ≥ 4/);
  oneError(tqhash('bench', 'metrics', '--bits', '300'), /--bits 300: codes of 1\.\.256 bits/);
});

test('bench search and --index: the help and the error point to tqhash search, which bench/search.js hands it to', () => {
  oneError(tqhash('bench', 'search', '--index', 'run/db.codes', '--query', '5'), /--index is an option of tqhash search, not of the benchmark: tqhash search --index FILE --query ID/);
  const help = spawnSync(process.execPath, [join(root, 'bench/search.js'), '--help'], { cwd: root, encoding: 'utf8' });
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, 'node bench/search.js --index FILE --query ID runs tqhash search --index FILE --query ID');
  assert.match(tqhash('search', '--help').stdout, /--index <string> /, 'tqhash search takes --index');
});

test('README: the bench/ scripts it names exist, and the subcommands without one are said to have none', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  // bench/NAME.js, and the short `NAME.js` of a list of them.
  for (const [, name] of readme.matchAll(/(?:bench\/|`)([\w-]+)\.js\b/g)) assert.ok(existsSync(join(root, 'bench', `${name}.js`)), `README names bench/${name}.js`);
  const none = [...cli.COMMANDS.keys()].filter((c) => c !== 'bench' && !existsSync(join(root, 'bench', `${c}.js`)));
  for (const c of none) {
    assert.not.match(readme, 'node bench/<name>.js` runs the same programs', `bench/${c}.js does not exist`);
    assert.match(readme, `${c} has no script`);
  }
});

test('the spec parser: --no-flag, --name=value, defaults, positionals', () => {
  const spec = {
    bn: { type: 'bool', default: true, help: '' }, bits: { type: 'intlist', default: [48], min: 4, help: '' },
    lr: { type: 'float', help: '' }, mode: { type: 'string', choices: ['a', 'b'], help: '' },
  };
  const { opts, positional, given } = cli.parseArgs(['x', '--no-bn', '--bits=12,32', '--lr=-0.5e-3', '--mode', 'b', 'y'], spec);
  assert.equal(opts, { bn: false, bits: [12, 32], lr: -0.5e-3, mode: 'b' });
  assert.equal(positional, ['x', 'y']);
  assert.equal([...given].sort(), ['bits', 'bn', 'lr', 'mode'], 'the flags typed, defaults not among them');
  assert.equal([...cli.parseArgs(['--lr', '1'], spec).given], ['lr']);
  assert.equal(cli.parseArgs([], spec).opts, { bn: true, bits: [48] });
  assert.throws(() => cli.parseArgs(['--bits', '2'], spec), /--bits 2: must be ≥ 4/);
  const ints = { n: { type: 'int', min: 1, help: '' } };
  assert.equal(cli.parseArgs(['--n', '1e6'], ints).opts.n, 1_000_000, 'an int in e-notation');
  assert.throws(() => cli.parseArgs(['--n', '1.5e0'], ints), /--n 1\.5e0: expected a whole number/);
  assert.throws(() => cli.parseArgs(['--mdoe', 'a'], spec), /unknown option --mdoe \(did you mean --mode\?\)/);
  // util.parseArgs takes a value starting with - only after =; the message says so.
  assert.throws(() => cli.parseArgs(['--lr', '-1'], spec), /--lr needs a value \(\); a value starting with - goes as --lr=VALUE/);
});

const syn = writeSyntheticCifar(dir, { perFile: 60, tarGz: true, seed: 5, learnable: true });
const run = join(dir, 'run');
const common = ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '60', '--bits', '16',
  '--batch', '40', '--epochs', '1', '--train-limit', '160', '--eval-limit', '60', '--val-queries', '0', '--quiet'];

test('train → eval → search (--query, --image) → export on one tiny run, each a child process', () => {
  const t = tqhash('train', ...common, '--out', run);
  assert.is(t.status, 0, t.stderr);
  const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8'));
  assert.match(results.command, /^tqhash train cifar10 /);

  const e = tqhash('eval', run, '--quiet');
  assert.is(e.status, 0, e.stderr);
  assert.match(e.stdout, /cifar10 · dsh · 16 bits .*: mAP@all binary \d\.\d{4}, real \d\.\d{4}/);
  const ev = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8'));
  assert.is(ev.tag, results.tag);
  assert.is(ev.queries, results.queries);
  assert.ok(Math.abs(ev.binary.map - results.binary.map) < 1e-9, `eval ${ev.binary.map} vs the trainer's ${results.binary.map}`);
  assert.ok(Math.abs(ev.real.map - results.real.map) < 1e-6, `eval ${ev.real.map} vs the trainer's ${results.real.map}`);
  // split.json is compared by content: the same split re-formatted still evaluates (the GPU ranking run below).
  const splitPath = join(run, 'split.json');
  const splitText = readFileSync(splitPath, 'utf8');
  writeFileSync(splitPath, JSON.stringify(JSON.parse(splitText), null, 2));
  // The rankings on the GPU (the hardware preset's choice): the binary metrics to the bit, the real-valued ones from
  // float32 distances (within rounding; the protocol says so).
  const eg = spawnSync(process.execPath, [join(root, 'bin/tqhash.js'), 'eval', run, '--quiet'], { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, TQHASH_KNOBS: 'rank.on=gpu' } });
  assert.is(eg.status, 0, eg.stderr);
  const evg = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8'));
  assert.equal({ ...evg.binary, seconds: 0 }, { ...ev.binary, seconds: 0 });
  assert.ok(Math.abs(evg.real.map - ev.real.map) < 1e-6, `GPU real-valued mAP ${evg.real.map} vs the CPU's ${ev.real.map}`);
  assert.match(evg.real.protocol, /float32 on the GPU/);
  // A damaged split.json says so (and what to do), before the GPU starts; it does not blame the data.
  writeFileSync(splitPath, '{');
  oneError(tqhash('eval', run), /split\.json: damaged, not JSON \(.*\); it is the split tqhash train wrote: restore it/);
  writeFileSync(splitPath, splitText);

  const q = hash.CodeDB.load(join(run, 'query.codes'));
  const s = tqhash('search', run, '--query', String(q.ids[0]), '--k', '5');
  assert.is(s.status, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`query image ${q.ids[0]} \\(${q.labels[0]} `));
  assert.is(s.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d/.test(l)).length, 5, s.stdout);
  // A --queries file that is not there is an error, not skipped; an id in neither file lists the ids the files hold.
  oneError(tqhash('search', run, '--queries', join(dir, 'nonexist.codes'), '--query', String(q.ids[0])), /--queries .*nonexist\.codes: no such file; pass a query\.codes/);
  const db = hash.CodeDB.load(join(run, 'db.codes'));
  oneError(tqhash('search', run, '--query', '999999'), new RegExp(`--query 999999: no image 999999 .*query\\.codes holds ${q.size} ids: ${q.ids[0]}, .*db\\.codes holds ${db.size} ids: ${db.ids[0]}, `));

  const rgb = new Uint8Array(40 * 36 * 3).map((_, i) => (i * 37) % 256);
  const jpg = join(dir, 'photo.jpg');
  writeFileSync(jpg, data.encodeJpeg(rgb, 40, 36));
  const si = tqhash('search', run, '--image', jpg, '--k', '3');
  assert.is(si.status, 0, si.stderr);
  assert.match(si.stdout, /query image .*photo\.jpg \(\?\) from the image file, encoded by .*model\.safetensors/);
  assert.is(si.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+\d+\s+\d/.test(l)).length, 3, si.stdout);
  const small = join(dir, 'small.jpg');
  writeFileSync(small, data.encodeJpeg(rgb.subarray(0, 16 * 16 * 3), 16, 16));
  oneError(tqhash('search', run, '--image', small), /small\.jpg: 16×16 pixels; the model needs at least 32×32/);
  oneError(tqhash('search', run, '--image', join(dir, 'photo.png')), /only JPEG files are read/);

  // search --help: its usage lines show every option, and each line runs as shown (placeholders filled in).
  const help = tqhash('search', '--help').stdout;
  const forms = help.split('\n\n')[0].split('\n').map((l) => l.replace(/^usage:/, '').trim());
  const fill = new Map([['RUN', run], ['ID', String(q.ids[0])], ['FILE.jpg', jpg], ['FILE.codes', join(run, 'db.codes')], ['FILE', join(run, 'query.codes')]]);
  for (const name of help.matchAll(/^  --(\w+)/gm)) if (name[1] !== 'help') assert.ok(forms.some((f) => f.includes(`--${name[1]} `)), `--${name[1]} in a usage line:\n${forms.join('\n')}`);
  for (const form of forms) {
    const [shown, also] = form.split(/\s+\(also: /);
    const args = shown.replace(/[[\]]/g, '').split(/\s+/).slice(2).map((w) => fill.get(w) ?? w);
    const r = tqhash('search', ...args);
    assert.is(r.status, 0, `${form}: ${r.stderr}`);
    if (also) {
      const b = spawnSync(process.execPath, [also.split(' ')[1], ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
      assert.is(b.status, 0, `${also}: ${b.stderr}`);
    }
  }

  const x = tqhash('export', run, '--format', 'npy');
  assert.is(x.status, 0, x.stderr);
  assert.ok(existsSync(join(run, 'export-npy', 'codes.npy')));

  // The demo's closing hint serves the site just written: its --out (quoted) and --queries, not RUN/demo with 48.
  const site = join(dir, 'site 1');
  const d = tqhash('demo', run, '--queries', '5', '--out', site);
  assert.is(d.status, 0, d.stderr);
  assert.ok(d.stdout.includes(`open it with: tqhash demo ${run} --out '${site}' --queries 5 --serve `), d.stdout);
  assert.is(JSON.parse(readFileSync(join(site, 'site.json'), 'utf8')).queries.count, 5);
});

test('eval of a run stopped before its end says how to finish it', () => {
  const out = join(dir, 'stopped');
  const t = tqhash('train', ...common, '--out', out, '--max-steps', '1');
  assert.is(t.status, 0, t.stderr);
  oneError(tqhash('eval', out), /no trained model yet \(the run stopped at epoch 1 of 1\); finish it with tqhash train … --out .* --resume/);
});

test('tqhash info prints the adapter block', () => {
  const r = tqhash('info');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /adapter/);
  assert.match(r.stdout, /^flags /m);
  const j = tqhash('info', '--json');
  assert.is(j.status, 0, j.stderr);
  const info = JSON.parse(j.stdout); // nothing but the JSON on stdout
  assert.ok(info.name && info.limits && info.knobs['conv.variant'] && typeof info.cpu === 'string' && typeof info.flags === 'object', Object.keys(info).join(', '));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
