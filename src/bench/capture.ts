// Recording what an op (or a whole training step) dispatches, so each dispatch can be replayed and timed alone on the
// very buffers it used. Releases are deferred while recording: no buffer of the recorded work is reused until release().
import { runtime } from '../tensor.js';
import type { Kernel, KernelRef } from '../gpu/kernels.js';
import type { BufferArg, DispatchArgs, Runtime } from '../gpu/runtime.js';
import type { PooledBuffer } from '../gpu/buffers.js';

/** One recorded command: a dispatch (kernel + arguments), a buffer copy or a clear. */
export type Command = (
  | { kind: 'dispatch'; kernel: Kernel; args: DispatchArgs }
  | { kind: 'copy'; src: BufferArg; dst: BufferArg; bytes?: number }
  | { kind: 'zero'; dst: BufferArg }
) & {
  phase?: string;
  /** capture(fn, { submitEach: true }): wall ms of this command submitted alone while recording, its first run
   *  included (on a cold shader cache a kernel's first dispatch includes its compile). */
  submitMs?: number;
};

let phase: string | undefined;

/** Tags the commands recorded from now on (e.g. 'forward', 'backward', 'optimiser'), until the next call; undefined clears. */
export function setPhase(name: string | undefined): void {
  phase = name;
}

/** Commands recorded by `capture`, with the buffers whose release was held back. */
export interface Capture<T> {
  result: T;
  commands: Command[];
  /** Host-to-GPU writes seen while recording (not replayed). */
  writes: number;
  /** Returns the held-back buffers to the pool (call once, after the last replay). */
  release(): void;
}

/** Runs `fn` (which records GPU work) and returns the commands it recorded; buffer releases are held until release().
 *  With `submitEach`, every command is submitted alone as it is recorded and its wall time kept (submitMs). */
export function capture<T>(fn: () => T, opts: { submitEach?: boolean } = {}): Capture<T> {
  const rt = runtime();
  const commands: Command[] = [];
  const held: PooledBuffer[] = [];
  let writes = 0;
  const proto = Object.getPrototypeOf(rt) as Runtime;
  const own = rt as unknown as Record<string, unknown>;
  // With submitEach: the work recorded before a command is submitted first, then the command alone, timed (plus
  // `before`: the pipeline's creation, for a dispatch).
  const timed = (c: Command, record: () => void, before = 0) => {
    commands.push(c);
    if (!opts.submitEach) return record();
    rt.flush();
    const t0 = performance.now();
    record();
    rt.flush();
    c.submitMs = before + performance.now() - t0;
  };
  own.dispatch = (ref: KernelRef | Kernel, args: DispatchArgs) => {
    const t0 = performance.now();
    const kernel = 'pipeline' in ref ? ref : rt.kernel(ref);
    const args2 = { ...args, bindings: { ...args.bindings }, params: args.params && { ...args.params } };
    timed({ kind: 'dispatch', kernel, args: args2, phase }, () => proto.dispatch.call(rt, kernel, args), performance.now() - t0);
  };
  own.copy = (src: BufferArg, dst: BufferArg, bytes?: number) => timed({ kind: 'copy', src, dst, bytes, phase }, () => proto.copy.call(rt, src, dst, bytes));
  own.zero = (dst: BufferArg) => timed({ kind: 'zero', dst, phase }, () => proto.zero.call(rt, dst));
  own.write = (dst: BufferArg, data: ArrayBufferView, off?: number) => {
    writes++;
    proto.write.call(rt, dst, data, off);
  };
  own.free = (b: PooledBuffer) => {
    held.push(b);
  };
  let result: T;
  try {
    result = fn();
  } finally {
    for (const k of ['dispatch', 'copy', 'zero', 'write', 'free']) delete own[k];
    phase = undefined;
  }
  let released = false;
  return {
    result, commands, writes,
    release() {
      if (released) return;
      released = true;
      for (const b of held) rt.free(b);
    },
  };
}

/** Records the commands again (same kernels, buffers and params), in order. */
export function replay(commands: readonly Command[]): void {
  const rt = runtime();
  for (const c of commands) {
    if (c.kind === 'dispatch') rt.dispatch(c.kernel, c.args);
    else if (c.kind === 'copy') rt.copy(c.src, c.dst, c.bytes);
    else rt.zero(c.dst);
  }
}

/** "file:entry [phase]" of a command (the aggregation key of breakdowns); copies and clears get their own names. */
export function commandName(c: Command): string {
  const tag = c.phase ? ` [${c.phase}]` : '';
  if (c.kind !== 'dispatch') return (c.kind === 'copy' ? '(copyBufferToBuffer)' : '(clearBuffer)') + tag;
  return `${c.kernel.ref.file}:${c.kernel.ref.entry}${tag}`;
}

const get = (p: Readonly<Record<string, number | undefined>> | undefined, k: string) => p?.[k] ?? 0;

/** Floating-point operations of one dispatch where the kernel is known (GEMM and convolution); 0 otherwise. */
export function commandFlops(c: Command): number {
  if (c.kind !== 'dispatch') return 0;
  const { file, entry } = c.kernel.ref;
  const p = c.args.params;
  const wg = c.args.workgroups;
  if ((file === 'matmul.wgsl' && entry.startsWith('gemm_')) || file.startsWith('gemm-gen/')) {
    const batch = typeof wg === 'number' ? 1 : wg[2] ?? 1;
    return 2 * get(p, 'M') * get(p, 'N') * get(p, 'K') * batch;
  }
  if (file === 'conv.wgsl') {
    // Same product for fwd, bwd-data (as a conv over dy; with stride 1 there are no inserted zeros) and bwd-weights.
    const mac = get(p, 'N') * get(p, 'Cout') * get(p, 'Hout') * get(p, 'Wout') * get(p, 'Cin') * get(p, 'KH') * get(p, 'KW');
    if (entry === 'fwd_rb' || entry === 'fwd_naive' || entry === 'dw_rb' || entry === 'dw_naive' || entry === 'dx_naive') return 2 * mac;
  }
  if (file.startsWith('conv-gen/')) {
    // Generated unrolled kernels (src/ops/conv-gen.ts): KW (and dw's KH) are in the file name; fwd's KH and both
    // kernels' sizes (GEN_SIZES) are overrides, the batch a param.
    const ov = c.kernel.ref.overrides;
    const kw = Number(/_kw(\d+)/.exec(file)?.[1] ?? 0);
    const kh = Number(/_kh(\d+)/.exec(file)?.[1] ?? ov?.KH ?? 5);
    return 2 * get(p, 'N') * get(ov, 'COUT') * get(ov, 'HOUT') * get(ov, 'WOUT') * get(ov, 'CIN') * kh * kw;
  }
  return 0;
}
