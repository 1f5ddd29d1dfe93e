/**
 * Every environment override of tqhash, read once, in one place (documented in README.md, "Flags").
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
  /** The python3 that runs bench/peers/peers.py (PyTorch and FAISS peers of the benchmarks). */
  python?: string;
}

function readFlags(env: NodeJS.ProcessEnv): Flags {
  const fl = env.TQHASH_FEATURE_LEVEL;
  if (fl !== undefined && fl !== 'core' && fl !== 'compatibility') {
    throw new Error(`TQHASH_FEATURE_LEVEL=${fl} is not a feature level: use core or compatibility`);
  }
  return {
    backend: env.TQHASH_BACKEND || undefined,
    adapter: env.TQHASH_ADAPTER || undefined,
    featureLevel: fl as Flags['featureLevel'],
    debug: env.TQHASH_DEBUG === '1' || env.TQHASH_DEBUG === 'true',
    python: env.TQHASH_PYTHON || undefined,
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
