// `tqhash study [cifar10|inshop] --grid 'KEY=V1,V2 …' [train options]`: a grid of training runs, resumable, aggregated
// with seeds. This file holds the command's options, help text and call; the runner is the library's (src/train/study.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { runStudy, aggregateStudy, parseGrid, studyCells, cellConfig, shellJoin, CELL_SPEC, type StudyPlan } from '../train/study.js';
import { handleStopSignals } from '../train/signals.js';
import { OutputError } from '../util/fs.js';
import { isDataError } from '../util/errors.js';
import { NoAdapterError } from '../gpu/adapter.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { flags, FlagError } from '../config.js';

export const summary = 'a grid of training runs (losses × bits × seeds …), resumable, aggregated into mean ± sd';

const STUDY_SPEC: Record<string, OptSpec> = {
  grid: { type: 'string', help: "the cells: space-separated KEY=V1,V2,… over train options, e.g. 'loss=tql,triplet bits=12,24 seed=1,2,3'; every combination is one training run" },
  out: { type: 'string', help: 'the study folder (default runs/study-<grid keys>); each cell trains in a subfolder named from its values, e.g. loss-tql_bits-12_seed-1' },
  aggregate: { type: 'bool', default: false, help: 'only aggregate the finished cells of the study in --out into README.md, study.json, map.svg and drop.svg' },
  quiet: { type: 'bool', default: false, help: 'no progress bars' },
  help: { type: 'bool', default: false, help: 'this text' },
};

const HEAD = `usage: tqhash study [cifar10|inshop] --grid 'KEY=V1,V2 … ' [train options] [--out DIR]     (also: node bench/study.js …)
       tqhash study --aggregate --out DIR

Runs every combination of the grid's values as a training run (the options of tqhash train, which every cell
shares), one after another, each in DIR/<cell>; a rerun skips finished cells and resumes an interrupted one. Ctrl-C or
SIGTERM stops the running cell after its step, saves it and ends the study. After each cell, DIR/README.md,
study.json, map.svg and drop.svg aggregate the finished cells: mean ± sample standard deviation over seeds of binary
and real-valued mAP@all and their drop, and paired differences per seed between the values of each key.`;

/** Parses the study's command line: the study options, the dataset, and the train options every cell shares. */
export function parseStudyArgs(argv: string[]): { help: true } | { help: false; aggregate: boolean; quiet: boolean; plan: StudyPlan } {
  const study: string[] = [], train: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2).split('=')[0].replace(/^no-/, '') : '';
    const spec = STUDY_SPEC[name] ? STUDY_SPEC : CELL_SPEC[name] ? CELL_SPEC : null;
    // Positionals (the dataset) and the study's own options to the study; every other option to the cells.
    const into = !name || spec === STUDY_SPEC ? study : train;
    into.push(a);
    // A value in the next word (options that are not flags, written without '=').
    if (spec && spec[name].type !== 'bool' && !a.includes('=') && i + 1 < argv.length) into.push(argv[++i]);
  }
  const { opts, positional } = parseArgs(study, STUDY_SPEC);
  if (opts.help) return { help: true };
  parseArgs(train, CELL_SPEC); // unknown or bad train options fail here, with the trainer's messages
  if (positional.length > 1 || (positional[0] && positional[0] !== 'cifar10' && positional[0] !== 'inshop')) throw new UsageError(`unexpected argument "${positional.find((p) => p !== 'cifar10' && p !== 'inshop') ?? positional[1]}": the dataset is cifar10 (default) or inshop, options start with --`);
  const dataset = (positional[0] ?? 'cifar10') as StudyPlan['dataset'];
  const command = `node bench/study.js ${shellJoin(argv)}`;
  if (opts.aggregate) {
    if (!opts.out) throw new UsageError('--aggregate needs --out DIR, the study folder');
    if (opts.grid || train.length) throw new UsageError('--aggregate takes only --out: the grid and options come from DIR/study.json');
    const file = join(opts.out as string, 'study.json');
    if (!existsSync(file)) throw new UsageError(`${file} does not exist: ${opts.out} is not a study folder (bench/study.js --grid … --out ${opts.out} makes one)`);
    const plan = (JSON.parse(readFileSync(file, 'utf8')) as { plan: StudyPlan }).plan;
    return { help: false, aggregate: true, quiet: opts.quiet as boolean, plan: { ...plan, out: opts.out as string } };
  }
  if (!opts.grid) throw new UsageError("--grid is required, e.g. --grid 'loss=tql,triplet seed=1,2,3' (--help for more)");
  const grid = parseGrid(opts.grid as string);
  const given = new Set(train.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0].replace(/^no-/, '')));
  const both = grid.find((a) => given.has(a.key));
  if (both) throw new UsageError(`--${both.key} is given both in --grid and as an option; keep one`);
  const out = (opts.out as string | undefined) ?? join('runs', `study-${grid.map((a) => a.key).join('-')}`);
  const plan: StudyPlan = { dataset, grid, train, out, command };
  studyCells(plan).forEach((c) => cellConfig(plan, c)); // every cell's options resolve before anything runs
  return { help: false, aggregate: false, quiet: opts.quiet as boolean, plan };
}

/** `node bench/study.js …`: 0 done, 1 a cell diverged, 2 usage or data error, 130/143 stopped by SIGINT/SIGTERM. */
export async function studyMain(argv: string[]): Promise<number> {
  const stops = handleStopSignals();
  try {
    flags();
    const a = parseStudyArgs(argv);
    if (a.help) {
      console.log(usage(HEAD, STUDY_SPEC) + '\n\nTrain options: those of tqhash train --help (but --out, --resume), shared by every cell.');
      return 0;
    }
    if (a.aggregate) {
      aggregateStudy(a.plan);
      console.log(`aggregated ${studyCells(a.plan).length} cells into ${join(a.plan.out, 'README.md')}`);
      return 0;
    }
    const r = await runStudy(a.plan, { stopSignal: stops.requests.signal, quiet: a.quiet });
    return r.stopped ? stops.requests.code : r.failed.length ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError || isDataError(e) || e instanceof OutputError || e instanceof FlagError || e instanceof NoAdapterError) {
      console.error(`error: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  } finally {
    stops.dispose();
    await disposeRuntime();
  }
}

/** Runs the study command; 0 done, 1 a cell diverged, 2 a user mistake, 130/143 stopped by a signal. */
export function main(argv: string[]): Promise<number> {
  return studyMain(argv);
}
