// Command-line options from one declarative spec: Node's util.parseArgs does the splitting (--name value,
// --name=value, --flag, --no-flag); this file adds the spec's types, ranges and choices, defaults, messages that say
// the fix (a did-you-mean for unknown options) and the --help text.
import { parseArgs as nodeParseArgs } from 'node:util';

export type OptType = 'int' | 'float' | 'string' | 'bool' | 'intlist';

export interface OptSpec {
  type: OptType;
  default?: unknown;
  choices?: readonly string[];
  min?: number;
  max?: number;
  help: string;
}

/** A user mistake on the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The spec's name nearest to `name` by edit distance (at most 2), for "did you mean". */
export function closest(name: string, names: string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  let best: string | undefined, bd = 3;
  for (const n of names) {
    const x = dist(name, n);
    if (x < bd) (bd = x), (best = n);
  }
  return best;
}

function convert(name: string, spec: OptSpec, raw: string): unknown {
  const bounds = (v: number) => {
    if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} ${raw}: must be ≥ ${spec.min}`);
    if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} ${raw}: must be ≤ ${spec.max}`);
    return v;
  };
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+(e\d+)?$/i.test(raw) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`--${name} ${raw}: expected a whole number`);
      return bounds(Number(raw)); // 1e6 is one
    }
    case 'float': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} ${raw}: expected a number`);
      return bounds(v);
    }
    case 'intlist': {
      const parts = raw.split(',').map((s) => s.trim());
      if (!parts.length || parts.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--${name} ${raw}: expected comma-separated whole numbers, e.g. 12,24,32,48`);
      return parts.map((s) => bounds(Number(s)));
    }
    case 'string': {
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} ${raw}: choose one of ${spec.choices.join(', ')}`);
      return raw;
    }
    case 'bool':
      return raw; // util.parseArgs hands booleans over as booleans
  }
}

/** util.parseArgs's error (ERR_PARSE_ARGS_*) as a one-line UsageError in the words of the spec. */
function translate(e: { code?: string; message: string }, spec: Record<string, OptSpec>): UsageError {
  const flag = /'(-[^' ]*)/.exec(e.message)?.[1] ?? '';
  const name = flag.replace(/^-+/, '');
  const s = spec[name];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || !s) {
    const guess = closest(name.replace(/^no-/, ''), Object.keys(spec));
    return new UsageError(`unknown option ${flag}${guess ? ` (did you mean --${guess}?)` : ''}; see --help`);
  }
  if (s.type === 'bool') return new UsageError(`--${name} takes no value: write --${name} or --no-${name}`);
  if (/ambiguous/.test(e.message)) return new UsageError(`--${name} needs a value (${s.help}); a value starting with - goes as --${name}=VALUE`);
  return new UsageError(`--${name} needs a value (${s.help})`);
}

/** Parses argv against the spec: `--name value`, `--name=value`, `--flag`, `--no-flag`; returns values and positionals. */
export function parseArgs(argv: string[], spec: Record<string, OptSpec>): { opts: Record<string, unknown>; positional: string[]; given: Set<string> } {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [k, s] of Object.entries(spec)) options[k] = { type: s.type === 'bool' ? 'boolean' : 'string', ...(k === 'help' ? { short: 'h' } : {}) };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: argv, options, allowPositionals: true, allowNegative: true, strict: true } as Parameters<typeof nodeParseArgs>[0]) as typeof parsed;
  } catch (e) {
    throw translate(e as { code?: string; message: string }, spec);
  }
  const opts: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) opts[k] = s.default;
  const given = new Set<string>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    opts[k] = typeof v === 'boolean' ? v : convert(k, spec[k], v);
    given.add(k);
  }
  return { opts, positional: parsed.positionals, given };
}

/** The --help text of a spec. */
export function usage(head: string, spec: Record<string, OptSpec>): string {
  const lines = [head, '', 'Options:'];
  for (const [k, s] of Object.entries(spec)) {
    const arg = s.type === 'bool' ? '' : s.choices ? ` ${s.choices.join('|')}` : ` <${s.type === 'intlist' ? 'n,n,…' : s.type}>`;
    const def = s.default !== undefined ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})` : '';
    lines.push(`  --${k}${arg}`.padEnd(40) + ` ${s.help}${def}`);
  }
  return lines.join('\n');
}
