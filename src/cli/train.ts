// `tqhash train cifar10|inshop [options]`: one training run per code length (the options are TRAIN_SPEC).
import { parseArgs, usage, UsageError } from '../util/args.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRAIN_SPEC, type TrainConfig } from '../train/options.js';
import { resolveConfig } from '../train/main.js';
import { trainHashing } from '../train/run.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { handleStopSignals } from '../train/signals.js';
import { flags } from '../config.js';
import { commandLine, reportError } from './command.js';

export const summary = 'train the hashing network on cifar10 or inshop (checkpoints, resume, final evaluation)';

const HEAD = `usage: tqhash train cifar10|inshop [options]     (also: node bench/train.js cifar10|inshop [options])

Trains the hashing network (DSH's CIFAR-10 CNN, from scratch) with the triplet quantization loss on P×K batches,
checkpoints every epoch (and every --checkpoint-minutes within one), then evaluates retrieval (mAP binary vs real-valued) and writes results.json, report.md,
SVG plots and the database codes into --out.`;

/** With several --bits each length goes to OUT/<bits>b: a checkpoint in OUT itself is a single-length run's. */
function refuseSingleRunBase(out: string, bitsList: number[]): void {
  const file = join(out, 'checkpoint', 'state.json');
  if (!existsSync(file)) return;
  let bits = '?';
  try {
    bits = String(JSON.parse(readFileSync(file, 'utf8')).config.bits);
  } catch {
    // unreadable: the message still holds
  }
  throw new UsageError(`--resume --bits ${bitsList.join(',')}: ${out} holds the checkpoint of one ${bits}-bit run, and with several --bits each length goes to ${join(out, `<bits>b`)}; pass --bits ${bits} alone to continue it, or another --out`);
}

/** Runs the command; returns the process exit code (0 done, 1 failed, 2 usage or data error, 130/143 stopped by SIGINT/SIGTERM). */
export async function main(argv: string[]): Promise<number> {
  // Ctrl-C and SIGTERM stop at the next safe point and save; a second signal 2 s or more later quits at once (signals.ts).
  const stops = handleStopSignals();
  try {
    flags(); // a bad TQHASH_* value fails here, before anything starts
    const { opts, positional, given } = parseArgs(argv, TRAIN_SPEC);
    if (opts.help) {
      console.log(usage(HEAD, TRAIN_SPEC));
      return 0;
    }
    const dataset = positional[0];
    if (dataset !== 'cifar10' && dataset !== 'inshop') {
      throw new UsageError(dataset ? `unknown dataset "${dataset}": use cifar10 or inshop` : 'name the dataset: tqhash train cifar10|inshop [options] (--help for the options)');
    }
    if (dataset === 'inshop' && opts.side !== 32 && opts.model === 'dsh') throw new UsageError(`--side ${opts.side}: the dsh model takes 32×32 images; use --side 32`);
    const inshopOnly = ['side', 'skip-bad'].find((f) => given.has(f));
    if (dataset === 'cifar10' && inshopOnly) throw new UsageError(`--${inshopOnly} is an inshop option: CIFAR-10's images are 32×32 records with nothing to skip; leave it out`);
    if (dataset === 'inshop' && given.has('protocol')) throw new UsageError(`--protocol is a cifar10 option: In-shop has its own split (list_eval_partition.txt); leave it out`);
    if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"; options start with --`);
    const bitsList = opts.bits as number[];
    const twice = bitsList.find((b, i) => bitsList.indexOf(b) !== i);
    if (twice !== undefined) throw new UsageError(`--bits ${bitsList.join(',')}: ${twice} appears twice; list each code length once`);
    if (opts.resume && bitsList.length > 1 && opts.out !== undefined) refuseSingleRunBase(opts.out as string, bitsList);
    let sibling: TrainConfig | undefined; // the first length resumed: its options go to lengths that never started
    for (const bits of bitsList) {
      const cfg = resolveConfig(opts, bits, bitsList.length > 1, dataset);
      const r = await trainHashing(cfg, { resume: opts.resume as boolean, quiet: opts.quiet as boolean, stopSignal: stops.requests.signal, command: commandLine(), given, sibling });
      if (r.resumed) sibling ??= r.config;
      if (!r.finished) return stops.requests.signal.aborted ? stops.requests.code : 0;
    }
    return 0;
  } catch (e) {
    return reportError(e); // a diverged run (DivergedError) is a failure: exit 1; its message says what to change
  } finally {
    stops.dispose();
    await disposeRuntime();
  }
}
