// `tqhash demo` in a real browser: a tiny run trained here on synthetic data becomes a site, chromium (headless, its
// SwiftShader WebGPU adapter) loads it, query i is clicked, and the ids and distances the page shows must equal the
// Node engine's Hamming top-k for the same query; bad input (a non-image file, codes of another length) must show a
// message in the page (also no WebGPU, or no adapter). Skipped, with how to install it, where no chromium is installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, hash, web, init } from '../dist/index.js';
import { writeSyntheticCifar } from './fixtures/synthetic.js';
import { quietly } from './util.js';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const QUERY = 3;
const K = 10;

/** The page's state once it leaves `from` (loading or searching): 'ready', 'done' or 'error' with the error text. */
async function settled(page, from) {
  await page.waitForFunction((s) => document.body.dataset.state !== s && document.body.dataset.state !== 'loading', { timeout: 240_000, polling: 200 }, from);
  return page.evaluate(() => ({ state: document.body.dataset.state, error: document.getElementById('error').textContent, status: document.getElementById('status').textContent }));
}

if (!CHROMIUM) {
  test.skip('the demo page in headless chromium (skipped: no chromium; install it with apt-get install -y chromium)');
  console.log('demo-browser: skipped, no chromium found; install it with `apt-get install -y chromium` (Debian) to run the browser test');
} else {
  test('the demo page in headless chromium returns the Node engine\'s top-k; bad input shows a message', async () => {
    const t0 = Date.now();
    const { default: puppeteer } = await import('puppeteer-core');
    const dir = mkdtempSync(join(tmpdir(), 'tqhash-demo-'));
    const syn = writeSyntheticCifar(dir, { perFile: 40, seed: 7, learnable: true });
    const run = join(dir, 'run');
    const { code, lines } = await quietly(() => cli.run('train', ['cifar10', '--data', syn.path, '--checksums', syn.checksumFile, '--records-per-file', '40', '--bits', '16',
      '--batch', '40', '--epochs', '1', '--train-limit', '80', '--eval-limit', '40', '--val-queries', '10', '--val-db', '40', '--quiet', '--out', run]));
    assert.is(code, 0, lines.join('\n'));
    const site = join(dir, 'site');
    await web.writeDemoSite(run, site, { queries: 8, k: K });
    // A second site whose codes are 32 bits long while the model makes 16: the page must say so.
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    for (const f of ['index.html', 'tqhash-web.js', 'model.safetensors', 'site.json', 'queries.rgb', 'database.rgb']) copyFileSync(join(site, f), join(bad, f));
    const db32 = new hash.CodeDB(32);
    db32.add(new Uint32Array(40).fill(7), new Uint32Array(40), Array.from({ length: 40 }, (_, i) => i));
    db32.save(join(bad, 'db.codes'));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');

    // The Node engine's answer for query QUERY: its stored code, searched on this process's adapter.
    const db = hash.CodeDB.load(join(run, 'db.codes')), qdb = hash.CodeDB.load(join(run, 'query.codes'));
    const W = qdb.words, want = qdb.data.slice(QUERY * W, (QUERY + 1) * W);
    await init();
    const ref = await hash.gpuHammingTopK(want, db.data, 1, db.size, db.bits, K);
    const cpu = hash.hammingTopKCpu(want, db.data, 1, db.size, db.bits, K);
    assert.equal([...ref.indices], [...cpu.indices], 'GPU and CPU top-k agree in Node');

    const { server, url } = await web.serveSite(dir, 0);
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: join(dir, 'profile'),
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1000, height: 900 });
      const consoleLines = [];
      page.on('console', (m) => consoleLines.push(m.text()));
      page.on('pageerror', (e) => consoleLines.push(String(e)));
      await page.goto(`${url}site/`);
      let s = await settled(page, 'loading');
      assert.is(s.state, 'ready', `page did not load: ${s.error} ${s.status}\n${consoleLines.join('\n')}`);
      const adapter = await page.$eval('#adapter', (e) => ({ text: e.textContent, software: e.dataset.software }));
      console.log(`demo-browser: ${adapter.text}`);
      assert.is(adapter.software, 'true', `SwiftShader is a software adapter: ${adapter.text}`);
      assert.match(await page.$eval('#knobs', (e) => e.textContent), /^knobs\s+software preset/, 'the page runs the software knob preset');
      await page.click(`button[data-query="${QUERY}"]`);
      s = await settled(page, 'searching');
      assert.is(s.state, 'done', `search failed: ${s.error}\n${consoleLines.join('\n')}`);
      const shown = await page.$$eval('#hits li', (lis) => lis.map((li) => ({ position: Number(li.dataset.position), distance: Number(li.dataset.distance), id: Number(li.dataset.id) })));
      const pageCode = await page.$eval('#code', (e) => e.dataset.code);
      const hex = Array.from(want, (w) => w.toString(16).padStart(8, '0')).join(' ');
      assert.is(pageCode, hex, 'the browser\'s forward pass + sign/pack gives the code the Node engine stored for this query');
      assert.equal(shown.map((h) => h.position), [...ref.indices], 'database positions of the hits');
      assert.equal(shown.map((h) => h.distance), [...ref.distances], 'Hamming distances of the hits');
      assert.equal(shown.map((h) => h.id), Array.from(ref.indices, (i) => Number(db.ids[i])), 'image ids of the hits');
      console.log(`demo-browser: ${await page.$eval('#times', (e) => e.textContent)}`);
      await page.screenshot({ path: join(dir, 'page.png'), fullPage: true });
      if (process.env.DEMO_SCREENSHOT) copyFileSync(join(dir, 'page.png'), process.env.DEMO_SCREENSHOT);

      // A file that is no image: a visible message.
      const input = await page.$('#file');
      await input.uploadFile(join(dir, 'notes.txt'));
      await page.waitForFunction(() => !document.getElementById('error').hidden, { timeout: 30_000 });
      const err = await page.$eval('#error', (e) => e.textContent);
      assert.match(err, /not an image|could not be decoded/, err);

      // Model and codes of different code lengths: a visible message naming both.
      await page.goto(`${url}bad/`);
      s = await settled(page, 'loading');
      assert.is(s.state, 'error');
      assert.match(s.error, /16-bit codes but db\.codes holds 32-bit codes/, s.error);

      // A browser without navigator.gpu, and one whose WebGPU offers no adapter (chromium without the flag on Linux).
      const plain = await browser.newPage();
      await plain.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      await plain.goto(`${url}site/`);
      s = await settled(plain, 'loading');
      assert.is(s.state, 'error');
      assert.match(s.error, /offers no WebGPU/, s.error);
      const noFlag = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, userDataDir: join(dir, 'profile-2'), args: ['--no-sandbox', '--no-first-run', '--disable-background-networking'] });
      try {
        const p2 = await noFlag.newPage();
        await p2.goto(`${url}site/`);
        s = await settled(p2, 'loading');
        // Where this chromium enables WebGPU by default the page loads instead: that is no failure of the page.
        if (s.state === 'error') assert.match(s.error, /found no adapter/, s.error);
        else assert.is(s.state, 'ready', s.status);
      } finally {
        await noFlag.close();
      }
      console.log(`demo-browser: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await browser.close();
      server.close();
    }
  });
}

test.run();
