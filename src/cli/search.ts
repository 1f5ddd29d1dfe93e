// `tqhash search RUN --query ID | --image FILE` (or `--index FILE --query ID`): the top hits of one image in a run's database, with labels.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
import { lookup, lookupImage, formatLookup } from '../train/lookup.js';
import { disposeRuntime } from '../gpu/runtime.js';
import { reportError } from './command.js';

export const summary = 'the nearest database images of a query image (by its index, or a JPEG file) in a run\'s codes';

const SPEC: Record<string, OptSpec> = {
  query: { type: 'int', min: 0, help: 'image id of the run\'s queries or database (an unknown id lists the ids held)' },
  image: { type: 'string', help: 'a JPEG file (at least the run\'s image side, 32×32), encoded by the run\'s model (cifar10 runs)' },
  k: { type: 'int', default: 10, min: 1, help: 'hits' },
  queries: { type: 'string', help: 'query.codes to look --query up in (default: query.codes beside the database)' },
  index: { type: 'string', help: 'a db.codes file to search instead of RUN/db.codes (with --query only)' },
  help: { type: 'bool', default: false, help: 'this text' },
};

const HEAD = `usage: tqhash search RUN --query ID [--k 10] [--queries FILE]
       tqhash search RUN --image FILE.jpg [--k 10]
       tqhash search --index FILE.codes --query ID [--k 10] [--queries FILE]     (also: node bench/search.js --index …)

Searches RUN/db.codes (the database codes a finished run wrote) by Hamming distance and prints the top hits with
their labels; --query takes the code the run stored for that image id (looked up in query.codes, then db.codes; a run
trained with --eval-limit holds only some ids, e.g. 0, 100, 200, …), --image encodes a JPEG with RUN/model.safetensors.`;

/** Runs the command; returns the exit code (0 done, 2 bad arguments or files, 1 failed). */
export async function main(argv: string[]): Promise<number> {
  try {
    const { opts, positional } = parseArgs(argv, SPEC);
    if (opts.help) {
      console.log(usage(HEAD, SPEC));
      return 0;
    }
    const index = opts.index as string | undefined, image = opts.image as string | undefined, query = opts.query as number | undefined;
    if (positional.length > 1 || (index !== undefined && positional.length)) throw new UsageError(`one RUN folder expected, got ${positional.join(' ')}${index ? ` beside --index ${index}` : ''}`);
    if (index === undefined && !positional.length) throw new UsageError('RUN folder missing: tqhash search RUN --query ID | --image FILE');
    if ((query === undefined) === (image === undefined)) throw new UsageError(`${query === undefined ? '--query ID or --image FILE is required' : 'give --query or --image, not both'} (an image index of the run's queries or database, or a JPEG file)`);
    if (image !== undefined && index !== undefined) throw new UsageError('--image needs the RUN folder (its model encodes the image), not --index');
    if (image !== undefined && opts.queries !== undefined) throw new UsageError('--queries goes with --query (the file to look the id up in); leave it out with --image');
    if (index === undefined && !existsSync(join(positional[0], 'db.codes'))) throw new UsageError(`${join(positional[0], 'db.codes')}: no such file; RUN is a folder a finished tqhash train run wrote`);
    const r = image !== undefined ? await lookupImage(positional[0], image, opts.k as number) : await lookup(index ?? join(positional[0], 'db.codes'), query!, opts.k as number, opts.queries as string | undefined);
    console.log(formatLookup(r));
    return 0;
  } catch (e) {
    return reportError(e);
  } finally {
    await disposeRuntime();
  }
}
