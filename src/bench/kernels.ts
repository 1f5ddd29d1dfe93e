// tqhash bench kernels: every kernel family at the shapes the hashing network uses, variants side by side, with the
// napkin math (GFLOP/s or GB/s, fraction of the ceiling measured in the same process) and the float64 CPU reference's
// time. The cases are one list per family in src/bench/cases/; this file times them and prints the tables.
import { runtime } from '../tensor.js';
import type { AdapterInfo } from '../gpu/adapter.js';
import { CONV_VARIANTS, currentKnobs, type KnobValues } from '../gpu/knobs.js';
import { autotuneIfAsked } from '../ops/autotune.js';
import { measureCeilings, type Ceilings } from './harness.js';
import { capture, replay, type Command } from './capture.js';
import { ceilingsJSON, fmt, formatCeilingSweep, formatTable, header, measure } from './util.js';
import { peerPython, readPeerFile, runPeer, type PeerConvs } from './peers.js';
import { FAMILIES, type BenchContext, type CaseSpec, type VariantSpec } from './cases/index.js';
import { loadavg } from 'node:os';
import { cpuTimes, hostCpu, logSteal } from '../util/host.js';

/** One measured kernel (or kernel sequence of one op call) at one shape and variant. */
export interface KernelRow {
  family: string;
  name: string;
  variant: string;
  shape: string;
  /** Median GPU milliseconds per call (dispatch overhead subtracted). */
  ms: number;
  gflops: number | null;
  gbps: number | null;
  /** Which ceiling bounds the row ('fma' or 'copy') and the fraction of it reached. */
  bound: 'fma' | 'copy';
  fraction: number | null;
  /** Float64 CPU reference milliseconds for the same call (scaled from a slice where `note` says so). */
  cpu_ms: number | null;
  /** cpu_ms / ms. */
  speedup: number | null;
  /** Dispatches per call. */
  dispatches: number;
  note?: string;
}

/** The report of bench/kernels.js (also its --json file). */
export interface KernelReport {
  adapter: AdapterInfo;
  ceilings: ReturnType<typeof ceilingsJSON>;
  /** The knobs in use (src/gpu/knobs.ts). */
  knobs: KnobValues;
  /** The CPU (hostCpu()): a software adapter's speed is the CPU's. */
  host: string;
  loadavg: number[];
  /** Share of the machine's CPU time stolen by the VM host over the benchmark (null: unknown). */
  steal: number | null;
  date: string;
  rows: KernelRow[];
  /** With --peer: each conv2d pass against the peer's (PyTorch: oneDNN / cuDNN). */
  peer_convs?: { engine: string; rows: ConvPeerRow[] };
}

/** Our fastest conv2d variant of one layer, pass and batch against the peer's same pass. */
export interface ConvPeerRow {
  name: string;
  pass: string;
  batch: number;
  ours_ms: number;
  variant: string;
  peer_ms: number;
  /** peer_ms / ours_ms: our speed in units of the peer's (above 1: faster). */
  ratio: number;
}

/** Options of runKernelBench. */
export interface KernelBenchOptions {
  /** Only cases whose family/name/variant contains this (case-insensitive). */
  filter?: string;
  /** CI-sized: tiny batches and matrices, short timings. */
  quick?: boolean;
  /** Batches of the network shapes (default 128 and 256; quick: 8). */
  batches?: number[];
  /** A CPU reference run projected longer than this is timed on a slice and scaled (default 20 s; quick 0.5 s). */
  cpuBudgetS?: number;
  /** Set the conv2d rows beside the peer's (bench/peers/peers.py convs): true runs it per batch, a string reads that file. */
  peer?: string | true;
  log?: (line: string) => void;
}

/** Times the cases and prints one table per kernel family (a family's rows are printed when the next family begins). */
class CaseRunner {
  readonly rows: KernelRow[] = [];
  private family = '';
  private familyRows: KernelRow[] = [];

  constructor(private readonly ceil: Ceilings, private readonly quick: boolean, private readonly want: BenchContext['want'], private readonly log: (line: string) => void) {}

  /** Times every variant of `c` the filter keeps; its rows join the report. */
  async run(c: CaseSpec): Promise<void> {
    const variants = c.variants.filter((v) => this.want(c.family, c.name, v.variant, c.shape));
    if (!variants.length) return;
    if (c.family !== this.family) {
      this.flush();
      this.family = c.family;
    }
    const cpuT = c.cpu ? c.cpu() : undefined;
    for (const v of variants) {
      const { ms, dispatches } = await this.time(v);
      const gflops = c.flop ? c.flop / (ms * 1e6) : null;
      const gbps = c.bytes ? c.bytes / (ms * 1e6) : null;
      const fraction = c.bound === 'fma' ? (gflops === null ? null : gflops / this.ceil.fmaGflops) : gbps === null ? null : gbps / this.ceil.copyGbps;
      const notes = [v.note, cpuT?.note, c.note].filter(Boolean);
      const row: KernelRow = {
        family: c.family, name: c.name, variant: v.variant, shape: c.shape, ms, gflops, gbps, bound: c.bound, fraction,
        cpu_ms: cpuT?.ms ?? null, speedup: cpuT ? cpuT.ms / ms : null, dispatches, ...(notes.length ? { note: notes.join('; ') } : {}),
      };
      this.rows.push(row);
      this.familyRows.push(row);
    }
  }

  /** Median GPU ms of one recorded call of the variant (its dispatches captured once, then replayed). */
  private async time(v: VariantSpec): Promise<{ ms: number; dispatches: number }> {
    v.around?.[0]();
    let cap: ReturnType<typeof capture<void>>;
    try {
      cap = capture(v.record);
    } finally {
      v.around?.[1]();
    }
    const cmds: Command[] = cap.commands;
    const dispatches = cmds.filter((x) => x.kind === 'dispatch').length;
    const t = await measure(() => replay(cmds), dispatches, { targetMs: this.quick ? 20 : 150, repeats: this.quick ? 3 : 5 });
    cap.release();
    return { ms: t.ms * (v.scale ?? 1), dispatches };
  }

  /** Prints the current family's table. */
  flush(): void {
    if (!this.familyRows.length) return;
    this.log(`== ${this.family} ==`);
    this.log(formatTable(
      ['name', 'variant', 'shape', 'disp', 'ms', 'GFLOP/s', 'GB/s', 'of ceiling', 'cpu ms', 'speed-up', 'note'],
      this.familyRows.map((r) => [r.name, r.variant, r.shape, r.dispatches, fmt(r.ms), fmt(r.gflops), fmt(r.gbps), r.fraction === null ? '—' : `${(100 * r.fraction).toFixed(1)}% ${r.bound}`, fmt(r.cpu_ms), r.speedup === null ? '—' : `${fmt(r.speedup)}×`, r.note ?? '']),
    ));
    this.log('');
    this.familyRows = [];
  }
}

/** Runs the kernel benchmark: ceilings, then every family's cases; prints aligned tables per family and returns the report. */
export async function runKernelBench(o: KernelBenchOptions = {}): Promise<KernelReport> {
  const rt = runtime();
  const log = o.log ?? ((s: string) => console.log(s));
  const quick = o.quick ?? false;
  const filt = o.filter?.toLowerCase();
  const want = (...parts: string[]) => !filt || parts.join(' ').toLowerCase().includes(filt);
  // A peer file is read first: a wrong one is an error before minutes of measuring, not after.
  const peerFile = typeof o.peer === 'string' ? readPeerFile(o.peer, 'convs').convs : undefined;
  const times0 = cpuTimes();
  await autotuneIfAsked(log);
  const ceil: Ceilings = await measureCeilings({ quick });
  log(header(ceil));
  log(`\n${formatCeilingSweep(ceil)}\n`);
  log('rows: median GPU ms per call after warm-up (empty-dispatch cost subtracted), over the same inputs the float64 CPU reference (src/cpu) ran on;');
  log('      fraction = GFLOP/s ÷ FMA ceiling (compute rows) or GB/s ÷ copy ceiling (memory rows, minimal traffic: each input read once, each output written once)\n');
  const runner = new CaseRunner(ceil, quick, want, log);
  const ctx: BenchContext = {
    batches: o.batches ?? (quick ? [8] : [128, 256]), quick, budgetMs: 1000 * (o.cpuBudgetS ?? (quick ? 0.5 : 20)), want, log,
    run: (c) => runner.run(c),
  };
  for (const family of FAMILIES) await family(ctx);
  runner.flush();
  if (filt && !runner.rows.length) log(`no kernel row matches --filter ${o.filter} (it matches the words of a row's family, name, variant and shape: e.g. conv, gemm, tql, hamming)`);
  await rt.sync();
  const peer = o.peer === undefined ? undefined : convPeer(runner.rows, ctx.batches, peerFile ?? true, quick, log);
  const steal = logSteal(times0, 'during this benchmark', log);
  return { adapter: rt.info, ceilings: ceilingsJSON(ceil), knobs: currentKnobs(), host: hostCpu(), loadavg: loadavg(), steal, date: new Date().toISOString(), rows: runner.rows, ...(peer ? { peer_convs: peer } : {}) };
}

/** The variants training can run (im2col + GEMM is a comparison without the bias and ReLU). */
const TRAINABLE = new Set<string>([...CONV_VARIANTS, 'unrolled+subgroups']);


/** The conv2d rows against the peer's passes (run here per batch, or read from a file): a table, and its rows. */
function convPeer(rows: KernelRow[], batches: number[], peer: PeerConvs | true, quick: boolean, log: (line: string) => void): { engine: string; rows: ConvPeerRow[] } | undefined {
  const conv = rows.filter((r) => r.family === 'conv2d' && TRAINABLE.has(r.variant));
  const withRows = batches.filter((B) => conv.some((r) => r.shape.startsWith(`N${B} `)));
  if (!withRows.length) {
    log('peer      no conv2d rows to compare (--filter left none)');
    return undefined;
  }
  const reports: PeerConvs[] = [];
  if (peer === true) {
    for (const B of withRows) {
      log(`peer      running ${peerPython()} bench/peers/peers.py convs --batch ${B} …`);
      const r = runPeer('convs', ['--batch', `${B}`, '--steps', quick ? '3' : '10', '--threads', '2']);
      if (!r.report) {
        log(`peer      skipped: ${r.reason}`);
        return undefined;
      }
      reports.push(r.report.convs!);
    }
  } else reports.push(peer);
  const out: ConvPeerRow[] = [];
  for (const p of reports.flatMap((r) => r.rows)) {
    const ours = conv.filter((r) => r.name === `${p.name} ${p.pass}` && r.shape.startsWith(`N${p.batch} `)).sort((a, b) => a.ms - b.ms)[0];
    if (ours) out.push({ name: p.name, pass: p.pass, batch: p.batch, ours_ms: ours.ms, variant: ours.variant, peer_ms: p.ms, ratio: p.ms / ours.ms });
  }
  const engine = reports[0].engine;
  log(`== conv2d against the peer: ${engine}, each pass alone ==`);
  log(formatTable(['name', 'batch', 'tqhash ms', 'fastest variant', 'peer ms', 'tqhash ÷ peer (speed)'],
    out.map((r) => [`${r.name} ${r.pass}`, r.batch, fmt(r.ours_ms), r.variant, fmt(r.peer_ms), r.ratio.toFixed(2)])));
  if (!out.length) log('(no row of the peer matched a layer, pass and batch measured here)');
  log('');
  return { engine, rows: out };
}
