#!/usr/bin/env node
// `node bench/export.js RUN --format F [--out DIR]`: a training run's database codes in a vector engine's format
// (the future `tqhash export`). The formats and their bit orders are in src/hash/export.ts and docs/exports.md.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { hash } from '../dist/index.js';

const FORMATS = hash.EXPORT_FORMATS.join('|');

export const HELP = `node bench/export.js RUN --format ${FORMATS} [--out DIR]

Writes RUN/db.codes (the database codes of a training run) for a search engine:
  faiss       db.faissindex: a FAISS IndexBinaryFlat file (faiss.read_index_binary)
  milvus      milvus-rows.json (insert rows: id, label, vector as uint8 list) + milvus-collection.json (schema)
  opensearch  bulk.ndjson (POST to /INDEX/_bulk) + opensearch-index.json / elasticsearch-index.json (mappings)
  npy         codes.npy (uint8 [n, D/8], np.packbits order), ids.npy, labels.npy
and export.json (format, bit order, bits, count, the run's tag). Codes of k bits become D = ceil(k/8)·8 bits.

Options:
  --format F   one of ${hash.EXPORT_FORMATS.join(', ')} (required)
  --out DIR    output folder (default RUN/export-F)
  --help       this text`;

/** Parses the arguments into { run, format, out } (or { help: true }); throws an Error with a one-line message. */
export function parseExportArgs(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } } });
  } catch (e) {
    const unknown = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'(-[^']*)'/.exec(e.message)?.[1];
    if (!unknown) throw new Error(e.message.split('\n')[0]);
    const guess = ['format', 'out', 'help'].find((k) => unknown.replace(/^-+/, '').slice(0, 3) === k.slice(0, 3));
    throw new Error(`unknown option ${unknown}${guess ? ` (did you mean --${guess}?)` : ''}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 1) throw new Error(positionals.length ? `one RUN folder expected, got ${positionals.length}: ${positionals.join(' ')}` : 'RUN folder missing (a training run folder holding db.codes)');
  if (values.format === undefined) throw new Error(`--format missing; one of ${hash.EXPORT_FORMATS.join(', ')}`);
  if (!hash.EXPORT_FORMATS.includes(values.format)) throw new Error(`unknown format "${values.format}"; one of ${hash.EXPORT_FORMATS.join(', ')}`);
  return { run: positionals[0], format: values.format, out: values.out ?? hash.defaultExportDir(positionals[0], values.format) };
}

/** Runs the command; returns the exit code (0 done, 2 bad arguments or RUN folder, 1 writing failed). */
export function main(argv) {
  let opts, db;
  try {
    opts = parseExportArgs(argv);
    if (opts.help) {
      console.log(HELP);
      return 0;
    }
    db = hash.loadRunCodes(opts.run);
  } catch (e) {
    console.error(`error: ${e.message} (see node bench/export.js --help)`);
    return 2;
  }
  try {
    const paths = hash.writeExport(db, opts.format, opts.out);
    const t = hash.EXPORT_TARGETS.get(opts.format);
    console.log(`${db.meta.tag ?? opts.run}: ${db.size} codes of ${db.bits} bits → ${t.target}, ${t.bitOrder === 'little' ? 'least' : 'most'} significant bit first`);
    for (const p of paths) console.log(`  ${p}`);
    return 0;
  } catch (e) {
    console.error(`error: ${e.message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
