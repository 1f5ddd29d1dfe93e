/**
 * A database of binary codes (layout of codes.ts): add, search, save/load, and exports to engines that scale past
 * one machine.
 *
 * `.tqhc` file format, version 1, all integers little-endian:
 *   offset 0   magic "TQHC" (4 ASCII bytes)
 *          4   u32 version = 1
 *          8   u32 bits (code length k)
 *         12   u32 words per code W = ceil(k/32)
 *         16   u64 count n (< 2^53)
 *         24   u32 flags: bit 0 = labels present; other bits 0
 *         28   u32 byte length m of the metadata JSON
 *         32   codes: n·W u32 (unused high bits of each code's last word are 0)
 *              labels: n u32, when flag bit 0 is set
 *              metadata: m bytes of UTF-8 JSON (an object; external ids, when given, are its "ids" array of
 *              distinct strings or non-negative safe integers; nested at most LIMITS.codesMetaDepth deep)
 * The file is exactly 32 + 4·n·W + (labels ? 4·n : 0) + m bytes. Writes are atomic (temporary file in the same
 * folder, fsync, rename).
 *
 * FAISS export (`exportFaissBinaryFlat`): the bytes `faiss.write_index_binary` writes for an IndexBinaryFlat, so
 * `faiss.read_index_binary` loads it: fourcc "IBxF", i32 d, i32 code_size, i64 ntotal, u8 is_trained = 1,
 * i32 metric_type = 1 (METRIC_L2, FAISS's default for binary indexes; search is Hamming regardless), u64 byte count
 * n·code_size, then the codes. d is the code length rounded up to a multiple of 8 (FAISS requires it), the extra
 * bits are 0 in every code, so Hamming distances are unchanged. Bit i of a code is bit i%8 of byte i/8, which is
 * FAISS's own order (`fvecs2bitvecs`: dimension 0 → least significant bit of the first byte).
 * Packed bytes (`exportPackedBytes`): n × ceil(k/8) raw bytes, no header, the same byte layout (or numpy
 * `packbits`' most-significant-bit-first order with bitOrder 'big'); queries must be packed in the same order.
 * Which order each engine takes (Milvus 'little', OpenSearch/Elasticsearch 'big'): export.ts.
 */
import { writeFileAtomic } from '../util/fs.js';
import { DataError } from '../util/errors.js';
import { LIMITS, checkJsonDepth, jsonErrorText, readRegularFile } from '../util/untrusted.js';
import { checkCodes, hammingTopK, packedBytes, wordsPerCode, type TopK } from '../cpu/codes.js';

const MAGIC = 'TQHC';
const VERSION = 1;
const HEADER_BYTES = 32;

/** A top-k search over packed codes: the CPU `hammingTopK` by default; a GPU kernel can be injected. */
export type SearchFn = (queries: Uint32Array, db: Uint32Array, nq: number, ndb: number, bits: number, topk: number) => TopK | { indices: Uint32Array; distances: Uint32Array } | Promise<TopK | { indices: Uint32Array; distances: Uint32Array }>;

export { writeFileAtomic };

/** Copies u32 values into little-endian bytes (independent of the host's byte order). */
function u32le(a: Uint32Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * 4, a[i], true);
  return out;
}

/** Binary codes with optional labels and external ids. */
export class CodeDB {
  readonly bits: number;
  readonly words: number;
  private codes: Uint32Array;
  private labelArr: Uint32Array | undefined;
  private idList: (number | string)[] | undefined;
  private idSet: Set<number | string> | undefined;
  private n = 0;
  private searchFn: SearchFn;
  /** Free-form JSON metadata saved with the file (data set, protocol, model, …). */
  meta: Record<string, unknown> = {};

  /** An empty database of `bits`-bit codes; `search` replaces the CPU top-k (e.g. with the GPU kernel). */
  constructor(bits: number, opts: { search?: SearchFn } = {}) {
    this.bits = bits;
    this.words = wordsPerCode(bits);
    this.codes = new Uint32Array(0);
    this.searchFn = opts.search ?? hammingTopK;
  }

  /** Number of codes. */
  get size(): number {
    return this.n;
  }

  /** The packed codes (a view, n × words). */
  get data(): Uint32Array {
    return this.codes.subarray(0, this.n * this.words);
  }

  /** The labels (a view), or undefined when the database has none. */
  get labels(): Uint32Array | undefined {
    return this.labelArr?.subarray(0, this.n);
  }

  /** The external ids, or undefined when none were given (then an item's id is its index). */
  get ids(): readonly (number | string)[] | undefined {
    return this.idList;
  }

  /** Replaces the search function (e.g. the GPU top-k once a device is up). */
  setSearch(fn: SearchFn): void {
    this.searchFn = fn;
  }

  /** Appends codes (count = codes.length / words), with labels and ids either on every add or on none. */
  add(codes: Uint32Array, labels?: ArrayLike<number>, ids?: ArrayLike<number | string>): void {
    const W = this.words;
    if (codes.length % W !== 0) throw new RangeError(`CodeDB.add: ${codes.length} words is not a whole number of ${this.bits}-bit codes (${W} words each)`);
    const m = codes.length / W;
    checkCodes(codes, m, this.bits, 'CodeDB.add codes');
    const hadLabels = this.labelArr !== undefined;
    const hadIds = this.idList !== undefined;
    if (this.n > 0 && hadLabels !== (labels !== undefined)) throw new Error(`CodeDB.add: labels must be given on every add or on none (${hadLabels ? 'earlier adds had them' : 'earlier adds had none'})`);
    if (this.n > 0 && hadIds !== (ids !== undefined)) throw new Error(`CodeDB.add: ids must be given on every add or on none (${hadIds ? 'earlier adds had them' : 'earlier adds had none'})`);
    if (labels !== undefined && labels.length !== m) throw new RangeError(`CodeDB.add: ${labels.length} labels for ${m} codes`);
    if (ids !== undefined && ids.length !== m) throw new RangeError(`CodeDB.add: ${ids.length} ids for ${m} codes`);
    const need = (this.n + m) * W;
    if (need > this.codes.length) {
      const cap = Math.max(need, this.codes.length * 2, 1024 * W);
      const grown = new Uint32Array(cap);
      grown.set(this.codes.subarray(0, this.n * W));
      this.codes = grown;
      if (labels !== undefined || hadLabels) {
        const gl = new Uint32Array(cap / W);
        if (this.labelArr) gl.set(this.labelArr.subarray(0, this.n));
        this.labelArr = gl;
      }
    } else if (labels !== undefined && this.labelArr === undefined) {
      this.labelArr = new Uint32Array(this.codes.length / W);
    }
    this.codes.set(codes, this.n * W);
    if (labels !== undefined) {
      for (let i = 0; i < m; i++) {
        const l = labels[i];
        if (!Number.isInteger(l) || l < 0 || l > 0xffffffff) throw new RangeError(`CodeDB.add: label ${i} = ${l} is not a u32`);
        this.labelArr![this.n + i] = l;
      }
    }
    if (ids !== undefined) this.addIds(ids, m);
    this.n += m;
  }

  // Ids are what a search returns in place of an index, so each must name one item: distinct, and numbers ≥ 0.
  // All are checked before any is kept, so a failed add leaves the ids as they were.
  private addIds(ids: ArrayLike<number | string>, m: number): void {
    const seen = (this.idSet ??= new Set());
    const fresh = new Set<number | string>();
    for (let i = 0; i < m; i++) {
      const id = ids[i];
      if (typeof id !== 'string' && !(Number.isSafeInteger(id) && id >= 0)) throw new RangeError(`CodeDB.add: id ${i} = ${JSON.stringify(id)} must be a string or a non-negative safe integer`);
      if (seen.has(id) || fresh.has(id)) throw new RangeError(`CodeDB.add: id ${i} = ${JSON.stringify(id)} is already in the database; ids must be distinct`);
      fresh.add(id);
    }
    for (const id of fresh) seen.add(id);
    this.idList ??= [];
    for (let i = 0; i < m; i++) this.idList.push(ids[i]);
  }

  /** Top-k by Hamming distance (ties by lower index) for nq = queries.length / words queries; adds ids when known. */
  async search(queries: Uint32Array, topk: number): Promise<TopK & { ids?: (number | string)[] }> {
    const W = this.words;
    if (queries.length % W !== 0) throw new RangeError(`CodeDB.search: ${queries.length} words is not a whole number of ${this.bits}-bit codes`);
    const nq = queries.length / W;
    checkCodes(queries, nq, this.bits, 'CodeDB.search queries');
    const r = await this.searchFn(queries, this.data, nq, this.n, this.bits, topk);
    const k = Math.min(topk, this.n);
    if (r.indices.length !== nq * k || r.distances.length !== nq * k) throw new Error(`CodeDB.search: the search function returned ${r.indices.length} results for ${nq} queries × k = ${k}`);
    const out: TopK & { ids?: (number | string)[] } = { indices: r.indices, distances: r.distances, k };
    if (this.idList) out.ids = Array.from(r.indices, (i) => this.idList![i]);
    return out;
  }

  /** Saves in the `.tqhc` format (atomic write); `meta` is merged into the stored metadata. */
  save(path: string, meta: Record<string, unknown> = {}): void {
    const metaObj: Record<string, unknown> = { ...this.meta, ...meta };
    if (this.idList) metaObj.ids = this.idList;
    const json = new TextEncoder().encode(JSON.stringify(metaObj));
    const head = new Uint8Array(HEADER_BYTES);
    const dv = new DataView(head.buffer);
    for (let i = 0; i < 4; i++) head[i] = MAGIC.charCodeAt(i);
    dv.setUint32(4, VERSION, true);
    dv.setUint32(8, this.bits, true);
    dv.setUint32(12, this.words, true);
    dv.setBigUint64(16, BigInt(this.n), true);
    dv.setUint32(24, this.labelArr ? 1 : 0, true);
    dv.setUint32(28, json.length, true);
    const parts = [head, u32le(this.codes, this.n * this.words)];
    if (this.labelArr) parts.push(u32le(this.labelArr, this.n));
    parts.push(json);
    writeFileAtomic(path, parts);
  }

  /** Loads a `.tqhc` file, validating magic, version, sizes, code padding and metadata; errors name the file. */
  static load(path: string, opts: { search?: SearchFn } = {}): CodeDB {
    const buf = readRegularFile(path, LIMITS.codesFileBytes, 'code database');
    const fail = (why: string): never => {
      throw new DataError('format', `${path}: not a valid tqhash code database (.tqhc): ${why}`, path);
    };
    if (buf.length < HEADER_BYTES) fail(`${buf.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
    if (buf.toString('latin1', 0, 4) !== MAGIC) fail(`magic is ${JSON.stringify(buf.toString('latin1', 0, 4))}, expected "${MAGIC}"`);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const version = dv.getUint32(4, true);
    if (version !== VERSION) fail(`format version ${version}; this build reads version ${VERSION}`);
    const bits = dv.getUint32(8, true);
    const words = dv.getUint32(12, true);
    if (bits < 1 || bits > 65535) fail(`code length ${bits} bits is out of range 1..65535`);
    if (words !== wordsPerCode(bits)) fail(`${words} words per code, but ${bits}-bit codes take ${wordsPerCode(bits)}`);
    const n64 = dv.getBigUint64(16, true);
    if (n64 > BigInt(Number.MAX_SAFE_INTEGER)) fail(`count ${n64} is too large`);
    const n = Number(n64);
    const flags = dv.getUint32(24, true);
    if ((flags & ~1) !== 0) fail(`unknown flags 0x${flags.toString(16)}`);
    const hasLabels = (flags & 1) === 1;
    const metaLen = dv.getUint32(28, true);
    const expect = HEADER_BYTES + 4 * n * words + (hasLabels ? 4 * n : 0) + metaLen;
    if (buf.length !== expect) fail(`${buf.length} bytes, but the header (${n} codes of ${bits} bits${hasLabels ? ', labels' : ''}, ${metaLen} bytes of metadata) says ${expect}${buf.length < expect ? ' (truncated?)' : ''}`);
    const codes = new Uint32Array(n * words);
    for (let i = 0; i < codes.length; i++) codes[i] = dv.getUint32(HEADER_BYTES + 4 * i, true);
    let off = HEADER_BYTES + 4 * n * words;
    let labels: Uint32Array | undefined;
    if (hasLabels) {
      labels = new Uint32Array(n);
      for (let i = 0; i < n; i++) labels[i] = dv.getUint32(off + 4 * i, true);
      off += 4 * n;
    }
    let meta: Record<string, unknown>;
    const metaBytes = buf.subarray(off, off + metaLen);
    checkJsonDepth(metaBytes, LIMITS.codesMetaDepth, path, 'code database metadata');
    try {
      meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(metaBytes));
    } catch (e) {
      return fail(`metadata is not UTF-8 JSON: ${jsonErrorText(e)}`);
    }
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) fail('metadata is not a JSON object');
    let ids: (number | string)[] | undefined;
    if ('ids' in meta) {
      const v = meta.ids;
      if (!Array.isArray(v) || v.length !== n) fail(`metadata "ids" must be an array of ${n} ids`);
      ids = v as (number | string)[];
      delete meta.ids;
    }
    const db = new CodeDB(bits, opts);
    try {
      db.add(codes, labels, ids);
    } catch (e) {
      fail((e as Error).message);
    }
    db.meta = meta;
    return db;
  }

  /** The FAISS IndexBinaryFlat file bytes (see the file comment: d padded to a multiple of 8 with zero bits). */
  faissBinaryFlatBytes(): Uint8Array {
    const codeSize = (this.bits + 7) >>> 3;
    const d = codeSize * 8;
    const head = new Uint8Array(4 + 4 + 4 + 8 + 1 + 4 + 8);
    const dv = new DataView(head.buffer);
    head.set([0x49, 0x42, 0x78, 0x46], 0); // "IBxF"
    dv.setInt32(4, d, true);
    dv.setInt32(8, codeSize, true);
    dv.setBigInt64(12, BigInt(this.n), true);
    head[20] = 1; // is_trained
    dv.setInt32(21, 1, true); // metric_type METRIC_L2
    dv.setBigUint64(25, BigInt(this.n * codeSize), true);
    const body = packedBytes(this.codes, this.n, this.bits, 'little');
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  }

  /** Writes the database as a FAISS IndexBinaryFlat file (`faiss.read_index_binary(path)`), atomically. */
  exportFaissBinaryFlat(path: string): void {
    writeFileAtomic(path, [this.faissBinaryFlatBytes()]);
  }

  /** Writes n × ceil(bits/8) raw code bytes (no header; 'little': bit i = bit i%8 of byte i/8) and returns them. */
  exportPackedBytes(path?: string, bitOrder: 'little' | 'big' = 'little'): Uint8Array {
    const bytes = packedBytes(this.codes, this.n, this.bits, bitOrder);
    if (path !== undefined) writeFileAtomic(path, [bytes]);
    return bytes;
  }
}
