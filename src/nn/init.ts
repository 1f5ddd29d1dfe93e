// Parameter initialisation from the seeded Philox4x32-10 stream (src/cpu/philox.ts defines the mapping).
// Defaults: conv and linear weights Kaiming-normal, std = √2 / √fan_in (fan_in = Cin·KH·KW or in; PyTorch's
// kaiming_normal_(mode='fan_in', nonlinearity='relu')); Xavier-normal option, std = √(2 / (fan_in + fan_out));
// biases 0; BatchNorm γ = 1, β = 0, running mean 0, running variance 1.
//
// The normals are drawn on the host (float64 Box–Muller, rounded once to f32) rather than by a GPU kernel: a GPU's
// f32 log/cos/sin differ by ~1e-6 between adapters, and this way a seed gives bit-identical weights everywhere.
// Drawing is a one-off cost (dshNet's 0.58 M weights: see test/nn-init.test.js for the time).
import { philox4x32 } from '../cpu/philox.js';
import { runtime, type Tensor } from '../tensor.js';
import type { InitScheme, InitSpec, Module } from './module.js';

/** A seeded position in the Philox normal stream: each draw takes the next `n` values (rounded up to a whole block of 4). */
export class Generator {
  offset = 0;
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`Generator: seed must be an integer in [0, 2⁵³), got ${seed}`);
  }

  /** The next n standard normals (float32). */
  normal(n: number): Float32Array {
    const out = philoxNormalBlocks(this.seed, this.offset, n);
    this.offset += Math.ceil(n / 4) * 4;
    return out;
  }
}

/**
 * cpu.philoxNormal's numbers for an offset that is a multiple of 4, computing each Philox block once for its four
 * lanes (cpu.philoxNormal recomputes it per element: 4× slower, 0.22 s for dshNet's weights). Same float64 formulas,
 * so the result is bit-identical (checked in test/nn-init.test.js).
 */
function philoxNormalBlocks(seed: number, offset: number, n: number): Float32Array {
  if (offset % 4) throw new Error(`philoxNormalBlocks: offset ${offset} is not a multiple of 4`);
  const out = new Float32Array(n);
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32) % 2 ** 32];
  for (let i = 0; i < n; i += 4) {
    const j = (offset + i) / 4;
    const r = philox4x32([j % 2 ** 32, Math.floor(j / 2 ** 32), 1, 0], key);
    for (let q = 0; q < 2; q++) {
      const u1 = ((r[2 * q] >>> 8) + 1) * 2 ** -24;
      const u2 = (r[2 * q + 1] >>> 8) * 2 ** -24;
      const radius = Math.sqrt(-2 * Math.log(u1)), theta = 2 * Math.PI * u2;
      if (i + 2 * q < n) out[i + 2 * q] = radius * Math.cos(theta);
      if (i + 2 * q + 1 < n) out[i + 2 * q + 1] = radius * Math.sin(theta);
    }
  }
  return out;
}

/** The standard deviation a weight gets under a scheme (Kaiming: √2/√fan_in; Xavier: √(2/(fan_in + fan_out))). */
export function initStd(scheme: InitScheme, fanIn: number, fanOut: number): number {
  return scheme === 'kaiming' ? Math.sqrt(2 / fanIn) : Math.sqrt(2 / (fanIn + fanOut));
}

/** The host values for one tensor under its spec (random ones drawn from `gen`). */
export function initValues(spec: InitSpec, n: number, gen: Generator): Float32Array {
  if (spec.kind === 'const') return new Float32Array(n).fill(spec.value);
  const z = gen.normal(n);
  const std = initStd(spec.scheme, spec.fanIn, spec.fanOut);
  for (let i = 0; i < n; i++) z[i] *= std;
  return z;
}

/**
 * (Re)initialises every parameter and buffer of a module tree from `seed`: random draws are taken in namedState()
 * order (PyTorch's state_dict order), so a seed gives the same weights on any adapter. `scheme` overrides each
 * weight's own scheme when given.
 */
export function initParameters(module: Module, opts: { seed?: number; scheme?: InitScheme } = {}): void {
  const gen = new Generator(opts.seed ?? 0);
  const specs = new Map<Tensor, InitSpec>();
  for (const [, m] of module.namedModules()) for (const [t, spec] of m.initSpecs) specs.set(t, spec);
  for (const [name, t] of module.namedState()) {
    let spec = specs.get(t);
    if (!spec) throw new Error(`initParameters: ${name} has no init spec`);
    if (spec.kind === 'weight' && opts.scheme) spec = { ...spec, scheme: opts.scheme };
    if (t.size) runtime().write(t.buffer, initValues(spec, t.size, gen));
  }
}

let globalGen = new Generator(0);

/** The generator layer constructors draw from (seed 0 at start; like PyTorch's global RNG, it advances with each layer). */
export function defaultGenerator(): Generator {
  return globalGen;
}

/** Restarts the default generator at `seed` (PyTorch's manual_seed). */
export function manualSeed(seed: number): void {
  globalGen = new Generator(seed);
}

/** Initialises the tensors registered directly on `module` (not its children) from `gen`, in registration order. */
export function initModuleFrom(module: Module, gen: Generator): void {
  for (const [t, spec] of module.initSpecs) if (t.size) runtime().write(t.buffer, initValues(spec, t.size, gen));
}
