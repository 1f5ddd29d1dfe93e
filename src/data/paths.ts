import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The tqhash checkout this code runs from (nearest folder up with package.json named "tqhash"; else the cwd). */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url)); // dist/ in the bundle, src/data/ when run from source
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'tqhash') return (cached = dir);
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) return (cached = process.cwd());
    dir = up;
  }
}
