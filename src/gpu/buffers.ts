// The storage-buffer pool (the file is buffers.ts: "pool" in src/ops, src/cpu and shaders/ means pooling): size classes, reuse after release, and counters (allocated, in use, peaks).
import { debug } from '../config.js';

/** A buffer lent by the pool; `bytes` is what was asked for, `buffer.size` its size class. */
export interface PooledBuffer {
  buffer: GPUBuffer;
  bytes: number;
  /** Set while lent out; a double release is an error. */
  live: boolean;
}

export interface PoolStats {
  allocatedBytes: number;
  inUseBytes: number;
  peakInUseBytes: number;
  peakAllocatedBytes: number;
  buffers: number;
  reuses: number;
  allocations: number;
}

/** Size class of a request: 256 B minimum, then quarter steps between powers of two (waste ≤ 25 %). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  const p = 2 ** Math.floor(Math.log2(b));
  if (p === b) return b;
  const step = Math.max(16, p / 4);
  return Math.ceil(b / step) * step;
}

/** STORAGE | COPY_SRC | COPY_DST, as the spec's numbers (this module may load before the webgpu globals). */
export const STORAGE_USAGE = 0x80 | 0x04 | 0x08;

/** Buffer pool of one device: acquire/release by size class; dispose() frees all. */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private stats: PoolStats = { allocatedBytes: 0, inUseBytes: 0, peakInUseBytes: 0, peakAllocatedBytes: 0, buffers: 0, reuses: 0, allocations: 0 };
  private all = new Set<GPUBuffer>();

  constructor(private device: GPUDevice, private maxBufferSize: number) {}

  /** Whether a buffer of `bytes` bytes fits the adapter's per-buffer limit (acquire throws where not). */
  fits(bytes: number): boolean {
    return sizeClass(bytes) <= this.maxBufferSize;
  }

  /** Lends a storage buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number, label = 'tensor'): PooledBuffer {
    if (!(bytes > 0) || !Number.isFinite(bytes)) throw new Error(`buffer pool: cannot allocate ${bytes} bytes for ${label}`);
    if (!this.fits(bytes)) {
      throw new Error(
        `${label} needs ${(bytes / 2 ** 20).toFixed(1)} MiB, the adapter allows ${(this.maxBufferSize / 2 ** 20).toFixed(0)} MiB per buffer; use a smaller batch or size`,
      );
    }
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.stats.reuses++;
    } else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.all.add(buffer);
      this.stats.allocations++;
      this.stats.buffers++;
      this.stats.allocatedBytes += size;
      this.stats.peakAllocatedBytes = Math.max(this.stats.peakAllocatedBytes, this.stats.allocatedBytes);
      debug(`pool: new buffer ${size} B for ${label} (allocated ${this.stats.allocatedBytes} B)`);
    }
    this.stats.inUseBytes += size;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return { buffer, bytes, live: true };
  }

  /** Returns a lent buffer to the pool for reuse (GPU work already recorded on it stays ordered before any reuse). */
  release(pb: PooledBuffer): void {
    if (!pb.live) throw new Error('buffer pool: buffer released twice');
    pb.live = false;
    const size = pb.buffer.size;
    this.stats.inUseBytes -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(pb.buffer);
  }

  /** Frees the buffers that are not lent out (keeps the counters' peaks). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.allocatedBytes -= b.size;
        this.stats.buffers--;
        this.all.delete(b);
        b.destroy();
      }
    }
    this.free.clear();
  }

  /** Counters: bytes allocated, in use, and their peaks. */
  report(): PoolStats {
    return { ...this.stats };
  }

  /** Starts a new peak measurement window (peak = current). */
  resetPeaks(): void {
    this.stats.peakInUseBytes = this.stats.inUseBytes;
    this.stats.peakAllocatedBytes = this.stats.allocatedBytes;
  }

  /** Frees every buffer, lent or not. */
  dispose(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
    this.stats.allocatedBytes = 0;
    this.stats.inUseBytes = 0;
    this.stats.buffers = 0;
  }
}
