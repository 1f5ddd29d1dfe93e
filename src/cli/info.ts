// `tqhash info`: the WebGPU adapter the engine chooses, the limits it requested against what the adapter offers,
// the features, the versions and the TQHASH_* flags: the block that heads every report.
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { getRuntime, disposeRuntime } from '../gpu/runtime.js';
import { formatAdapterInfo } from '../gpu/adapter.js';
import { flagsSet } from '../config.js';
import { currentKnobs } from '../gpu/knobs.js';
import { hostCpu } from '../util/host.js';
import { reportError } from './command.js';

export const summary = 'the WebGPU adapter, its limits and features, the knobs and the TQHASH_* flags';

const SPEC: Record<string, OptSpec> = {
  json: { type: 'bool', default: false, help: 'print it as one JSON object instead (the adapter, its limits and features, the knobs, the TQHASH_* flags, the CPU)' },
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
    if (opts.json) {
      console.log(JSON.stringify({ ...rt.info, knobs: currentKnobs(), flags: flagsSet(), cpu: hostCpu() }, null, 2));
      return 0;
    }
    console.log(formatAdapterInfo(rt.info));
    const set = Object.entries(flagsSet());
    console.log(`flags     ${set.length ? set.map(([k, v]) => `${k}=${v}`).join(' ') : '(no TQHASH_* variables set)'}`);
    return 0;
  } catch (e) {
    return reportError(e);
  } finally {
    await disposeRuntime();
  }
}
