// Builds src/ into one ESM bundle, dist/index.js, and the ranking worker dist/rank-worker.js that it starts
// (run by `npm install` through `prepare`, and by `npm test`).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: { index: join(root, 'src/index.ts'), 'rank-worker': join(root, 'src/hash/rank-worker.ts') },
  outdir: join(root, 'dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // webgpu loads a native addon relative to its own folder: it must stay a runtime import.
  external: ['webgpu'],
  logLevel: 'warning',
});
