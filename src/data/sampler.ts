/**
 * P×K class-balanced batches for in-batch triplet mining: each batch holds P distinct classes × K images each,
 * laid out class-major (images k·K … k·K+K−1 belong to the k-th class of the batch).
 *
 * Epoch = ceil(N / (P·K)) batches, N = number of training indices. Within an epoch each class is drawn
 * without replacement from a shuffled "pass" over its images; a class whose pass runs out starts a new
 * shuffled pass (never repeating an image inside one batch). Classes for a step are the P with the most
 * images left in their pass (random tie-break), so every index is used once per epoch whenever the
 * sizes allow it (e.g. P = number of classes and K dividing every class size); otherwise the shortfall is
 * at most one partial pass per class, and a few images repeat to keep every batch full.
 *
 * Determinism: an epoch's batches are a pure function of (seed, epoch) — each epoch starts fresh passes
 * from `Rng.derive(seed, …, epoch, …)` — so `batch(epoch, step)` is random access and resuming at
 * (epoch, step) gives exactly the batches an uninterrupted run would have seen.
 */
import { DataError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

/** One batch: P·K pooled image indices (class-major) and their labels. */
export interface PKBatch {
  epoch: number;
  step: number;
  indices: Uint32Array;
  labels: Uint32Array;
  /** The P classes, in batch order. */
  classes: number[];
}

const STREAM_PASS = 1; // Rng.derive keys: (seed, STREAM_PASS, epoch, class, pass) shuffles a class pass
const STREAM_PICK = 2; // (seed, STREAM_PICK, epoch) breaks ties between classes

/** Class-balanced P×K batch sampler over `indices` (into `labels`), deterministic for a seed and resumable. */
export class PKSampler {
  /** Batches per epoch: ceil(N / (P·K)). */
  readonly stepsPerEpoch: number;
  /** Classes present among the indices, ascending. */
  readonly classes: number[];
  private readonly members: Uint32Array[]; // per entry of `classes`: its indices, ascending
  private cache: { epoch: number; plan: Uint32Array; picks: Uint16Array } | null = null;

  /** labels: label per pooled index; indices: the training indices to draw from. */
  constructor(
    private readonly labels: ArrayLike<number>,
    indices: ArrayLike<number>,
    readonly P: number,
    readonly K: number,
    readonly seed: number,
  ) {
    for (const [name, v] of [['P', P], ['K', K]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new DataError('config', `PKSampler: ${name} must be a positive integer, got ${v}.`);
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError('config', `PKSampler: seed must be a non-negative integer, got ${seed}.`);
    if (indices.length === 0) throw new DataError('config', 'PKSampler: no training indices.');
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i];
      if (!(Number.isInteger(idx) && idx >= 0 && idx < labels.length)) {
        throw new DataError('config', `PKSampler: index ${idx} (position ${i}) is outside the ${labels.length} labels.`);
      }
      const c = labels[idx];
      let list = byClass.get(c);
      if (!list) byClass.set(c, (list = []));
      list.push(idx);
    }
    this.classes = [...byClass.keys()].sort((a, b) => a - b);
    if (P > this.classes.length) {
      throw new DataError('config', `PKSampler: P=${P} classes per batch (tqhash train --classes), but the training set has only ${this.classes.length} classes; use P ≤ ${this.classes.length}.`);
    }
    this.members = this.classes.map((c) => Uint32Array.from(byClass.get(c)!).sort());
    const small = this.classes.filter((_, j) => this.members[j].length < K);
    if (small.length) {
      const j = this.classes.indexOf(small[0]);
      throw new DataError(
        'config',
        `PKSampler: class ${small[0]} has ${this.members[j].length} training images, fewer than K=${K}, the images of a class in a batch${small.length > 1 ? ` (${small.length} classes are that small)` : ''}; lower K to ≤ ${Math.min(...small.map((c) => this.members[this.classes.indexOf(c)].length))} (tqhash train: --batch ≤ P×K), or use a split with more training images.`,
      );
    }
    this.stepsPerEpoch = Math.ceil(indices.length / (P * K));
  }

  /** The batch at (epoch, step); the same for the same seed, however it is reached. */
  batch(epoch: number, step: number): PKBatch {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new DataError('config', `PKSampler: epoch must be a non-negative integer, got ${epoch}.`);
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new DataError('config', `PKSampler: step ${step} is outside 0..${this.stepsPerEpoch - 1} (steps per epoch).`);
    }
    if (this.cache?.epoch !== epoch) this.cache = { epoch, ...this.plan(epoch) };
    const B = this.P * this.K;
    const indices = this.cache.plan.slice(step * B, (step + 1) * B);
    const labels = new Uint32Array(B);
    for (let i = 0; i < B; i++) labels[i] = this.labels[indices[i]];
    const classes = Array.from(this.cache.picks.subarray(step * this.P, (step + 1) * this.P), (j) => this.classes[j]);
    return { epoch, step, indices, labels, classes };
  }

  /** Batches from (fromEpoch, fromStep) on, without end; break out when done. */
  *batches(fromEpoch = 0, fromStep = 0): Generator<PKBatch> {
    for (let e = fromEpoch; ; e++) {
      for (let s = e === fromEpoch ? fromStep : 0; s < this.stepsPerEpoch; s++) yield this.batch(e, s);
    }
  }

  // Every batch of one epoch: P·K indices per step, and the class slots picked per step.
  private plan(epoch: number): { plan: Uint32Array; picks: Uint16Array } {
    const { P, K, seed } = this;
    const C = this.classes.length;
    const plan = new Uint32Array(this.stepsPerEpoch * P * K);
    const picks = new Uint16Array(this.stepsPerEpoch * P);
    const pass = new Array<number>(C).fill(0);
    const ptr = new Array<number>(C).fill(0);
    const perm = this.members.map((m, j) => Rng.derive(seed, STREAM_PASS, epoch, j, 0).shuffle(m.slice()));
    const tie = Rng.derive(seed, STREAM_PICK, epoch);
    const prio = new Float64Array(C);
    const order = Array.from({ length: C }, (_, j) => j);
    let out = 0;
    for (let step = 0; step < this.stepsPerEpoch; step++) {
      for (let j = 0; j < C; j++) prio[j] = perm[j].length - ptr[j] + tie.float();
      order.sort((a, b) => prio[b] - prio[a]);
      for (let p = 0; p < P; p++) {
        const j = order[p];
        picks[step * P + p] = j;
        const start = out;
        for (let k = 0; k < K; k++) {
          if (ptr[j] === perm[j].length) {
            // New pass; images already in this batch go to its end so the batch has K distinct images.
            pass[j]++;
            const fresh = Rng.derive(seed, STREAM_PASS, epoch, j, pass[j]).shuffle(this.members[j].slice());
            const taken = new Set(plan.subarray(start, out));
            const head = fresh.filter((v) => !taken.has(v));
            const tail = fresh.filter((v) => taken.has(v));
            perm[j] = Uint32Array.from([...head, ...tail]);
            ptr[j] = 0;
          }
          plan[out++] = perm[j][ptr[j]++];
        }
      }
    }
    return { plan, picks };
  }
}
