// `tqhash info`: the WebGPU adapter the engine chooses, the limits it requested against what the adapter offers,
// the features, the versions and the TQHASH_* flags: the block that heads every report.
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { getRuntime, disposeRuntime } from '../gpu/runtime.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { flagsSet } from '../config.js';
import { reportError } from './command.js';

export const summary = 'the WebGPU adapter, its limits and features, the knobs and the TQHASH_* flags';

const SPEC: Record<string, OptSpec> = {
  json: { type: 'bool', default: false, help: 'also print the adapter block as JSON' },
  help: { type: 'bool', default: false, help: 'this text' },
};

/** Runs the command; returns the exit code (0, or 2 when no adapter is found). */
export async function main(argv: string[]): Promise<number> {
  try {
    const { opts, positional } = parseArgs(argv, SPEC);
    if (opts.help) {
      console.log(usage('usage: tqhash info [--json]     (also: node bench/info.js)\n\nPrints the adapter block that heads every report.', SPEC));
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"; options start with --`);
    const rt = await getRuntime();
    console.log(formatAdapterInfo(rt.info));
    const set = Object.entries(flagsSet());
    console.log(`flags     ${set.length ? set.map(([k, v]) => `${k}=${v}`).join(' ') : '(no TQHASH_* variables set)'}`);
    if (opts.json) console.log(JSON.stringify(rt.info, null, 2));
    return 0;
  } catch (e) {
    return reportError(e);
  } finally {
    await disposeRuntime();
  }
}
