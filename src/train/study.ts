// A study: a grid of training runs ("cells"), one after another, each a normal training run in its own folder under
// the study folder; resumable (finished cells are skipped, an interrupted one continues from its checkpoint); the
// cells' results.json are aggregated into README.md, study.json, map.svg and drop.svg (mean ± sample sd over seeds,
// paired differences per seed). `node bench/study.js --grid 'loss=tql,triplet bits=12,24 seed=1,2,3' [train options]`
// (its command line: src/cli/study.ts).
//
// Cells run in this process through trainHashing, the function `bench/train.js` runs, not as child processes: the
// device, its adapter selection and every compiled pipeline serve all cells (a child would pay them again per cell),
// and one stop request (Ctrl-C, SIGTERM) reaches the running cell directly, which stops after its step and saves, as
// the trainer does; `bench/train.js --bits 12,24` already trains several models in one process the same way.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, UsageError, type OptSpec } from '../util/args.js';
import { TRAIN_SPEC, configDiffs, type TrainConfig } from './options.js';
import { resolveConfig } from './main.js';
import { trainHashing, DivergedError } from './run.js';
import { writeFileAtomic } from './checkpoint.js';
import { formatDuration } from './progress.js';
import { errorBarChart, type BarSeries } from '../report/bars.js';
import { codeVersion } from '../util/version.js';
import { prepareOutputDir } from '../util/fs.js';
import { DataError } from '../util/errors.js';

/** One key of the grid and its values, as written (each checked against the train option of that name). */
export interface GridAxis {
  key: string;
  values: string[];
}

/** What a study runs: the grid (the last key varies fastest), the train options common to all cells, the folder. */
export interface StudyPlan {
  dataset: 'cifar10' | 'inshop';
  grid: GridAxis[];
  /** Train options given besides the grid, as on the command line. */
  train: string[];
  out: string;
  /** The command that started the study. */
  command: string;
}

/** One cell: its folder name (from its values), its values, and its train options. */
export interface StudyCell {
  name: string;
  values: Record<string, string>;
  argv: string[];
  dir: string;
}

/** Train options that make no sense per cell: the study sets --out and --resume itself. */
const NOT_IN_GRID = new Set(['out', 'resume', 'help', 'quiet']);

/** The train options a study passes on: all but those NOT_IN_GRID. */
export const CELL_SPEC: Record<string, OptSpec> = Object.fromEntries(Object.entries(TRAIN_SPEC).filter(([k]) => !NOT_IN_GRID.has(k)));

/** The train argument of a grid value: `--key=value`, or for a switch `--key` / `--no-key` (true / false). */
function gridArg(key: string, v: string): string {
  if (CELL_SPEC[key]?.type !== 'bool') return `--${key}=${v}`;
  if (v === 'true' || v === 'false') return v === 'true' ? `--${key}` : `--no-${key}`;
  throw new UsageError(`--grid ${key}=${v}: ${key} is a switch; its values are true and false`);
}

/** Parses `loss=tql,triplet bits=12,24` into axes, each value checked as its train option would be. */
export function parseGrid(text: string): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new UsageError(`--grid: "${word}" is not KEY=V1,V2,… (e.g. loss=tql,triplet)`);
    const key = word.slice(0, eq), values = word.slice(eq + 1).split(',');
    if (!CELL_SPEC[key]) throw new UsageError(`--grid: ${key} is not a train option that can vary${NOT_IN_GRID.has(key) ? ' (the study sets it)' : ''}; see tqhash train --help`);
    if (axes.some((a) => a.key === key)) throw new UsageError(`--grid: ${key} appears twice; list all its values once: ${key}=A,B`);
    const seen = new Set<string>();
    for (const v of values) {
      if (v === '') throw new UsageError(`--grid: ${key} has an empty value in "${word}"`);
      let parsed: unknown;
      try {
        parsed = parseArgs([gridArg(key, v)], CELL_SPEC).opts[key];
      } catch (e) {
        throw new UsageError(`--grid ${key}=${v}: ${(e as Error).message.replace(/^--\S+ \S+: /, '')}`);
      }
      if (Array.isArray(parsed) && parsed.length !== 1) throw new UsageError(`--grid ${key}: one value per cell`);
      const canon = JSON.stringify(parsed);
      if (seen.has(canon)) throw new UsageError(`--grid: ${key} lists ${v} twice`);
      seen.add(canon);
    }
    axes.push({ key, values });
  }
  if (!axes.length) throw new UsageError("--grid is empty; e.g. --grid 'loss=tql,triplet seed=1,2,3'");
  return axes;
}

/** A value as part of a folder name: letters, digits, '.', '-' (e.g. triplet+quant → triplet-quant). */
const slug = (v: string) => v.replace(/[^A-Za-z0-9.-]/g, '-');

/** The cells of a plan, in grid order (the last key varies fastest). */
export function studyCells(plan: StudyPlan): StudyCell[] {
  let combos: Record<string, string>[] = [{}];
  for (const { key, values } of plan.grid) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  const cells = combos.map((values) => {
    const name = plan.grid.map(({ key }) => `${key}-${slug(values[key])}`).join('_');
    const argv = [...plan.train, ...plan.grid.map(({ key }) => gridArg(key, values[key]))];
    return { name, values, argv, dir: join(plan.out, name) };
  });
  const names = new Set<string>();
  for (const c of cells) {
    if (names.has(c.name)) throw new UsageError(`--grid: two cells would share the folder ${c.name}; values that differ only in punctuation cannot be told apart`);
    names.add(c.name);
  }
  return cells;
}

/** The resolved training configuration of a cell (checks like the trainer's: a bad combination fails before any run). */
export function cellConfig(plan: StudyPlan, cell: StudyCell): TrainConfig {
  const { opts } = parseArgs(cell.argv, CELL_SPEC);
  const bits = opts.bits as number[];
  if (bits.length !== 1) throw new UsageError(`--bits ${bits.join(',')}: a cell trains one code length; put them in the grid (bits=${bits.join(',')})`);
  return resolveConfig({ ...opts, out: cell.dir }, bits[0], false, plan.dataset);
}

/** A cell's results.json when it was made with the cell's options; null when there is none yet, or the run is to be extended. */
function finishedResults(cfg: TrainConfig): Record<string, any> | null {
  const file = join(cfg.out, 'results.json');
  if (!existsSync(file)) return null;
  let r: Record<string, any>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError('format', `${file} cannot be read (${(e as Error).message}); move that cell's folder away to run it again`, file);
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new DataError('format', `${file} holds no results object; move that cell's folder away to run it again`, file);
  const config = r.config !== null && typeof r.config === 'object' ? r.config : undefined;
  const diffs = config ? configDiffs(config, cfg) : ['(it records no config: made before studies existed, or damaged)'];
  // A larger --epochs than the finished run's extends it (the trainer's --resume does that).
  if (config && diffs.length === 1 && diffs[0].startsWith('--epochs:') && config.epochs < cfg.epochs) return null;
  if (diffs.length) throw new DataError('config', `${file} was made with other options than this cell's:\n  ${diffs.join('\n  ')}\nRun the study with the same options, or use another --out.`, file);
  return r;
}

/** `a b 'c d'`: arguments quoted for a POSIX shell where needed. */
export function shellJoin(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** What runStudy did: cells finished (now or before), skipped (finished before), and whether a stop request ended it. */
export interface StudyOutcome {
  total: number;
  finished: number;
  skipped: number;
  failed: string[];
  stopped: boolean;
}

/** Runs the plan's cells in order (skipping finished ones, resuming interrupted ones), aggregating after each. */
export async function runStudy(plan: StudyPlan, opts: { stopSignal: AbortSignal; quiet: boolean; log?: (s: string) => void }): Promise<StudyOutcome> {
  const log = opts.log ?? ((s: string) => console.log(s));
  prepareOutputDir(plan.out, 'the study folder');
  const cells = studyCells(plan);
  const configs = cells.map((c) => cellConfig(plan, c));
  const out: StudyOutcome = { total: cells.length, finished: 0, skipped: 0, failed: [], stopped: false };
  aggregateStudy(plan);
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i], cfg = configs[i];
    if (finishedResults(cfg)) {
      log(`study cell ${i + 1}/${cells.length} ${cell.name}: finished before (its results.json has these options); skipped`);
      out.finished++;
      out.skipped++;
      continue;
    }
    if (opts.stopSignal.aborted) break;
    log(`\n== study cell ${i + 1}/${cells.length}: ${cell.name}`);
    const command = `node bench/train.js ${plan.dataset} ${shellJoin([...cell.argv, '--out', cell.dir, '--resume'])}`;
    try {
      const resume = existsSync(join(cfg.out, 'checkpoint', 'state.json')); // a new cell starts as a new run
      const r = await trainHashing(cfg, { resume, quiet: opts.quiet, stopSignal: opts.stopSignal, command, continueWith: 'the same study command' });
      if (r.finished) out.finished++;
    } catch (e) {
      // A diverged cell is an outcome of its options, not a fault of the study: the others still run.
      if (!(e instanceof DivergedError)) throw e;
      log(`study cell ${cell.name}: ${e.message}`);
      out.failed.push(cell.name);
    }
    aggregateStudy(plan);
    if (opts.stopSignal.aborted) break;
  }
  out.stopped = opts.stopSignal.aborted;
  log(`study ${plan.out}: ${out.finished} of ${out.total} cells finished (${out.skipped} before this run)${out.failed.length ? `; diverged: ${out.failed.join(', ')}` : ''}${out.stopped ? '; stopped by request: run the same command again to continue' : ''}; ${join(plan.out, 'README.md')}`);
  return out;
}

// ---- aggregation ----

/** n, mean and sample standard deviation (n − 1 in the denominator; null below 2 values). */
export function meanSd(xs: number[]): { n: number; mean: number; sd: number | null } {
  const n = xs.length;
  const mean = n ? xs.reduce((s, x) => s + x, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, sd };
}

const METRICS = ['binary', 'real', 'drop'] as const;
type Metric = (typeof METRICS)[number];
type Scores = Record<Metric, number>;

/** One cell in study.json: its values and, when finished, its scores (mAP@all; drop = real − binary). */
interface CellRecord {
  name: string;
  values: Record<string, string>;
  seed: number;
  status: 'finished' | 'not finished';
  scores?: Scores;
  epochs?: number;
  steps?: number;
  wallSeconds?: number;
  date?: string;
  adapter?: string;
  commit?: string;
  tag?: string;
}

function cellRecord(plan: StudyPlan, cell: StudyCell): CellRecord {
  const cfg = cellConfig(plan, cell);
  const base = { name: cell.name, values: cell.values, seed: cfg.seed };
  const r = finishedResults(cfg);
  if (!r) return { ...base, status: 'not finished' };
  const binary = r.binary.map as number, real = r.real.map as number;
  const v = r.version ?? {};
  return {
    ...base, status: 'finished', scores: { binary, real, drop: real - binary }, epochs: r.epochs, steps: r.steps, wallSeconds: r.wallSeconds, date: r.date,
    adapter: r.adapter ? `${r.adapter.name} (${[r.adapter.description, r.adapter.backend, r.adapter.software ? 'software' : ''].filter(Boolean).join(', ')})` : undefined,
    commit: v.commit ? v.commit.slice(0, 12) + (v.modified ? '+modified' : '') : undefined, tag: r.tag,
  };
}

/** Grid keys other than seed: what a condition (a cell up to its seed) is made of. */
const conditionKeys = (plan: StudyPlan) => plan.grid.map((a) => a.key).filter((k) => k !== 'seed');
const label = (values: Record<string, string>, keys: string[]) => keys.map((k) => `${k} ${values[k]}`).join(' · ') || 'all';

/** Per condition: mean ± sample sd over its finished seeds of each metric. */
function conditions(plan: StudyPlan, cells: CellRecord[]) {
  const keys = conditionKeys(plan);
  const groups = new Map<string, CellRecord[]>();
  for (const c of cells) {
    const id = JSON.stringify(keys.map((k) => c.values[k]));
    groups.set(id, [...(groups.get(id) ?? []), c]);
  }
  return [...groups.values()].map((g) => {
    const done = g.filter((c) => c.scores);
    const stats = Object.fromEntries(METRICS.map((m) => [m, meanSd(done.map((c) => c.scores![m]))])) as Record<Metric, ReturnType<typeof meanSd>>;
    return { values: Object.fromEntries(keys.map((k) => [k, g[0].values[k]])), seeds: done.map((c) => c.seed), of: g.length, ...stats };
  });
}

/**
 * Paired differences per seed: for each key with several values (but bits and seed: a code length is a setting, not an
 * alternative, so comparisons stay within one), each pair of its values A, B and each combination of the other keys,
 * the seeds finished in both cells give A − B per metric: mean ± sd and how many seeds favour A, favour B, tie.
 */
function comparisons(plan: StudyPlan, cells: CellRecord[]) {
  const keys = conditionKeys(plan);
  const out = [];
  for (const axis of plan.grid.filter((a) => a.key !== 'seed' && a.key !== 'bits' && a.values.length > 1)) {
    const others = keys.filter((k) => k !== axis.key);
    for (let i = 0; i < axis.values.length; i++) {
      for (let j = i + 1; j < axis.values.length; j++) {
        const [A, B] = [axis.values[i], axis.values[j]];
        const contexts = new Map<string, Record<string, string>>();
        for (const c of cells) contexts.set(JSON.stringify(others.map((k) => c.values[k])), Object.fromEntries(others.map((k) => [k, c.values[k]])));
        for (const within of contexts.values()) {
          const pick = (v: string) => cells.filter((c) => c.values[axis.key] === v && others.every((k) => c.values[k] === within[k]) && c.scores);
          const bySeed = new Map(pick(B).map((c) => [c.seed, c.scores!]));
          const pairs = pick(A).filter((c) => bySeed.has(c.seed)).map((c) => ({ seed: c.seed, a: c.scores!, b: bySeed.get(c.seed)! }));
          const metric = (m: Metric) => {
            const d = pairs.map((p) => p.a[m] - p.b[m]);
            return { ...meanSd(d), aHigher: d.filter((x) => x > 0).length, bHigher: d.filter((x) => x < 0).length, equal: d.filter((x) => x === 0).length };
          };
          out.push({ key: axis.key, a: A, b: B, within, seeds: pairs.map((p) => p.seed), ...Object.fromEntries(METRICS.map((m) => [m, metric(m)])), perSeed: pairs } as Comparison);
        }
      }
    }
  }
  return out;
}
type Comparison = { key: string; a: string; b: string; within: Record<string, string>; seeds: number[]; perSeed: { seed: number; a: Scores; b: Scores }[] } & Record<Metric, ReturnType<typeof meanSd> & { aHigher: number; bHigher: number; equal: number }>;

const f4 = (s: { mean: number; sd: number | null }) => (Number.isFinite(s.mean) ? `${s.mean.toFixed(4)} ± ${s.sd === null ? '–' : s.sd.toFixed(4)}` : '–');
const pts = (s: { mean: number; sd: number | null }, sign = false) => (Number.isFinite(s.mean) ? `${sign && s.mean > 0 ? '+' : ''}${(100 * s.mean).toFixed(2)} ± ${s.sd === null ? '–' : (100 * s.sd).toFixed(2)}` : '–');

/** Writes <study>/study.json, README.md, map.svg and drop.svg from the finished cells' results.json; returns study.json's object. */
export function aggregateStudy(plan: StudyPlan): Record<string, unknown> {
  const cells = studyCells(plan).map((c) => cellRecord(plan, c));
  const conds = conditions(plan, cells);
  const comps = comparisons(plan, cells);
  const done = cells.filter((c) => c.scores);
  const version = codeVersion();
  // "cifar10 · dsh", and "· 48 bits" when every cell has that length.
  const tag = done[0]?.tag ? done[0].tag.split(' · ').slice(0, plan.grid.some((a) => a.key === 'bits') ? 2 : 3).join(' · ') : plan.dataset;
  const study = { plan, aggregated: new Date().toISOString(), version, metric: 'mAP@all (drop = real-valued − binary)', cells, conditions: conds, comparisons: comps };
  writeFileAtomic(join(plan.out, 'study.json'), JSON.stringify(study, null, 1) + '\n');

  const keys = conditionKeys(plan);
  const xKey = keys.includes('bits') ? 'bits' : keys[0];
  const seriesKeys = keys.filter((k) => k !== xKey);
  const chart = (m: Metric, title: string, scale: number) => {
    const series = new Map<string, BarSeries>();
    for (const c of conds) {
      const name = label(c.values, seriesKeys);
      if (!series.has(name)) series.set(name, { name, points: [] });
      series.get(name)!.points.push({ x: xKey ? c.values[xKey] : 'all', mean: c[m].mean * scale, spread: c[m].sd === null ? null : c[m].sd! * scale });
    }
    return errorBarChart([...series.values()], { title, subtitle: `${tag} · mean ± sample sd over seeds`, xLabel: xKey ?? '', yLabel: scale === 1 ? 'mAP@all' : 'points' });
  };
  writeFileAtomic(join(plan.out, 'map.svg'), chart('binary', 'binary mAP@all', 1));
  writeFileAtomic(join(plan.out, 'drop.svg'), chart('drop', 'quantization drop (real − binary mAP@all)', 100));
  writeFileAtomic(join(plan.out, 'README.md'), readme(plan, study.aggregated, version, tag, cells, conds, comps));
  return study;
}

function readme(plan: StudyPlan, date: string, version: ReturnType<typeof codeVersion>, tag: string, cells: CellRecord[], conds: ReturnType<typeof conditions>, comps: Comparison[]): string {
  const keys = conditionKeys(plan);
  const done = cells.filter((c) => c.scores);
  const distinct = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))];
  const dates = done.map((c) => c.date!).sort();
  const L: string[] = [];
  L.push(`# Study: ${plan.grid.map((a) => a.key).join(' × ')} — ${tag} · mAP@all`, '');
  L.push(`Command: \`${plan.command}\``, '');
  L.push(`Cells: ${done.length} of ${cells.length} finished${dates.length ? `, trained ${dates[0].slice(0, 10)} to ${dates[dates.length - 1].slice(0, 10)}` : ''}. Adapter: ${distinct(done.map((c) => c.adapter)).join('; ') || '–'}. Commit of the cells: ${distinct(done.map((c) => c.commit)).join(', ') || '–'}.`);
  L.push(`Aggregated ${date} by tqhash ${version.package}${version.commit ? `, commit ${version.commit.slice(0, 12)}${version.modified ? ' (modified)' : ''}` : ''}. Train options of every cell: \`${shellJoin(plan.train) || '(defaults)'}\`.`, '');
  L.push('## Mean ± sample standard deviation over seeds', '');
  L.push(`| ${[...keys, 'seeds', 'binary mAP@all', 'real-valued mAP@all', 'drop real − binary (points)'].join(' | ')} |`, `|${' --- |'.repeat(keys.length + 4)}`);
  for (const c of conds) L.push(`| ${[...keys.map((k) => c.values[k]), `${c.seeds.length} of ${c.of}`, f4(c.binary), f4(c.real), pts(c.drop)].join(' | ')} |`);
  L.push('', '![binary mAP@all, mean ± sd](map.svg) ![quantization drop, mean ± sd](drop.svg)', '');
  if (comps.length) {
    L.push('## Paired differences per seed (A − B)', '');
    L.push('| A − B | within | seeds | binary mAP (points) | seeds favouring A / B / tie | real-valued mAP (points) | drop (points) |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const p of comps) L.push(`| ${p.key} ${p.a} − ${p.b} | ${label(p.within, Object.keys(p.within))} | ${p.seeds.join(', ') || '–'} | ${pts(p.binary, true)} | ${p.binary.aHigher} / ${p.binary.bHigher} / ${p.binary.equal} | ${pts(p.real, true)} | ${pts(p.drop, true)} |`);
    L.push('');
  }
  L.push('## Cells', '', '| cell | seed | binary | real-valued | drop (points) | epochs | steps | wall | trained | commit |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cells) {
    const s = c.scores;
    L.push(s
      ? `| [${c.name}](${c.name}/report.md) | ${c.seed} | ${s.binary.toFixed(4)} | ${s.real.toFixed(4)} | ${(100 * s.drop).toFixed(2)} | ${c.epochs} | ${c.steps} | ${formatDuration(c.wallSeconds!)} | ${c.date!.slice(0, 16).replace('T', ' ')} | ${c.commit ?? '–'} |`
      : `| ${c.name} | ${c.seed} | not finished | | | | | | | |`);
  }
  L.push('', 'Standard deviations are sample ones (n − 1); "–" where fewer than two seeds finished. Relevance: same class; Hamming ranking for binary codes, Euclidean for the real-valued f, ties by database index.');
  return L.join('\n') + '\n';
}
