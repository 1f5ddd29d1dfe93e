// The benchmarks' peers (bench/peers/peers.py, src/bench/peers.ts): parsing and checking of its JSON, the --peer
// argument, the ratio line; and, only where a python3 with faiss / torch is installed, a short run of the script
// itself (FAISS's top-k distances must equal our CPU reference's on the same codes). Not a dependency: skipped elsewhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tq from '../dist/index.js';

const { parsePeerReport, readPeerFile, formatPeerRatio, takePeerArg, runPeer, peerPython } = tq.bench;
const dir = mkdtempSync(join(tmpdir(), 'tqhash-peers-'));

const FIXTURE = {
  peers: 'bench/peers/peers.py', loadavg: [0.5, 0.4, 0.3], date: '2026-11-30T12:00:00Z',
  step: { engine: 'PyTorch 1.13 (CPU, 2 threads)', config: { batch: 128, bits: 48 }, step_ms: 170, images_per_s: 752.9 },
  search: { engine: 'FAISS 1.7.3 IndexBinaryFlat (2 threads)', config: { n: 1000000, q: 1000, bits: 64, k: 100, seed: 1, threads: 2 }, ms: 860, qps: 1162.8, distances_sha256: 'ab'.repeat(32) },
};

test('parsePeerReport reads peers.py JSON and keeps its figures', () => {
  const r = parsePeerReport(JSON.stringify(FIXTURE), 'fixture');
  assert.is(r.step.images_per_s, 752.9);
  assert.is(r.step.step_ms, 170);
  assert.is(r.search.qps, 1162.8);
  assert.equal(r.search.config, { n: 1000000, q: 1000, bits: 64, k: 100, seed: 1, threads: 2 });
  assert.is(r.search.distances_sha256, 'ab'.repeat(32));
  assert.equal(r.loadavg, [0.5, 0.4, 0.3]);
  assert.is(r.source, 'fixture');
  // Only one half present is fine.
  assert.is(parsePeerReport(JSON.stringify({ search: FIXTURE.search }), 'x').step, undefined);
});

test('parsePeerReport rejects what is not a peers.py report, saying what is wrong', () => {
  assert.throws(() => parsePeerReport('{not json', 'f'), /peer f: not JSON/);
  assert.throws(() => parsePeerReport('[1, 2]', 'f'), /JSON object/);
  assert.throws(() => parsePeerReport('{}', 'f'), /no "step", "search" or "convs"/);
  assert.throws(() => parsePeerReport(JSON.stringify({ missing: ['step: No module named torch'] }), 'f'), /No module named torch/);
  assert.throws(() => parsePeerReport(JSON.stringify({ step: { step_ms: -1, images_per_s: 3 } }), 'f'), /step_ms and images_per_s/);
  assert.throws(() => parsePeerReport(JSON.stringify({ search: { ms: 1, qps: 1, config: { n: 1, q: 1, bits: 64 } } }), 'f'), /search\.config\.k/);
});

const CONVS = {
  engine: 'PyTorch 1.13 (CPU, 2 threads)', config: { batch: 8, threads: 2 },
  rows: ['fwd', 'bwd-data', 'bwd-weights'].map((pass, i) => ({ name: 'conv3', pass, batch: 8, ms: 0.5 + i, cpu_ms: 1 })),
};

test('parsePeerReport reads the convs rows and rejects a malformed one, naming it', () => {
  const r = parsePeerReport(JSON.stringify({ convs: CONVS }), 'c');
  assert.equal(r.convs.rows.map((x) => [x.name, x.pass, x.batch, x.ms]), [['conv3', 'fwd', 8, 0.5], ['conv3', 'bwd-data', 8, 1.5], ['conv3', 'bwd-weights', 8, 2.5]]);
  assert.is(r.convs.engine, CONVS.engine);
  const bad = (row) => JSON.stringify({ convs: { ...CONVS, rows: [CONVS.rows[0], row] } });
  assert.throws(() => parsePeerReport(bad({ ...CONVS.rows[0], pass: 'backward' }), 'c'), /convs\.rows\[1\] needs name, pass/);
  assert.throws(() => parsePeerReport(bad({ ...CONVS.rows[0], ms: 0 }), 'c'), /convs\.rows\[1\]/);
  assert.throws(() => parsePeerReport(JSON.stringify({ convs: { rows: 3 } }), 'c'), /"convs" needs an array "rows"/);
});

test('kernels.js --peer FILE: each conv2d pass beside the peer\'s, ratio = peer ms ÷ our fastest variant\'s', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const f = join(dir, 'convs.json'), out = join(dir, 'kernels.json');
  writeFileSync(f, JSON.stringify({ convs: CONVS }));
  const r = spawnSync(process.execPath, ['bench/kernels.js', '--quick', '--filter', 'conv3', '--peer', f, '--json', out], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, '== conv2d against the peer: PyTorch 1.13 (CPU, 2 threads), each pass alone ==');
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(j.peer_convs.rows.map((x) => x.pass), ['fwd', 'bwd-data', 'bwd-weights']);
  for (const p of j.peer_convs.rows) {
    const ours = j.rows.filter((x) => x.name === `conv3 ${p.pass}` && x.shape.startsWith('N8 ') && x.variant !== 'im2col+gemm');
    const best = ours.sort((a, b) => a.ms - b.ms)[0];
    assert.is(p.variant, best.variant);
    assert.is(p.ours_ms, best.ms);
    assert.ok(Math.abs(p.ratio - p.peer_ms / best.ms) < 1e-12, `${p.pass}: ${p.ratio}`);
    assert.is(p.peer_ms, CONVS.rows.find((x) => x.pass === p.pass).ms);
  }
  // A file without convs is one error line naming what writes them, before anything is measured.
  writeFileSync(f, JSON.stringify({ step: FIXTURE.step }));
  const r2 = spawnSync(process.execPath, ['bench/kernels.js', '--quick', '--filter', 'conv3', '--peer', f], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  assert.is(r2.status, 2);
  assert.not.match(r2.stdout, 'conv2d', 'measured before the error');
  assert.match(r2.stderr, /error: --peer .*convs\.json: no "convs" in it \(bench\/peers\/peers\.py convs --batch B writes them\)\n$/);
});

test('readPeerFile: a regular file of bounded size', () => {
  const f = join(dir, 'peer.json');
  writeFileSync(f, JSON.stringify(FIXTURE));
  assert.is(readPeerFile(f).search.qps, 1162.8);
  assert.throws(() => readPeerFile(dir), /not a regular file/);
  assert.throws(() => readPeerFile(join(dir, 'absent.json')), /--peer .*absent\.json: no such file/);
  assert.throws(() => readPeerFile(f, 'convs'), /--peer .*peer\.json: no "convs" in it/);
  assert.is(readPeerFile(f, 'step').step.images_per_s, 752.9);
  const big = join(dir, 'big.json');
  writeFileSync(big, ' '.repeat((1 << 20) + 1));
  assert.throws(() => readPeerFile(big), /limit/);
});

test('formatPeerRatio: ours ÷ the mean of the peer runs, each run listed', () => {
  const line = formatPeerRatio('ratio', 'queries/s', 2000, [
    { engine: 'FAISS', value: 900, when: 'before ours' }, { engine: 'FAISS', value: 1100, when: 'after ours' },
  ]);
  assert.match(line, 'tqhash 2000 queries/s / FAISS 1000 queries/s (before ours 900, after ours 1100) = 2.00');
  assert.match(formatPeerRatio('ratio', 'images/s', 1, []), 'no peer measurement');
});

test('takePeerArg: --peer alone runs the script, --peer FILE reads a file, other options pass through', () => {
  assert.equal(takePeerArg(['--n', '5', '--peer']), { argv: ['--n', '5'], peer: true });
  assert.equal(takePeerArg(['--peer', '--n', '5']), { argv: ['--n', '5'], peer: true });
  assert.equal(takePeerArg(['--peer', 'x.json', '--k', '3']), { argv: ['--k', '3'], peer: 'x.json' });
  assert.equal(takePeerArg(['--peer=y.json']), { argv: [], peer: 'y.json' });
  assert.equal(takePeerArg(['--q', '2']), { argv: ['--q', '2'], peer: undefined });
});

/** Whether peerPython() can import `mod` (the peers are optional). */
function hasModule(mod) {
  const r = spawnSync(peerPython(), ['-c', `import ${mod}`], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

test('peers.py search (where python3 has faiss): FAISS finds the same top-k distances as our CPU reference', () => {
  if (!hasModule('faiss') || !hasModule('numpy')) { console.log(`  (skipped: ${peerPython()} has no faiss; apt-get install python3-faiss to run the peer)`); return; }
  const n = 3001, q = 7, bits = 64, k = 25, seed = 3;
  const r = runPeer('search', ['--n', `${n}`, '--q', `${q}`, '--search-bits', `${bits}`, '--k', `${k}`, '--seed', `${seed}`, '--repeats', '1']);
  assert.ok(r.report, r.reason);
  const s = r.report.search;
  assert.ok(s.qps > 0 && s.ms > 0);
  assert.equal([s.config.n, s.config.q, s.config.k], [n, q, k]);
  // The same codes as bench/search.js (randomWords, seed and seed + 1000): the distances must agree with ours.
  const db = tq.bench.randomWords(n * 2, seed), qs = tq.bench.randomWords(q * 2, seed + 1000);
  const ref = tq.hash.hammingTopKCpu(qs, db, q, n, bits, k);
  const sha = createHash('sha256').update(new Uint8Array(ref.distances.buffer, ref.distances.byteOffset, ref.distances.byteLength)).digest('hex');
  assert.is(s.distances_sha256, sha, 'FAISS top-k distances differ from hammingTopKCpu on the same codes');
});

test('peers.py step (where python3 has torch): one tiny PyTorch step of dshNet + TQL + Adam runs and is timed', () => {
  if (!hasModule('torch')) { console.log(`  (skipped: ${peerPython()} has no torch; apt-get install python3-torch to run the peer)`); return; }
  const r = runPeer('step', ['--batch', '8', '--bits', '12', '--steps', '1']);
  assert.ok(r.report, r.reason);
  const s = r.report.step;
  assert.ok(s.step_ms > 0 && s.images_per_s > 0);
  assert.is(s.config.batch, 8);
  assert.is(s.config.bits, 12);
});

test('peers.py convs (where python3 has torch): every pass of the three convolutions timed', () => {
  if (!hasModule('torch')) { console.log(`  (skipped: ${peerPython()} has no torch; apt-get install python3-torch to run the peer)`); return; }
  const r = runPeer('convs', ['--batch', '2', '--steps', '1']);
  assert.ok(r.report, r.reason);
  const rows = r.report.convs.rows;
  assert.equal(rows.map((x) => `${x.name} ${x.pass}`), ['conv1', 'conv2', 'conv3'].flatMap((n) => ['fwd', 'bwd-data', 'bwd-weights'].map((p) => `${n} ${p}`)));
  for (const x of rows) assert.ok(x.batch === 2 && x.ms > 0, JSON.stringify(x));
});

test('runPeer without a usable python says why instead of failing', () => {
  const r = runPeer('search', ['--n', '10'], { python: join(dir, 'no-such-python3') });
  assert.is(r.report, null);
  assert.match(r.reason, /could not run .*TQHASH_PYTHON/);
  // Where a python3 exists: the script rejects a bad option on stderr and prints no report.
  if (hasModule('json')) {
    const r2 = runPeer('search', ['--no-such-option']);
    assert.is(r2.report, null);
    assert.match(r2.reason, /not JSON.*stderr: .*no-such-option/);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
