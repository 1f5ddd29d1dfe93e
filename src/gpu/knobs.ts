// The knob registry (STYLE 18): every tile size, workgroup size and variant choice of the kernels in one table, a
// preset per adapter class, overrides from TQHASH_KNOBS or setKnobs(), and the winners of autotune (gpu/autotune.ts).
// Ops read their knobs here at dispatch time; the runtime selects the set when it opens the device.
import type { AdapterInfo } from './adapter.js';

/** Adapter classes with a preset: a CPU rasterizer (llvmpipe, lavapipe, SwiftShader) or a hardware GPU. */
export type AdapterClass = 'software' | 'gpu';

/** Where a knob's current value came from. */
export type KnobSource = 'preset' | 'autotune' | 'TQHASH_KNOBS' | 'set';

export const CONV_VARIANTS = ['naive', 'rb', 'unrolled', 'tiled'] as const;
export const GEMM_VARIANTS = ['naive', 'tiled', 'regblock', 'unrolled'] as const;
/** Blocks of the unrolled conv forward kernel, 'CO_BxPXWxRB' (output channels × pixels × rows per invocation), or 'auto'. */
export const FWD_BLOCKS = ['auto', ...[4, 8, 16].flatMap((c) => [8, 16, 32].flatMap((p) => [1, 2, 3, 4, 6, 8].map((r) => `${c}x${p}x${r}`)))] as const;

/** One knob: its allowed values, a one-line doc and the value of each preset. */
export interface KnobSpec<V extends number | string | boolean> {
  doc: string;
  /** The allowed values in words, for error messages. */
  allowed: string;
  /** Undefined when v is allowed, else why not. */
  check(v: unknown): string | undefined;
  parse(text: string): V | undefined;
  preset: Record<AdapterClass, V>;
}

function enumKnob<V extends string | number>(values: readonly V[], software: V, gpu: V, doc: string): KnobSpec<V> {
  const allowed = values.join(' | ');
  return {
    doc, allowed, preset: { software, gpu },
    check: (v) => (values.includes(v as V) ? undefined : `must be one of ${allowed}`),
    parse: (t) => values.find((v) => String(v) === t),
  };
}

function intKnob(min: number, max: number, step: number, software: number, gpu: number, doc: string): KnobSpec<number> {
  const allowed = `an integer in ${min}..${max}${step > 1 ? `, a multiple of ${step}` : ''}`;
  return {
    doc, allowed, preset: { software, gpu },
    check: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max && v % step === 0 ? undefined : `must be ${allowed}`),
    parse: (t) => (/^\d+$/.test(t) ? Number(t) : undefined),
  };
}

function boolKnob(software: boolean, gpu: boolean, doc: string): KnobSpec<boolean> {
  return {
    doc, allowed: 'true | false', preset: { software, gpu },
    check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
    parse: (t) => (t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : undefined),
  };
}

// Software values: measured on llvmpipe (bench/NOTES*.md). GPU values: nothing has been measured per knob on a GPU yet
// (the H200 session ran the defaults only), so every GPU value is today's value, except GEMM's, which keeps its former
// 'hardware' preset (a conventional 4×4 per invocation, 16×16 workgroup) — also unmeasured. Autotune replaces guesses.
const TABLE = {
  'conv.variant': enumKnob(CONV_VARIANTS, 'unrolled', 'unrolled', 'default conv2d kernel variant (op options may name another)'),
  'conv.WGX': intKnob(1, 1024, 1, 8, 8, 'conv kernels: lanes along the workgroup x (≥ 8 on llvmpipe, the SIMD direction)'),
  'conv.DW_INVOCATIONS': intKnob(1, 1 << 20, 1, 1024, 1024, 'unrolled conv backward-weights: invocations wanted (sets the batch splits)'),
  'conv.DW_CO_B': enumKnob([4, 8, 'auto'] as const, 'auto', 'auto', "unrolled conv backward-weights: output channels per invocation ('auto': 4 below 8 input channels, else 8)"),
  'conv.DW_CI_B': enumKnob([1, 2, 3, 4, 'auto'] as const, 'auto', 1, "unrolled conv backward-weights: input channels per invocation ('auto': all of them up to 3, else 2)"),
  'conv.DW_SG': boolKnob(false, false, "unrolled conv backward-weights: a workgroup's lanes share one channel block and split its columns of output pixels, summed with subgroupAdd (where the device has 'subgroups', i.e. core; ignored elsewhere; not yet measured on a GPU: autotune times it)"),
  'conv.FWD_BLOCK': enumKnob(FWD_BLOCKS, 'auto', 'auto', "unrolled conv forward/backward-data: channels×pixels×rows per invocation ('auto': 8x16x4 on rows ≥ 16 wide, else 8x8x8; on a GPU 8x16x2 / 8x8x4)"),
  'conv.TEX': boolKnob(true, false, "unrolled conv kernels: read their inputs (x, dy, the transposed weights) through textures the runtime fills from the buffers (on llvmpipe a texel fetch costs about half a storage-buffer load; not yet measured on a GPU: autotune times it)"),
  'conv.TILED_TWX': enumKnob([8, 16, 32] as const, 32, 32, "tiled conv: lanes along the pixels, at most (the workgroup has 256 lanes, fewer channel lanes for few channels); smaller tiles make more workgroups of a small layer"),
  'gemm.variant': enumKnob(GEMM_VARIANTS, 'unrolled', 'regblock', 'GEMM kernel variant'),
  'gemm.TM': enumKnob([4, 8, 12, 16] as const, 16, 4, 'regblock/unrolled GEMM: rows per invocation'),
  'gemm.TN': enumKnob([4, 8, 12, 16] as const, 16, 4, 'regblock/unrolled GEMM: columns per invocation'),
  'gemm.WX': intKnob(1, 1024, 1, 8, 16, 'regblock/unrolled GEMM: workgroup extent in columns (x, the SIMD lanes on llvmpipe)'),
  'gemm.WY': intKnob(1, 1024, 1, 2, 16, 'regblock/unrolled GEMM: workgroup extent in rows'),
  'gemm.TEX': boolKnob(true, false, "unrolled GEMM: read A and B through textures the runtime fills from the buffers (as conv.TEX; not yet measured on a GPU: autotune times it)"),
  'gemm.TS': intKnob(1, 32, 1, 16, 16, 'tiled GEMM: tile edge (workgroup TS×TS)'),
  'ops.WG': intKnob(1, 1024, 1, 64, 64, 'invocations per workgroup of the one-dimensional kernels (elementwise, reduce, norm, pool, loss, quantize, random, optimisers)'),
  'tql.WX': intKnob(1, 256, 1, 8, 8, 'TQL loss pair kernels: workgroup extent along x'),
  'tql.WY': intKnob(1, 256, 1, 8, 8, 'TQL loss pair kernels: workgroup extent along y'),
  'tql.variant': enumKnob(['scalar', 'blocked'] as const, 'blocked', 'scalar', "TQL loss pair kernels: one output per invocation ('scalar') or register-blocked with vec4 loads ('blocked', where k % 4 = 0; else scalar)"),
  'tql.RWG': enumKnob([32, 64, 128, 256, 512, 1024] as const, 256, 256, 'TQL loss: invocations of the one-workgroup final reduction (a tree: powers of two)'),
  'norm.vec4': boolKnob(true, true, 'BatchNorm: vec4 kernels where H·W % 4 = 0'),
  'norm.run': enumKnob([1, 2, 3, 4] as const, 4, 4, 'BatchNorm apply and dx (vec4): at most this many vec4 of one plane per invocation'),
  'pool.maxBackward': enumKnob(['gather', 'plane'] as const, 'plane', 'plane', "max-pool backward: one input pixel ('gather') or one plane, vec4 ('plane') per invocation"),
  'pool.rows': boolKnob(true, true, "pools with the 3×3/2/1 window: the 'rows' kernels (4 outputs of a row per invocation) where W % 8 = 0 and H is even"),
  'hamming.variant': enumKnob(['bmin', 'hist'] as const, 'bmin', 'hist', "Hamming top-k: block minima in registers ('bmin', measured on llvmpipe) or per-chunk histograms ('hist', measured on the H200)"),
  'hamming.CH': intKnob(64, 1 << 24, 64, 4096, 4096, 'Hamming top-k: codes per chunk (a multiple of hamming.BLK and of 2·hamming.MBLK)'),
  'hamming.BLK': intKnob(1, 1 << 20, 1, 128, 128, "Hamming top-k 'hist': codes per skip block"),
  'hamming.WX': intKnob(1, 256, 1, 8, 8, "Hamming top-k: invocations per workgroup, 4 queries each ('bmin': 4·QV)"),
  'hamming.QV': intKnob(1, 8, 1, 4, 4, "Hamming top-k 'bmin': vec4 query groups per invocation of the block-minimum pass"),
  'hamming.MBLK': intKnob(4, 4096, 4, 64, 64, "Hamming top-k 'bmin': codes per block minimum"),
  'hamming.thresh': enumKnob(['swar', 'hist'] as const, 'swar', 'swar', "Hamming top-k 'bmin': per-query threshold by SWAR counts in registers or a workgroup histogram"),
  'rank.on': enumKnob(['cpu', 'gpu'] as const, 'cpu', 'gpu', "retrieval metrics: the rankings on CPU worker threads or on the GPU (ops/rank.ts; binary: the same bits; real-valued: float32 distances); on llvmpipe the GPU loses, per query of 50,000 × 48: binary 1.0 ms against 0.31 on 2 CPU threads, real-valued 12 against 2.1 (results/bench/metrics-2vcpu-epyc.txt); unmeasured on a GPU until bench/device.sh runs bench/metrics.js"),
  'rank.TILE': intKnob(16, 4096, 16, 256, 256, 'relevant ranks for the metrics (ops/rank.ts): database items per invocation (≤ 4096 keeps a software adapter\'s loop cap)'),
  'rank.WX': intKnob(1, 256, 1, 8, 64, 'relevant ranks: invocations (queries) per workgroup'),
  'elementwise.variant': enumKnob(['auto', 'scalar', 'vec4'] as const, 'auto', 'auto', "elementwise maps: 'auto' = vec4 when the size is a multiple of 4"),
  'optim.variant': enumKnob(['auto', 'scalar'] as const, 'auto', 'auto', "optimiser steps: 'auto' = vec4 when the parameter's size is a multiple of 4"),
};

export type KnobName = keyof typeof TABLE;
export type KnobValues = { [K in KnobName]: (typeof TABLE)[K] extends KnobSpec<infer V> ? V : never };
/** Every knob's name, in table order. */
export const KNOB_NAMES = Object.keys(TABLE) as KnobName[];

const spec = (name: string): KnobSpec<number | string | boolean> | undefined => (Object.hasOwn(TABLE, name) ? TABLE[name as KnobName] : undefined);

/** The one-line doc and allowed values of a knob. */
export function describeKnob(name: KnobName): string {
  return `${name}: ${TABLE[name].doc} (${TABLE[name].allowed})`;
}

/** The class of an adapter: software when the adapter selection found a CPU rasterizer. */
export function adapterClass(info: Pick<AdapterInfo, 'software'>): AdapterClass {
  return info.software ? 'software' : 'gpu';
}

/** The preset of an adapter class. */
export function presetKnobs(cls: AdapterClass): KnobValues {
  return Object.fromEntries(KNOB_NAMES.map((n) => [n, TABLE[n].preset[cls]])) as KnobValues;
}

/** Checks a partial knob set (names and values); throws one line naming the knob and what is allowed. */
export function checkKnobs(p: Record<string, unknown>, who: string): Partial<KnobValues> {
  for (const [name, v] of Object.entries(p)) {
    const s = spec(name);
    if (!s) throw new Error(`${who}: unknown knob '${name}'; knobs: ${KNOB_NAMES.join(', ')}`);
    const why = s.check(v);
    if (why) throw new Error(`${who}: ${name} = ${JSON.stringify(v)} ${why}`);
  }
  return p as Partial<KnobValues>;
}

/** Parses 'conv.WGX=16,gemm.variant=regblock' (TQHASH_KNOBS); throws one line per mistake, naming the fix. */
export function parseKnobOverrides(text: string, who = 'TQHASH_KNOBS'): Partial<KnobValues> {
  const out: Record<string, unknown> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new Error(`${who}: '${item}' is not name=value (e.g. conv.WGX=16)`);
    const name = item.slice(0, eq).trim(), value = item.slice(eq + 1).trim();
    const s = spec(name);
    if (!s) throw new Error(`${who}: unknown knob '${name}'; knobs: ${KNOB_NAMES.join(', ')}`);
    const v = s.parse(value);
    if (v === undefined || s.check(v)) throw new Error(`${who}: ${name}=${value} is not allowed; ${name} takes ${s.allowed}`);
    out[name] = v;
  }
  return out as Partial<KnobValues>;
}

interface KnobState {
  cls: AdapterClass;
  values: Map<KnobName, KnobValues[KnobName]>;
  source: Map<KnobName, KnobSource>;
  /** Where the autotuned values came from (the cache file), when any. */
  tunedFrom?: string;
}

let state: KnobState | undefined;

/** Sets the knobs for an adapter class: its preset, then the autotuned values, then the overrides (which win). */
export function selectKnobs(cls: AdapterClass, layers: { tuned?: Partial<KnobValues>; tunedFrom?: string; overrides?: Partial<KnobValues> } = {}): void {
  state = { cls, values: new Map(), source: new Map(), tunedFrom: layers.tunedFrom };
  const preset = presetKnobs(cls);
  for (const n of KNOB_NAMES) { state.values.set(n, preset[n]); state.source.set(n, 'preset'); }
  apply(checkKnobs(layers.tuned ?? {}, 'autotune cache'), 'autotune');
  apply(layers.overrides ?? {}, 'TQHASH_KNOBS');
}

function apply(p: Partial<KnobValues>, source: KnobSource): void {
  for (const [n, v] of Object.entries(p) as [KnobName, KnobValues[KnobName]][]) {
    state!.values.set(n, v);
    state!.source.set(n, source);
  }
}

function current(): KnobState {
  if (!state) throw new Error('knobs: read before the runtime chose an adapter; await init() (or gpu.getRuntime()) first');
  return state;
}

/** The current value of one knob. */
export function knob<K extends KnobName>(name: K): KnobValues[K] {
  return current().values.get(name) as KnobValues[K];
}

/** Every knob's current value. */
export function currentKnobs(): KnobValues {
  return Object.fromEntries(current().values) as KnobValues;
}

/** The adapter class whose preset is in use. */
export function knobClass(): AdapterClass {
  return current().cls;
}

/** Sets knobs (benchmarks, tests, autotune); returns their previous values, so `setKnobs(previous)` restores them. */
export function setKnobs(p: Partial<KnobValues>, source: KnobSource = 'set'): Partial<KnobValues> {
  const s = current();
  checkKnobs(p, 'setKnobs');
  const prev = Object.fromEntries(Object.keys(p).map((n) => [n, s.values.get(n as KnobName)])) as Partial<KnobValues>;
  apply(p, source);
  return prev;
}

/** A copy of the whole knob state (class, values, sources), for restoreKnobs. */
export type KnobSnapshot = Readonly<KnobState>;

/** The knob state now. */
export function snapshotKnobs(): KnobSnapshot {
  const s = current();
  return { ...s, values: new Map(s.values), source: new Map(s.source) };
}

/** Puts back a snapshot's class, values and sources. */
export function restoreKnobs(snap: KnobSnapshot): void {
  state = { ...snap, values: new Map(snap.values), source: new Map(snap.source) };
}

/** The knobs set by TQHASH_KNOBS (autotune leaves them alone). */
export function fixedKnobs(): Partial<KnobValues> {
  const s = current();
  return Object.fromEntries(KNOB_NAMES.filter((n) => s.source.get(n) === 'TQHASH_KNOBS').map((n) => [n, s.values.get(n)])) as Partial<KnobValues>;
}

/** Marks the autotuned values' origin (shown in the report header). */
export function setTunedFrom(from: string): void {
  current().tunedFrom = from;
}

/**
 * A live view of one family's knobs under their short names (CONV_KNOBS.WGX ↔ knob('conv.WGX')): the op modules'
 * historic holders stay, reading and writing the registry.
 */
export function knobView<P extends string, K extends string>(prefix: P, keys: readonly K[]): { [k in K]: KnobValues[`${P}.${k}` & KnobName] } {
  const view = {} as Record<K, unknown>;
  for (const k of keys) {
    const name = `${prefix}.${k}`;
    if (!spec(name)) throw new Error(`knobView: no knob ${name}`);
    Object.defineProperty(view, k, {
      enumerable: true,
      get: () => knob(name as KnobName),
      set: (v) => { setKnobs({ [name]: v } as Partial<KnobValues>); },
    });
  }
  return view as { [k in K]: KnobValues[`${P}.${k}` & KnobName] };
}

/** The `knobs` lines of the report header: the class, the values by family, and which did not come from the preset. */
export function formatKnobs(): string {
  const s = state;
  if (!s) return 'knobs     (not selected yet)';
  const preset = presetKnobs(s.cls);
  const changed = KNOB_NAMES.filter((n) => s.values.get(n) !== preset[n]).map((n) => `${n} (${s.source.get(n)})`);
  const head = `knobs     ${s.cls} preset${changed.length ? `; changed: ${changed.join(', ')}` : ''}${s.tunedFrom ? `; autotune cache ${s.tunedFrom}` : ''}`;
  const families = new Map<string, string[]>();
  for (const n of KNOB_NAMES) {
    const fam = n.slice(0, n.indexOf('.'));
    families.set(fam, [...(families.get(fam) ?? []), `${n}=${s.values.get(n)}`]);
  }
  const lines: string[] = [];
  for (const xs of families.values()) {
    const text = xs.join(' '), last = lines.length - 1;
    if (last >= 0 && lines[last].length + text.length < 100) lines[last] += ` · ${text}`;
    else lines.push(text);
  }
  return [head, ...lines.map((l) => `          ${l}`)].join('\n');
}
