// `tqhash export RUN --format F [--out DIR]`: a run's database codes in a vector engine's format
// (the formats and their bit orders: src/hash/export.ts and docs/exports.md).
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { EXPORT_FORMATS, EXPORT_TARGETS, defaultExportDir, loadRunCodes, writeExport, type ExportFormat } from '../hash/export.js';
import type { CodeDB } from '../hash/codedb.js';
import { prepareOutputDir } from '../util/fs.js';
import { oneRunFolder, reportError } from './command.js';

export const summary = `a run's database codes for a vector engine: ${EXPORT_FORMATS.join(', ')}`;

const SPEC: Record<string, OptSpec> = {
  format: { type: 'string', help: `one of ${EXPORT_FORMATS.join(', ')} (required)` },
  out: { type: 'string', help: 'output folder (default RUN/export-F)' },
  help: { type: 'bool', default: false, help: 'this text' },
};

export const HELP = usage(`usage: tqhash export RUN --format ${EXPORT_FORMATS.join('|')} [--out DIR]     (also: node bench/export.js …)

Writes RUN/db.codes (the database codes of a training run) for a search engine:
  faiss       db.faissindex: a FAISS IndexBinaryFlat file (faiss.read_index_binary)
  milvus      milvus-rows.json (insert rows: id, label, vector as uint8 list) + milvus-collection.json (schema)
  opensearch  bulk.ndjson (POST to /INDEX/_bulk) + opensearch-index.json / elasticsearch-index.json (mappings)
  npy         codes.npy (uint8 [n, D/8], np.packbits order), ids.npy, labels.npy
and export.json (format, bit order, bits, count, the run's tag). Codes of k bits become D = ceil(k/8)·8 bits.`, SPEC);

/** Parses the arguments into { run, format, out } (or { help: true }); throws a UsageError with a one-line message. */
export function parseExportArgs(argv: string[]): { help: true } | { help?: false; run: string; format: ExportFormat; out: string } {
  const { opts, positional } = parseArgs(argv, SPEC);
  if (opts.help) return { help: true };
  const run = oneRunFolder(positional, ' (a training run folder holding db.codes)');
  const format = opts.format as string | undefined;
  if (format === undefined) throw new UsageError(`--format missing; one of ${EXPORT_FORMATS.join(', ')}`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format "${format}"; one of ${EXPORT_FORMATS.join(', ')}`);
  return { run, format: format as ExportFormat, out: (opts.out as string | undefined) ?? defaultExportDir(run, format as ExportFormat) };
}

/** Runs the command; returns the exit code (0 done, 2 bad arguments, RUN folder or --out, 1 failed). */
export function main(argv: string[]): number {
  try {
    const opts = parseExportArgs(argv);
    if (opts.help) {
      console.log(HELP);
      return 0;
    }
    const db = loadRunCodes(opts.run);
    // After the RUN check, so a mistyped RUN is not created as the parent of the default RUN/export-F.
    prepareOutputDir(opts.out);
    const paths = writeExport(db, opts.format, opts.out);
    const t = EXPORT_TARGETS.get(opts.format)!;
    console.log(`${db.meta.tag ?? opts.run}: ${db.size} codes of ${db.bits} bits → ${t.target}, ${t.bitOrder === 'little' ? 'least' : 'most'} significant bit first`);
    for (const p of paths) console.log(`  ${p}`);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}
