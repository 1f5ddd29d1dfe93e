#!/usr/bin/env node
// Prints the WebGPU adapter the engine chooses, the limits it requested against what the adapter offers,
// the features and the versions: the block that heads every report.
import { gpu, flagsSet } from '../dist/index.js';

try {
  const rt = await gpu.getRuntime();
  console.log(gpu.formatAdapterInfo(rt.info));
  const set = Object.entries(flagsSet());
  console.log(`flags     ${set.length ? set.map(([k, v]) => `${k}=${v}`).join(' ') : '(no TQHASH_* variables set)'}`);
  if (process.argv.includes('--json')) console.log(JSON.stringify(rt.info, null, 2));
  await gpu.disposeRuntime();
} catch (e) {
  if (e instanceof gpu.NoAdapterError) {
    console.error(e.message);
    process.exit(2);
  }
  throw e;
}
