// What reports say of the machine (src/util/host.ts): the CPU, told apart by family, model and vector ISA where
// /proc/cpuinfo has them, and the VM host's steal between two readings of /proc/stat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { bench } from '../dist/index.js';

const { hostCpu, cpuTimes, stealShare, formatSteal } = bench;

test('hostCpu: model × logical CPUs, with family, model number and ISA where /proc/cpuinfo gives them', () => {
  const h = hostCpu();
  assert.match(h, ` × ${cpus().length}`);
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
  if (family) assert.match(h, `(family ${family} model ${/^model\s*:\s*(\d+)/m.exec(info)[1]}`);
  if (/^flags\s*:.* avx512f /m.test(info)) assert.match(h, 'AVX-512)');
  else if (/^flags\s*:.* avx2 /m.test(info)) assert.match(h, 'AVX2)');
});

test('stealShare: stolen ticks over all ticks between two readings; null when the first is unknown or time did not pass; the second defaults to now', () => {
  assert.is(stealShare({ total: 1000, steal: 10 }, { total: 1400, steal: 130 }), 0.3);
  assert.is(stealShare({ total: 1000, steal: 10 }, { total: 1400, steal: 10 }), 0);
  assert.is(stealShare(undefined, { total: 5, steal: 1 }), null);
  // Without a second reading: until now (a reading of 5 ticks since boot, none stolen, is long past; with 1 stolen
  // tick the share went negative on a host whose steal counter stays 0).
  if (existsSync('/proc/stat')) assert.ok(stealShare({ total: 5, steal: 0 }) >= 0);
  assert.is(stealShare({ total: 5, steal: 1 }, { total: 5, steal: 1 }), null);
});

test('cpuTimes: counters that only grow, steal within total (where /proc/stat exists)', () => {
  if (!existsSync('/proc/stat')) { assert.is(cpuTimes(), undefined); return; }
  const a = cpuTimes();
  let x = 0;
  for (const t0 = Date.now(); Date.now() - t0 < 60;) x += Math.sqrt(x + 1);
  const b = cpuTimes();
  assert.ok(a.total > 0 && a.steal >= 0 && a.steal <= a.total, JSON.stringify(a));
  assert.ok(b.total >= a.total && b.steal >= a.steal, `${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  const s = stealShare(a, b);
  assert.ok(s === null || (s >= 0 && s <= 1), `${s}`);
});

test('formatSteal: a line from 1 %, nothing below or when unknown', () => {
  assert.is(formatSteal(null, 'x'), '');
  assert.is(formatSteal(0.004, 'x'), '');
  assert.match(formatSteal(0.314, 'while our steps were timed'), /^steal {5}31 % of the machine's CPU time while our steps were timed went to other guests/);
});

test.run();
