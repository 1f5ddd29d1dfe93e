// `node bench/train.js inshop` end to end on a generated fixture in the official layout (the real data set is not here).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, train, cli } from '../dist/index.js';
import { writeInshopFixture } from './fixtures/inshop.js';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-inshop-'));

async function run(args, command = 'train') {
  const log = console.log, err = console.error;
  const lines = [];
  console.log = (...a) => lines.push(a.join(' '));
  console.error = (...a) => lines.push(a.join(' '));
  try {
    return { code: await cli.run(command, args), lines };
  } finally {
    console.log = log;
    console.error = err;
  }
}

test('trains and evaluates In-shop with top-k accuracy and mAP, binary and real-valued', async () => {
  const fx = writeInshopFixture(join(dir, 'shop'), { trainItems: 10, testItems: 6 });
  const out = join(dir, 'run');
  const r = await run(['inshop', '--data', fx.root ?? join(dir, 'shop'), '--bits', '16', '--classes', '5', '--batch', '10', '--epochs', '2', '--val-queries', '10', '--val-db', '20', '--quiet', '--out', out]);
  assert.is(r.code, 0, r.lines.join('\n'));
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(res.dataset, 'inshop');
  assert.is(res.protocol, 'inshop');
  assert.equal(res.topK.binary.accuracy.map((p) => p.k), [1, 10, 20, 30, 40, 50]);
  for (const p of [...res.topK.binary.accuracy, ...res.topK.real.accuracy]) assert.ok(p.accuracy >= 0 && p.accuracy <= 1);
  // Accuracy never falls as k grows.
  const acc = res.topK.binary.accuracy.map((p) => p.accuracy);
  for (let i = 1; i < acc.length; i++) assert.ok(acc[i] >= acc[i - 1]);
  assert.ok(Number.isFinite(res.binary.map) && res.binary.map > 0);
  assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /Top-k retrieval accuracy/);
  assert.ok(existsSync(join(out, 'db.codes')));
  // The data set moved: eval --data finds it there (the split names the partition file's path, which may change).
  const moved = join(dir, 'shop-moved');
  renameSync(fx.root ?? join(dir, 'shop'), moved);
  const ev = await run([out, '--data', moved, '--quiet'], 'eval');
  assert.is(ev.code, 0, ev.lines.join('\n'));
  assert.is(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).binary.map, res.binary.map);
});

test('a bad partition line is named with its line; --skip-bad counts it instead', async () => {
  const root = join(dir, 'shop2');
  writeInshopFixture(root, { trainItems: 10, testItems: 6 });
  const part = join(root, data.INSHOP_PARTITION_FILE);
  // Line 6 of the file (a training image) loses its fields.
  const lines = readFileSync(part, 'utf8').split('\n');
  lines[5] = 'img/WOMEN/Dresses/broken-line';
  writeFileSync(part, lines.join('\n'));
  let r = await run(['inshop', '--data', root, '--bits', '16', '--classes', '5', '--batch', '10', '--epochs', '1', '--quiet', '--out', join(dir, 'bad')]);
  assert.is(r.code, 2);
  assert.match(r.lines.join('\n'), /list_eval_partition\.txt.*line 6/);
  r = await run(['inshop', '--data', root, '--skip-bad', '--bits', '16', '--classes', '5', '--batch', '10', '--epochs', '1', '--max-steps', '1', '--quiet', '--out', join(dir, 'skip')]);
  assert.is(r.code, 0, r.lines.join('\n'));
});

test.run();
