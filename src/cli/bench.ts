// `tqhash bench kernels|step|search|metrics [options]`: the four benchmarks (src/bench/), each with its options and help.
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { OutputError, prepareOutputDir, writeFileAtomic } from '../util/fs.js';
import { runKernelBench } from '../bench/kernels.js';
import { runStepBench, checkStepOptions, type StepBenchOptions } from '../bench/step.js';
import { runSearchBench, checkSearchOptions, type SearchBenchOptions } from '../bench/search.js';
import { runMetricsBench, checkMetricsOptions, type MetricsBenchOptions } from '../bench/metrics.js';
import { readPeerFile, takePeerArg, type PeerSection } from '../bench/peers.js';
import { init } from '../tensor.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { commandLine, reportError } from './command.js';

export const summary = 'benchmarks: kernels (every kernel family vs the ceilings), step (training step), search (Hamming top-k), metrics (an evaluation\'s rankings, GPU vs CPU)';

const help = { type: 'bool', default: false, help: 'this text' } as const;
const json = { type: 'string', help: 'also write the report as JSON to FILE' } as const;
const PEER = `  --peer [FILE]                          run the peer (bench/peers/peers.py, TQHASH_PYTHON or /usr/bin/python3; step, search: before and after ours; kernels: its conv2d rows, after): the ratio of one run; with FILE, a saved peers.py JSON`;

interface Bench {
  head: string;
  spec: Record<string, OptSpec>;
  /** Takes --peer [FILE]; a FILE must hold this part of a peers.py report. */
  peer?: PeerSection;
  /** Throws a UsageError for option values the benchmark cannot run with (called before the GPU starts). */
  check?(o: Record<string, unknown>): void;
  /** Runs the benchmark with the parsed options; true when it found a mismatch (exit 1). */
  run(o: Record<string, unknown>, peer: string | true | undefined): Promise<{ report: object; failed?: boolean }>;
}

const BENCHES = new Map<string, Bench>([
  ['kernels', {
    head: 'usage: tqhash bench kernels [options]     (also: node bench/kernels.js)\n\nAdapter block and ceilings measured in this process, then every kernel family at the network\'s shapes, variants side by side,\nwith GFLOP/s or GB/s, the fraction of the ceiling and the float64 CPU reference\'s time.',
    spec: {
      json, filter: { type: 'string', help: 'only rows whose family/name/variant/shape contains NAME (e.g. gemm, conv2, adam, vec4)' },
      quick: { type: 'bool', default: false, help: 'CI-sized shapes and short timings' }, batch: { type: 'int', min: 1, help: 'network batch (default: 128 and 256)' },
      'cpu-budget': { type: 'float', min: 0, help: 'a float64 CPU reference projected over S seconds is timed on a slice and scaled (default 20)' }, help,
    },
    peer: 'convs',
    run: async (o, peer) => ({ report: await runKernelBench({ filter: o.filter as string | undefined, quick: o.quick as boolean, batches: o.batch ? [o.batch as number] : undefined, cpuBudgetS: o['cpu-budget'] as number | undefined, peer }) }),
  }],
  ['step', {
    head: 'usage: tqhash bench step [options]     (also: node bench/step.js)\n\nTraining-step throughput of the hashing network (forward + TQL loss + backward + Adam, one submit per step) and a\nper-kernel breakdown; with --peer, PyTorch\'s step of the same network, loss and optimiser.',
    spec: {
      batch: { type: 'int', help: 'images per step (default 128; at least 4)' }, model: { type: 'string', choices: ['dsh', 'resnet'], help: 'network (default dsh)' },
      bits: { type: 'int', min: 1, help: 'code length (default 48)' }, steps: { type: 'int', min: 1, help: 'timed steps after 2 warm-up steps (default 10)' },
      bn: { type: 'bool', help: 'batch norm after each conv (default on; --no-bn)' }, breakdown: { type: 'bool', help: 'the per-kernel replay breakdown (default on; --no-breakdown)' },
      compile: { type: 'bool', default: false, help: 'first the step with each command submitted alone: what the first use of each pipeline costs (its shader compile; with MESA_SHADER_CACHE_DISABLE=true on Mesa, as on a machine that never ran it)' },
      quick: { type: 'bool', default: false, help: 'CI-sized' }, json, help,
    },
    peer: 'step',
    check: (o) => checkStepOptions(stepOptions(o)),
    run: async (o, peer) => ({ report: await runStepBench({ ...stepOptions(o), peer }) }),
  }],
  ['search', {
    head: 'usage: tqhash bench search [options]     (also: node bench/search.js)\n\nHamming top-k over random codes: the GPU kernel variants vs the plain CPU implementation (queries/s), a check that all\nreturn the same neighbours, and with --peer the ratio to FAISS IndexBinaryFlat measured in the same run.\nNot this benchmark: node bench/search.js --index FILE --query ID runs tqhash search --index FILE --query ID (the top hits\nof one image in a run\'s db.codes).',
    spec: {
      n: { type: 'int', min: 1, help: 'database codes (default 1000000; 1e6 works)' }, q: { type: 'int', min: 1, help: 'queries (default 1000)' }, bits: { type: 'int', min: 1, help: 'code length (default 64)' },
      k: { type: 'int', min: 1, help: 'neighbours (default 100)' }, seed: { type: 'int', min: 0, help: 'seed of the random codes (default 1)' }, repeats: { type: 'int', min: 1, help: 'timed repeats, median (default 5)' },
      variants: { type: 'string', help: 'kernel variants, comma-separated: bmin,hist (default the adapter preset\'s)' }, json, help,
    },
    peer: 'search',
    check: (o) => checkSearchOptions(searchOptions(o)),
    run: async (o, peer) => {
      const report = await runSearchBench({ ...searchOptions(o), peer });
      return { report, failed: report.variants.some((v) => v.mismatched_queries > 0) };
    },
  }],
  ['metrics', {
    head: 'usage: tqhash bench metrics [options]     (also: node bench/metrics.js)\n\nThe retrieval metrics of a CIFAR-10-shaped evaluation with the rankings on the GPU against the CPU on one thread and on\nworker threads (binary: checked to be the same bits; real-valued: the mAP difference): what knob rank.on should be here.',
    spec: {
      n: { type: 'int', min: 1, help: 'database items (default 50000)' }, q: { type: 'int', min: 1, help: 'binary queries (default 10000)' }, 'real-q': { type: 'int', min: 1, help: 'real-valued queries (default 1000)' },
      bits: { type: 'int', min: 1, help: 'code length and feature dimension (default 48)' },
      classes: { type: 'int', min: 1, help: 'classes of the random labels (default 10)' }, seed: { type: 'int', min: 0, help: 'seed of the random codes and labels (default 1)' },
      repeats: { type: 'int', min: 1, help: 'timed repeats of each way, median (default 3)' }, json, help,
    },
    check: (o) => checkMetricsOptions(metricsOptions(o)),
    run: async (o) => {
      const report = await runMetricsBench(metricsOptions(o));
      return { report, failed: !report.same_bits };
    },
  }],
]);

/** The parsed options of `bench step` as runStepBench takes them. */
function stepOptions(o: Record<string, unknown>): StepBenchOptions {
  return { compile: o.compile as boolean, batch: o.batch as number | undefined, model: o.model as 'dsh' | 'resnet' | undefined, bits: o.bits as number | undefined, steps: o.steps as number | undefined, bn: o.bn as boolean | undefined, noBreakdown: o.breakdown === false, quick: o.quick as boolean };
}

/** The parsed options of `bench search` as runSearchBench takes them. */
function searchOptions(o: Record<string, unknown>): SearchBenchOptions {
  return { ...(o as SearchBenchOptions), variants: (o.variants as string | undefined)?.split(',') as SearchBenchOptions['variants'] };
}

/** The parsed options of `bench metrics` as runMetricsBench takes them. */
function metricsOptions(o: Record<string, unknown>): MetricsBenchOptions {
  return { ...(o as MetricsBenchOptions), realQ: o['real-q'] as number | undefined };
}

/** Proves --json FILE writable before the benchmark runs (its folder made and probed; FILE not a folder or a device),
 *  so a bad path fails in the first second rather than after minutes of measuring. Throws OutputError. */
function prepareJsonFile(path: string, name: string): void {
  prepareOutputDir(dirname(path), '--json');
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new OutputError(`--json ${path} is a folder: name a file, e.g. --json ${join(path, `${name}.json`)}`);
  if (st && !st.isFile()) throw new OutputError(`--json ${path} is not a regular file: name a file for the JSON report`);
}

/** Writes the report to --json FILE (atomically: an old file stays whole); a failure is one line naming --json. */
function writeJsonReport(path: string, report: object): void {
  try {
    writeFileAtomic(path, JSON.stringify({ command: commandLine(), ...report }, null, 2));
  } catch (e) {
    throw new OutputError(`--json: ${(e as Error).message} (the tables above are the report)`);
  }
  console.log(`wrote ${path}`);
}

const HEAD = `usage: tqhash bench ${[...BENCHES.keys()].join('|')} [options]     (--help after the name for its options)`;

/** Runs the command; returns the exit code (0 done, 1 a variant disagreed with the reference, 2 bad arguments or files). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name ? console.log : console.error)(`${HEAD}\n\n${summary}`);
    return name ? 0 : 2;
  }
  const bench = BENCHES.get(name);
  if (!bench) return reportError(new UsageError(`unknown benchmark "${name}": use ${[...BENCHES.keys()].join(', ')}`));
  let opts: Record<string, unknown>, peer: string | true | undefined;
  try {
    // tqhash search's --index, which node bench/search.js hands over to it: say where it belongs, not "unknown option".
    if (name === 'search' && rest.some((a) => a === '--index' || a.startsWith('--index='))) throw new UsageError('--index is an option of tqhash search, not of the benchmark: tqhash search --index FILE --query ID (or node bench/search.js --index FILE --query ID)');
    const split = bench.peer ? takePeerArg(rest) : { argv: rest, peer: undefined };
    peer = split.peer;
    let positional: string[];
    ({ opts, positional } = parseArgs(split.argv, bench.spec));
    if (opts.help) {
      console.log(usage(bench.head, bench.spec) + (bench.peer ? `\n${PEER}` : ''));
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"; options start with --`);
    bench.check?.(opts);
    // The benchmark reads the file again; read here too, a wrong one stops before the GPU starts.
    if (typeof peer === 'string') readPeerFile(peer, bench.peer);
    if (opts.json) prepareJsonFile(opts.json as string, name);
  } catch (e) {
    return reportError(e instanceof UsageError ? e : new UsageError((e as Error).message));
  }
  try {
    await init();
    const { report, failed } = await bench.run(opts, peer);
    if (opts.json) writeJsonReport(opts.json as string, report);
    return failed ? 1 : 0;
  } catch (e) {
    return reportError(e);
  } finally {
    await disposeRuntime();
  }
}
