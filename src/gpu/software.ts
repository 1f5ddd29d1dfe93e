// Whether an adapter is a CPU rasterizer, from what WebGPU says about it: shared by Dawn in Node (gpu/adapter.ts)
// and the browser (web/adapter.ts), so SwiftShader, llvmpipe and lavapipe all get the 'software' knob preset.

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software|warp|basic render/i;

/** Why an adapter counts as software (a fallback adapter, or a CPU rasterizer by name), or undefined for hardware. */
export function softwareReason(info: GPUAdapterInfo & { isFallbackAdapter?: boolean }): string | undefined {
  if (info.isFallbackAdapter) return 'the adapter reports itself as a fallback adapter';
  const m = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.match(SOFTWARE_NAMES);
  return m ? `the adapter is ${m[0]}, a CPU rasterizer` : undefined;
}
