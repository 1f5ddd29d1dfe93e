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
