// The README's picture of the demo page: `node scripts/demo-screenshot.mjs SITE_DIR OUT.png [QUERY]` serves a site that
// `tqhash demo RUN --out SITE_DIR` wrote, opens it in headless chromium (WebGPU on SwiftShader where there is no GPU),
// searches with query QUERY of the grid and saves the page.
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { web } from '../dist/index.js';

const [site, out, query = '0'] = process.argv.slice(2);
if (!site || !out) throw new Error('usage: node scripts/demo-screenshot.mjs SITE_DIR OUT.png [QUERY]');
const chromium = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
if (!chromium) throw new Error('no chromium: apt-get install -y chromium');
const { server, url } = await web.serveSite(site, 0);
const browser = await puppeteer.launch({
  executablePath: chromium, headless: true, userDataDir: mkdtempSync(join(tmpdir(), 'tqhash-shot-')),
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 800 });
  await page.goto(url);
  const state = () => page.evaluate(() => document.body.dataset.state);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), { timeout: 600_000 });
  if ((await state()) === 'ready') {
    await page.click(`button[data-query="${query}"]`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), { timeout: 600_000 });
  }
  console.log(await page.evaluate(() => [...document.querySelectorAll('#adapter, #status, #error, #precision, #times')].map((e) => e.textContent).join('\n')));
  await page.screenshot({ path: out, fullPage: true });
} finally {
  await browser.close();
  server.close();
}
