// Means with error bars as a standalone SVG (the study's chart): categories along x, one marker series per group.
import { COLORS, chartFrame, esc } from './svg.js';

/** One series: a value (mean ± spread, spread null when unknown) per x category. */
export interface BarSeries {
  name: string;
  points: { x: string; mean: number; spread: number | null }[];
}

/** Renders series as markers with ±spread bars over categorical x (series side by side within a category). */
export function errorBarChart(series: BarSeries[], opt: { title: string; subtitle?: string; xLabel: string; yLabel: string; width?: number; height?: number }): string {
  const W = opt.width ?? 640, H = opt.height ?? 420;
  const cats = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))];
  const lo: number[] = [], hi: number[] = [];
  for (const s of series) for (const p of s.points) if (Number.isFinite(p.mean)) { lo.push(p.mean - (p.spread ?? 0)); hi.push(p.mean + (p.spread ?? 0)); }
  let y0 = lo.length ? Math.min(...lo) : 0, y1 = hi.length ? Math.max(...hi) : 1;
  const pad = (y1 - y0) * 0.1 || Math.abs(y0) * 0.05 || 0.5;
  y0 -= pad; y1 += pad;
  const m = { l: 64, r: 16 + 150, t: opt.subtitle ? 52 : 36, b: 48 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const slot = pw / Math.max(1, cats.length);
  const px = (ci: number, si: number) => m.l + slot * (ci + 0.5) + (si - (series.length - 1) / 2) * Math.min(14, (slot * 0.6) / Math.max(1, series.length));
  const py = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const out = chartFrame(W, H, opt, { left: m.l, width: pw, y0, y1, py });
  cats.forEach((c, ci) => out.push(`<text x="${(m.l + slot * (ci + 0.5)).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle">${esc(c)}</text>`));
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opt.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opt.yLabel)}</text>`);
  series.forEach((s, si) => {
    const c = COLORS[si % COLORS.length];
    for (const p of s.points) {
      if (!Number.isFinite(p.mean)) continue;
      const x = px(cats.indexOf(p.x), si).toFixed(1);
      if (p.spread !== null && p.spread > 0) {
        const [a, b] = [py(p.mean - p.spread).toFixed(1), py(p.mean + p.spread).toFixed(1)];
        out.push(`<line class="errorbar" x1="${x}" x2="${x}" y1="${a}" y2="${b}" stroke="${c}" stroke-width="1.5"/>`);
        for (const yy of [a, b]) out.push(`<line x1="${(+x - 4).toFixed(1)}" x2="${(+x + 4).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="${c}" stroke-width="1.5"/>`);
      }
      out.push(`<circle cx="${x}" cy="${py(p.mean).toFixed(1)}" r="3.5" fill="${c}"/>`);
    }
    const ly = m.t + 14 + si * 16;
    out.push(`<circle cx="${m.l + pw + 16}" cy="${ly - 4}" r="3.5" fill="${c}"/>`);
    out.push(`<text x="${m.l + pw + 26}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
