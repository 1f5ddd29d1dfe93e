// The CPU this process runs on, as reports and the autotune cache name it: a software adapter's speed is the CPU's,
// and hosts of one machine class differ (this project's 2-vCPU class has been seen on Intel cores and on two AMD EPYC
// generations that report the same model name: PyTorch ran the same step 2.4× faster on the one with AVX-512).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

let detail: string | undefined;

/** "family F model M, AVX-512" (or AVX2) from /proc/cpuinfo's first CPU; '' where there is none (not Linux). */
function cpuDetail(): string {
  if (detail !== undefined) return detail;
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return (detail = '');
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const family = field('cpu family'), model = field('model'), flags = ` ${field('flags') ?? ''} `;
  const isa = flags.includes(' avx512f ') ? 'AVX-512' : flags.includes(' avx2 ') ? 'AVX2' : '';
  return (detail = [family && model ? `family ${family} model ${model}` : '', isa].filter(Boolean).join(', '));
}

/** "<CPU model> × <logical CPUs> (family F model M, AVX-512)", plus ", LP_NUM_THREADS=<n>" when llvmpipe's thread count is set. */
export function hostCpu(): string {
  const c = cpus();
  const threads = process.env.LP_NUM_THREADS ? `, LP_NUM_THREADS=${process.env.LP_NUM_THREADS}` : '';
  const d = cpuDetail();
  return `${(c[0]?.model ?? 'unknown').trim().replace(/\s+/g, ' ')} × ${c.length}${d ? ` (${d})` : ''}${threads}`;
}

/** Milliseconds of CPU time this process spent since `start` (a process.cpuUsage() reading), all its threads: on a
 *  software adapter that includes the threads that run the kernels. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1000;
}

/** The machine's CPU time since boot from /proc/stat's 'cpu' line, in clock ticks; undefined where there is none. */
export interface CpuTimes { total: number; steal: number }

/** Reads the machine's CPU time counters (all CPUs): total and steal (time the hypervisor ran other guests). */
export function cpuTimes(): CpuTimes | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
  } catch {
    return undefined;
  }
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const v = line?.trim().split(/\s+/).slice(1, 9).map(Number);
  if (!v || v.length < 8 || v.some((x) => !Number.isFinite(x))) return undefined;
  return { total: v.reduce((a, b) => a + b, 0), steal: v[7] };
}

/** The share of the machine's CPU time stolen by the hypervisor between two readings (the second: now by default), 0..1,
 *  null when unknown. On a shared VM this is what slows wall times that the process's own CPU time does not show. */
export function stealShare(from: CpuTimes | undefined, to: CpuTimes | undefined = cpuTimes()): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return (to.steal - from.steal) / (to.total - from.total);
}

/** The least steal a report mentions (a share of the machine's CPU time). */
export const STEAL_SHOWN = 0.01;

/** "steal 31 % of the machine's CPU time …" for a report, or '' when unknown or under STEAL_SHOWN. */
export function formatSteal(share: number | null, during: string): string {
  if (share === null || share < STEAL_SHOWN) return '';
  return `steal     ${(100 * share).toFixed(0)} % of the machine's CPU time ${during} went to other guests of the VM host: wall times are that much slower, CPU times are not`;
}

/** The steal since `from` (until now), logged with formatSteal when it shows; returned for a report. */
export function logSteal(from: CpuTimes | undefined, during: string, log: (line: string) => void): number | null {
  const share = stealShare(from);
  const line = formatSteal(share, during);
  if (line) log(line);
  return share;
}
