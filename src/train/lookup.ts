// `tqhash search RUN --query ID | --image FILE` (and `node bench/search.js --index OUT/db.codes --query ID`): the top hits of one image by Hamming distance,
// shown with their labels, from the code files a training run writes (db.codes and query.codes).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CodeDB } from '../hash/codedb.js';
import { UsageError } from '../util/args.js';
import { DataError, isDataError } from '../util/errors.js';
import { encodeImageFile } from './reopen.js';

/** CIFAR-10 class names, for printing labels. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface LookupResult {
  query: { id: number | string; label?: number; from: string };
  hits: { rank: number; position: number; id?: number | string; label?: number; distance: number; relevant?: boolean }[];
  precision?: number;
}

/** Finds image `id` in the query file (or the database), searches the database, returns the k nearest with labels.
 *  `queriesPath` (--queries) must be a readable code file; without it, query.codes beside the index is used if there. */
export async function lookup(indexPath: string, id: number, k: number, queriesPath?: string): Promise<LookupResult> {
  if (!existsSync(indexPath)) throw new UsageError(`--index ${indexPath}: no such file (a training run writes OUT/db.codes)`);
  const db = CodeDB.load(indexPath);
  const qPath = queriesPath ?? join(dirname(indexPath), 'query.codes');
  const files = [[qPath, 'queries', queryFile(qPath, queriesPath !== undefined)], [indexPath, 'database', db]] as const;
  for (const [path, src, f] of files) {
    if (!f) continue;
    if (f.bits !== db.bits) {
      throw new UsageError(`${path} holds ${f.bits}-bit codes but --index ${indexPath} holds ${db.bits}-bit codes; use the query.codes written by the same run as the index (same --bits)`);
    }
    const pos = f.ids ? f.ids.findIndex((x) => Number(x) === id) : -1;
    if (pos >= 0) return nearest(db, f.data.slice(pos * f.words, (pos + 1) * f.words), k, { id, label: f.labels?.[pos], from: `${src} (${path}, entry ${pos})` });
  }
  const held = files.map(([path, , f]) => `${path} ${f ? idSample(f) : 'is absent'}`).join('; ');
  throw new UsageError(`--query ${id}: no image ${id} in the run's queries or database (${held}); pass one of those ids`);
}

/** The query file at `path`, or undefined when it is absent and was not asked for; --queries must exist and read. */
function queryFile(path: string, given: boolean): CodeDB | undefined {
  if (!given) return existsSync(path) ? CodeDB.load(path) : undefined;
  try {
    return CodeDB.load(path);
  } catch (e) {
    if (isDataError(e) && e.code === 'missing') throw new UsageError(`--queries ${path}: no such file; pass a query.codes a training run wrote, or leave --queries out to use the one beside the index`);
    if (isDataError(e)) throw new DataError(e.code, `--queries ${e.message}`, path);
    throw e;
  }
}

/** The ids a code file holds, for a message: "holds 500 ids: 50000, 50020, 50040, …, 59980". */
function idSample(f: CodeDB): string {
  if (!f.ids || f.size === 0) return `holds ${f.size} codes without image ids`;
  const ids = Array.from(f.ids.slice(0, Math.min(f.size, 4)), String);
  const tail = f.size > 5 ? `, …, ${f.ids[f.size - 1]}` : f.size === 5 ? `, ${f.ids[4]}` : '';
  return `holds ${f.size} ids: ${ids.join(', ')}${tail}`;
}

/** The k nearest database codes of `code`, with labels (and whether each matches the query's label, when known). */
async function nearest(db: CodeDB, code: Uint32Array, k: number, query: LookupResult['query']): Promise<LookupResult> {
  const r = await db.search(code, k);
  const hits = Array.from(r.indices, (pos, i) => {
    const hl = db.labels?.[pos];
    return { rank: i + 1, position: pos, id: db.ids?.[pos], label: hl, distance: r.distances[i], relevant: query.label !== undefined && hl !== undefined ? hl === query.label : undefined };
  });
  const rel = hits.filter((h) => h.relevant).length;
  return { query, hits, precision: query.label !== undefined ? rel / Math.max(1, hits.length) : undefined };
}

/** Encodes a JPEG file with a finished run's model and searches the run's database codes (RUN/db.codes). */
export async function lookupImage(run: string, file: string, k: number): Promise<LookupResult> {
  const indexPath = join(run, 'db.codes');
  if (!existsSync(indexPath)) throw new UsageError(`${indexPath}: no such file (a finished training run writes its database codes there)`);
  const { code, cfg } = await encodeImageFile(run, file);
  const db = CodeDB.load(indexPath);
  if (db.bits !== cfg.bits) throw new UsageError(`${indexPath} holds ${db.bits}-bit codes but the run's model makes ${cfg.bits}-bit codes; the folder mixes two runs`);
  return nearest(db, code, k, { id: file, from: `image file, encoded by ${join(run, 'model.safetensors')}` });
}

/** Formats a lookup for the terminal (class names when the database is CIFAR-10). */
export function formatLookup(r: LookupResult, names: string[] = CIFAR10_CLASSES): string {
  const nm = (l?: number) => (l === undefined ? '?' : `${l} ${names[l] ?? ''}`.trim());
  const lines = [`query image ${r.query.id} (${nm(r.query.label)}) from the ${r.query.from}`, 'rank  image    distance  label'];
  for (const h of r.hits) lines.push(`${String(h.rank).padStart(4)}  ${String(h.id ?? h.position).padStart(6)}  ${String(h.distance).padStart(8)}  ${nm(h.label)}${h.relevant === false ? '   ✗' : ''}`);
  if (r.precision !== undefined) lines.push(`precision@${r.hits.length}: ${r.precision.toFixed(3)} (same label as the query)`);
  return lines.join('\n');
}
