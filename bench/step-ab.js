#!/usr/bin/env node
// The training step of two or more builds of tqhash, alternated in one session: wall and CPU time per step (all
// threads) of each, medians, so a change's speed-up is measured against its base on the same machine and minutes.
// Usage: node bench/step-ab.js [--interleave] DIST [DIST …] [--steps 10] [--rounds 2]   (DIST: a checkout's dist/ folder, e.g. ../base/dist)
// DIST@KNOBS runs that build with TQHASH_KNOBS=KNOBS, so knob sets alternate as builds do:
//   node bench/step-ab.js dist dist@conv.DW_CI_B=1 --rounds 3
// Each build runs in its own child process (one WebGPU device each): dshNet+BN, 48 bits, batch 128, TQL, Adam, as
// bench/step.js — but with its own short step loop rather than runStepBench, since an older build lacks the fields
// (CPU time, knobs) and options compared here.
// --interleave: all arms in this one process instead (each build loaded as its own module instance, with its own
// device), one step of each in turn, --rounds steps each, the order reversed every other round (ABBA): the arms see
// the same minutes of a host whose speed moves by 20 % between rounds of the child-process mode. Reported: each arm's
// median, and the median of its per-round ratios to the first arm (paired, so a slow minute cancels).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i < 0 ? dflt : Number(argv.splice(i, 2)[1]); };
const interleave = argv.includes('--interleave');
if (interleave) argv.splice(argv.indexOf('--interleave'), 1);
const steps = opt('steps', 10), rounds = opt('rounds', interleave ? 30 : 2);
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1]; // (the upper middle of an even count)
/** One arm's training step: the build in `dist` (a module instance of its own per `instance`), knobs set in-process when
 *  given (interleaved mode; a child process gets them as TQHASH_KNOBS). Returns a function that times one step. */
async function armStep(dist, instance, knobs) {
  const tq = await import(`${pathToFileURL(resolve(dist, 'index.js')).href}?arm=${instance}`);
  await tq.init();
  if (knobs) tq.gpu.setKnobs(tq.gpu.parseKnobOverrides(knobs, `step-ab: ${dist}@${knobs}`));
  const B = 128;
  const model = tq.nn.dshNet({ bits: 48, batchNorm: true, seed: 1 });
  const opt2 = new tq.optim.Adam(model.namedParameters(), { lr: 1e-3 });
  const x = tq.Tensor.from(Float32Array.from({ length: B * 3072 }, (_, i) => Math.sin(i * 0.37)), [B, 3, 32, 32]).keep();
  const labels = tq.Tensor.from(Uint32Array.from({ length: B }, (_, i) => i % 10), [B], 'u32').keep();
  const step = () => tq.scope(() => { const { loss } = tq.ops.tripletQuantLoss(model.forward(x), labels); tq.backward(loss); opt2.step(); opt2.zeroGrad(); });
  const rt = tq.runtime();
  return async () => {
    await rt.sync();
    const c0 = process.cpuUsage(), t0 = performance.now();
    step();
    await rt.sync();
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
}
const split = (arm) => { const at = arm.indexOf('@'); return at < 0 ? { dist: arm, knobs: undefined } : { dist: arm.slice(0, at), knobs: arm.slice(at + 1) }; };

if (process.env.STEP_AB_CHILD) {
  const timeStep = await armStep(argv[0], 0);
  const wall = [], cpu = [];
  for (let i = 0; i < steps + 2; i++) {
    const t = await timeStep();
    if (i >= 2) { wall.push(t.wall); cpu.push(t.cpu); }
  }
  console.log(JSON.stringify({ wall: med(wall), cpu: med(cpu) }));
  process.exit(0);
} else if (interleave) {
  if (argv.length < 2) { console.log('node bench/step-ab.js --interleave DIST[@KNOBS] DIST[@KNOBS] [… ] [--rounds 30]'); process.exit(2); }
  const arms = [];
  for (const [i, arm] of argv.entries()) {
    try {
      arms.push({ arm, time: await armStep(split(arm).dist, i, split(arm).knobs), wall: [], cpu: [] });
    } catch (e) {
      const line = e.message.split('\n')[0];
      console.error(line.startsWith('step-ab:') ? line : `step-ab: ${arm}: ${line}`);
      process.exit(2);
    }
  }
  for (const a of arms) for (let w = 0; w < 2; w++) await a.time(); // warm-up: compiles, pools
  for (let r = 0; r < rounds; r++) {
    for (const a of r % 2 ? [...arms].reverse() : arms) {
      const t = await a.time();
      a.wall.push(t.wall);
      a.cpu.push(t.cpu);
    }
  }
  const [a0] = arms;
  for (const a of arms) {
    const q = (xs) => { const o = [...xs].sort((p, q) => p - q); return [o[Math.floor((o.length - 1) / 4)], med(o), o[Math.ceil((3 * (o.length - 1)) / 4)]].map((v) => v.toFixed(3)); };
    const rw = q(a.wall.map((v, i) => v / a0.wall[i])), rc = q(a.cpu.map((v, i) => v / a0.cpu[i]));
    console.log(`interleaved ${a.arm}: ${med(a.wall).toFixed(0)} ms wall, ${med(a.cpu).toFixed(0)} ms CPU; per-round ratio to ${a0.arm} (quartiles of ${rounds}): wall ${rw.join(' / ')}, CPU ${rc.join(' / ')}`);
  }
  process.exit(0); // (the arms' devices are left to the process's end)
} else {
  if (!argv.length || argv.includes('--help')) {
    console.log('node bench/step-ab.js [--interleave] DIST[@KNOBS] [DIST[@KNOBS] …] [--steps 10] [--rounds 2, interleaved 30]');
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
