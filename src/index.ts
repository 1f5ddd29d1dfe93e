// Public API of tqhash. Each area keeps its own index; names are grouped by namespace to avoid collisions.
export * as gpu from './gpu/index.js';
export { flags, flagsSet } from './config.js';
export { Tensor, init, runtime, scope, numel, setPoison, type DType } from './tensor.js';
export { backward, noGrad, record, defineBackward, differentiableOps, accumulateInto, clone, full, isGradEnabled, type TapeNode, type BackwardRule } from './autograd.js';
export * as ops from './ops/index.js';
export * as optim from './optim/index.js';
export * as nn from './nn/index.js';
export * as cpu from './cpu/index.js';
export * as data from './data/index.js';
export * as hash from './hash/index.js';
export * as bench from './bench/index.js';
export * as train from './train/index.js';
export * as cli from './cli/index.js';
export * as web from './web/site.js';
