// A clean start prints nothing but ours: Dawn's native warnings during adapter selection are discarded when stderr
// is a terminal or a pipe, TQHASH_DEBUG=1 shows them, and stderr works as before afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tq from '../dist/index.js';

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Runs node with `args` as a shell would, stderr through a pipe (`2>&1 >/dev/null | cat`): returns what it wrote there. */
function stderrViaPipe(args, env = {}) {
  const r = spawnSync('sh', ['-c', `${q(process.execPath)} ${args.map(q).join(' ')} 2>&1 >/dev/null | cat`], { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.stdout;
}
const MUTED = `
  import { writeSync } from 'node:fs';
  const { gpu } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
  await gpu.withNativeStderrMuted(async () => writeSync(2, 'native write\\n'));
  writeSync(2, 'after\\n');
  console.error('console after');`;

test('native writes to fd 2 are discarded while muted; stderr is restored after (a pipe, a file opened for appending)', () => {
  assert.is(stderrViaPipe(['--input-type=module', '-e', MUTED], { TQHASH_DEBUG: '' }), 'after\nconsole after\n');
  const log = join(mkdtempSync(join(tmpdir(), 'tqhash-quiet-')), 'log');
  writeFileSync(log, 'earlier\n');
  spawnSync('sh', ['-c', `${q(process.execPath)} --input-type=module -e ${q(MUTED)} 2>>${q(log)}`], { env: { ...process.env, TQHASH_DEBUG: '' } });
  assert.is(readFileSync(log, 'utf8'), 'earlier\nafter\nconsole after\n');
});

test('TQHASH_DEBUG=1 keeps them', () => {
  assert.is(stderrViaPipe(['--input-type=module', '-e', MUTED], { TQHASH_DEBUG: '1' }), 'native write\nafter\nconsole after\n');
});

test('a file written at an offset is left alone (reopening it would overwrite it from the start)', () => {
  const log = join(mkdtempSync(join(tmpdir(), 'tqhash-quiet-')), 'log');
  spawnSync('sh', ['-c', `echo first >&2; ${q(process.execPath)} --input-type=module -e ${q(MUTED)}`], { stdio: ['ignore', 'ignore', openSync(log, 'w')], env: { ...process.env, TQHASH_DEBUG: '' } });
  assert.is(readFileSync(log, 'utf8'), 'first\nnative write\nafter\nconsole after\n');
});

test('node bench/info.js writes nothing to stderr', () => {
  assert.is(stderrViaPipe(['bench/info.js'], { TQHASH_DEBUG: '' }), '');
  assert.match(stderrViaPipe(['bench/info.js'], { TQHASH_DEBUG: '1' }), /\[tqhash\] .*adapter/, 'it ran');
});

test('XDG_RUNTIME_DIR is set to a private absolute folder while adapters are probed, then removed', async () => {
  const env = {};
  const seen = await tq.gpu.withRuntimeDir(async () => env.XDG_RUNTIME_DIR, env);
  assert.match(seen, /^\/.*tqhash-runtime-/);
  assert.not.ok('XDG_RUNTIME_DIR' in env);
  const kept = { XDG_RUNTIME_DIR: '/run/user/7' };
  assert.is(await tq.gpu.withRuntimeDir(async () => kept.XDG_RUNTIME_DIR, kept), '/run/user/7');
});

test.run();
