// Adapter selection: hardware first, then the software adapters that Dawn accepts, each step logged.
import { existsSync, readFileSync } from 'node:fs';
import { cacheHome } from '../util/fs.js';
import { hostCpu } from '../util/host.js';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { debug, flags } from '../config.js';
import { formatKnobs } from './knobs.js';
import { softwareReason } from './software.js';
import { SPEC_DEFAULTS, WANTED_LIMITS, type LimitName } from './limits.js';
import { withNativeStderrMuted, withRuntimeDir } from './native-stderr.js';

export { WANTED_LIMITS, type LimitName };

/** What was chosen and why: printed at the head of every report. */
export interface AdapterInfo {
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
  featureLevel: 'core' | 'compatibility';
  software: boolean;
  softwareReason?: string;
  features: string[];
  /** Where the device was opened with the 'subgroups' feature: the adapter's smallest and largest subgroup sizes
   *  (kernels with a subgroup variant size their per-subgroup scratch by the smallest); absent otherwise. */
  subgroups?: { min: number; max: number };
  limits: Record<LimitName, { requested: number; adapter: number; default: number }>;
  webgpuPackage: string;
  node: string;
  platform: string;
  tried: string[];
}

export interface Selected {
  instance: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  info: AdapterInfo;
}

/** Thrown when no adapter can be had; the message names what was tried and how to fix it. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

let globalsInstalled = false;
function installGlobals(): void {
  // GPUBufferUsage, GPUMapMode, ... are read as globals by the runtime.
  if (!globalsInstalled) Object.assign(globalThis, globals);
  globalsInstalled = true;
}

function webgpuVersion(): string {
  try {
    const req = createRequire(import.meta.url);
    const pkgPath = req.resolve('webgpu/package.json');
    return JSON.parse(readFileSync(pkgPath, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** True when a Vulkan loader can be found (Dawn prints a warning when it tries without one). */
function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64',
  ];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

interface Attempt {
  label: string;
  options: string[];
  featureLevel: 'core' | 'compatibility';
  /** Accept only a hardware adapter at this step. */
  hardwareOnly: boolean;
}

function attempts(): Attempt[] {
  const f = flags();
  const adapterOpt = f.adapter ? [`adapter=${f.adapter}`] : [];
  if (f.backend) {
    const fl = f.featureLevel ?? (f.backend === 'opengles' || f.backend === 'opengl' ? 'compatibility' : 'core');
    return [{ label: `TQHASH_BACKEND=${f.backend}`, options: [`backend=${f.backend}`, ...adapterOpt], featureLevel: fl, hardwareOnly: false }];
  }
  const list: Attempt[] = [];
  const vk = hasVulkanLoader();
  if (vk || process.platform !== 'linux') {
    list.push({ label: 'default backend, hardware', options: adapterOpt, featureLevel: f.featureLevel ?? 'core', hardwareOnly: true });
  } else {
    debug('no Vulkan loader (libvulkan.so.1) found: skipping the default (Vulkan) backend');
  }
  list.push({ label: 'opengles (llvmpipe)', options: ['backend=opengles', ...adapterOpt], featureLevel: f.featureLevel ?? 'compatibility', hardwareOnly: false });
  if (vk) list.push({ label: 'vulkan (lavapipe)', options: ['backend=vulkan', ...adapterOpt], featureLevel: f.featureLevel ?? 'core', hardwareOnly: false });
  return list;
}

function isSoftware(adapter: GPUAdapter): string | undefined {
  return softwareReason(adapter.info);
}

const FIX = `No WebGPU adapter could be found. On a machine without a GPU, tqhash runs on Mesa's llvmpipe through Dawn's OpenGL ES backend.
On Debian/Ubuntu install the Mesa EGL and GL drivers:
  sudo apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri
and run again (EGL_PLATFORM=surfaceless is set by tqhash when unset). With a GPU, install its Vulkan driver and the loader (libvulkan1).
To force a choice: TQHASH_BACKEND=vulkan|opengles, TQHASH_ADAPTER=<name>, TQHASH_DEBUG=1 to see each step.`;

/** The Mesa variables tqhash sets where the user has not: EGL_PLATFORM=surfaceless (Mesa's EGL without a display
 *  server), and with LP_NATIVE_VECTOR_WIDTH a shader cache of that width's own (MESA_SHADER_CACHE_DIR): Mesa 22.3's
 *  cache key leaves llvmpipe's vector width out, so a changed width would silently run the code compiled at the old
 *  one (bench/NOTES.md, 2026-12-02). */
export function mesaEnvDefaults(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env.EGL_PLATFORM) out.EGL_PLATFORM = 'surfaceless';
  const width = env.LP_NATIVE_VECTOR_WIDTH;
  if (width && !env.MESA_SHADER_CACHE_DIR && !env.MESA_SHADER_CACHE_DISABLE) {
    out.MESA_SHADER_CACHE_DIR = join(cacheHome(env), `mesa_shader_cache-lp${width.replace(/[^0-9A-Za-z]/g, '')}`);
  }
  return out;
}

/** Picks the adapter (hardware first, then software), creates the device with the limits the engine needs. */
export async function selectAdapter(): Promise<Selected> {
  installGlobals();
  // Read by Mesa when the first adapter is requested, so set before it.
  Object.assign(process.env, mesaEnvDefaults(process.env));
  const tried: string[] = [];
  let softwareFallback: { instance: GPU; adapter: GPUAdapter; attempt: Attempt; reason: string } | undefined;
  for (const at of attempts()) {
    const got = await withRuntimeDir(() => withNativeStderrMuted(() => openAdapter(at, tried)));
    if (!got) continue;
    const { instance, adapter } = got;
    const sw = isSoftware(adapter);
    debug(`${at.label}: adapter "${adapter.info.device || adapter.info.description}"${sw ? ` (software: ${sw})` : ''}`);
    if (sw && at.hardwareOnly) {
      tried.push(`${at.label}: only a software adapter (${adapter.info.device || adapter.info.description})`);
      softwareFallback ??= { instance, adapter, attempt: at, reason: sw };
      continue;
    }
    tried.push(`${at.label}: chosen`);
    return await openDevice(instance, adapter, at, sw, tried);
  }
  if (softwareFallback) {
    tried.push(`${softwareFallback.attempt.label}: chosen as the last resort`);
    return await openDevice(softwareFallback.instance, softwareFallback.adapter, softwareFallback.attempt, softwareFallback.reason, tried);
  }
  const triedList = `Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}`;
  const narrowed = ['TQHASH_BACKEND', 'TQHASH_FEATURE_LEVEL', 'TQHASH_ADAPTER'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
  if (narrowed.length) throw new NoAdapterError(`no WebGPU adapter matches ${narrowed.join(' ')}: unset ${narrowed.length > 1 ? 'them' : 'it'} to let tqhash choose (tqhash info then names the adapter it finds)\n${triedList}`);
  throw new NoAdapterError(`${FIX}\n${triedList}`);
}

/** Creates the instance of one attempt and asks it for an adapter; null (with the reason in `tried`) when none. */
async function openAdapter(at: Attempt, tried: string[]): Promise<{ instance: GPU; adapter: GPUAdapter } | null> {
  let instance: GPU;
  try {
    instance = create(at.options) as GPU;
  } catch (e) {
    tried.push(`${at.label}: ${(e as Error).message.split('\n')[0]}`);
    debug(`${at.label}: create failed: ${(e as Error).message}`);
    return null;
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await instance.requestAdapter({ featureLevel: at.featureLevel } as GPURequestAdapterOptions);
  } catch (e) {
    debug(`${at.label}: requestAdapter threw: ${(e as Error).message}`);
  }
  if (!adapter) {
    tried.push(`${at.label} (feature level ${at.featureLevel}): no adapter`);
    debug(`${at.label}: no adapter`);
    return null;
  }
  return { instance, adapter };
}

async function openDevice(instance: GPU, adapter: GPUAdapter, at: Attempt, software: string | undefined, tried: string[]): Promise<Selected> {
  const requiredLimits: Record<string, number> = {};
  const limits = {} as AdapterInfo['limits'];
  // TQHASH_LIMITS=default: WebGPU's core defaults (where the adapter offers them), what the least core adapter has.
  const atDefaults = flags().limits === 'default';
  for (const name of WANTED_LIMITS) {
    const offered = adapter.limits[name] as number;
    requiredLimits[name] = atDefaults ? Math.min(offered, SPEC_DEFAULTS[name]) : offered;
    limits[name] = { requested: offered, adapter: offered, default: 0 };
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const sg = subgroupSizes(adapter);
  if (sg) requiredFeatures.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'tqhash' });
  for (const name of WANTED_LIMITS) limits[name].requested = device.limits[name] as number;
  const i = adapter.info;
  const info: AdapterInfo = {
    name: i.device || i.description || 'unknown',
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    backend: at.options.find((o) => o.startsWith('backend='))?.slice(8) ?? 'default',
    featureLevel: ((adapter as GPUAdapter & { featureLevel?: string }).featureLevel as AdapterInfo['featureLevel']) ?? at.featureLevel,
    software: software !== undefined,
    softwareReason: software,
    features: [...adapter.features].sort(),
    subgroups: sg,
    limits,
    webgpuPackage: webgpuVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tried,
  };
  fillDefaults(info);
  return { instance, adapter, device, info };
}

/** The adapter's subgroup sizes where it offers 'subgroups' (core feature level) and reports sane sizes; else undefined. */
function subgroupSizes(adapter: GPUAdapter): { min: number; max: number } | undefined {
  const i = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const min = i.subgroupMinSize ?? 0, max = i.subgroupMaxSize ?? 0;
  return adapter.features.has('subgroups') && min >= 1 && max >= min ? { min, max } : undefined;
}

// The spec's default beside each limit in the report (gpu/limits.ts), to show how far above it the engine asks.
function fillDefaults(info: AdapterInfo): void {
  for (const name of WANTED_LIMITS) info.limits[name].default = SPEC_DEFAULTS[name];
}

/** The adapter block that heads every report, as plain text lines, closed by the knobs in use. */
export function formatAdapterInfo(info: AdapterInfo): string {
  const lines = [
    `adapter   ${info.name}${info.description && info.description !== info.name ? ` (${info.description})` : ''}`,
    `backend   ${info.backend}, feature level ${info.featureLevel}`,
    info.software
      ? `SOFTWARE  yes: ${info.softwareReason}. No GPU is in use; numbers are CPU-bound.`
      : `software  no (hardware adapter)`,
    `features  ${info.features.length ? info.features.join(', ') : '(none)'}${info.subgroups ? ` (subgroups of ${info.subgroups.min === info.subgroups.max ? info.subgroups.min : `${info.subgroups.min}–${info.subgroups.max}`} invocations: enabled)` : ''}`,
    `versions  webgpu ${info.webgpuPackage}, node ${info.node}, ${info.platform}`,
    `cpu       ${hostCpu()}`,
    `limits    name                                requested      adapter  spec default`,
  ];
  for (const [name, l] of Object.entries(info.limits)) {
    lines.push(`          ${name.padEnd(34)} ${String(l.requested).padStart(11)} ${String(l.adapter).padStart(12)} ${String(l.default).padStart(13)}`);
  }
  lines.push(`selection ${info.tried.join('; ')}`);
  lines.push(formatKnobs());
  return lines.join('\n');
}
