// The options of `tqhash train <dataset>`, in one spec: defaults, checks and --help come from here.
import { type OptSpec } from '../util/args.js';
import { defaultMargin, type TqlLossKind, type TqlForm, type TripletSelect } from '../cpu/tql.js';

export const TRAIN_SPEC: Record<string, OptSpec> = {
  data: { type: 'string', help: 'cifar10: folder or cifar-10-binary.tar.gz (else CIFAR10_DIR, data/, ../shared/data/, then download); inshop: the folder with list_eval_partition.txt and img/' },
  checksums: { type: 'string', help: 'sha256 list (sha256sum format) to verify the .bin files against (default data/CIFAR10.sha256)' },
  'records-per-file': { type: 'int', min: 1, help: 'records per .bin file (10000 for CIFAR-10; smaller synthetic fixtures)' },
  protocol: { type: 'string', default: 'dsh', choices: ['dsh', 'cifar10', 'cifar10-1', 'cifar10-2'], help: 'CIFAR-10 evaluation protocol: dsh (the 10,000 test images query the 50,000 training ones), or cifar10, cifar10-1, cifar10-2 as in the literature (docs/training.md); In-shop has its own' },
  side: { type: 'int', default: 32, min: 8, max: 256, help: 'inshop: images are resized to side×side (the dsh model needs 32)' },
  'skip-bad': { type: 'bool', default: false, help: 'inshop: skip and count bad partition lines, missing or unreadable JPEGs instead of stopping' },
  bits: { type: 'intlist', default: [48], min: 4, max: 256, help: 'code length(s); one model per length' },
  loss: { type: 'string', default: 'tql', choices: ['tql', 'triplet', 'triplet+quant'], help: 'tql: triplet + triplet quantization loss; ablations: triplet alone, triplet + ‖f − sign f‖²' },
  'tq-form': { type: 'string', default: 'asym', choices: ['asym', 'ste', 'asym-ste', 'smooth'], help: 'triplet quantization form: asym [d(f_a,b_p) − d(f_a,b_n) + m_q]₊ (gradient to the anchor), ste [d(b_a,b_p) − d(b_a,b_n) + m_q]₊ straight-through, asym-ste asym with the straight-through also to p and n, smooth ste\'s hinge on tanh(β·f) with β raised each epoch (--beta-growth)' },
  select: { type: 'string', default: 'all', choices: ['all', 'semihard', 'hard'], help: 'in-batch triplets: batch-all, semi-hard, batch-hard' },
  margin: { type: 'float', min: 0, help: 'triplet margin m (default max(bits/4, 6): tqlDefaults)' },
  'margin-q': { type: 'float', min: 0, help: 'quantization margin m_q (default max(bits/4, 6): tqlDefaults)' },
  lambda: { type: 'float', default: 1, min: 0, help: 'weight λ of the quantization term' },
  'lambda-warmup': { type: 'float', default: 0, min: 0, help: 'λ ramps linearly from 0 over this many epochs (fractions allowed; 0: full λ from the start)' },
  'lambda-decay': { type: 'float', default: 0, min: 0, help: 'λ falls linearly to 0 over the last this many epochs (fractions allowed; 0: no decay): the quantization term early, the triplet loss alone at the end' },
  'beta-growth': { type: 'float', default: 2, min: 1, help: '--tq-form smooth: β of the code tanh(β·f) starts at 1 and is multiplied by this at the start of every epoch' },
  model: { type: 'string', default: 'dsh', choices: ['dsh', 'resnet'], help: 'network: dsh (DSH CIFAR-10 net, CPU-sized) or resnet (a small CIFAR ResNet with BN, for real GPUs); both from scratch' },
  bn: { type: 'bool', default: true, help: 'batch norm after each conv (--no-bn to disable)' },
  epochs: { type: 'int', default: 20, min: 1, help: 'training epochs (CIFAR-10, 48 bits, 2-core machine without a GPU: see results/README.md for the defaults run\'s time and mAP)' },
  classes: { type: 'int', min: 2, help: 'P: classes per batch (default cifar10 10, inshop 32)' },
  batch: { type: 'int', min: 4, help: 'images per batch, P×K, rounded down to a multiple of P (default cifar10 130, inshop 128)' },
  optimizer: { type: 'string', default: 'adam', choices: ['adam', 'adamw', 'sgd'], help: 'optimiser' },
  lr: { type: 'float', default: 1e-3, min: 0, help: 'peak learning rate' },
  'weight-decay': { type: 'float', default: 5e-4, min: 0, help: 'weight decay' },
  schedule: { type: 'string', default: 'cosine', choices: ['cosine', 'step', 'constant'], help: 'learning-rate schedule (per step)' },
  warmup: { type: 'float', default: 1, min: 0, help: 'warm-up epochs (linear; fractions allowed; at most a quarter of the run)' },
  augment: { type: 'string', default: 'none', choices: ['crop+flip', 'flip', 'none'], help: 'training augmentation on the GPU: none, random crop (padding 4 at 32×32) and horizontal flip, or flip only; crop+flip measured 9 mAP points below none at the default 20 epochs (5 at 5 epochs)' },
  seed: { type: 'int', default: 1, min: 0, help: 'seed of the split, init, sampler and augmentation' },
  out: { type: 'string', help: 'output folder (default runs/<dataset>-<protocol>-<bits>b-<loss>-s<seed>)' },
  resume: { type: 'bool', default: false, help: 'continue from the last checkpoint in --out (a run stopped during the final evaluation evaluates alone; with a larger --epochs a finished run is extended)' },
  'checkpoint-minutes': { type: 'float', default: 10, min: 0, help: 'also checkpoint within an epoch every this many minutes, so a killed run loses at most that much (0: at epoch ends only)' },
  'val-queries': { type: 'int', default: 1000, min: 0, help: 'queries of the quick per-epoch validation mAP (0: off)' },
  'val-db': { type: 'int', default: 10000, min: 1, help: 'database size of the quick validation' },
  'train-limit': { type: 'int', min: 1, help: 'use only the first N training images (smoke tests)' },
  'eval-limit': { type: 'int', min: 1, help: 'use only N queries and N database images in the final evaluation (smoke tests)' },
  'max-steps': { type: 'int', min: 1, help: 'stop after this many steps in total: save a checkpoint and exit 0 without the final evaluation or results.json (--resume continues)' },
  quiet: { type: 'bool', default: false, help: 'no progress bar' },
  help: { type: 'bool', default: false, help: 'this text' },
};

/** The resolved configuration of one training run (saved with every checkpoint and result). */
export interface TrainConfig {
  dataset: 'cifar10' | 'inshop';
  data?: string;
  side: number;
  skipBad: boolean;
  checksums?: string;
  recordsPerFile?: number;
  protocol: string;
  bits: number;
  loss: TqlLossKind;
  tqForm: TqlForm;
  select: TripletSelect;
  margin: number;
  marginQ: number;
  lambda: number;
  lambdaWarmup: number;
  lambdaDecay: number;
  betaGrowth: number;
  model: string;
  bn: boolean;
  epochs: number;
  P: number;
  K: number;
  optimizer: 'adam' | 'adamw' | 'sgd';
  lr: number;
  weightDecay: number;
  schedule: 'cosine' | 'step' | 'constant';
  warmupEpochs: number;
  augment: 'crop+flip' | 'flip' | 'none';
  seed: number;
  out: string;
  valQueries: number;
  valDb: number;
  trainLimit?: number;
  evalLimit?: number;
  maxSteps?: number;
  checkpointMinutes: number;
}

// The default margins live with the loss's other defaults (src/cpu/tql.ts: tqlDefaults); re-exported for train callers.
export { defaultMargin };

/** Options that must match for --resume to continue a run (the rest may change, e.g. --quiet). */
export const RESUME_KEYS: (keyof TrainConfig)[] = [
  'dataset', 'side', 'protocol', 'bits', 'loss', 'tqForm', 'select', 'margin', 'marginQ', 'lambda', 'lambdaWarmup', 'lambdaDecay', 'betaGrowth', 'model', 'bn', 'epochs', 'P', 'K',
  'optimizer', 'lr', 'weightDecay', 'schedule', 'warmupEpochs', 'augment', 'seed', 'trainLimit',
];

/** The flags that set each option of a run (K, the images per class, comes from --batch and --classes); the dataset
 *  (an argument), --out and --max-steps (a stop of this process) are not options a resumed run takes over. */
export const CONFIG_FLAGS: Partial<Record<keyof TrainConfig, readonly string[]>> = {
  data: ['data'], side: ['side'], skipBad: ['skip-bad'], checksums: ['checksums'], recordsPerFile: ['records-per-file'], protocol: ['protocol'],
  bits: ['bits'], loss: ['loss'], tqForm: ['tq-form'], select: ['select'], margin: ['margin'], marginQ: ['margin-q'], lambda: ['lambda'],
  lambdaWarmup: ['lambda-warmup'], lambdaDecay: ['lambda-decay'], betaGrowth: ['beta-growth'], model: ['model'], bn: ['bn'], epochs: ['epochs'],
  P: ['classes', 'batch'], K: ['batch', 'classes'], optimizer: ['optimizer'], lr: ['lr'], weightDecay: ['weight-decay'], schedule: ['schedule'],
  warmupEpochs: ['warmup'], augment: ['augment'], seed: ['seed'], valQueries: ['val-queries'], valDb: ['val-db'], trainLimit: ['train-limit'],
  evalLimit: ['eval-limit'], checkpointMinutes: ['checkpoint-minutes'],
};

/** An option as the user writes it: `--margin-q`, `--classes (P)`, `--batch (K = 13 a class)`. */
function flagName(k: keyof TrainConfig, v: unknown): string {
  if (k === 'P') return '--classes (P)';
  if (k === 'K') return `--batch (K = ${JSON.stringify(v)} images a class)`;
  const f = CONFIG_FLAGS[k];
  return f ? `--${f[0]}` : k;
}

/** The options among `keys` whose saved value differs from cfg's, one line each: `--lr: saved 0.001, now 0.002`. */
export function configDiffs(saved: Partial<Record<keyof TrainConfig, unknown>>, cfg: TrainConfig, keys: readonly (keyof TrainConfig)[] = RESUME_KEYS): string[] {
  return keys.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(cfg[k])).map((k) => `${flagName(k, saved[k])}: saved ${JSON.stringify(saved[k])}, now ${JSON.stringify(cfg[k])}`);
}

/** cfg with every option whose flags are not in `given` taken from the saved run (a resumed run continues as it was
 *  started); returns it and the options taken that differ from cfg's (defaults), as `--epochs 2` words. */
export function adoptSaved(cfg: TrainConfig, saved: Partial<TrainConfig>, given: ReadonlySet<string>): { cfg: TrainConfig; taken: string[] } {
  const out: Record<string, unknown> = { ...cfg };
  const taken: string[] = [];
  for (const [k, flags] of Object.entries(CONFIG_FLAGS) as [keyof TrainConfig, readonly string[]][]) {
    if (flags.some((f) => given.has(f)) || !(k in saved)) continue;
    if (JSON.stringify(saved[k]) !== JSON.stringify(cfg[k])) taken.push(k === 'P' || k === 'K' ? `${k} ${saved[k]}` : `--${flags[0]} ${saved[k] ?? '(none)'}`);
    out[k] = saved[k];
  }
  return { cfg: out as unknown as TrainConfig, taken };
}

/** "cifar10 · dsh · 48 bits · tql/asym/all · seed 1": names the protocol everywhere (STYLE.md 15). */
export function runTag(c: TrainConfig): string {
  const loss = c.loss === 'tql' ? `tql/${c.tqForm}/${c.select}` : `${c.loss}/${c.select}`;
  return `${c.dataset} · ${c.protocol} · ${c.bits} bits · ${loss} · seed ${c.seed}`;
}
