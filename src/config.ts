/**
 * Every environment override of tqhash, read once, in one place (documented in docs/flags.md).
 * All share the TQHASH_ prefix; reports echo the ones that are set.
 */
export interface Flags {
  /** Force a Dawn backend: vulkan | opengles | opengl | metal | d3d12 | d3d11 | null. */
  backend?: string;
  /** Force an adapter by name (Dawn's `adapter=` option). */
  adapter?: string;
  /** Force a feature level: core | compatibility. */
  featureLevel?: 'core' | 'compatibility';
  /** Debug logging to stderr (adapter selection, pipeline compiles, pool growth). */
  debug: boolean;
  /** Knob overrides, 'conv.WGX=16,gemm.variant=regblock' (src/gpu/knobs.ts; parsed when the runtime starts). */
  knobs?: string;
  /** 'tune' (TQHASH_AUTOTUNE=1): time the kernel variants on this adapter once and cache the winners, or finish a
   *  run stopped part-way; 'cached': use the cached winners (a partial run's too) without timing anything
   *  (src/gpu/autotune.ts). */
  autotune?: 'tune' | 'cached';
  /** The knob preset to start from instead of the adapter's class (src/gpu/knobs.ts): software | gpu. */
  preset?: 'software' | 'gpu';
  /** The python3 that runs bench/peers/peers.py (PyTorch and FAISS peers of the benchmarks). */
  python?: string;
  /** 'default': open the device with WebGPU's core default limits, not the adapter's (what every core adapter offers). */
  limits?: 'default';
}

/** A TQHASH_* variable with a value it cannot have: entry points print the message as one line, exit code 2. */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** Dawn's backend names (its `backend=` option). */
export const BACKENDS = ['vulkan', 'opengles', 'opengl', 'metal', 'd3d12', 'd3d11', 'null', 'webgpu'] as const;

function readFlags(env: NodeJS.ProcessEnv): Flags {
  const fl = env.TQHASH_FEATURE_LEVEL;
  if (fl !== undefined && fl !== 'core' && fl !== 'compatibility') {
    throw new FlagError(`TQHASH_FEATURE_LEVEL=${fl} is not a feature level: use core or compatibility, or unset it`);
  }
  const be = env.TQHASH_BACKEND;
  if (be && !(BACKENDS as readonly string[]).includes(be)) {
    throw new FlagError(`TQHASH_BACKEND=${be}: ${be} is not a Dawn backend; use one of ${BACKENDS.join(', ')}, or unset it to let tqhash choose`);
  }
  const at = env.TQHASH_AUTOTUNE;
  if (at !== undefined && !['', '0', '1', 'false', 'true', 'cached'].includes(at)) {
    throw new FlagError(`TQHASH_AUTOTUNE=${at}: use 1 (time the kernel variants once per adapter, cache the winners), cached (use cached winners, time nothing) or 0`);
  }
  const pr = env.TQHASH_PRESET;
  if (pr && pr !== 'software' && pr !== 'gpu') {
    throw new FlagError(`TQHASH_PRESET=${pr} is not a knob preset: use software or gpu, or unset it to take the adapter's own`);
  }
  const li = env.TQHASH_LIMITS;
  if (li && li !== 'default' && li !== 'adapter') {
    throw new FlagError(`TQHASH_LIMITS=${li}: use default (WebGPU's core default limits, which every adapter at feature level core offers) or adapter (its own, as when unset)`);
  }
  return {
    backend: env.TQHASH_BACKEND || undefined,
    adapter: env.TQHASH_ADAPTER || undefined,
    featureLevel: fl as Flags['featureLevel'],
    debug: env.TQHASH_DEBUG === '1' || env.TQHASH_DEBUG === 'true',
    knobs: env.TQHASH_KNOBS || undefined,
    autotune: at === '1' || at === 'true' ? 'tune' : at === 'cached' ? 'cached' : undefined,
    preset: (pr || undefined) as Flags['preset'],
    python: env.TQHASH_PYTHON || undefined,
    limits: li === 'default' ? 'default' : undefined,
  };
}

let cached: Flags | undefined;

/** The TQHASH_* flags of this process (read on first call). */
export function flags(): Flags {
  return (cached ??= readFlags(process.env));
}

/** The TQHASH_* variables that are set, for report headers. */
export function flagsSet(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('TQHASH_') && v !== undefined) out[k] = v;
  return out;
}

/** Debug line to stderr when TQHASH_DEBUG=1. */
export function debug(...args: unknown[]): void {
  if (flags().debug) console.error('[tqhash]', ...args);
}
