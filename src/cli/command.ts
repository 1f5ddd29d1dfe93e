// What every subcommand shares: its shape in the command table, how an error becomes one line and an exit code,
// and the command line that reproduces a run.
import { basename, relative } from 'node:path';
import { UsageError } from '../util/args.js';
import { isDataError } from '../util/errors.js';
import { NoAdapterError } from '../gpu/adapter.js';
import { OutputError } from '../util/fs.js';
import { flags, FlagError } from '../config.js';

/** One subcommand: a line for `tqhash --help` and its entry point, which returns the exit code. */
export interface Command {
  summary: string;
  main(argv: string[]): Promise<number> | number;
}

/** Exit codes: 0 done, 1 failed (a diverged run, a write that failed, a bug), 2 a user mistake (options, data, files, adapter). */
export function reportError(e: unknown): number {
  const user = e instanceof UsageError || isDataError(e) || e instanceof OutputError || e instanceof FlagError || e instanceof NoAdapterError;
  const message = e instanceof Error ? e.message : String(e);
  console.error(`error: ${message}`);
  let debug = false;
  try {
    debug = flags().debug;
  } catch {
    // a bad TQHASH_* value is the error being reported
  }
  if (!user && debug && e instanceof Error && e.stack) console.error(e.stack);
  return user ? 2 : 1;
}

/** The one RUN folder among a subcommand's positional arguments; `missing` completes "RUN folder missing" when none is given. */
export function oneRunFolder(positional: string[], missing: string): string {
  if (positional.length === 1) return positional[0];
  throw new UsageError(positional.length ? `one RUN folder expected, got ${positional.length}: ${positional.join(' ')}` : `RUN folder missing${missing}`);
}

/** The command line of this process as a user would type it again: `tqhash train …` or `node bench/train.js …`. */
export function commandLine(): string {
  const script = process.argv[1] ?? '';
  const head = /^tqhash(\.js)?$/.test(basename(script)) ? 'tqhash' : `node ${relative(process.cwd(), script)}`;
  return [head, ...process.argv.slice(2)].join(' ');
}
