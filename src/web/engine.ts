// The browser engine of the demo page: the run's model and database codes, and one query's forward pass, sign + pack
// and Hamming top-k — the library's own functions (buildModel, ImageStore, signPack, gpuHammingTopK) on
// navigator.gpu, no DOM. The page (web/page.ts) calls it; the site's files are written by web/site.ts.
import shaders from 'tqhash:shaders';
import { init, scope, Tensor, type DType } from '../tensor.js';
import type { Runtime } from '../gpu/runtime.js';
import { noGrad } from '../autograd.js';
import { buildModel } from '../train/model.js';
import { decodeSafetensors } from '../nn/safetensors.js';
import { loadStateDict } from '../nn/io.js';
import type { Module } from '../nn/module.js';
import { ImageStore, type Normalisation } from '../ops/augment.js';
import { signPack } from '../ops/quantize.js';
import { gpuHammingTopK } from '../hash/gpu-search.js';
import { wordsPerCode } from '../hash/codes.js';
import type { DemoMeta } from './meta.js';

/** The database codes of a `.tqhc` file (layout in hash/codedb.ts), checked against its own header. */
export interface Codes {
  bits: number;
  words: number;
  n: number;
  data: Uint32Array;
  labels?: Uint32Array;
}

/** Parses db.codes bytes; throws one line naming what is wrong. */
export function parseCodes(buf: ArrayBuffer, what = 'db.codes'): Codes {
  const dv = new DataView(buf);
  const bad = (why: string): never => {
    throw new Error(`${what}: not a tqhash code database: ${why}`);
  };
  if (buf.byteLength < 32) bad(`${buf.byteLength} bytes, shorter than the 32-byte header`);
  if (String.fromCharCode(...new Uint8Array(buf, 0, 4)) !== 'TQHC') bad('no TQHC magic');
  const bits = dv.getUint32(8, true), words = dv.getUint32(12, true), n = Number(dv.getBigUint64(16, true)), flags = dv.getUint32(24, true);
  if (bits < 1 || words !== wordsPerCode(bits)) bad(`${bits} bits in ${words} words per code`);
  const hasLabels = (flags & 1) === 1;
  const need = 32 + 4 * n * words + (hasLabels ? 4 * n : 0);
  if (!Number.isSafeInteger(need) || buf.byteLength < need) bad(`${buf.byteLength} bytes, the header says at least ${need}`);
  const data = new Uint32Array(buf.slice(32, 32 + 4 * n * words));
  const labels = hasLabels ? new Uint32Array(buf.slice(32 + 4 * n * words, need)) : undefined;
  return { bits, words, n, data, labels };
}

/** Time of each stage of one query, in milliseconds. */
export interface StageTimes {
  upload: number;
  forward: number;
  signPack: number;
  search: number;
}

/** One query's answer: its code, the top-k database positions and their Hamming distances, the stage times. */
export interface QueryResult {
  code: Uint32Array;
  positions: Uint32Array;
  distances: Uint32Array;
  times: StageTimes;
}

/** The loaded model and codes on one runtime. */
export class DemoEngine {
  private constructor(
    readonly rt: Runtime,
    readonly meta: DemoMeta,
    private model: Module,
    readonly codes: Codes,
    private db: Tensor,
  ) {}

  /** Opens the runtime, registers the inlined shaders, loads the model and the codes; throws one line on a mismatch. */
  static async open(meta: DemoMeta, modelBytes: ArrayBuffer, codesBytes: ArrayBuffer): Promise<DemoEngine> {
    const codes = parseCodes(codesBytes);
    if (codes.bits !== meta.model.bits) {
      throw new Error(`the model makes ${meta.model.bits}-bit codes but db.codes holds ${codes.bits}-bit codes: the site mixes two runs; write it again with tqhash demo RUN`);
    }
    const rt = await init();
    for (const [file, code] of Object.entries(shaders)) rt.kernels.registerSource(file, code);
    const model = buildModel(meta.model);
    loadStateDict(model, decodeSafetensors(new Uint8Array(modelBytes), 'model.safetensors').tensors, 'model.safetensors');
    model.eval();
    const db = Tensor.from(codes.data, [codes.n, codes.words], 'u32' as DType, 'db codes').keep();
    return new DemoEngine(rt, meta, model, codes, db);
  }

  /** Searches with one image (3×side×side bytes, CHW): forward, sign + pack, Hamming top-k. */
  async query(chw: Uint8Array, k: number): Promise<QueryResult> {
    const side = this.meta.side;
    if (chw.length !== 3 * side * side) throw new Error(`query image has ${chw.length} bytes, expected 3×${side}×${side}`);
    const t0 = performance.now();
    const store = new ImageStore(chw, 1, side);
    try {
      const norm: Normalisation = this.meta.norm;
      const x = store.batch(Uint32Array.of(0), { norm }).keep();
      await x.toArray();
      const t1 = performance.now();
      const f = noGrad(() => scope(() => this.model.forward(x).keep()));
      await f.toArray();
      const t2 = performance.now();
      const c = scope(() => signPack(f).keep());
      const code = (await c.toArray()) as Uint32Array;
      const t3 = performance.now();
      for (const t of [x, f, c]) t.dispose();
      const r = await gpuHammingTopK(code, this.db, 1, this.codes.n, this.codes.bits, k);
      const t4 = performance.now();
      return { code, positions: r.indices, distances: r.distances, times: { upload: t1 - t0, forward: t2 - t1, signPack: t3 - t2, search: t4 - t3 } };
    } finally {
      store.dispose();
    }
  }
}
