// The WebGPU runtime: adapter selection, kernels, buffer pool, command recorder, read-back.
export { selectAdapter, formatAdapterInfo, NoAdapterError, WANTED_LIMITS, type AdapterInfo } from './adapter.js';
export { KernelCache, KernelError, kernelKey, SHADER_DIR, type Kernel, type KernelRef, type StorageBinding, type UniformBinding } from './kernels.js';
export { BufferPool, sizeClass, type PooledBuffer, type PoolStats } from './pool.js';
export { Runtime, GpuError, getRuntime, disposeRuntime, type BufferArg, type DispatchArgs } from './runtime.js';
export { withNativeStderrMuted, withRuntimeDir } from './native-stderr.js';
