// Which code produced a result: the package version and, in a git checkout, the commit (and whether files differ
// from it), so a results.json can be traced to its source.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CodeVersion {
  package: string;
  /** HEAD of the checkout the code runs from; absent outside a git checkout or without git. */
  commit?: string;
  /** True when tracked files differ from `commit`. */
  modified?: boolean;
}

let cached: CodeVersion | undefined;

/** The version of the running code (the bundle lives in dist/, the package root is one folder up). */
export function codeVersion(): CodeVersion {
  if (cached) return cached;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  let pkg = 'unknown';
  try {
    pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  } catch {
    // not laid out as the package: leave 'unknown'
  }
  cached = { package: pkg };
  try {
    const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    const commit = git(['rev-parse', 'HEAD']);
    if (/^[0-9a-f]{40}$/.test(commit)) cached = { package: pkg, commit, modified: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    // no git, or not a checkout
  }
  return cached;
}
