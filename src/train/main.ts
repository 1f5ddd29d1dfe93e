// The parsed options of `tqhash train` resolved into the configuration of one run per code length.
import { join, resolve } from 'node:path';
import { UsageError } from '../util/args.js';
import { defaultMargin, type TrainConfig } from './options.js';

const absolute = (path: string | undefined) => (path === undefined ? undefined : resolve(path));

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
    data: absolute(opts.data as string | undefined), // saved with the run: eval and demo find it from any folder
    side: opts.side as number,
    skipBad: opts['skip-bad'] as boolean,
    checksums: absolute(opts.checksums as string | undefined),
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
    lambdaDecay: opts['lambda-decay'] as number,
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
