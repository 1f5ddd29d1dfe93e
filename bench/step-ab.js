#!/usr/bin/env node
// The training step of two or more builds of tqhash, alternated in one session: wall and CPU time per step (all
// threads) of each, medians, so a change's speed-up is measured against its base on the same machine and minutes.
// Usage: node bench/step-ab.js DIST [DIST …] [--steps 10] [--rounds 2]   (DIST: a checkout's dist/ folder, e.g. ../base/dist)
// DIST@KNOBS runs that build with TQHASH_KNOBS=KNOBS, so knob sets alternate as builds do:
//   node bench/step-ab.js dist dist@conv.DW_CI_B=1 --rounds 3
// Each build runs in its own child process (one WebGPU device each): dshNet+BN, 48 bits, batch 128, TQL, Adam, as
// bench/step.js — but with its own short step loop rather than runStepBench, since an older build lacks the fields
// (CPU time, knobs) and options compared here.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i < 0 ? dflt : Number(argv.splice(i, 2)[1]); };
const steps = opt('steps', 10), rounds = opt('rounds', 2);
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1]; // (the upper middle of an even count)
if (process.env.STEP_AB_CHILD) {
  const tq = await import(resolve(argv[0], 'index.js'));
  await tq.init();
  const B = 128;
  const model = tq.nn.dshNet({ bits: 48, batchNorm: true, seed: 1 });
  const opt2 = new tq.optim.Adam(model.namedParameters(), { lr: 1e-3 });
  const x = tq.Tensor.from(Float32Array.from({ length: B * 3072 }, (_, i) => Math.sin(i * 0.37)), [B, 3, 32, 32]).keep();
  const labels = tq.Tensor.from(Uint32Array.from({ length: B }, (_, i) => i % 10), [B], 'u32').keep();
  const step = () => tq.scope(() => { const { loss } = tq.ops.tripletQuantLoss(model.forward(x), labels); tq.backward(loss); opt2.step(); opt2.zeroGrad(); });
  const rt = tq.runtime(), wall = [], cpu = [];
  for (let i = 0; i < steps + 2; i++) {
    await rt.sync();
    const c0 = process.cpuUsage(), t0 = performance.now();
    step();
    await rt.sync();
    const c = process.cpuUsage(c0);
    if (i >= 2) { wall.push(performance.now() - t0); cpu.push((c.user + c.system) / 1000); }
  }
  console.log(JSON.stringify({ wall: med(wall), cpu: med(cpu) }));
  await tq.gpu.disposeRuntime();
} else {
  if (!argv.length || argv.includes('--help')) {
    console.log('node bench/step-ab.js DIST[@KNOBS] [DIST[@KNOBS] …] [--steps 10] [--rounds 2]');
    process.exit(argv.length ? 0 : 2);
  }
  const me = fileURLToPath(import.meta.url);
  const seen = new Map(argv.map((arm) => [arm, { wall: [], cpu: [] }]));
  for (let r = 1; r <= rounds; r++) {
    for (const arm of argv) {
      const at = arm.indexOf('@'), dist = at < 0 ? arm : arm.slice(0, at);
      const env = { ...process.env, STEP_AB_CHILD: '1', ...(at < 0 ? {} : { TQHASH_KNOBS: arm.slice(at + 1) }) };
      const out = execFileSync(process.execPath, [me, dist, '--steps', String(steps)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const { wall, cpu } = JSON.parse(out.trim().split('\n').pop());
      console.log(`round ${r}  ${arm}: ${wall.toFixed(0)} ms/step wall (${(128000 / wall).toFixed(0)} images/s), ${cpu.toFixed(0)} ms CPU`);
      seen.get(arm).wall.push(wall);
      seen.get(arm).cpu.push(cpu);
    }
  }
  // Medians over the rounds, and each arm's time as a multiple of the first arm's (below 1: faster).
  const [w0, c0] = [med(seen.get(argv[0]).wall), med(seen.get(argv[0]).cpu)];
  for (const [arm, { wall, cpu }] of seen) {
    console.log(`median      ${arm}: ${med(wall).toFixed(0)} ms wall (×${(med(wall) / w0).toFixed(3)}), ${med(cpu).toFixed(0)} ms CPU (×${(med(cpu) / c0).toFixed(3)})`);
  }
}
