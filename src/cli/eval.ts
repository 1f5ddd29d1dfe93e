// `tqhash eval RUN`: the final evaluation of a finished run again, from its model.safetensors and split.
import { parseArgs, usage, type OptSpec } from '../util/args.js';
import { evaluateRun } from '../train/reopen.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { handleStopSignals } from '../train/signals.js';
import { flags } from '../config.js';
import { commandLine, oneRunFolder, reportError } from './command.js';

export const summary = 'evaluate a finished run again (its model and split): mAP binary and real-valued, into RUN/eval.json';

const SPEC: Record<string, OptSpec> = {
  data: { type: 'string', help: 'where the run\'s data set is now (default: the --data the run was trained with)' },
  quiet: { type: 'bool', default: false, help: 'no progress bars' },
  help: { type: 'bool', default: false, help: 'this text' },
};

const HEAD = `usage: tqhash eval RUN [--data PATH] [--quiet]

Encodes the run's queries and database with RUN/model.safetensors (the split recomputed from the run's options and
checked against RUN/split.json), ranks them as the trainer's final evaluation does and writes RUN/eval.json.`;

/** Runs the command; returns the exit code (0 done, 1 failed, 2 bad arguments, run folder or data, 130/143 stopped). */
export async function main(argv: string[]): Promise<number> {
  const stops = handleStopSignals();
  try {
    flags();
    const { opts, positional } = parseArgs(argv, SPEC);
    if (opts.help) {
      console.log(usage(HEAD, SPEC));
      return 0;
    }
    const run = oneRunFolder(positional, ': tqhash eval RUN (a folder tqhash train wrote)');
    await evaluateRun(run, { data: opts.data as string | undefined, quiet: opts.quiet as boolean, command: commandLine(), signal: stops.requests.signal });
    return 0;
  } catch (e) {
    return stops.requests.signal.aborted ? (console.error('stopped'), stops.requests.code) : reportError(e);
  } finally {
    stops.dispose();
    await disposeRuntime();
  }
}
