// The device limits the engine asks for, shared by Dawn's adapter selection (gpu/adapter.ts) and the browser's
// (web/adapter.ts); no Node or Dawn import here, so the browser bundle can hold it.

/** Limits the engine asks for, at the adapter's own value (the WebGPU defaults are far lower). */
export const WANTED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxBufferSize',
] as const;
export type LimitName = (typeof WANTED_LIMITS)[number];

/** WebGPU's default values of those limits at feature level core: what every core adapter offers (compatibility's
 *  defaults are lower: 128 invocations per workgroup, 16 KiB of uniform binding). */
export const SPEC_DEFAULTS: Record<LimitName, number> = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxStorageBufferBindingSize: 134217728,
  maxUniformBufferBindingSize: 65536,
  maxBufferSize: 268435456,
};
