/**
 * Exports of a code database to engines that search past one machine: FAISS, Milvus, OpenSearch/Elasticsearch,
 * and numpy. Library functions only; `tqhash export` (src/cli/export.ts) is the command around them.
 *
 * Every target stores a k-bit code as D = ceil(k/8)·8 bits (`paddedDim`) in ceil(k/8) bytes; the D − k extra bits
 * are 0 in every code, so Hamming distances are unchanged. The targets differ in where code bit i (bit i mod 32 of
 * word ⌊i/32⌋, codes.ts) goes within byte ⌊i/8⌋ — queries must be packed in the target's order:
 *
 *   format      target                              bit i of the code is          bytes written as
 *   faiss       FAISS IndexBinaryFlat file          bit i%8 of byte i/8 (LSB)     uint8, in the index file
 *   milvus      Milvus BINARY_VECTOR                bit i%8 of byte i/8 (LSB)     JSON lists of uint8 per row
 *   opensearch  OpenSearch knn_vector binary,       bit 7−i%8 of byte i/8 (MSB)   JSON lists of signed int8
 *               Elasticsearch dense_vector bit
 *   npy         numpy .npy, packbits order          bit 7−i%8 of byte i/8 (MSB)   uint8 array [n, D/8]
 *
 * Where each order was verified (`EXPORT_TARGETS[].source`, also in docs/exports.md):
 * - FAISS: faiss/utils/hamming.cpp `fvec2bitvec` puts dimension 0 in the least significant bit of the first byte;
 *   test/hash-export.test.js packs with the installed `faiss.fvecs2bitvecs` and compares.
 * - Milvus: the "Insert data" section of milvus.io/docs/binary-vector.md packs boolean i into bit i%8 of byte i/8
 *   (its 8 values 1,0,0,1,1,0,1,1 become the byte 0xD9). The REST insert reads a BinaryVector field by JSON-decoding
 *   it into Go's []byte (internal/distributed/proxy/httpserver/utils.go, checkAndSetData), which takes a list of
 *   byte values, as Milvus's own tests send (`{"binary_vector": [255]}`); pymilvus takes `bytes(row["vector"])`.
 * - OpenSearch: the OpenSearch blog "Optimize your OpenSearch costs using binary vectors" (2024-11-25) packs with
 *   `np.packbits` (most significant bit first) and casts to int8 (bits 0110 1100 1000 1100 → [108, −116]); the
 *   Elastic Search Labs post "Bit vectors in Elasticsearch" (8.15) packs with `np.packbits` too, and Elasticsearch's
 *   API specification allows only `l2_norm` (Hamming) similarity on `bit` vectors.
 * - numpy: `np.packbits` defaults to bitorder='big'; the test unpacks the file with `np.unpackbits`.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs, outputError, refuseOverwrite, writeFileAtomic } from '../util/fs.js';
import { DataError } from '../util/errors.js';
import { CodeDB } from './codedb.js';
import { packedBytes } from '../cpu/codes.js';

/** Export formats, in the order the command lists them. */
export const EXPORT_FORMATS = ['faiss', 'milvus', 'opensearch', 'npy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One row of the bit-order table above. */
export interface ExportTarget {
  format: ExportFormat;
  target: string;
  bitOrder: 'little' | 'big';
  source: string;
}

/** The bit order of each format and where it was verified (the table in the file comment). */
export const EXPORT_TARGETS: ReadonlyMap<ExportFormat, ExportTarget> = new Map(
  (
    [
      { format: 'faiss', target: 'FAISS IndexBinaryFlat', bitOrder: 'little', source: 'faiss/utils/hamming.cpp fvec2bitvec; checked against faiss.fvecs2bitvecs in test/hash-export.test.js' },
      { format: 'milvus', target: 'Milvus BINARY_VECTOR', bitOrder: 'little', source: 'milvus.io/docs/binary-vector.md, "Insert data" (1,0,0,1,1,0,1,1 → 0xD9)' },
      { format: 'opensearch', target: 'OpenSearch knn_vector data_type binary / Elasticsearch dense_vector element_type bit', bitOrder: 'big', source: 'OpenSearch blog "Optimize your OpenSearch costs using binary vectors" (np.packbits, int8); Elastic Search Labs "Bit vectors in Elasticsearch" (np.packbits)' },
      { format: 'npy', target: 'numpy .npy (np.packbits / np.unpackbits order)', bitOrder: 'big', source: 'numpy packbits default bitorder="big"; read back with np.unpackbits in test/hash-export.test.js' },
    ] as const
  ).map((t) => [t.format, t]),
);

/** Bits a k-bit code takes in every target: k rounded up to a multiple of 8 (the extra bits are 0). */
export function paddedDim(bits: number): number {
  return ((bits + 7) >>> 3) * 8;
}

/** The files of one export: name → contents (several parts, written one after another). */
export type ExportFiles = Map<string, Uint8Array[]>;

/** The database's packed code bytes in a format's bit order (n × paddedDim/8 bytes). */
export function exportBytes(db: CodeDB, format: ExportFormat): Uint8Array {
  return packedBytes(db.data, db.size, db.bits, EXPORT_TARGETS.get(format)!.bitOrder);
}

/** The ids as one typed column: integers when every id is an integer (or none were given: the index), else strings. */
export function idColumn(db: CodeDB): { kind: 'int'; values: number[] } | { kind: 'string'; values: string[] } {
  const ids = db.ids;
  if (ids === undefined) return { kind: 'int', values: Array.from({ length: db.size }, (_, i) => i) };
  if (ids.every((v) => typeof v === 'number')) return { kind: 'int', values: ids as number[] };
  return { kind: 'string', values: ids.map(String) };
}

// JSON text is built in chunks of this many rows, so no single string grows with the database.
const ROWS_PER_PART = 8192;

function textParts(n: number, row: (i: number) => string): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let lo = 0; lo < n; lo += ROWS_PER_PART) {
    let s = '';
    for (let i = lo; i < Math.min(n, lo + ROWS_PER_PART); i++) s += row(i);
    parts.push(Buffer.from(s, 'utf8'));
  }
  return parts;
}

const jsonFile = (v: unknown): Uint8Array[] => [Buffer.from(JSON.stringify(v, null, 2) + '\n', 'utf8')];

/** FAISS: `db.faissindex`, the IndexBinaryFlat file `faiss.read_index_binary` loads. */
export function faissExport(db: CodeDB): ExportFiles {
  return new Map([['db.faissindex', [db.faissBinaryFlatBytes()]]]);
}

// Milvus caps VARCHAR fields at 65,535 bytes.
const MILVUS_MAX_VARCHAR = 65535;

/**
 * Milvus: `milvus-rows.json`, a JSON array of rows `{"id", "label"?, "vector": [uint8…]}` (the `data` of an insert),
 * and `milvus-collection.json`, the body of the REST collections/create request (schema and HAMMING index).
 */
export function milvusExport(db: CodeDB, collectionName = 'tqhash'): ExportFiles {
  const B = paddedDim(db.bits) / 8;
  const bytes = exportBytes(db, 'milvus');
  const ids = idColumn(db);
  const labels = db.labels;
  const n = db.size;
  const rows = textParts(n, (i) => {
    const label = labels ? `, "label": ${labels[i]}` : '';
    const vec = Array.from(bytes.subarray(i * B, (i + 1) * B)).join(', ');
    return `${i === 0 ? '[\n' : ''}  {"id": ${JSON.stringify(ids.values[i])}${label}, "vector": [${vec}]}${i + 1 < n ? ',' : ''}\n`;
  });
  if (n === 0) rows.push(Buffer.from('[]\n'));
  else rows.push(Buffer.from(']\n'));
  let idField: Record<string, unknown> = { fieldName: 'id', dataType: 'Int64', isPrimary: true };
  if (ids.kind === 'string') {
    const maxLen = ids.values.reduce((m, s) => Math.max(m, Buffer.byteLength(s, 'utf8')), 1);
    if (maxLen > MILVUS_MAX_VARCHAR) throw new RangeError(`an id is ${maxLen} bytes long; Milvus VARCHAR primary keys hold at most ${MILVUS_MAX_VARCHAR}`);
    idField = { fieldName: 'id', dataType: 'VarChar', isPrimary: true, elementTypeParams: { max_length: maxLen } };
  }
  const fields = [idField, ...(labels ? [{ fieldName: 'label', dataType: 'Int64' }] : []), { fieldName: 'vector', dataType: 'BinaryVector', elementTypeParams: { dim: paddedDim(db.bits) } }];
  const collection = {
    collectionName,
    schema: { autoId: false, enableDynamicField: false, fields },
    indexParams: [{ fieldName: 'vector', indexName: 'vector', metricType: 'HAMMING' }],
  };
  return new Map([
    ['milvus-rows.json', rows],
    ['milvus-collection.json', jsonFile(collection)],
  ]);
}

/**
 * OpenSearch / Elasticsearch: `bulk.ndjson` (an `index` action with `_id`, then `{"vector": [int8…], "label"?}`, per
 * code; POST it to /INDEX/_bulk), and the index bodies `opensearch-index.json` (knn_vector, data_type binary,
 * space_type hamming, HNSW on the faiss engine) and `elasticsearch-index.json` (dense_vector, element_type bit,
 * similarity l2_norm, Elasticsearch's Hamming for bits).
 */
export function openSearchExport(db: CodeDB): ExportFiles {
  const D = paddedDim(db.bits);
  const B = D / 8;
  const bytes = exportBytes(db, 'opensearch');
  const ids = idColumn(db);
  const labels = db.labels;
  const bulk = textParts(db.size, (i) => {
    const vec = Array.from(bytes.subarray(i * B, (i + 1) * B), (b) => (b << 24) >> 24).join(',');
    const label = labels ? `,"label":${labels[i]}` : '';
    return `{"index":{"_id":${JSON.stringify(String(ids.values[i]))}}}\n{"vector":[${vec}]${label}}\n`;
  });
  const label = labels ? { label: { type: 'long' } } : {};
  const openSearch = {
    settings: { index: { knn: true } },
    mappings: { properties: { vector: { type: 'knn_vector', dimension: D, data_type: 'binary', space_type: 'hamming', method: { name: 'hnsw', engine: 'faiss' } }, ...label } },
  };
  const elastic = { mappings: { properties: { vector: { type: 'dense_vector', element_type: 'bit', dims: D, index: true, similarity: 'l2_norm' }, ...label } } };
  return new Map([
    ['bulk.ndjson', bulk],
    ['opensearch-index.json', jsonFile(openSearch)],
    ['elasticsearch-index.json', jsonFile(elastic)],
  ]);
}

/** The bytes of a version 1.0 `.npy` file (C order), header padded as `np.save` pads it. */
export function npyBytes(descr: string, shape: readonly number[], body: Uint8Array): Uint8Array[] {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Spaces and a newline so the data starts at a multiple of 64 bytes. np.save first adds room for a 21-digit first
  // axis; for headers as short as these (53–95 characters) both come to 128 bytes (compared with np.save in the test).
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // "\x93NUMPY", version 1.0
  new DataView(head.buffer).setUint16(8, header.length, true);
  head.set(Buffer.from(header, 'latin1'), 10);
  return [head, body];
}

// numpy's fixed-width unicode column takes (longest id) × 4 bytes per row: ids longer than this are refused.
const NPY_MAX_ID_CHARS = 1024;

/**
 * numpy: `codes.npy` (uint8 [n, paddedDim/8], np.packbits order unless `bitOrder` says otherwise), `ids.npy` (int64,
 * or '<U' strings when any id is not an integer) and `labels.npy` (uint32) when the database has labels.
 */
export function npyExport(db: CodeDB, bitOrder: 'little' | 'big' = EXPORT_TARGETS.get('npy')!.bitOrder): ExportFiles {
  const B = paddedDim(db.bits) / 8;
  const files: ExportFiles = new Map([['codes.npy', npyBytes('|u1', [db.size, B], packedBytes(db.data, db.size, db.bits, bitOrder))]]);
  const ids = idColumn(db);
  if (ids.kind === 'int') {
    const body = new Uint8Array(8 * db.size);
    const dv = new DataView(body.buffer);
    ids.values.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
    files.set('ids.npy', npyBytes('<i8', [db.size], body));
  } else {
    const chars = ids.values.map((s) => Array.from(s, (c) => c.codePointAt(0)!));
    const width = chars.reduce((m, c) => Math.max(m, c.length), 1);
    if (width > NPY_MAX_ID_CHARS) throw new RangeError(`an id is ${width} characters long; the numpy export takes ids of at most ${NPY_MAX_ID_CHARS}`);
    const body = new Uint8Array(4 * width * db.size);
    const dv = new DataView(body.buffer);
    chars.forEach((c, i) => c.forEach((cp, j) => dv.setUint32(4 * (i * width + j), cp, true)));
    files.set('ids.npy', npyBytes(`<U${width}`, [db.size], body));
  }
  const labels = db.labels;
  if (labels) {
    const body = new Uint8Array(4 * db.size);
    const dv = new DataView(body.buffer);
    labels.forEach((v, i) => dv.setUint32(4 * i, v, true));
    files.set('labels.npy', npyBytes('<u4', [db.size], body));
  }
  return files;
}

/** The files of `format`, plus `export.json`: format, target, bit order, bits, dimension, count and the run's metadata. */
export function exportFiles(db: CodeDB, format: ExportFormat): ExportFiles {
  const files = format === 'faiss' ? faissExport(db) : format === 'milvus' ? milvusExport(db) : format === 'opensearch' ? openSearchExport(db) : npyExport(db);
  const t = EXPORT_TARGETS.get(format)!;
  const manifest = { format, target: t.target, bitOrder: t.bitOrder === 'little' ? 'least significant bit first' : 'most significant bit first', bits: db.bits, dim: paddedDim(db.bits), count: db.size, meta: db.meta, files: [...files.keys()] };
  files.set('export.json', jsonFile(manifest));
  return files;
}

/** Writes the export of `format` into folder `outDir` (created if missing; each file written atomically); returns the
 *  paths. File-system faults are OutputErrors naming the path and the fix. */
export function writeExport(db: CodeDB, format: ExportFormat, outDir: string): string[] {
  const files = exportFiles(db, format);
  try {
    makeDirs(outDir);
  } catch (e) {
    throw outputError(outDir, e);
  }
  refuseOverwrite(outDir, [...files.keys()], ', not written by tqhash export: an export would write over them', (there) => exportedHere(outDir, there));
  const paths: string[] = [];
  for (const [name, parts] of files) {
    const p = join(outDir, name);
    writeFileAtomic(p, parts);
    paths.push(p);
  }
  return paths;
}

/** Whether the files `names` in `dir` are an earlier export's: its export.json lists them (exporting again replaces them). */
function exportedHere(dir: string, names: readonly string[]): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { format?: unknown; files?: unknown };
    const listed = Array.isArray(m.files) && typeof m.format === 'string' ? new Set([...m.files, 'export.json']) : new Set();
    return names.every((n) => listed.has(n));
  } catch {
    return false; // no export.json, or not ours
  }
}

/** The folder an export goes to unless one is given: RUN/export-FORMAT. */
export function defaultExportDir(run: string, format: ExportFormat): string {
  return join(run, `export-${format}`);
}

/** Loads RUN/db.codes (the database codes a training run writes) through the validated reader; errors are DataErrors naming the path. */
export function loadRunCodes(run: string): CodeDB {
  const isDir = statSync(run, { throwIfNoEntry: false })?.isDirectory();
  if (!isDir) throw new DataError('missing', `${run}: not a training run folder (${isDir === false ? 'not a folder' : 'no such folder'}; tqhash train writes one with --out)`);
  const path = join(run, 'db.codes');
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new DataError('missing', `${path}: no such file (a training run writes its database codes there)`, path);
  if (!st.isFile()) throw new DataError('format', `${path}: not a regular file`, path);
  return CodeDB.load(path);
}
