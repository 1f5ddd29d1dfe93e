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
