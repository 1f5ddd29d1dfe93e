// Op family random: seeded uniform and normal tensors from the counter-based Philox4x32-10 generator
// (shaders/random.wgsl, bit-exact with cpu.philoxUniform; normals within ~1e-6 of cpu.philoxNormal).
// Not differentiable. A (seed, offset) pair names a position in the stream, so element k of a draw is the same
// number whatever the tensor's shape, batch or adapter: callers advance `offset` by the count they drew.
import { Tensor, numel, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';

const wg = (): number => knob('ops.WG');

function streamParams(op: string, shape: readonly number[], seed: number, offset: number) {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${op}: seed must be an integer in [0, 2⁵³), got ${seed}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${op}: offset must be an integer ≥ 0, got ${offset}`);
  const n = numel(shape);
  if (!Number.isSafeInteger(offset + n)) throw new Error(`${op}: offset ${offset} + ${n} elements passes 2⁵³`);
  const j0 = Math.floor(offset / 4);
  const shift = offset % 4;
  return {
    n,
    blocks: Math.ceil((shift + n) / 4),
    j0lo: j0 % 2 ** 32,
    j0hi: Math.floor(j0 / 2 ** 32),
    shift,
    keylo: seed % 2 ** 32,
    keyhi: Math.floor(seed / 2 ** 32),
  };
}

function draw(entry: 'random_uniform' | 'random_normal', op: string, shape: readonly number[], seed: number, offset: number, a: number, b: number): Tensor {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`${op}: the range/scale (${a}, ${b}) must be finite`);
  const p = streamParams(op, shape, seed, offset);
  const y = Tensor.empty(shape);
  if (p.n === 0) return y;
  runtime().dispatch({ file: 'random.wgsl', entry, overrides: { WG: wg() } }, { bindings: { y: y.buffer }, params: { ...p, a, b }, workgroups: grid1d(p.blocks, wg()) });
  return y;
}

/** Uniform values in [lo, hi) (lo + (hi − lo)·u, u = cpu.philoxUniform(seed, offset, n)[k]); a new f32 tensor of `shape`. */
export function randomUniform(shape: readonly number[], seed: number, offset = 0, lo = 0, hi = 1): Tensor {
  return draw('random_uniform', 'randomUniform', shape, seed, offset, lo, hi - lo);
}

/** Normal values mean + std·z (z = cpu.philoxNormal(seed, offset, n)[k] to ~1e-6); a new f32 tensor of `shape`. */
export function randomNormal(shape: readonly number[], seed: number, offset = 0, mean = 0, std = 1): Tensor {
  return draw('random_normal', 'randomNormal', shape, seed, offset, mean, std);
}
