// `node bench/train.js <dataset> [options]`: parses options, runs one training per code length, reports.
import { join } from 'node:path';
import { parseArgs, usage, UsageError } from './args.js';
import { TRAIN_SPEC, defaultMargin, type TrainConfig } from './options.js';
import { trainHashing, DivergedError } from './run.js';
import { isDataError } from '../data/errors.js';
import { NoAdapterError } from '../gpu/adapter.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { handleStopSignals } from './signals.js';
import { OutputError } from '../util/fs.js';
import { flags, FlagError } from '../config.js';

const HEAD = `usage: node bench/train.js cifar10|inshop [options]

Trains the hashing network (DSH's CIFAR-10 CNN, from scratch) with the triplet quantization loss on P×K batches,
checkpoints every epoch (and every --checkpoint-minutes within one), then evaluates retrieval (mAP binary vs real-valued) and writes results.json, report.md,
SVG plots and the database codes into --out.`;

/** Resolves the options of one run (one code length) of `dataset`. */
export function resolveConfig(opts: Record<string, unknown>, bits: number, multi: boolean, dataset: TrainConfig['dataset'] = 'cifar10'): TrainConfig {
  const P = (opts.classes as number | undefined) ?? (dataset === 'inshop' ? 32 : 10);
  const batch = (opts.batch as number | undefined) ?? (dataset === 'inshop' ? 128 : 130);
  if (dataset === 'cifar10' && P > 10) throw new UsageError(`--classes ${P}: CIFAR-10 has 10 classes`);
  const K = Math.floor(batch / P);
  if (K < 2) throw new UsageError(`--batch ${batch} with --classes ${P} gives ${K} image(s) per class; triplets need K ≥ 2: raise --batch to at least ${2 * P}`);
  const loss = opts.loss as TrainConfig['loss'];
  const base = opts.out as string | undefined;
  const protocol = dataset === 'inshop' ? 'inshop' : (opts.protocol as string);
  const name = `${dataset}${dataset === 'inshop' ? '' : `-${protocol}`}-${bits}b-${loss.replace('+', '-')}-s${opts.seed}`;
  const out = base ? (multi ? join(base, `${bits}b`) : base) : join('runs', name);
  return {
    dataset,
    data: opts.data as string | undefined,
    side: opts.side as number,
    skipBad: opts['skip-bad'] as boolean,
    checksums: opts.checksums as string | undefined,
    recordsPerFile: opts['records-per-file'] as number | undefined,
    protocol,
    bits,
    loss,
    tqForm: opts['tq-form'] as TrainConfig['tqForm'],
    select: opts.select as TrainConfig['select'],
    margin: (opts.margin as number | undefined) ?? defaultMargin(bits),
    marginQ: (opts['margin-q'] as number | undefined) ?? defaultMargin(bits),
    lambda: opts.lambda as number,
    lambdaWarmup: opts['lambda-warmup'] as number,
    betaGrowth: opts['beta-growth'] as number,
    model: opts.model as string,
    bn: opts.bn as boolean,
    epochs: opts.epochs as number,
    P,
    K,
    optimizer: opts.optimizer as TrainConfig['optimizer'],
    lr: opts.lr as number,
    weightDecay: opts['weight-decay'] as number,
    schedule: opts.schedule as TrainConfig['schedule'],
    warmupEpochs: opts.warmup as number,
    augment: opts.augment as TrainConfig['augment'],
    seed: opts.seed as number,
    out,
    valQueries: opts['val-queries'] as number,
    valDb: opts['val-db'] as number,
    trainLimit: opts['train-limit'] as number | undefined,
    evalLimit: opts['eval-limit'] as number | undefined,
    maxSteps: opts['max-steps'] as number | undefined,
    checkpointMinutes: opts['checkpoint-minutes'] as number,
  };
}

/** Runs the command; returns the process exit code (0 done, 1 failed, 2 usage or data error, 130/143 stopped by SIGINT/SIGTERM). */
export async function main(argv: string[]): Promise<number> {
  // Ctrl-C and SIGTERM stop at the next safe point and save; a second signal 2 s or more later quits at once (signals.ts).
  const stops = handleStopSignals();
  try {
    flags(); // a bad TQHASH_* value fails here, before anything starts
    const { opts, positional } = parseArgs(argv, TRAIN_SPEC);
    if (opts.help) {
      console.log(usage(HEAD, TRAIN_SPEC));
      return 0;
    }
    const dataset = positional[0];
    if (dataset !== 'cifar10' && dataset !== 'inshop') {
      throw new UsageError(dataset ? `unknown dataset "${dataset}": use cifar10 or inshop` : 'name the dataset: node bench/train.js cifar10|inshop [options] (--help for the options)');
    }
    if (dataset === 'inshop' && opts.side !== 32 && opts.model === 'dsh') throw new UsageError(`--side ${opts.side}: the dsh model takes 32×32 images; use --side 32`);
    if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"; options start with --`);
    const bitsList = opts.bits as number[];
    let interrupted = false;
    for (const bits of bitsList) {
      const cfg = resolveConfig(opts, bits, bitsList.length > 1, dataset);
      const r = await trainHashing(cfg, { resume: opts.resume as boolean, quiet: opts.quiet as boolean, stopSignal: stops.requests.signal });
      if (!r.finished) {
        interrupted = stops.requests.signal.aborted;
        break;
      }
    }
    return interrupted ? stops.requests.code : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    if (isDataError(e) || e instanceof OutputError || e instanceof FlagError || e instanceof NoAdapterError || e instanceof DivergedError) {
      console.error(`error: ${(e as Error).message}`);
      return e instanceof DivergedError ? 1 : 2;
    }
    throw e;
  } finally {
    stops.dispose();
    await disposeRuntime();
  }
}
