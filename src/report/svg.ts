// Line charts as standalone SVG files (no browser): precision–recall, precision@k, loss curves.
// Hand-written (100 lines, no dependency) for three line charts: vega 5, the usual way to render charts to SVG without
// a browser, lists 25 vega-* packages as direct dependencies (npm view vega@5, 2026-11-30).

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fixed axis ranges; default: from the data (y from 0 when all values are ≥ 0). */
  xRange?: [number, number];
  yRange?: [number, number];
  /** A subtitle line: data set, protocol, bits, loss, seed (STYLE.md 15). */
  subtitle?: string;
  logX?: boolean;
}

/** The series colours of every chart. */
export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** Escapes text for SVG. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A tick label: 4 significant digits, exponent form for very large or small values. */
export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/**
 * The start of every chart: the svg element, white background, title and subtitle, and the horizontal grid lines
 * with their labels for y in [y0, y1] (py maps a value to its pixel row).
 */
export function chartFrame(W: number, H: number, opt: { title: string; subtitle?: string }, y: { left: number; width: number; y0: number; y1: number; py: (v: number) => number }): string[] {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(opt.title)}</text>`);
  if (opt.subtitle) out.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">${esc(opt.subtitle)}</text>`);
  for (const t of ticks(y.y0, y.y1)) {
    const r = y.py(t);
    out.push(`<line x1="${y.left}" x2="${y.left + y.width}" y1="${r.toFixed(1)}" y2="${r.toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${y.left - 6}" y="${(r + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  return out;
}

/** Renders series as an SVG line chart (one polyline per series, legend, axes with ticks). */
export function lineChart(series: Series[], opt: ChartOptions): string {
  const W = opt.width ?? 640, H = opt.height ?? 420;
  const m = { l: 64, r: 16, t: opt.subtitle ? 52 : 36, b: 48 };
  const tx = (v: number) => (opt.logX ? Math.log10(Math.max(v, 1e-12)) : v);
  let xs: number[] = [], ys: number[] = [];
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) {
        xs.push(tx(s.x[i]));
        ys.push(s.y[i]);
      }
    }
  }
  if (!xs.length) xs = [0, 1];
  if (!ys.length) ys = [0, 1];
  let [x0, x1] = opt.xRange ? opt.xRange.map(tx) : [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = opt.yRange ?? [Math.min(0, ...ys), Math.max(...ys)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const px = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const py = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const out = chartFrame(W, H, opt, { left: m.l, width: pw, y0, y1, py });
  for (const t of ticks(x0, x1)) {
    out.push(`<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${px(t).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(opt.logX ? 10 ** t : t)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opt.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opt.yLabel)}</text>`);
  series.forEach((s, si) => {
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const xv = tx(s.x[i]), yv = s.y[i];
      if (Number.isFinite(xv) && Number.isFinite(yv)) pts.push(`${px(xv).toFixed(1)},${py(yv).toFixed(1)}`);
    }
    const c = COLORS[si % COLORS.length];
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${pts.join(' ')}"/>`);
    const ly = m.t + 14 + si * 16;
    out.push(`<line x1="${m.l + pw - 150}" x2="${m.l + pw - 130}" y1="${ly - 4}" y2="${ly - 4}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${m.l + pw - 126}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
