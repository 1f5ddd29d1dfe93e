// The `tqhash` command: one table of subcommands, each a small file of this folder holding its help text, options and
// the call into the library (STYLE.md 17). A new subcommand is one line of COMMANDS.
import { closest } from '../util/args.js';
import type { Command } from './command.js';
import * as train from './train.js';
import * as study from './study.js';
import * as evaluate from './eval.js';
import * as search from './search.js';
import * as exporter from './export.js';
import * as info from './info.js';
import * as bench from './bench.js';
import * as demo from './demo.js';
import { codeVersion } from '../util/version.js';

export const COMMANDS = new Map<string, Command>([
  ['train', train],
  ['study', study],
  ['eval', evaluate],
  ['search', search],
  ['export', exporter],
  ['info', info],
  ['bench', bench],
  ['demo', demo],
]);

/** `tqhash --help`: the subcommands with one line each. */
export function help(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((n) => n.length));
  return [
    'usage: tqhash <command> [options]     (tqhash <command> --help for its options)',
    '',
    'Deep hashing with the triplet quantization loss on a hand-written WebGPU engine.',
    '',
    'Commands:',
    ...[...COMMANDS].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** Runs `tqhash ARGV`; returns the exit code (2 for an unknown or missing command). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length && COMMANDS.has(rest[0])) return COMMANDS.get(rest[0])!.main([...rest.slice(1), '--help']); // tqhash help train
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  if (name === '--version') {
    console.log(codeVersion().package);
    return 0;
  }
  const command = name === undefined ? undefined : COMMANDS.get(name);
  if (!command) {
    const guess = name === undefined ? undefined : closest(name, [...COMMANDS.keys()]);
    console.error(name === undefined ? help() : `error: unknown command "${name}"${guess ? ` (did you mean ${guess}?)` : ''}; tqhash --help lists the commands`);
    return 2;
  }
  return command.main(rest);
}

/** Runs one subcommand by name (the bench/*.js entry points). */
export function run(name: string, argv: string[]): Promise<number> | number {
  return COMMANDS.get(name)!.main(argv);
}

export { parseStudyArgs, studyMain } from './study.js';
export { parseExportArgs, HELP as EXPORT_HELP } from './export.js';
export { parseArgs, usage, UsageError, closest, type OptSpec, type OptType } from '../util/args.js';
export { reportError, commandLine, type Command } from './command.js';
