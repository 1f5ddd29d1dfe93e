// Loads the In-shop data layer for the tests: from dist/index.js once it is exported there (tq.data), otherwise
// bundled straight from src/data (esbuild, as scripts/build.mjs does) so the tests run before the integration.
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The module with readInshop, topKAccuracy, writeInshopFixture, decodeJpeg, resizeToChw, isDataError …. */
export async function loadInshopModule() {
  const tq = await import('../dist/index.js');
  if (tq.data && typeof tq.data.readInshop === 'function' && typeof tq.data.topKAccuracy === 'function') return tq.data;
  const out = join(tmpdir(), `tqhash-inshop-bundle-${process.pid}.mjs`);
  await build({
    stdin: {
      contents: ['inshop', 'inshop-eval', 'inshop-fixture', 'jpeg'].map((f) => `export * from './src/data/${f}.ts';`).join('\n') + "\nexport { DataError, isDataError } from './src/data/errors.ts';",
      resolveDir: repo,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    logLevel: 'warning',
  });
  try {
    return await import(out);
  } finally {
    rmSync(out, { force: true });
  }
}
