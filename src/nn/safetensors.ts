// The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian data; offsets are relative to the first data byte. Pure host I/O, no GPU.
// Files are untrusted (shared checkpoints): the header is capped and its nesting checked before JSON.parse, and
// names are keys of null-prototype objects, so a tensor called "__proto__" or "constructor" is just a name.
import { writeFileAtomic } from '../util/fs.js';
import { endianness } from 'node:os';
import { DataError } from '../util/errors.js';
import { LIMITS, checkJsonDepth, jsonErrorText, readRegularFile } from '../util/untrusted.js';

/** Element types we read and write (safetensors names). */
export type SafeDType = 'F32' | 'F64' | 'I32' | 'U32' | 'U8' | 'I64';
export type SafeArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;

/** One named tensor as it lies in a file. */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeArray;
}

/** The contents of a safetensors file; both records have a null prototype (any name is a plain key). */
export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const DTYPES: Record<SafeDType, { bytes: number; make: (b: ArrayBuffer) => SafeArray }> = {
  F32: { bytes: 4, make: (b) => new Float32Array(b) },
  F64: { bytes: 8, make: (b) => new Float64Array(b) },
  I32: { bytes: 4, make: (b) => new Int32Array(b) },
  U32: { bytes: 4, make: (b) => new Uint32Array(b) },
  U8: { bytes: 1, make: (b) => new Uint8Array(b) },
  // PyTorch's int64 (BatchNorm's num_batches_tracked).
  I64: { bytes: 8, make: (b) => new BigInt64Array(b) },
};

/** The safetensors dtype of a typed array. */
export function dtypeOf(a: SafeArray): SafeDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Uint32Array) return 'U32';
  if (a instanceof BigInt64Array) return 'I64';
  return 'U8';
}

// The format is little-endian; typed arrays use the host's order. Every Node platform we target is little-endian.
function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('safetensors I/O needs a little-endian host');
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// The reference implementation allows a 100 MB header; a 98 MB one took 25 s and 4.85 GB to parse here, and a real
// model needs about 100 bytes per tensor, so the cap is LIMITS.safetensorsHeaderBytes. The format nests 3 deep:
// the header object, a tensor entry (or __metadata__), its shape / data_offsets arrays.
const HEADER_DEPTH = 3;

/** An empty null-prototype record: keys from a file can never reach Object.prototype. */
function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** The file's bytes for `tensors` (in the given order) and string `metadata`; the header is space-padded to 8 bytes so the data is aligned. */
export function encodeSafetensors(tensors: Record<string, Omit<SafeTensor, 'dtype'> & { dtype?: SafeDType }>, metadata: Record<string, string> = {}): Buffer {
  assertLittleEndian();
  const header = record<unknown>();
  const meta = Object.entries(metadata);
  for (const [k, v] of meta) if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
  if (meta.length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Buffer[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error('"__metadata__" is reserved and cannot name a tensor');
    const dtype = t.dtype ?? dtypeOf(t.data);
    if (dtype !== dtypeOf(t.data)) throw new Error(`tensor "${name}": dtype ${dtype} but data is a ${t.data.constructor.name}`);
    for (const d of t.shape) if (!Number.isInteger(d) || d < 0) throw new Error(`tensor "${name}": bad shape [${t.shape.join(', ')}]`);
    if (count(t.shape) !== t.data.length) throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${count(t.shape)} values, data has ${t.data.length}`);
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // 8 + N must be a multiple of 8, so N is padded with spaces (allowed by the format).
  const n = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (n % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, ...parts]);
}

/** Parses the bytes of a safetensors file; `what` names the file in errors. Every tensor's data is a fresh copy. */
export function decodeSafetensors(buf: Uint8Array, what = 'safetensors data'): SafeFile {
  assertLittleEndian();
  const bad = (msg: string): Error => new DataError('format', `${what}: not a valid safetensors file: ${msg}`, what);
  if (buf.length < 8) throw bad(`${buf.length} bytes, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = view.getBigUint64(0, true);
  const limit = LIMITS.safetensorsHeaderBytes;
  if (n64 > BigInt(limit)) throw bad(`header length ${n64} bytes exceeds the limit of ${limit} bytes (${limit / 2 ** 20} MiB; corrupt length field?)`);
  const n = Number(n64);
  if (8 + n > buf.length) throw bad(`header length ${n} bytes but the file has only ${buf.length - 8} after the length field (truncated?)`);
  const headerBytes = buf.subarray(8, 8 + n);
  checkJsonDepth(headerBytes, HEADER_DEPTH, what, 'safetensors header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw bad(`header is not UTF-8 JSON (${jsonErrorText(e)})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata = record<string>();
  const tensors = record<SafeTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw bad('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw bad(`metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw bad(`entry "${name}" is not an object`);
    const dt = typeof e.dtype === 'string' && Object.hasOwn(DTYPES, e.dtype) ? DTYPES[e.dtype as SafeDType] : undefined;
    if (!dt) throw bad(`tensor "${name}" has dtype ${JSON.stringify(e.dtype)}; supported: ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor "${name}" has a bad shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
      throw bad(`tensor "${name}" has bad data_offsets ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const [b, end] = off as [number, number];
    const want = count(shape) * dt.bytes;
    if (!Number.isSafeInteger(want) || want > dataLen) throw bad(`tensor "${name}" ${e.dtype} [${shape.join(', ')}] needs ${want} bytes, more than the file's ${dataLen} data bytes`);
    if (end - b !== want) throw bad(`tensor "${name}" ${e.dtype} [${shape.join(', ')}] needs ${want} bytes, data_offsets span ${end - b}`);
    if (end > dataLen) throw bad(`tensor "${name}" ends at byte ${end} of the data but the file holds ${dataLen} data bytes (truncated?)`);
    // Copy: the file's bytes are not aligned for the typed array, and callers may keep the arrays.
    const copy = new ArrayBuffer(want);
    new Uint8Array(copy).set(buf.subarray(dataStart + b, dataStart + end));
    tensors[name] = { dtype: e.dtype as SafeDType, shape, data: dt.make(copy) };
    spans.push([b, end, name]);
  }
  // The format requires the tensors to tile the data exactly: no overlaps, no holes, no trailing bytes.
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, end, name] of spans) {
    if (b !== at) throw bad(b < at ? `tensor "${name}" overlaps the previous tensor's data` : `a ${b - at}-byte hole in the data before tensor "${name}"`);
    at = end;
  }
  if (at !== dataLen) throw bad(`${dataLen - at} bytes after the last tensor's data`);
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (temporary file in the same folder, fsync, rename over `path`). */
export function writeSafetensors(path: string, tensors: Record<string, Omit<SafeTensor, 'dtype'> & { dtype?: SafeDType }>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the file. */
export function readSafetensors(path: string): SafeFile {
  return decodeSafetensors(readRegularFile(path, LIMITS.safetensorsFileBytes, 'safetensors file'), path);
}
