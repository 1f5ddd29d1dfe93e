// Batch assembly on the GPU: image bytes uploaded once, then per step a gather + random crop/flip + normalisation.
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';

/** Per-channel normalisation (mean and std of pixel/255). */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** CIFAR-10 training-set statistics of pixel/255, per channel (R, G, B). */
export const CIFAR10_NORM: Normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** Image bytes resident on the GPU: n images of 3×side×side bytes (CHW), split over two bindings. */
export class ImageStore {
  readonly chunks: Tensor[];
  readonly perChunk: number;

  constructor(images: Uint8Array, readonly count: number, readonly side: number) {
    const per = 3 * side * side;
    if (images.length !== count * per) throw new Error(`ImageStore: ${images.length} bytes for ${count} images of 3×${side}×${side}`);
    const maxBytes = Math.min(runtime().limits.maxStorageBufferBindingSize, runtime().limits.maxBufferSize);
    // Whole images per chunk, 4-byte aligned (u32 words).
    let perChunk = Math.floor(maxBytes / per);
    while ((perChunk * per) % 4) perChunk--;
    perChunk = Math.min(perChunk, Math.max(1, count));
    if (count > 2 * perChunk) {
      throw new Error(`ImageStore: ${count} images of ${per} bytes need more than two ${maxBytes}-byte bindings; use fewer images or a smaller side`);
    }
    this.perChunk = perChunk;
    this.chunks = [];
    for (let start = 0; start < Math.max(count, 1); start += perChunk) {
      const n = Math.min(perChunk, count - start);
      const bytes = images.subarray(start * per, (start + n) * per);
      // A view when the bytes are whole aligned words (the data sets' own arrays): a copy of 184 MB took 0.5 s of
      // the trainer's start-up.
      const aligned = bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0;
      const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Uint32Array(Math.ceil(bytes.length / 4));
      if (!aligned) new Uint8Array(words.buffer).set(bytes);
      this.chunks.push(Tensor.from(words, [words.length], 'u32', 'images').keep());
    }
  }

  /** The batch `indices` (into this store) as normalised f32 NCHW, with random crop (pad) and flip when asked. */
  batch(indices: Uint32Array, opts: { norm: Normalisation; pad?: number; flip?: boolean; seed?: number; step?: number }): Tensor {
    const n = indices.length;
    for (const i of indices) if (i >= this.count) throw new Error(`ImageStore.batch: index ${i} out of range (store has ${this.count} images)`);
    const idx = Tensor.from(indices, [n], 'u32', 'batch indices');
    const out = Tensor.empty([n, 3, this.side, this.side], 'f32', 'batch');
    const wg = knob('ops.WG');
    const { mean, std } = opts.norm;
    runtime().dispatch(
      { file: 'augment.wgsl', entry: 'augment', overrides: { WG: wg } },
      {
        bindings: { images0: this.chunks[0].buffer, images1: (this.chunks[1] ?? this.chunks[0]).buffer, index: idx.buffer, out: out.buffer },
        params: {
          n, side: this.side, pad: opts.pad ?? 0, flip: opts.flip ? 1 : 0, seed: (opts.seed ?? 0) >>> 0, step: (opts.step ?? 0) >>> 0,
          per_chunk: this.perChunk, _pad0: 0, mean0: mean[0], mean1: mean[1], mean2: mean[2], _pad1: 0,
          istd0: 1 / std[0], istd1: 1 / std[1], istd2: 1 / std[2], _pad2: 0,
        },
        workgroups: grid1d(n * this.side * this.side, wg),
      },
    );
    idx.dispose();
    return out;
  }

  /** Frees the GPU copies. */
  dispose(): void {
    for (const c of this.chunks) c.dispose();
  }
}
