// Reads the real CIFAR-10 (wherever loadCifar10 finds it, or the path given as argument) and checks it:
// sha256 of every .bin against data/CIFAR10.sha256, counts, label histogram, time taken. Run: node scripts/check-cifar.mjs [PATH]
import { data } from '../dist/index.js';

const path = process.argv[2];
try {
  const found = path ? { path, from: 'argument' } : data.locateCifar10();
  if (!found) throw new data.DataError('missing', `CIFAR-10 not found in ${data.defaultSearchDirs().join(', ')}; pass a path.`);
  const t0 = performance.now();
  const ds = await data.readCifar10(found.path);
  const ms = performance.now() - t0;
  const hist = (l) => Array.from({ length: 10 }, (_, c) => l.reduce((n, x) => n + (x === c), 0));
  console.log(`read ${ds.source} (found by ${found.from}) in ${(ms / 1000).toFixed(2)} s; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  console.log(`sha256 verified: ${ds.verified} (${Object.keys(ds.sha256).length} files)`);
  console.log(`train ${ds.train.labels.length} images, per class ${hist(ds.train.labels).join(' ')}`);
  console.log(`test  ${ds.test.labels.length} images, per class ${hist(ds.test.labels).join(' ')}`);
  console.log(`classes: ${ds.classNames.join(', ')}`);
  for (const p of data.PROTOCOLS) {
    const s = data.makeSplit(ds, p, 0);
    const c = s.description.counts;
    console.log(`protocol ${p.padEnd(9)} query ${c.query} train ${c.train} database ${c.database}`);
  }
} catch (e) {
  if (data.isDataError(e)) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
