// `tqhash demo RUN [--out DIR] [--serve [--port N]]`: a finished run as a static page that searches in the browser.
import { join } from 'node:path';
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { serveSite, writeDemoSite } from '../web/site.js';
import { shellJoin } from '../train/study.js';
import { oneRunFolder, reportError } from './command.js';

export const summary = 'write a finished run as a web page that searches its database in the browser, on WebGPU (--serve to open it)';

const SPEC: Record<string, OptSpec> = {
  out: { type: 'string', help: 'folder of the site (default RUN/demo)' },
  serve: { type: 'bool', default: false, help: 'serve the site on 127.0.0.1 until Ctrl-C' },
  port: { type: 'int', default: 8080, min: 0, max: 65535, help: 'port of --serve (0: any free port)' },
  queries: { type: 'int', default: 48, min: 1, max: 10000, help: 'query images in the page\'s grid (the first of RUN/query.codes)' },
  k: { type: 'int', default: 10, min: 1, max: 1000, help: 'hits shown per query' },
  data: { type: 'string', help: 'where the run\'s data set is now (default: the --data the run was trained with)' },
  help: { type: 'bool', default: false, help: 'this text' },
};

const HEAD = `usage: tqhash demo RUN [--out DIR] [--serve [--port 8080]]

Writes DIR (default RUN/demo): index.html, the engine bundled for the browser with shaders/ inlined, the run's
model.safetensors and db.codes, site.json (labels, ids) and the query and database images as raw RGB. In the page,
pick a query or drop an image: the forward pass, sign + pack and Hamming top-k run on the browser's WebGPU adapter,
with the same WGSL kernels as here. The page needs WebGPU (Chrome/Edge 113+, or chromium --enable-unsafe-webgpu).`;

/** The `tqhash demo … --serve` line that rewrites and serves the site just written: the run and every option given
 *  that shapes the site (--out, --queries, --k, --data), each value quoted for a POSIX shell where it needs it. */
export function serveCommand(run: string, opts: Record<string, unknown>): string {
  const words = ['tqhash', 'demo', run];
  for (const name of ['out', 'queries', 'k', 'data'] as const) {
    if (opts[name] !== undefined && opts[name] !== SPEC[name].default) words.push(`--${name}`, String(opts[name]));
  }
  return shellJoin([...words, '--serve']);
}

/** Runs the command; returns the exit code (0 done, 2 bad arguments or run folder, 1 failed). */
export async function main(argv: string[]): Promise<number> {
  try {
    const { opts, positional } = parseArgs(argv, SPEC);
    if (opts.help) {
      console.log(usage(HEAD, SPEC));
      return 0;
    }
    const run = oneRunFolder(positional, ': tqhash demo RUN (a folder tqhash train wrote)');
    if (!opts.serve && argv.some((a) => a === '--port' || a.startsWith('--port='))) throw new UsageError('--port needs --serve');
    const out = (opts.out as string | undefined) ?? join(run, 'demo');
    const files = await writeDemoSite(run, out, { queries: opts.queries as number, k: opts.k as number, data: opts.data as string | undefined });
    console.log(`site written:\n  ${files.join('\n  ')}`);
    if (!opts.serve) {
      console.log(`open it with: ${serveCommand(run, opts)}   (or any static file server on ${out})`);
      return 0;
    }
    const { server, url } = await serveSite(out, opts.port as number);
    console.log(`serving ${out} at ${url}  (Ctrl-C stops)`);
    await new Promise<void>((done) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => {
        server.close(() => done());
        server.closeAllConnections();
      });
    });
    return 0;
  } catch (e) {
    return reportError(e);
  }
}
