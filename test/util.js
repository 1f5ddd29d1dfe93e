// Shared test helpers: seeded random inputs in a symmetric range, float64 comparisons that print what failed.

/** Deterministic uniform values in [-1, 1) (mulberry32), as a Float64Array. Never zeros-only. */
export function rand(n, seed = 1, scale = 1) {
  let a = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * u - 1) * scale;
  }
  return out;
}

/** Relative error ‖a − ref‖ / ‖ref‖ (absolute when ‖ref‖ = 0). NaN anywhere gives Infinity. */
export function relErr(a, ref) {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = a[i] - ref[i];
    if (!Number.isFinite(a[i])) return Infinity;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

/** Throws unless a and ref have equal length and relErr ≤ tol; the message gives max |diff| and the first mismatches. */
export function assertClose(a, ref, tol, what = 'result') {
  if (a.length !== ref.length) throw new Error(`${what}: length ${a.length}, expected ${ref.length}`);
  const e = relErr(a, ref);
  if (e <= tol) return e;
  let maxDiff = 0, at = -1;
  const bad = [];
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    if (!(d <= maxDiff)) { maxDiff = d; at = i; }
    if (!(d <= tol * Math.max(1, Math.abs(ref[i]))) && bad.length < 5) bad.push(`[${i}] got ${a[i]} want ${ref[i]}`);
  }
  throw new Error(`${what}: relative error ${e.toExponential(3)} > ${tol}; max |diff| ${maxDiff} at ${at}; ${bad.join(', ')}`);
}

/** Runs fn with console.log / console.error captured: its result as `code`, the lines, `out` (joined) and `errs` (joined). */
export async function quietly(fn) {
  const { log, error } = console;
  const lines = [], errs = [];
  console.log = (...a) => lines.push(a.join(' '));
  console.error = (...a) => errs.push(a.join(' '));
  try {
    return { code: await fn(), lines, out: lines.join('\n'), errs: errs.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
