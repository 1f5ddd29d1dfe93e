// CI-sized smoke runs of the four benchmark programs as child processes: they exit 0 and their JSON has the adapter
// block, positive ceilings and rows with finite positive times. (Numbers are not checked: CI machines are noisy.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tqhash-bench-'));

/** Runs `node bench/<script> ...args`; resolves with { code, stdout, stderr }. The time limit only guards against a
 *  hang (lavapipe with Mesa's shader cache cold took over 60 s for kernels.js --quick): a kill says so in stderr. */
function run(script, args, timeout = 300_000) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join('bench', script), ...args], { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const killed = err?.killed ? `\n(killed by the test's ${timeout / 1000} s limit: ${err.signal})` : '';
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr: stderr + killed });
    });
  });
}

function checkAdapter(j) {
  assert.type(j.adapter, 'object');
  assert.type(j.adapter.name, 'string');
  assert.type(j.adapter.backend, 'string');
  assert.match(j.host, new RegExp(` × ${cpus().length}`), 'the CPU the numbers were measured on');
}

/** The VM host's steal over the measurement: a share of the machine's CPU time, or null without /proc/stat. */
function checkSteal(j) {
  assert.ok(j.steal === null ? !existsSync('/proc/stat') : j.steal >= 0 && j.steal <= 1, `steal ${j.steal}`);
}

function checkCeilings(c) {
  for (const k of ['fma_gflops', 'copy_gbps', 'dispatch_ms']) assert.ok(Number.isFinite(c[k]) && c[k] > 0, `ceilings.${k} = ${c[k]}`);
  // Each ceiling is the best shape of its sweep, named.
  for (const [rate, shape, sweep] of [['fma_gflops', 'fma_shape', 'fma_sweep'], ['copy_gbps', 'copy_shape', 'copy_sweep']]) {
    assert.ok(c[sweep].length >= 2, `${sweep}: ${c[sweep].length} shapes`);
    const top = c[sweep].reduce((a, b) => (b.value > a.value ? b : a));
    assert.is(c[rate], top.value, rate);
    assert.is(c[shape], top.shape, shape);
  }
}

test('kernels.js --quick --filter fc1 --json: adapter, ceilings, GEMM rows of every variant with positive times', async () => {
  const file = join(dir, 'kernels.json');
  const r = await run('kernels.js', ['--quick', '--filter', 'fc1', '--json', file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'ceilings  FMA');
  const j = JSON.parse(readFileSync(file, 'utf8'));
  checkAdapter(j);
  checkSteal(j);
  checkCeilings(j.ceilings);
  assert.match(r.stdout, /knobs\s+(software|gpu) preset/);
  assert.ok(['naive', 'tiled', 'regblock', 'unrolled'].includes(j.knobs['gemm.variant']), `knobs in the JSON: gemm.variant = ${j.knobs['gemm.variant']}`);
  assert.ok(j.rows.length >= 9, `${j.rows.length} rows`);
  for (const row of j.rows) {
    for (const k of ['name', 'variant', 'shape']) assert.type(row[k], 'string');
    assert.ok(Number.isFinite(row.ms) && row.ms > 0, `${row.name} ${row.variant}: ms = ${row.ms}`);
    assert.ok(row.gflops > 0 && row.fraction > 0, `${row.name} ${row.variant}: gflops ${row.gflops}, fraction ${row.fraction}`);
    assert.ok(row.cpu_ms > 0, `${row.name}: cpu_ms ${row.cpu_ms}`);
    assert.ok('gbps' in row);
    assert.ok(Math.abs(row.fraction - row.gflops / j.ceilings.fma_gflops) <= 1e-9 * row.fraction, `${row.name}: fraction against the sweep's ceiling`);
  }
  assert.equal([...new Set(j.rows.map((r) => r.variant))].sort(), ['naive', 'regblock', 'tiled', 'unrolled']);
});

test('step.js --quick --compile --peer FIXTURE: the first use of each pipeline, images/s, a per-kernel breakdown, the ratio to the peer', async () => {
  const file = join(dir, 'step.json'), fixture = join(dir, 'peer-step.json');
  // A peers.py report (bench/peers/peers.py step) with a made-up figure: the ratio is ours ÷ 250 images/s.
  writeFileSync(fixture, JSON.stringify({ loadavg: [1, 1, 1], step: { engine: 'PyTorch (fixture)', config: { batch: 8, bits: 16 }, step_ms: 32, images_per_s: 250 } }));
  const r = await run('step.js', ['--quick', '--compile', '--batch', '8', '--bits', '16', '--steps', '2', '--peer', fixture, '--json', file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /ratio +tqhash .* images\/s \/ PyTorch \(fixture\) 250 images\/s/);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  assert.is(j.peer.runs.length, 1);
  assert.ok(Math.abs(j.peer.ratio - j.images_per_s / 250) < 1e-9, `ratio ${j.peer.ratio} vs ${j.images_per_s} / 250`);
  checkAdapter(j);
  checkSteal(j);
  checkCeilings(j.ceilings);
  assert.ok(j.images_per_s > 0 && Number.isFinite(j.step_ms), `images/s ${j.images_per_s}`);
  assert.ok(j.pipelined_step_ms > 0 && Number.isFinite(j.pipelined_step_ms), `pipelined ${j.pipelined_step_ms} ms`);
  assert.ok(j.unpaced_step_ms > 0 && Number.isFinite(j.unpaced_step_ms), `unpaced ${j.unpaced_step_ms} ms`);
  assert.ok(j.gc_ms.paced >= 0 && j.gc_ms.unpaced >= 0, JSON.stringify(j.gc_ms));
  assert.ok(j.record_ms > 0 && j.record_ms < j.step_ms, `recording ${j.record_ms} ms of a ${j.step_ms} ms step`);
  assert.match(r.stdout, /back to back, each loss read one step late .* ms\/step → .* images\/s/);
  assert.match(r.stdout, /the same with Dawn polling for each loss at once \(unpaced\): .* ms\/step; GC .* ms\/step/);
  assert.ok(j.kernels.length > 5, `${j.kernels.length} kernels`);
  for (const k of j.kernels) {
    assert.ok(Number.isFinite(k.ms) && k.ms > 0, `${k.kernel}: ${k.ms}`);
    if (k.gflops !== null) assert.ok(Math.abs(k.fraction - k.gflops / j.ceilings.fma_gflops) <= 1e-9 * k.fraction, `${k.kernel}: fraction against the sweep's ceiling`);
    // Its CPU time over the same replays: finite, and the raw wall time it is divided by at least the overhead-free one.
    assert.ok(Number.isFinite(k.cpu_ms) && k.cpu_ms >= 0 && k.raw_ms >= k.ms, `${k.kernel}: cpu ${k.cpu_ms} ms, raw ${k.raw_ms} ms, ms ${k.ms}`);
  }
  assert.match(r.stdout, /of FMA ceiling +CPU ms +cores busy/);
  assert.ok(j.kernels.some((k) => k.kernel.startsWith('conv.wgsl:')), 'conv kernels in the breakdown');
  assert.ok(j.replay_sum_ms > 0);
  // --compile: one row per pipeline of the step (distinct keys, overrides included), none negative.
  assert.ok(j.compile.first_step_ms > 0, `first step ${j.compile.first_step_ms} ms`);
  const keys = j.compile.kernels.map((k) => k.kernel);
  assert.is(new Set(keys).size, keys.length, 'one row per pipeline');
  for (const k of j.kernels.filter((k) => !k.kernel.startsWith('('))) {
    const name = k.kernel.replace(/ \[.*\]$/, '');
    assert.ok(keys.some((key) => key.startsWith(`${name}{`) || key === name), `the breakdown's ${name} among the pipelines`);
  }
  for (const k of j.compile.kernels) assert.ok(Number.isFinite(k.ms) && k.ms >= 0, `${k.kernel}: ${k.ms}`);
  assert.match(r.stdout, /first step .* ms with each command submitted alone; the first use of its \d+ pipelines/);
  assert.not.match(r.stdout, /warm-up step 1: .*includes shader compiles/);
});

test('search.js small, both variants, --peer FIXTURE: CPU and GPU queries/s, every variant agrees with CPU, peer ratio', async () => {
  const file = join(dir, 'search.json'), fixture = join(dir, 'peer-search.json');
  writeFileSync(fixture, JSON.stringify({ search: { engine: 'FAISS (fixture)', config: { n: 20000, q: 20, bits: 48, k: 10, seed: 1 }, ms: 50, qps: 400 } }));
  const r = await run('search.js', ['--n', '20000', '--q', '20', '--bits', '48', '--k', '10', '--repeats', '1', '--variants', 'bmin,hist', '--peer', fixture, '--json', file]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  checkAdapter(j);
  checkSteal(j);
  assert.ok(j.cpu.qps > 0);
  assert.ok(j.gpu.qps > 0);
  assert.equal(j.variants.map((v) => v.variant), ['bmin', 'hist']);
  for (const v of j.variants) assert.is(v.mismatched_queries, 0, `${v.variant}: ${v.first_mismatch}`);
  assert.ok(Math.abs(j.peer.ratio - j.gpu.qps / 400) < 1e-9, `ratio ${j.peer.ratio} vs ${j.gpu.qps} / 400`);
  assert.match(r.stdout, /ratio +tqhash .* queries\/s \/ FAISS \(fixture\) 400 queries\/s/);
});

test('metrics.js small: both rankings on the GPU and the CPU timed; binary the same bits, real-valued within rounding', async () => {
  const file = join(dir, 'metrics.json');
  const r = await run('metrics.js', ['--n', '3001', '--q', '300', '--real-q', '60', '--bits', '24', '--repeats', '1', '--json', file]);
  assert.is(r.code, 0, r.stderr + r.stdout);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  checkAdapter(j);
  assert.is(j.same_bits, true);
  assert.equal(j.config, { n: 3001, q: 300, realQ: 60, bits: 24, classes: 10, seed: 1, repeats: 1 });
  for (const [ranking, nq] of [['binary', 300], ['real', 60]]) {
    const rows = j.rows.filter((row) => row.ranking === ranking);
    assert.ok(rows.length >= 2 && rows.every((row) => row.ms > 0 && Math.abs(row.ms_per_query - row.ms / nq) < 1e-9), ranking);
    assert.ok(Math.abs(j.gpu_vs_cpu[ranking] - rows[0].ms / Math.min(...rows.slice(1).map((row) => row.ms))) < 1e-9, ranking);
    assert.ok(j.map[ranking] > 0 && j.map[ranking] < 1, ranking);
  }
  assert.ok(j.real_map_diff < 1e-6, `real-valued mAP differs by ${j.real_map_diff}`);
});

test('bad options exit 2 with the usage', async () => {
  const r = await run('kernels.js', ['--no-such-flag']);
  assert.is(r.code, 2);
  assert.match(r.stderr, 'unknown option --no-such-flag');
});

// Two arms of the same build in one process, one with a knob set: one line each, the first arm's ratios exactly 1, the
// second's finite; a bad knob stops with one line naming it.
test('step-ab --interleave: arms in one process, paired ratios', async () => {
  const r = await run('step-ab.js', ['--interleave', 'dist', 'dist@norm.run=2', '--rounds', '2']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('interleaved '));
  assert.is(lines.length, 2, r.stdout);
  assert.match(lines[0], /^interleaved dist: \d+ ms wall, \d+ ms CPU; per-round ratio to dist \(quartiles of 2\): wall 1\.000 \/ 1\.000 \/ 1\.000, CPU 1\.000 \/ 1\.000 \/ 1\.000$/);
  assert.match(lines[1], /^interleaved dist@norm\.run=2: \d+ ms wall, \d+ ms CPU; per-round ratio to dist \(quartiles of 2\): wall (\d+\.\d{3}( \/ )?){3}, CPU (\d+\.\d{3}( \/ )?){3}$/);
  const bad = await run('step-ab.js', ['--interleave', 'dist', 'dist@norm.run=9', '--rounds', '1']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^step-ab: dist@norm\.run=9: norm\.run=9 is not allowed; norm\.run takes 1 \| 2 \| 3 \| 4$/m);
  assert.not.match(bad.stderr, /\n\s+at .*(file:\/\/|node:)/, 'no JavaScript stack');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
