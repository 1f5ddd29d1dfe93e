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

// The demo page's engine for the browser, dist/web/tqhash-web.js (tqhash demo copies it into a site): the same
// src/ with the adapter layer swapped for navigator.gpu (src/web/adapter.ts), the shaders inlined as text, and the
// Node modules the page never reaches replaced by empty ones. Built here, not by `tqhash demo`, so the command needs
// no esbuild at run time (it is a devDependency); it adds about half a second to the build.
const webRoot = join(root, 'src/web');
const nodeFree = {
  name: 'tqhash-browser',
  setup(b) {
    b.onResolve({ filter: /^tqhash:shaders$/ }, () => ({ path: 'shaders', namespace: 'tqhash-shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'tqhash-shaders' }, async () => {
      const { readdirSync, readFileSync } = await import('node:fs');
      const dir = join(root, 'shaders');
      const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: 'js', watchDirs: [dir] };
    });
    b.onResolve({ filter: /\/adapter\.js$/ }, (a) => (a.importer.startsWith(join(root, 'src/gpu')) || a.importer.startsWith(join(root, 'src/cli')) ? { path: join(webRoot, 'adapter.ts') } : undefined));
    b.onResolve({ filter: /^(node:.*|webgpu)$/ }, (a) => ({ path: a.path, namespace: 'tqhash-empty' }));
    // The two Node functions shared modules call in the browser: at load (kernels.ts's SHADER_DIR; the page registers
    // every shader by name, so no path is read) and while parsing a safetensors file (the host's byte order).
    const used = {
      'node:url': 'module.exports = { fileURLToPath: (u) => String(u) };',
      'node:os': "module.exports = { endianness: () => (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 'LE' : 'BE') };",
    };
    b.onLoad({ filter: /.*/, namespace: 'tqhash-empty' }, (a) => ({ contents: used[a.path] ?? 'module.exports = {};', loader: 'js' }));
  },
};
await build({
  entryPoints: { 'tqhash-web': join(webRoot, 'page.ts') },
  outdir: join(root, 'dist/web'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: 'linked',
  define: { 'process.env': '{}', 'process.platform': '"browser"' },
  plugins: [nodeFree],
  logLevel: 'warning',
});
