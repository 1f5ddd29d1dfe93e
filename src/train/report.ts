// The human-readable report of a run: report.md (a table like the paper's) and SVG plots (PR, P@k, loss).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../report/svg.js';
import type { RetrievalMetrics } from '../hash/metrics.js';
import type { EvalResult } from './evaluate.js';
import type { CodeVersion } from '../util/version.js';
import { STEAL_SHOWN } from '../util/host.js';

/** "Code: tqhash 0.1.0, commit 819d812 (with local changes)." */
function versionLine(v: CodeVersion | undefined): string {
  if (!v) return 'Code: version not recorded.';
  return `Code: tqhash ${v.package}${v.commit ? `, commit ${v.commit.slice(0, 12)}${v.modified ? ' (with local changes)' : ''}` : ' (not a git checkout: commit unknown)'}.`;
}

/** DSH's published from-scratch mAP on CIFAR-10 (protocol dsh), the bar for our numbers (shared/PAPER.md). */
export const DSH_MAP: Record<number, number> = { 12: 0.616, 24: 0.651, 32: 0.661, 48: 0.676 };

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));

function smooth(ys: number[], w: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < ys.length; i++) {
    s += ys[i];
    if (i >= w) s -= ys[i - w];
    out.push(s / Math.min(i + 1, w));
  }
  return out;
}

/** "Extended from 7 to 9 epochs at step 2,691 …": a run extended with --resume --epochs, said in the report. */
function extensionLines(ext: { step: number; fromEpochs: number; toEpochs: number }[] | undefined): string[] {
  if (!ext?.length) return [];
  const parts = ext.map((e) => `from ${e.fromEpochs} to ${e.toEpochs} epochs at step ${e.step}`);
  return [`Extended with --resume --epochs: ${parts.join('; ')}; the learning-rate schedule was re-planned for the new length at each extension.`];
}

/** Writes report.md, pr.svg, precision_at_k.svg and loss.svg into the run folder. */
export function writeReport(out: string, results: Record<string, unknown>, ev: EvalResult, lossHistory: { step: number; loss: number }[], adapterBlock: string): void {
  writeFileSync(join(out, 'report.md'), reportMarkdown(results, ev, adapterBlock));
  writePlots(out, String(results.tag), Number(results.bits), ev, lossHistory);
}

/** report.md: the adapter, the run, the metric tables (with DSH's published mAP where the protocol matches), per epoch. */
function reportMarkdown(results: Record<string, unknown>, ev: EvalResult, adapterBlock: string): string {
  const b: RetrievalMetrics = ev.summary.binary, r: RetrievalMetrics = ev.summary.real;
  const tag = String(results.tag);
  const bits = Number(results.bits);
  const dsh = results.protocol === 'dsh' ? DSH_MAP[bits] : undefined;
  const mapAtKeys = Object.keys(b.mapAt);
  const lines = [
    `# tqhash report — ${tag}`,
    '',
    '```',
    adapterBlock,
    '```',
    '',
    `Date ${results.date}; command \`${results.command}\`; wall time ${(Number(results.wallSeconds) / 60).toFixed(1)} min${Number(results.sessions) > 1 ? ` over ${results.sessions} processes (resumed${results.wallNote ? `; ${results.wallNote}` : ''})` : ''}, training ${(Number(results.trainSeconds) / 60).toFixed(1)} min at ${Number(results.imagesPerSecond).toFixed(0)} images/s${typeof results.steal === 'number' && results.steal >= STEAL_SHOWN ? ` (the VM host took ${(100 * results.steal).toFixed(0)} % of the machine's CPU time for other guests meanwhile)` : ''}.`,
    versionLine(results.version as CodeVersion | undefined),
    `Model ${results.model}, ${results.epochs} epochs, ${results.steps} steps; queries ${ev.summary.queries}, database ${ev.summary.database}.`,
    ...extensionLines(results.extensions as { step: number; fromEpochs: number; toEpochs: number }[] | undefined),
    `Rankings: Hamming distance (binary codes) or squared Euclidean distance (real-valued f), ties by database index ascending. mAP@all over the whole ranking; mAP@k: AP over the top k, normalised by the relevant items within the top k.`,
    '',
    `| ${tag} | mAP@all | ${mapAtKeys.map((k) => `mAP@${k}`).join(' | ')}${mapAtKeys.length ? ' | ' : ''}P@1000 | precision r≤2 |`,
    `|---|---|${mapAtKeys.map(() => '---|').join('')}---|---|`,
    `| binary (${bits} bits) | ${f4(b.map)} | ${mapAtKeys.map((k) => f4(b.mapAt[k])).join(' | ')}${mapAtKeys.length ? ' | ' : ''}${f4(b.precisionAtK.find((p) => p.k === 1000)?.precision)} | ${f4(b.precisionRadius2)} |`,
    `| real-valued f | ${f4(r.map)} | ${mapAtKeys.map((k) => f4(r.mapAt[k])).join(' | ')}${mapAtKeys.length ? ' | ' : ''}${f4(r.precisionAtK.find((p) => p.k === 1000)?.precision)} | – |`,
    ...(dsh !== undefined ? [`| DSH (CVPR 2016, published, from scratch) | ${dsh.toFixed(3)} | | | |`] : []),
    '',
    `Quantization drop (real − binary mAP@all): ${(100 * (r.map - b.map)).toFixed(2)} points.`,
    '',
    ...(ev.summary.topK
      ? [
          `Top-k retrieval accuracy (In-shop's metric: a query is a hit at k when an image of its item is among the k nearest gallery images; ties by gallery index):`,
          '',
          '| top-k accuracy | ' + ev.summary.topK.binary.accuracy.map((p) => `@${p.k}`).join(' | ') + ' |',
          '|---|' + ev.summary.topK.binary.accuracy.map(() => '---|').join(''),
          `| binary (${bits} bits) | ` + ev.summary.topK.binary.accuracy.map((p) => f4(p.accuracy)).join(' | ') + ' |',
          '| real-valued f | ' + ev.summary.topK.real.accuracy.map((p) => f4(p.accuracy)).join(' | ') + ' |',
          '',
        ]
      : []),
    '| k | ' + b.precisionAtK.map((p) => p.k).join(' | ') + ' |',
    '|---|' + b.precisionAtK.map(() => '---|').join(''),
    '| P@k binary | ' + b.precisionAtK.map((p) => f4(p.precision)).join(' | ') + ' |',
    '| P@k real | ' + r.precisionAtK.map((p) => f4(p.precision)).join(' | ') + ' |',
    '',
    'Plots: [precision–recall](pr.svg), [precision@k](precision_at_k.svg), [training loss](loss.svg).',
    '',
    '## Per epoch',
    '',
    '| epoch | loss | images/s | val mAP (binary) |',
    '|---|---|---|---|',
    ...((results.epochLog as Record<string, number>[]) ?? []).map((e) => `| ${e.epoch} | ${f4(e.loss)} | ${Number(e.imagesPerSecond).toFixed(0)} | ${f4(e.valMapBinary)} |`),
    '',
  ];
  return lines.join('\n');
}

/** The three plots of a run: precision–recall, precision@k (binary and real-valued), training loss. */
function writePlots(out: string, tag: string, bits: number, ev: EvalResult, lossHistory: { step: number; loss: number }[]): void {
  const b: RetrievalMetrics = ev.summary.binary, r: RetrievalMetrics = ev.summary.real;
  const subtitle = tag;
  writeFileSync(
    join(out, 'pr.svg'),
    lineChart(
      [
        { name: `binary (${bits} bits, per radius)`, x: b.pr.map((p) => p.recall), y: b.pr.map((p) => p.precision) },
        { name: 'real-valued f (rank cut-offs)', x: r.pr.map((p) => p.recall), y: r.pr.map((p) => p.precision) },
      ],
      { title: 'Precision–recall', subtitle, xLabel: 'recall', yLabel: 'precision', xRange: [0, 1], yRange: [0, 1] },
    ),
  );
  writeFileSync(
    join(out, 'precision_at_k.svg'),
    lineChart(
      [
        { name: 'binary', x: b.precisionAtK.map((p) => p.k), y: b.precisionAtK.map((p) => p.precision) },
        { name: 'real-valued f', x: r.precisionAtK.map((p) => p.k), y: r.precisionAtK.map((p) => p.precision) },
      ],
      { title: 'Precision@k', subtitle, xLabel: 'k (retrieved items)', yLabel: 'precision', yRange: [0, 1], logX: true },
    ),
  );
  const ys = lossHistory.map((h) => h.loss);
  writeFileSync(
    join(out, 'loss.svg'),
    lineChart(
      [
        { name: 'loss per step', x: lossHistory.map((h) => h.step), y: ys },
        { name: 'moving average (50)', x: lossHistory.map((h) => h.step), y: smooth(ys, 50) },
      ],
      { title: 'Training loss', subtitle, xLabel: 'step', yLabel: 'loss' },
    ),
  );
}
