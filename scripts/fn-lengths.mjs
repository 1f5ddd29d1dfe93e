// Lines per function in TypeScript files (a brace-matching heuristic, enough for this code base's style): prints
// the longest first. Usage: node scripts/fn-lengths.mjs src/train src/bench [--max 80] (exit 1 when one is longer).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const HEAD = /^\s*(export\s+)?(async\s+)?function\s*\*?\s*(\w+)|^\s*(export\s+)?(const|let)\s+(\w+)\s*=\s*(async\s*)?(\([^)]*\)|\w+)\s*(:\s*[^=]+)?=>\s*\{\s*$|^\s*(public\s+|private\s+|protected\s+|static\s+|async\s+|override\s+)*(\w+)\s*(<[^>]*>)?\([^;]*\)\s*(:\s*[^{;]+)?\{\s*$/;
const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'function']);

/** [name, lines, file:line] of every function in `text`. */
export function functionLengths(text, file) {
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = HEAD.exec(lines[i]);
    if (!m) continue;
    const name = m[3] ?? m[6] ?? m[11];
    if (!name || KEYWORDS.has(name)) continue;
    // From the first '{' at or after the head, count braces (strings and comments are not special-cased).
    let depth = 0, opened = false, j = i;
    for (; j < lines.length; j++) {
      const code = lines[j].replace(/\/\/.*$/, '');
      for (const ch of code) {
        if (ch === '{') (depth++, (opened = true));
        else if (ch === '}') depth--;
      }
      if (opened && depth <= 0) break;
    }
    out.push([name, j - i + 1, `${file}:${i + 1}`]);
  }
  return out;
}

function walk(p) {
  return statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => walk(join(p, f))) : p.endsWith('.ts') ? [p] : [];
}

/** [name, lines, file:line] of every function in the .ts files under `paths`, longest first. */
export function lengthsIn(paths) {
  return paths.flatMap(walk).flatMap((f) => functionLengths(readFileSync(f, 'utf8'), f)).sort((a, b) => b[1] - a[1]);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
const args = process.argv.slice(2);
const maxAt = args.indexOf('--max');
const max = maxAt >= 0 ? Number(args.splice(maxAt, 2)[1]) : Infinity;
const all = lengthsIn(args);
for (const [name, n, at] of all.slice(0, 15)) console.log(`${String(n).padStart(4)}  ${name}  ${at}`);
const over = all.filter(([, n]) => n > max);
if (over.length) {
  console.error(`${over.length} function(s) over ${max} lines`);
  process.exit(1);
}
}
