/**
 * A streaming reader and a small writer for tar archives (POSIX ustar, with GNU long names and pax `path`/`size`).
 * The reader is push-based: feed it chunks in order; for each entry the caller returns a sink or null (skip),
 * so an archive of any size passes through in constant memory.
 *
 * Archives are untrusted (downloads, copies from elsewhere). The only bytes this reader keeps are GNU long-name
 * and pax entries, capped at LIMITS.tarMetaBytes before their first byte is kept; any entry's declared size is
 * capped at LIMITS.tarEntryBytes and the whole stream at LIMITS.tarStreamBytes (a gzip bomb stops there); entries
 * nobody asked for are skipped by counting, never buffered. Paths are only reported: nothing here writes files.
 *
 * Why our own reader and not `tar-stream` 3.x (weighed 2026-11-30, 3.2.2): its extractor also waits until a
 * pax header's whole declared size is buffered before parsing it (no cap), so the fault this file guards against
 * needs the same checks on top; it would add four packages (streamx, fast-fifo, b4a, bare-fs) and an event-stream
 * API to a 250-line reader that handles every archive CIFAR-10 ships and that the fuzzer in test/ exercises.
 */
import { DataError } from '../util/errors.js';
import { LIMITS } from '../util/untrusted.js';

const BLOCK = 512;

/** A tar entry's header fields that matter here. */
export interface TarEntry {
  /** Path inside the archive (prefix + name, or the long name). */
  path: string;
  size: number;
  /** '0' regular file, '5' directory, … (a NUL type flag is reported as '0'). */
  type: string;
}

/** Where an entry's bytes go. `end` runs after the entry's last byte. */
export interface TarSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** Size caps of a TarReader (defaults: LIMITS); tests pass smaller ones. */
export interface TarLimits {
  metaBytes: number;
  entryBytes: number;
  streamBytes: number;
}

/** Push-based tar parser: `push` chunks, then `finish`; `onEntry` chooses a sink per entry. */
export class TarReader {
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  private remaining = 0; // data bytes left in the current entry
  private padding = 0; // padding bytes left after the data
  private sink: TarSink | null = null;
  private ended = false;
  private inEntry = false;
  private longName: string | null = null; // from a GNU 'L' entry, applies to the next entry
  private paxPath: string | null = null;
  private paxSize: number | null = null;
  private meta: { kind: 'L' | 'x'; parts: Uint8Array[] } | null = null;
  private offset = 0; // bytes consumed so far, for error messages

  constructor(
    private readonly archiveName: string,
    private readonly onEntry: (e: TarEntry) => TarSink | null,
    private readonly limits: TarLimits = { metaBytes: LIMITS.tarMetaBytes, entryBytes: LIMITS.tarEntryBytes, streamBytes: LIMITS.tarStreamBytes },
  ) {}

  /** Feeds the next chunk of the (decompressed) tar stream. */
  push(chunk: Uint8Array): void {
    if (!this.ended && this.offset + chunk.length > this.limits.streamBytes) {
      throw this.corrupt(`the tar stream runs past ${this.limits.streamBytes} bytes, the limit for an archive (the official CIFAR-10 tar is 185 MB); it is damaged or not the official one`);
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.ended) return; // bytes after the end-of-archive marker are ignored, as tar does
      if (this.inEntry && this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        const part = chunk.subarray(i, i + n);
        if (this.meta) this.meta.parts.push(part.slice());
        else this.sink?.write(part);
        this.remaining -= n;
        i += n;
        this.offset += n;
        if (this.remaining === 0) this.finishData();
      } else if (this.inEntry && this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - i);
        this.padding -= n;
        i += n;
        this.offset += n;
        if (this.padding === 0) this.inEntry = false;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - i);
        this.header.set(chunk.subarray(i, i + n), this.headerFill);
        this.headerFill += n;
        i += n;
        this.offset += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.startEntry();
        }
      }
    }
  }

  /** Call at the end of the stream: throws if the archive stopped inside an entry. */
  finish(): void {
    if (this.ended) return;
    if (this.inEntry || this.headerFill > 0) {
      throw new DataError(
        'corrupt',
        `${this.archiveName}: the tar archive ends in the middle of an entry (after ${this.offset} bytes). The file is truncated: download it again.`,
        this.archiveName,
      );
    }
    // A stream that ends right after a complete entry, without the two zero blocks, is accepted (GNU tar does too).
  }

  private startEntry(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const stored = parseOctal(h, 148, 8);
    let sum = 0;
    for (let k = 0; k < BLOCK; k++) sum += k >= 148 && k < 156 ? 0x20 : h[k];
    if (stored === null || stored !== sum) {
      throw new DataError(
        'corrupt',
        `${this.archiveName}: bad tar header at byte ${this.offset - BLOCK} (header checksum ${stored ?? 'unreadable'}, computed ${sum}). The archive is damaged or not a tar file: download it again.`,
        this.archiveName,
      );
    }
    let size = parseSize(h);
    if (size === null) {
      throw new DataError('corrupt', `${this.archiveName}: unreadable size field in the tar header at byte ${this.offset - BLOCK}.`, this.archiveName);
    }
    const at = this.offset - BLOCK;
    const typeByte = h[156];
    const type = typeByte === 0 ? '0' : String.fromCharCode(typeByte);
    let path = cString(h, 0, 100);
    if (cString(h, 257, 5) === 'ustar') {
      const prefix = cString(h, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    this.inEntry = true;
    this.sink = null;
    this.meta = null;
    if (type === 'L' || type === 'x') {
      if (size > this.limits.metaBytes) {
        throw this.corrupt(`the ${type === 'L' ? 'GNU long-name' : 'pax'} header at byte ${at} declares ${size} bytes, over the ${this.limits.metaBytes}-byte limit for one`);
      }
      this.meta = { kind: type, parts: [] };
    } else if (type === 'g') {
      // global pax header: nothing here uses it
    } else {
      if (this.longName !== null) path = this.longName;
      if (this.paxPath !== null) path = this.paxPath;
      if (this.paxSize !== null) size = this.paxSize;
      this.longName = this.paxPath = this.paxSize = null;
    }
    if (size > this.limits.entryBytes) {
      throw this.corrupt(`entry ${JSON.stringify(clip(path))} at byte ${at} declares ${size} bytes, over the ${this.limits.entryBytes}-byte limit for one entry`);
    }
    if (!this.meta && type !== 'g') this.sink = this.onEntry({ path, size, type });
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.finishData();
  }

  private corrupt(why: string): DataError {
    return new DataError('corrupt', `${this.archiveName}: ${why}.`, this.archiveName);
  }

  private finishData(): void {
    if (this.meta) {
      const text = Buffer.concat(this.meta.parts).toString('utf8');
      if (this.meta.kind === 'L') this.longName = text.replace(/\0+$/, '');
      else this.applyPax(text);
      this.meta = null;
    } else {
      this.sink?.end();
      this.sink = null;
    }
    if (this.padding === 0) this.inEntry = false;
  }

  // pax records: "<length> <key>=<value>\n"
  private applyPax(text: string): void {
    let i = 0;
    while (i < text.length) {
      const sp = text.indexOf(' ', i);
      const len = Number(text.slice(i, sp));
      if (sp < 0 || !Number.isInteger(len) || len <= 0) break;
      const rec = text.slice(sp + 1, i + len - 1);
      const eq = rec.indexOf('=');
      const key = rec.slice(0, eq);
      const value = rec.slice(eq + 1);
      if (key === 'path') this.paxPath = value;
      else if (key === 'size') {
        if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw this.corrupt(`pax size ${JSON.stringify(clip(value))} is not a byte count`);
        this.paxSize = Number(value);
      }
      i += len;
    }
  }
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.subarray(off, end)).toString('utf8');
}

function parseOctal(b: Uint8Array, off: number, len: number): number | null {
  const s = cString(b, off, len).trim();
  if (!/^[0-7]+$/.test(s)) return null;
  return parseInt(s, 8);
}

// Sizes ≥ 8 GiB use GNU base-256: high bit of the first byte set, big-endian binary after it.
function parseSize(h: Uint8Array): number | null {
  if (h[124] & 0x80) {
    let v = h[124] & 0x7f;
    for (let k = 125; k < 136; k++) v = v * 256 + h[k];
    return Number.isSafeInteger(v) ? v : null;
  }
  return parseOctal(h, 124, 12);
}

/** Builds a ustar archive in memory from (path, bytes) pairs; paths ending in '/' become directories. */
export function writeTar(files: { path: string; data?: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const isDir = f.path.endsWith('/');
    const data = f.data ?? new Uint8Array(0);
    if (Buffer.byteLength(f.path) > 100) throw new RangeError(`writeTar: path longer than 100 bytes: ${f.path}`);
    const h = Buffer.alloc(BLOCK);
    h.write(f.path, 0, 'utf8');
    h.write(isDir ? '0000755\0' : '0000644\0', 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
    h.write('00000000000\0', 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h[156] = (isDir ? '5' : '0').charCodeAt(0);
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    parts.push(h, Buffer.from(data.buffer, data.byteOffset, data.length));
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
