// Autotune (as cuDNN's benchmark mode): time candidate knob sets of the main kernels on this adapter, keep the fastest,
// and cache the winners per adapter + package version in one JSON file, so later processes start with them.
// The candidates and workloads (the network's shapes) live in ops/autotune.ts; this file is the generic part.
//
// Cache: $XDG_CACHE_HOME/tqhash/autotune.json (default ~/.cache/tqhash/autotune.json), format
//   { "format": "tqhash-autotune 1", "entries": { "<key>": { "date", "knobs": { "conv.WGX": 8, … },
//     "tasks": [{ "name", "winner", "ms": { "<candidate>": ms } }], "partial"?: true } } }
// ("partial": written after each task while tasks remain, so a run stopped part-way keeps what it timed; the next
// autotune resumes with the tasks left, and TQHASH_AUTOTUNE=cached uses the winners without timing anything)
// with key "<adapter>[ [<driver>]] (<backend>, <feature level>)[ · CPU <model> × <count>] · tqhash <version> · webgpu
// <version>" (tuneKey: the CPU for software adapters only). Delete the file to retune.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { debug, FlagError, flags } from '../config.js';
import { cacheHome, makeDirs, writeFileAtomic } from '../util/fs.js';
import { codeVersion } from '../util/version.js';
import { hostCpu } from '../util/host.js';
import { median } from '../util/stats.js';
import type { AdapterInfo } from './adapter.js';
import { adapterClass, type AdapterClass, checkKnobs, currentKnobs, fixedKnobs, knobClass, parseKnobOverrides, restoreKnobs, selectKnobs, setKnobs, setTunedFrom, snapshotKnobs, type KnobName, type KnobValues } from './knobs.js';

/** One candidate knob set of a task. */
export interface TuneCandidate {
  label: string;
  knobs: Partial<KnobValues>;
}

/** Knob sets to compare on one workload: `run` runs it once under the knobs now set and returns its milliseconds. */
export interface TuneTask {
  name: string;
  candidates: TuneCandidate[];
  run: () => Promise<number>;
  /** Checked when the task's turn comes (after the earlier winners are set): a reason to skip it, or undefined. */
  skip?: () => string | undefined;
}

/** What autotune chose (and what the cache holds per key). */
export interface TuneResult {
  key: string;
  date: string;
  knobs: Partial<KnobValues>;
  tasks: { name: string; winner: string; ms: Record<string, number> }[];
  /** True when read from the cache (nothing was timed). */
  cached: boolean;
  /** True while tasks remain (a run stopped part-way): its winners hold, the other knobs keep their preset. */
  partial?: boolean;
}

const FORMAT = 'tqhash-autotune 1';
const MAX_CACHE_BYTES = 1 << 20;

/** The cache file: $XDG_CACHE_HOME/tqhash/autotune.json, else ~/.cache/tqhash/autotune.json. */
export function defaultTuneCache(): string {
  return join(cacheHome(), 'tqhash', 'autotune.json');
}

/** The cache key of an adapter: name, driver (the adapter's description, where it differs from the name: llvmpipe's
 *  name is the same under Mesa 22.3 and 25, whose load code and winners differ), backend, feature level, and the
 *  versions of tqhash and webgpu; for a software adapter also the CPU it runs on (util/host.ts: model × logical
 *  CPUs, family, model number and vector ISA, and LP_NUM_THREADS when set): llvmpipe reports the same name on every
 *  host, and its winners are the CPU's.
 *  A preset forced by TQHASH_PRESET is part of the key: autotune's candidates depend on the preset's class; so is
 *  TQHASH_LIMITS=default, under which some candidates do not fit. */
export function tuneKey(info: Pick<AdapterInfo, 'name' | 'backend' | 'featureLevel' | 'webgpuPackage' | 'software'> & { description?: string }): string {
  const { preset: forced, limits } = flags();
  const driver = info.description && info.description !== info.name ? ` [${info.description}]` : '';
  return `${info.name}${driver} (${info.backend}, ${info.featureLevel})${info.software ? ` · CPU ${hostCpu()}` : ''}${forced ? ` · preset ${forced}` : ''}${limits ? ` · limits ${limits}` : ''} · tqhash ${codeVersion().package} · webgpu ${info.webgpuPackage}`;
}

/** The knob preset of an adapter: its class's, unless TQHASH_PRESET names the other (to run a GPU's kernels and
 *  variant choices on a software adapter, say, as a check of that path). */
export function presetClass(info: Pick<AdapterInfo, 'software'>): AdapterClass {
  return flags().preset ?? adapterClass(info);
}

/** Every entry of a cache file (empty when absent); a file that is not a cache is an error naming it. */
function readEntries(file: string): Map<string, unknown> {
  if (!existsSync(file)) return new Map();
  const st = statSync(file);
  if (!st.isFile() || st.size > MAX_CACHE_BYTES) throw new Error(`autotune cache ${file}: not a regular file of at most ${MAX_CACHE_BYTES} bytes; delete it to retune`);
  let j: { format?: unknown; entries?: unknown };
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`autotune cache ${file}: ${(e as Error).message}; delete it to retune`);
  }
  if (j?.format !== FORMAT || typeof j.entries !== 'object' || j.entries === null) throw new Error(`autotune cache ${file}: not a "${FORMAT}" file; delete it to retune`);
  return new Map(Object.entries(j.entries));
}

/** The cached result for `key`, or undefined; an entry whose knobs no longer check is ignored (logged), so it is retuned. */
export function readTuneCache(file: string, key: string): TuneResult | undefined {
  const e = readEntries(file).get(key) as Omit<TuneResult, 'key' | 'cached'> | undefined;
  if (!e) return undefined;
  try {
    checkKnobs(e.knobs ?? {}, `autotune cache ${file}`);
  } catch (err) {
    console.error(`${(err as Error).message}: ignoring the entry, retuning`);
    return undefined;
  }
  return { key, date: String(e.date), knobs: e.knobs, tasks: Array.isArray(e.tasks) ? e.tasks : [], cached: true, ...(e.partial === true ? { partial: true } : {}) };
}

function writeTuneCache(file: string, r: TuneResult): void {
  const entries = readEntries(file);
  entries.set(r.key, { date: r.date, knobs: r.knobs, tasks: r.tasks, ...(r.partial ? { partial: true } : {}) });
  makeDirs(dirname(file));
  writeFileAtomic(file, `${JSON.stringify({ format: FORMAT, entries: Object.fromEntries(entries) }, null, 2)}\n`);
}

/** A task's candidates without those that contradict a TQHASH_KNOBS override (overrides always win). */
function allowed(task: TuneTask, fixed: Partial<KnobValues>): TuneCandidate[] {
  return task.candidates.filter((c) => Object.entries(c.knobs).every(([n, v]) => !(n in fixed) || fixed[n as KnobName] === v));
}

/**
 * Times each candidate of a task (knobs set around each run), leaves the fastest set (the one in force unless another
 * is KEEP_MARGIN faster), returns each candidate's median milliseconds.
 * Every candidate runs once untimed first (its pipelines compile), then `rounds` rounds time each candidate once, the
 * order rotated by one per round: a host or a GPU clock whose speed drifts over the task (shared cores, boost clocks)
 * then slows every candidate alike instead of whichever came last, as timing them one after another did.
 */
async function runTask(task: TuneTask, cands: TuneCandidate[], rounds: number, log: (s: string) => void): Promise<{ winner: TuneCandidate; ms: Record<string, number> }> {
  const before = snapshotKnobs();
  const use = (c: TuneCandidate) => { restoreKnobs(before); setKnobs(c.knobs, 'autotune'); };
  const times: number[][] = cands.map(() => []);
  log(`autotune ${task.name}: timing ${cands.length} candidates, ${rounds} rounds …`);
  try {
    for (const c of cands) { use(c); await task.run(); }
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < cands.length; j++) {
        const i = (j + r) % cands.length;
        use(cands[i]);
        times[i].push(await task.run());
      }
    }
  } finally {
    restoreKnobs(before);
  }
  const ms: Record<string, number> = {};
  let winner = cands[0], best = Infinity;
  cands.forEach((c, i) => {
    ms[c.label] = Math.round(median(times[i]) * 1000) / 1000;
    if (ms[c.label] < best) { best = ms[c.label]; winner = c; }
  });
  // The setting in force before the task (the preset's, or an earlier task's winner) stays unless beaten by KEEP_MARGIN.
  const held = cands.find((c) => Object.entries(c.knobs).every(([n, v]) => before.values.get(n as KnobName) === v));
  const kept = held !== undefined && held !== winner && best > ms[held.label] * (1 - KEEP_MARGIN);
  if (kept) winner = held;
  setKnobs(winner.knobs, 'autotune');
  log(`autotune ${task.name}: ${cands.map((c) => `${c.label} ${ms[c.label].toFixed(2)} ms`).join(' · ')} → ${winner.label}${kept ? ` (kept: nothing ${KEEP_MARGIN * 100} % faster)` : ''}`);
  return { winner, ms };
}

/** How much faster than the setting in force a candidate must be to replace it: differences within a shared host's
 *  noise (bench/NOTES.md: autotune's picks on 2 vCPU made no difference above it when alternated) change nothing. */
const KEEP_MARGIN = 0.05;

/**
 * Applies the cached winners for `key` when present (unless `force`); else times every task's candidates (runTask:
 * `rounds` interleaved rounds, default 3; each task sees the winners of the earlier ones), keeps the fastest and writes
 * them to the cache after each task (marked partial until the last), so a run stopped part-way loses only the task it
 * was in: a partial entry's winners are set and only the tasks it lacks are timed. Knobs set by TQHASH_KNOBS stay as
 * set: candidates that contradict them are not timed.
 */
export async function autotune(tasks: TuneTask[], opts: { key: string; cacheFile: string; force?: boolean; rounds?: number; log?: (s: string) => void }): Promise<TuneResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const rounds = Math.max(1, opts.rounds ?? 3);
  const fixed = fixedKnobs();
  const hit = opts.force ? undefined : readTuneCache(opts.cacheFile, opts.key);
  if (hit) {
    setKnobs(hit.knobs, 'autotune');
    setKnobs(fixed, 'TQHASH_KNOBS');
    if (!hit.partial) {
      setTunedFrom(opts.cacheFile);
      return hit;
    }
  }
  const knobs: Partial<KnobValues> = { ...hit?.knobs };
  const done: TuneResult['tasks'] = [...(hit?.tasks ?? [])];
  const todo = tasks.filter((t) => !done.some((d) => d.name === t.name));
  if (hit) log(`autotune: resuming a run stopped part-way (${opts.cacheFile}): ${done.length} task(s) cached, ${todo.length} to time`);
  const result = (partial: boolean): TuneResult => ({ key: opts.key, date: new Date().toISOString(), knobs, tasks: done, cached: false, ...(partial ? { partial } : {}) });
  for (const [i, task] of todo.entries()) {
    const cands = allowed(task, fixed);
    const why = cands.length ? task.skip?.() : 'its knobs are fixed by TQHASH_KNOBS';
    if (why) { log(`autotune ${task.name}: skipped (${why})`); continue; }
    const { winner, ms } = await runTask(task, cands, rounds, log);
    Object.assign(knobs, winner.knobs);
    done.push({ name: task.name, winner: winner.label, ms });
    if (i < todo.length - 1) writeTuneCache(opts.cacheFile, result(true));
  }
  setKnobs(fixed, 'TQHASH_KNOBS');
  const r = result(false);
  writeTuneCache(opts.cacheFile, r);
  setTunedFrom(opts.cacheFile);
  debug(`autotune: wrote ${opts.cacheFile} (${knobClass()} adapter): ${JSON.stringify(currentKnobs())}`);
  return r;
}

/** The TQHASH_KNOBS overrides, parsed (throws a FlagError, one line per mistake: exit code 2 at the entry points). */
export function knobOverrides(): Partial<KnobValues> {
  const text = flags().knobs;
  try {
    return text ? parseKnobOverrides(text) : {};
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
}

/** Selects the knobs when the runtime opens a device: the class preset, cached autotune winners (TQHASH_AUTOTUNE=1), overrides. */
export function initKnobs(info: AdapterInfo, overrides: Partial<KnobValues>): void {
  // The cache path only with TQHASH_AUTOTUNE (1 or cached): the browser has no home folder (web/adapter.ts).
  const file = flags().autotune ? defaultTuneCache() : undefined;
  const hit = file ? readTuneCache(file, tuneKey(info)) : undefined;
  selectKnobs(presetClass(info), { tuned: hit?.knobs, tunedFrom: hit ? file : undefined, overrides });
}
