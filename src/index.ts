// Public API of tqhash. Each area keeps its own index; names are grouped by namespace to avoid collisions.
export * as gpu from './gpu/index.js';
export { flags, flagsSet } from './config.js';
export * as cpu from './cpu/index.js';
export * as data from './data/index.js';
export * as hash from './hash/index.js';
