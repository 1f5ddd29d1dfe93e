// Optimisers (kernels in shaders/optim.wgsl) and learning-rate schedules (host).
export { Optimizer, setOptimVariant, type OptimVariant, type ParamList, type SavedTensor } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { constantLr, stepLr, cosineLr, type LrSchedule } from './schedule.js';
