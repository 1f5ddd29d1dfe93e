// A progress bar for long work: redrawn in place on a terminal, one line every few seconds otherwise (CI logs).
// Hand-written rather than cli-progress, measured 2026-11-30 with cli-progress 3.12.0: it adds 6 packages (296 KB)
// and 18 ms to start-up, is silent off a terminal unless told (noTTYOutput), redraws on its own timer, and prints
// payload fields as given (loss 6.571428571428571), so the glue to format fields and throttle log lines would be
// about the size of this file (80 lines, no dependency).

export interface ProgressFields {
  [name: string]: string | number;
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${s.toFixed(0)}s`;
}

/** Progress over `total` units with ETA; `update(done, fields)` draws at once, then at most every 100 ms (TTY) or 10 s (log). */
export class ProgressBar {
  private start = performance.now();
  /** Time of the last draw; the first update always draws, so a log shows at once that the work began. */
  private last = -Infinity;
  private readonly tty: boolean;
  private drawn = false;

  constructor(private label: string, private total: number, private stream: NodeJS.WriteStream = process.stderr, private quiet = false) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Units already done when the bar starts (a resumed epoch): the ETA uses only the rate since then. */
  private first = 0;

  /** Sets the units already done before this bar started timing. */
  startFrom(done: number): this {
    this.first = done;
    return this;
  }

  /** Changes the total (when it becomes known after the start). */
  setTotal(total: number): void {
    this.total = total;
  }

  /** Redraws the bar for `done` units, with extra fields (loss, images/s …). */
  update(done: number, fields: ProgressFields = {}, force = false): void {
    if (this.quiet) return;
    const now = performance.now();
    if (!force && now - this.last < (this.tty ? 100 : 10000)) return;
    this.last = now;
    const el = (now - this.start) / 1000;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const rate = (done - this.first) / Math.max(el, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : NaN;
    const width = 24;
    const fill = Math.round(frac * width);
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmtNum(v) : v}`).join('  ');
    const line = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${done}/${this.total}  ${extra}  elapsed ${formatDuration(el)}  ETA ${formatDuration(eta)}`;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else {
      this.stream.write(line + '\n');
    }
  }

  /** Ends the bar (moves to a new line on a terminal). */
  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** Prints a line above the bar without garbling it. */
  log(line: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    console.log(line);
    this.drawn = false;
  }
}

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
