// `tqhash demo`: a finished run as a static site (index.html, the browser bundle, the run's model and database codes,
// site.json with labels and ids, the query and database images as raw CHW bytes) and a node:http server for it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/args.js';
import { prepareOutputDir, refuseOverwrite, writeFileAtomic } from '../util/fs.js';
import { LIMITS, readRegularFile } from '../util/untrusted.js';
import { decodeSafetensors } from '../nn/safetensors.js';
import { CodeDB } from '../hash/codedb.js';
import { openRun } from '../train/reopen.js';
import { loadTrainData } from '../train/datasets.js';
import { runTag } from '../train/options.js';
import { CIFAR10_CLASSES } from '../train/lookup.js';
import type { DemoMeta } from './meta.js';

/** Options of writeDemoSite. */
export interface DemoOptions {
  /** Query images in the page's grid (the first ones of query.codes). */
  queries?: number;
  /** Hits shown per query. */
  k?: number;
  /** The run's data, when not where the run read it. */
  data?: string;
}

/** The browser bundle next to this file's bundle (dist/index.js → dist/web/tqhash-web.js). */
const BUNDLE = fileURLToPath(new URL('./web/tqhash-web.js', import.meta.url));

/** Writes the site of finished run `run` into `out`; returns what it wrote, one line per file. The run's files are
 *  checked before `out` is touched (as `tqhash eval` checks them); errors name the file, or --out, and the fix. */
export async function writeDemoSite(run: string, out: string, opts: DemoOptions = {}): Promise<string[]> {
  if (!existsSync(BUNDLE)) throw new UsageError(`${BUNDLE}: the browser bundle is missing; run npm run build first`);
  const { cfg: saved, modelPath } = openRun(run);
  const cfg = { ...saved, ...(opts.data ? { data: opts.data } : {}) };
  const dbPath = join(run, 'db.codes'), qPath = join(run, 'query.codes');
  for (const p of [dbPath, qPath]) if (!existsSync(p)) throw new UsageError(`${p}: no such file; a finished tqhash train run writes it`);
  const db = CodeDB.load(dbPath), qdb = CodeDB.load(qPath);
  if (db.bits !== cfg.bits || qdb.bits !== cfg.bits) throw new UsageError(`${run}: the model makes ${cfg.bits}-bit codes but db.codes/query.codes hold ${db.bits}/${qdb.bits}-bit codes; the folder mixes two runs`);
  // The bytes validated are the bytes copied: a truncated model fails here, not in the visitor's browser.
  const model = readRegularFile(modelPath, LIMITS.safetensorsFileBytes, 'safetensors file');
  decodeSafetensors(model, modelPath);
  prepareOutputDir(out);
  refuseOverwrite(out, SITE_FILES, ', not a site tqhash demo wrote: the site would write over them', () => isSite(out));
  const td = await loadTrainData(cfg, true);
  const per = 3 * td.side * td.side;
  const idsOf = (c: CodeDB, fallback: Uint32Array): number[] => {
    const ids = c.ids ? c.ids.map(Number) : Array.from(fallback.subarray(0, c.size));
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= td.count);
    if (bad !== undefined) throw new UsageError(`${run}: code id ${bad} is no image of the run's data (${td.count} images); pass the run's data with --data`);
    return ids;
  };
  const dbIds = idsOf(db, td.database), qIds = idsOf(qdb, td.query).slice(0, opts.queries ?? 48);
  const pixels = (ids: number[]) => {
    const buf = new Uint8Array(ids.length * per);
    ids.forEach((id, i) => buf.set(td.images.subarray(id * per, (id + 1) * per), i * per));
    return buf;
  };
  const meta: DemoMeta = {
    tag: runTag(cfg),
    side: td.side,
    norm: td.norm,
    model: { model: cfg.model, bits: cfg.bits, bn: cfg.bn, seed: cfg.seed },
    classes: cfg.dataset === 'cifar10' ? CIFAR10_CLASSES : [],
    k: opts.k ?? 10,
    queries: { count: qIds.length, ids: qIds, labels: qIds.map((id) => td.labels[id]) },
    database: { count: dbIds.length, ids: dbIds, labels: dbIds.map((id) => td.labels[id]) },
  };
  writeFileAtomic(join(out, 'tqhash-web.js'), readFileSync(BUNDLE));
  writeFileAtomic(join(out, 'model.safetensors'), model);
  writeFileAtomic(join(out, 'db.codes'), readFileSync(dbPath));
  writeFileAtomic(join(out, 'site.json'), JSON.stringify(meta) + '\n');
  writeFileAtomic(join(out, 'queries.rgb'), pixels(qIds));
  writeFileAtomic(join(out, 'database.rgb'), pixels(dbIds));
  writeFileAtomic(join(out, 'index.html'), INDEX_HTML);
  return SITE_FILES.map((f) => `${join(out, f)}  ${(statSync(join(out, f)).size / 1024).toFixed(0)} KiB`);
}

/** The files of a demo site. */
const SITE_FILES = ['index.html', 'tqhash-web.js', 'model.safetensors', 'db.codes', 'site.json', 'queries.rgb', 'database.rgb'];

/** Whether `dir` holds a site an earlier `tqhash demo` wrote (building it again replaces it): its site.json is ours. */
function isSite(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'site.json'), 'utf8')) as Partial<DemoMeta>;
    return typeof m.tag === 'string' && typeof m.side === 'number' && typeof m.queries === 'object';
  } catch {
    return false;
  }
}

const TYPES = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.json', 'application/json'],
  ['.map', 'application/json'],
]);

/** Serves folder `dir` on 127.0.0.1:`port` (0: any free port); resolves to the server and its URL. */
export function serveSite(dir: string, port = 8080): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolve(root, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    if ((file !== root && !file.startsWith(root + sep)) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`${path}: not found`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES.get(extname(file)) ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new UsageError(`port ${port} is in use on 127.0.0.1; pass another with --port`) : e));
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      ok({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/` });
    });
  });
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tqhash · retrieval in the browser</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 12px; max-width: 980px; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 4px; }
  h2 { font-size: 1.05em; margin: 16px 0 6px; }
  #adapter { font-family: ui-monospace, monospace; font-size: 0.85em; }
  #adapter[data-software="true"] { color: #8a4b00; }
  #error { background: #fde2e1; border: 1px solid #c62828; color: #8e0000; padding: 8px; margin: 8px 0; }
  #queries { display: grid; grid-template-columns: repeat(auto-fill, minmax(52px, 1fr)); gap: 4px; }
  #queries button { padding: 0; border: 2px solid transparent; background: none; cursor: pointer; }
  #queries button:hover { border-color: #1565c0; }
  canvas { width: 48px; height: 48px; image-rendering: pixelated; display: block; }
  #query canvas { width: 96px; height: 96px; }
  #drop { display: block; border: 2px dashed #999; padding: 12px; text-align: center; margin-top: 8px; }
  #drop.over { border-color: #1565c0; background: #e3f2fd; }
  #hits { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 6px; }
  #hits li { border: 2px solid #ccc; padding: 4px; font-size: 0.8em; }
  #hits li canvas { width: 96px; height: 96px; }
  #hits li.same { border-color: #2e7d32; }
  #hits li.other { border-color: #c62828; }
  #knobs { font-size: 0.75em; white-space: pre-wrap; }
  #code, #times { font-family: ui-monospace, monospace; font-size: 0.8em; word-break: break-all; }
</style>
</head>
<body data-state="loading">
<h1>tqhash · retrieval in the browser</h1>
<div id="tag"></div>
<div id="adapter">asking navigator.gpu for an adapter…</div>
<details><summary>kernel knobs</summary><pre id="knobs"></pre></details>
<div id="status" role="status">loading…</div>
<div id="error" role="alert" hidden></div>
<h2>Pick a query</h2>
<div id="queries"></div>
<label id="drop">…or drop an image here (it is resized to the model's 32×32) <input id="file" type="file" accept="image/*"></label>
<h2>Nearest database images</h2>
<div id="query"></div>
<div id="code"></div>
<div id="precision"></div>
<div id="times"></div>
<ol id="hits"></ol>
<script type="module" src="tqhash-web.js"></script>
<noscript>This page needs JavaScript and WebGPU.</noscript>
</body>
</html>
`;
