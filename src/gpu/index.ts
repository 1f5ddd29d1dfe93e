// The WebGPU runtime: adapter selection, kernels, buffer pool, command recorder, read-back.
export { selectAdapter, mesaEnvDefaults, formatAdapterInfo, NoAdapterError, WANTED_LIMITS, type AdapterInfo } from './adapter.js';
export { KernelCache, KernelError, kernelKey, SHADER_DIR, type Kernel, type KernelRef, type StorageBinding, type UniformBinding } from './kernels.js';
export { BufferPool, sizeClass, type PooledBuffer, type PoolStats } from './buffers.js';
export { Runtime, GpuError, getRuntime, disposeRuntime, TEXEL_ROW, type BufferArg, type DispatchArgs } from './runtime.js';
export {
  knob, setKnobs, currentKnobs, knobClass, knobView, selectKnobs, presetKnobs, adapterClass, parseKnobOverrides, checkKnobs, describeKnob, formatKnobs,
  snapshotKnobs, restoreKnobs, fixedKnobs, KNOB_NAMES, CONV_VARIANTS, GEMM_VARIANTS, type KnobName, type KnobValues, type AdapterClass, type KnobSource,
} from './knobs.js';
export { autotune, defaultTuneCache, tuneKey, presetClass, readTuneCache, type TuneTask, type TuneCandidate, type TuneResult } from './autotune.js';
export { withNativeStderrMuted, withRuntimeDir } from './native-stderr.js';
export { softwareReason } from './software.js';
