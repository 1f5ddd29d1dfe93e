// The browser's side of the runtime's adapter layer: the same exports as gpu/adapter.ts, on navigator.gpu instead of
// Dawn's create(). The browser bundle (scripts/build.mjs) resolves '../gpu/adapter.js' to this file, so no Node
// module (webgpu, node:fs, node:module) reaches it; everything above the adapter (runtime, kernels, ops) is shared.
import type { AdapterInfo, LimitName, Selected } from '../gpu/adapter.js';
import { WANTED_LIMITS } from '../gpu/limits.js';
import { softwareReason } from '../gpu/software.js';
import { formatKnobs } from '../gpu/knobs.js';

export type { AdapterInfo, LimitName, Selected };

export { WANTED_LIMITS };

/** Thrown when the browser offers no WebGPU adapter; the message says what to do. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

const NO_WEBGPU = 'This browser offers no WebGPU (navigator.gpu is missing): use a recent Chrome, Edge or Safari, or Chromium with --enable-unsafe-webgpu';

/** Asks navigator.gpu for an adapter and a device with the limits the engine needs. */
export async function selectAdapter(): Promise<Selected> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new NoAdapterError(NO_WEBGPU);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new NoAdapterError('navigator.gpu.requestAdapter() found no adapter: WebGPU may be disabled in this browser (chrome://gpu says why)');
  const requiredLimits: Record<string, number> = {};
  const limits = {} as AdapterInfo['limits'];
  for (const name of WANTED_LIMITS) {
    requiredLimits[name] = adapter.limits[name] as number;
    limits[name] = { requested: adapter.limits[name] as number, adapter: adapter.limits[name] as number, default: 0 };
  }
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'tqhash' });
  for (const name of WANTED_LIMITS) limits[name].requested = device.limits[name] as number;
  const i = adapter.info;
  const sw = softwareReason(i);
  const info: AdapterInfo = {
    name: i.device || i.description || `${i.vendor} ${i.architecture}`.trim() || 'unknown',
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    backend: 'browser',
    featureLevel: 'core',
    software: sw !== undefined,
    softwareReason: sw,
    features: [...adapter.features].sort() as string[],
    limits,
    webgpuPackage: 'navigator.gpu',
    node: 'none',
    platform: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? 'browser',
    tried: ['navigator.gpu.requestAdapter(): chosen'],
  };
  return { instance: gpu, adapter, device, info };
}

/** The adapter block, as plain lines (the page shows it). */
export function formatAdapterInfo(info: AdapterInfo): string {
  return [
    `adapter   ${info.vendor} / ${info.name}`,
    info.software ? `SOFTWARE  yes: ${info.softwareReason}` : 'software  no (hardware adapter)',
    `features  ${info.features.join(', ') || '(none)'}`,
    formatKnobs(),
  ].join('\n');
}
