// Every op family: forward dispatch beside its backward rule (registered with defineBackward).
// Names must be unique across families (they are re-exported flat).
export * from '../gpu/grid.js';
export * from './shape.js';
export * from './matmul.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './conv.js';
export * from './pool.js';
export * from './norm.js';
export * from './bn-pool.js';
export * from './loss.js';
export * from './random.js';
export * from './tql.js';
export * from './quantize.js';
export * from './hamming.js';
export * from './rank.js';
export * from './augment.js';
export * from './autotune.js';
