/// <reference lib="dom" />
// The demo page (bundled for the browser as tqhash-web.js by scripts/build.mjs): a grid of the run's query images,
// a drop zone for one's own, and the top-k database images of the chosen query with distances, classes, the query's
// precision and each stage's time. Plain DOM. Every failure is shown in #error, never only in the console.
// The test (test/demo-browser.test.js) reads the hits from li[data-position][data-distance] once body[data-state] is 'done'.
import { init } from '../tensor.js';
import { formatKnobs } from '../gpu/knobs.js';
import { DemoEngine, type QueryResult } from './engine.js';
import type { DemoMeta } from './meta.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function setState(state: 'loading' | 'ready' | 'searching' | 'done' | 'error'): void {
  document.body.dataset.state = state;
}

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
  setState('error');
}

function status(text: string): void {
  $('status').textContent = text;
}

async function fetchOk(file: string): Promise<Response> {
  const r = await fetch(file);
  if (!r.ok) throw new Error(`${file}: HTTP ${r.status}; the site folder is incomplete, write it again with tqhash demo RUN`);
  return r;
}

/** A canvas showing one CHW image of `side`×`side`, scaled up by CSS. */
function thumb(chw: Uint8Array, side: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = c.height = side;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(side, side);
  const plane = side * side;
  for (let p = 0; p < plane; p++) {
    img.data[4 * p] = chw[p];
    img.data[4 * p + 1] = chw[plane + p];
    img.data[4 * p + 2] = chw[2 * plane + p];
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** An image file drawn onto a side×side canvas (centre square, scaled), as CHW bytes; throws when it is no image. */
async function fileToChw(file: File, side: number): Promise<Uint8Array> {
  if (file.type && !file.type.startsWith('image/')) throw new Error(`${file.name} is not an image (${file.type}); drop a PNG, JPEG or WebP file`);
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name} could not be decoded as an image; drop a PNG, JPEG or WebP file`);
  }
  const c = document.createElement('canvas');
  c.width = c.height = side;
  const ctx = c.getContext('2d')!;
  const s = Math.min(bmp.width, bmp.height);
  ctx.drawImage(bmp, (bmp.width - s) / 2, (bmp.height - s) / 2, s, s, 0, 0, side, side);
  const rgba = ctx.getImageData(0, 0, side, side).data;
  const plane = side * side;
  const chw = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) chw[ch * plane + p] = rgba[4 * p + ch];
  return chw;
}

function hex(code: Uint32Array): string {
  return Array.from(code, (w) => w.toString(16).padStart(8, '0')).join(' ');
}

async function main(): Promise<void> {
  setState('loading');
  const meta = (await (await fetchOk('site.json')).json()) as DemoMeta;
  $('tag').textContent = meta.tag;
  // The adapter first: a browser without WebGPU is told so before the database images are downloaded.
  status('asking navigator.gpu for an adapter…');
  const info = (await init()).info;
  const named = [info.vendor, info.architecture].filter(Boolean).join(' / ') || info.name;
  $('adapter').textContent = `adapter: ${named}${info.description && info.description !== named ? ` (${info.description})` : ''}${info.software ? ` — SOFTWARE (${info.softwareReason}); no GPU in use` : ' — hardware'}`;
  $('adapter').dataset.software = String(info.software);
  $('knobs').textContent = formatKnobs();
  status('loading the model, codes and images…');
  const [model, codes, qrgb, dbrgb] = await Promise.all(['model.safetensors', 'db.codes', 'queries.rgb', 'database.rgb'].map(async (f) => (await fetchOk(f)).arrayBuffer()));
  const t0 = performance.now();
  const engine = await DemoEngine.open(meta, model, codes);
  const per = 3 * meta.side * meta.side;
  const queries = new Uint8Array(qrgb), database = new Uint8Array(dbrgb);
  if (queries.length !== meta.queries.count * per || database.length !== meta.database.count * per) {
    throw new Error(`queries.rgb/database.rgb hold ${queries.length}/${database.length} bytes, site.json says ${meta.queries.count}/${meta.database.count} images of ${per} bytes`);
  }
  const grid = $('queries');
  for (let i = 0; i < meta.queries.count; i++) {
    const b = document.createElement('button');
    b.dataset.query = String(i);
    b.title = `query ${i}: image ${meta.queries.ids[i]} (${meta.classes[meta.queries.labels[i]] ?? meta.queries.labels[i]})`;
    b.append(thumb(queries.subarray(i * per, (i + 1) * per), meta.side));
    b.addEventListener('click', () => void run(queries.subarray(i * per, (i + 1) * per), `query ${i} (image ${meta.queries.ids[i]})`, meta.queries.labels[i]));
    grid.append(b);
  }

  let busy = false;
  async function run(chw: Uint8Array, name: string, label: number | undefined): Promise<void> {
    if (busy) return;
    busy = true;
    $('error').hidden = true;
    setState('searching');
    status(`searching with ${name}…`);
    try {
      const r = await engine.query(chw, meta.k);
      show(chw, name, label, r);
      setState('done');
      status(`${name}: done`);
    } catch (e) {
      showError(`search failed: ${(e as Error).message}`);
    } finally {
      busy = false;
    }
  }

  function show(chw: Uint8Array, name: string, label: number | undefined, r: QueryResult): void {
    const cls = (l: number | undefined) => (l === undefined ? 'unknown class' : (meta.classes[l] ?? `class ${l}`));
    const q = $('query');
    q.replaceChildren(thumb(chw, meta.side), Object.assign(document.createElement('div'), { textContent: `${name} · ${cls(label)}` }));
    $('code').textContent = `code (${meta.model.bits} bits): ${hex(r.code)}`;
    $('code').dataset.code = hex(r.code);
    const hits = $('hits');
    hits.replaceChildren();
    let relevant = 0;
    r.positions.forEach((pos, i) => {
      const l = meta.database.labels[pos];
      const li = document.createElement('li');
      Object.assign(li.dataset, { position: String(pos), id: String(meta.database.ids[pos]), distance: String(r.distances[i]), label: String(l) });
      const same = label !== undefined && l === label;
      if (same) relevant++;
      li.className = label === undefined ? '' : same ? 'same' : 'other';
      li.append(thumb(database.subarray(pos * per, (pos + 1) * per), meta.side), Object.assign(document.createElement('div'), { textContent: `d=${r.distances[i]} · ${cls(l)} · #${meta.database.ids[pos]}` }));
      hits.append(li);
    });
    $('precision').textContent = label === undefined ? 'precision: no label for a dropped image' : `precision@${r.positions.length}: ${(relevant / Math.max(1, r.positions.length)).toFixed(2)} (${relevant} of ${r.positions.length} share the query's class)`;
    const t = r.times;
    $('times').textContent = `upload + normalise ${t.upload.toFixed(1)} ms · forward ${t.forward.toFixed(1)} ms · sign + pack ${t.signPack.toFixed(1)} ms · Hamming top-${meta.k} over ${engine.codes.n} codes ${t.search.toFixed(1)} ms`;
  }

  const drop = $('drop');
  const takeFile = async (file: File | undefined) => {
    if (!file) return;
    try {
      await run(await fileToChw(file, meta.side), file.name, undefined);
    } catch (e) {
      showError((e as Error).message);
    }
  };
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void takeFile(e.dataTransfer?.files[0]);
  });
  ($('file') as HTMLInputElement).addEventListener('change', (e) => void takeFile((e.target as HTMLInputElement).files?.[0]));

  status(`ready: model and ${engine.codes.n} codes loaded in ${(performance.now() - t0).toFixed(0)} ms; pick a query or drop an image`);
  setState('ready');
}

main().catch((e) => showError((e as Error).message));
