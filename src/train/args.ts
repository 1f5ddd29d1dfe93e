// Command-line options from one declarative spec: parsing, validation with messages that say the fix, and --help.

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

function closest(name: string, names: string[]): string | undefined {
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
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${name} ${raw}: expected a whole number`);
      return bounds(Number(raw));
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
    case 'bool': {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`--${name} ${raw}: expected true or false`);
    }
  }
}

/** Parses argv against the spec: `--name value`, `--name=value`, `--flag`, `--no-flag`; returns values and positionals. */
export function parseArgs(argv: string[], spec: Record<string, OptSpec>): { opts: Record<string, unknown>; positional: string[] } {
  const opts: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) opts[k] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let s = spec[name];
    if (!s && name.startsWith('no-') && spec[name.slice(3)]?.type === 'bool') {
      opts[name.slice(3)] = false;
      continue;
    }
    if (!s) {
      const guess = closest(name, Object.keys(spec));
      throw new UsageError(`unknown option --${name}${guess ? ` (did you mean --${guess}?)` : ''}; see --help`);
    }
    if (s.type === 'bool' && value === undefined) {
      opts[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value (${s.help})`);
    }
    opts[name] = convert(name, s, value);
    void s;
  }
  return { opts, positional };
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
