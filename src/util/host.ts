// The CPU this process runs on, as reports and the autotune cache name it: a software adapter's speed is the CPU's,
// and hosts of one machine class differ (this project's 2-vCPU class has been seen on Intel and on AMD cores).
import { cpus } from 'node:os';

/** "<CPU model> × <logical CPUs>", plus ", LP_NUM_THREADS=<n>" when llvmpipe's thread count is set. */
export function hostCpu(): string {
  const c = cpus();
  const threads = process.env.LP_NUM_THREADS ? `, LP_NUM_THREADS=${process.env.LP_NUM_THREADS}` : '';
  return `${(c[0]?.model ?? 'unknown').trim().replace(/\s+/g, ' ')} × ${c.length}${threads}`;
}
