/**
 * A database of binary codes: add, search, save/load, and exports for engines that scale past one machine.
 *
 * File format `.codes` (little-endian):
 *   0  magic "TQHC" (4 bytes)      4  version u32 = 1       8  bits u32       12 words per code u32 (ceil(bits/32))
 *   16 count u32                   20 flags u32 (bit 0: labels present, bit 1: ids present)
 *   24 metadata length u32 (bytes of UTF-8 JSON)             28 reserved u32 = 0
 *   32 codes: count × words u32 (bit layout of bits.ts)
 *   then labels: count u32 (if flag 0), ids: count u32 (if flag 1), then the metadata JSON.
 * FAISS export: the layout of `faiss.write_index_binary` for an IndexBinaryFlat ("IBxF", d, code_size, ntotal,
 * is_trained, metric_type, then the codes as a size-prefixed byte vector), so `faiss.read_index_binary` loads it.
 * FAISS needs d to be a multiple of 8: codes are padded with zero bits up to the next multiple of 8 (a zero bit on
 * both sides adds nothing to a Hamming distance).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { hammingTopKCpu, wordsPerCode } from './bits.js';

const MAGIC = 0x43485154; // "TQHC" read as a little-endian u32
const HEADER = 32;

/** A search function over packed codes (the CPU reference by default; the GPU kernel can be injected). */
export type SearchFn = (queries: Uint32Array, db: Uint32Array, nq: number, ndb: number, bits: number, k: number) => { indices: Uint32Array; distances: Uint32Array } | Promise<{ indices: Uint32Array; distances: Uint32Array }>;

function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw new Error(`writing ${path}: ${(e as Error).message}`);
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Binary codes with optional labels and ids. */
export class CodeDB {
  readonly words: number;
  private codes = new Uint32Array(0);
  private labels: Uint32Array | null = null;
  private ids: Uint32Array | null = null;
  count = 0;
  metadata: Record<string, unknown> = {};

  constructor(readonly bits: number, private search: SearchFn = hammingTopKCpu) {
    this.words = wordsPerCode(bits);
  }

  /** Appends codes (n × words), with labels and ids when the database keeps them (all adds must agree). */
  add(codes: Uint32Array, labels?: ArrayLike<number>, ids?: ArrayLike<number>): void {
    if (codes.length % this.words) throw new Error(`CodeDB.add: ${codes.length} words is not a multiple of ${this.words} (${this.bits}-bit codes)`);
    const n = codes.length / this.words;
    if (labels && labels.length !== n) throw new Error(`CodeDB.add: ${labels.length} labels for ${n} codes`);
    if (ids && ids.length !== n) throw new Error(`CodeDB.add: ${ids.length} ids for ${n} codes`);
    if (this.count > 0 && (!!labels !== !!this.labels || !!ids !== !!this.ids)) throw new Error('CodeDB.add: every add must give labels (and ids) when the first did, and none otherwise');
    const c = new Uint32Array(this.codes.length + codes.length);
    c.set(this.codes);
    c.set(codes, this.codes.length);
    this.codes = c;
    const cat = (a: Uint32Array | null, b: ArrayLike<number> | undefined) => {
      if (!b) return null;
      const out = new Uint32Array((a?.length ?? 0) + n);
      if (a) out.set(a);
      out.set(Uint32Array.from(b), a?.length ?? 0);
      return out;
    };
    this.labels = cat(this.labels, labels);
    this.ids = cat(this.ids, ids);
    this.count += n;
  }

  /** Replaces the search function (e.g. the GPU Hamming top-k). */
  setSearch(fn: SearchFn): void {
    this.search = fn;
  }

  /** The k nearest codes of each query (Hamming, ties by lower index): database positions, distances, and labels/ids when kept. */
  async query(queries: Uint32Array, k: number): Promise<{ indices: Uint32Array; distances: Uint32Array; labels?: Uint32Array; ids?: Uint32Array; k: number }> {
    if (queries.length % this.words) throw new Error(`CodeDB.query: ${queries.length} words is not a multiple of ${this.words}`);
    if (this.count === 0) throw new Error('CodeDB.query: the database is empty');
    const nq = queries.length / this.words;
    const r = await this.search(queries, this.codes, nq, this.count, this.bits, k);
    const kk = r.indices.length / Math.max(1, nq);
    return {
      ...r,
      k: kk,
      ...(this.labels ? { labels: r.indices.map((i) => this.labels![i]) } : {}),
      ...(this.ids ? { ids: r.indices.map((i) => this.ids![i]) } : {}),
    };
  }

  /** The packed codes (count × words). */
  getCodes(): Uint32Array {
    return this.codes;
  }

  /** Label of entry i (when kept). */
  labelOf(i: number): number | undefined {
    return this.labels?.[i];
  }

  /** Id of entry i (when kept). */
  idOf(i: number): number | undefined {
    return this.ids?.[i];
  }

  /** Encodes the database in the `.codes` format. */
  encode(): Uint8Array {
    const meta = Buffer.from(JSON.stringify(this.metadata), 'utf8');
    const n = this.count;
    const bytes = new Uint8Array(HEADER + 4 * (this.codes.length + (this.labels ? n : 0) + (this.ids ? n : 0)) + meta.length);
    const dv = new DataView(bytes.buffer);
    const header = [MAGIC, 1, this.bits, this.words, n, (this.labels ? 1 : 0) | (this.ids ? 2 : 0), meta.length, 0];
    header.forEach((v, i) => dv.setUint32(i * 4, v, true));
    let off = HEADER;
    for (const arr of [this.codes, this.labels, this.ids]) {
      if (!arr) continue;
      for (let i = 0; i < arr.length; i++, off += 4) dv.setUint32(off, arr[i], true);
    }
    bytes.set(meta, off);
    return bytes;
  }

  /** Saves the database (atomically: temporary file + rename). */
  save(path: string): void {
    writeAtomic(path, this.encode());
  }

  /** Decodes a `.codes` file; errors name the file and what is wrong. */
  static decode(bytes: Uint8Array, file = 'codes file'): CodeDB {
    const bad = (what: string) => new Error(`${file} is not a valid tqhash code file: ${what}`);
    if (bytes.length < HEADER) throw bad(`${bytes.length} bytes, shorter than the ${HEADER}-byte header`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = Array.from({ length: 8 }, (_, i) => dv.getUint32(i * 4, true));
    if (h[0] !== MAGIC) throw bad('wrong magic (expected "TQHC")');
    if (h[1] !== 1) throw bad(`unsupported version ${h[1]} (this tqhash reads version 1)`);
    const [, , bits, words, n, flags, metaLen] = h;
    if (bits < 1 || words !== Math.ceil(bits / 32)) throw bad(`${words} words per code does not fit ${bits} bits`);
    const expect = HEADER + 4 * (n * words + (flags & 1 ? n : 0) + (flags & 2 ? n : 0)) + metaLen;
    if (bytes.length !== expect) throw bad(`${bytes.length} bytes, the header describes ${expect} (truncated or padded)`);
    const u32 = (off: number, len: number) => {
      const out = new Uint32Array(len);
      for (let i = 0; i < len; i++) out[i] = dv.getUint32(off + 4 * i, true);
      return out;
    };
    let off = HEADER;
    const db = new CodeDB(bits);
    const codes = u32(off, n * words);
    off += 4 * n * words;
    const labels = flags & 1 ? u32(off, n) : undefined;
    off += flags & 1 ? 4 * n : 0;
    const ids = flags & 2 ? u32(off, n) : undefined;
    off += flags & 2 ? 4 * n : 0;
    if (n > 0) db.add(codes, labels, ids);
    try {
      db.metadata = JSON.parse(Buffer.from(bytes.subarray(off, off + metaLen)).toString('utf8') || '{}');
    } catch {
      throw bad('metadata is not valid JSON');
    }
    return db;
  }

  /** Loads a `.codes` file. */
  static load(path: string): CodeDB {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read code file ${path}: ${(e as Error).message}`);
    }
    return CodeDB.decode(bytes, path);
  }

  /** The codes as n × ceil(bits/8) bytes, bit i = bit (i mod 8) of byte i/8 (Milvus BINARY_VECTOR, Qdrant/OpenSearch bit vectors). */
  packedBytes(): Uint8Array {
    const bpc = Math.ceil(this.bits / 8);
    const out = new Uint8Array(this.count * bpc);
    const src = new Uint8Array(this.codes.buffer, this.codes.byteOffset, this.codes.byteLength);
    // Little-endian words: byte b of a code is byte b of its word array (checked at load: this runs on LE hosts only).
    for (let i = 0; i < this.count; i++) out.set(src.subarray(i * this.words * 4, i * this.words * 4 + bpc), i * bpc);
    return out;
  }

  /** The bytes of a FAISS IndexBinaryFlat file (see the header comment). */
  faissBinaryFlat(): Uint8Array {
    const d = Math.ceil(this.bits / 8) * 8;
    const codeSize = d / 8;
    const xb = this.packedBytes();
    const out = new Uint8Array(4 + 4 + 4 + 8 + 1 + 4 + 8 + xb.length);
    const dv = new DataView(out.buffer);
    let o = 0;
    out.set([0x49, 0x42, 0x78, 0x46], o); // "IBxF"
    o += 4;
    dv.setInt32(o, d, true);
    o += 4;
    dv.setInt32(o, codeSize, true);
    o += 4;
    dv.setBigInt64(o, BigInt(this.count), true);
    o += 8;
    out[o++] = 1; // is_trained
    dv.setInt32(o, 1, true); // metric_type: METRIC_L2 (FAISS's default for binary indexes; searches use Hamming)
    o += 4;
    dv.setBigUint64(o, BigInt(xb.length), true);
    o += 8;
    out.set(xb, o);
    return out;
  }

  /** Writes the FAISS IndexBinaryFlat file (atomically). */
  exportFaiss(path: string): void {
    writeAtomic(path, this.faissBinaryFlat());
  }

  /** Writes the packed bytes (n × ceil(bits/8)) for vector databases (atomically). */
  exportPackedBytes(path: string): void {
    writeAtomic(path, this.packedBytes());
  }
}

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('tqhash code files assume a little-endian host');
}
