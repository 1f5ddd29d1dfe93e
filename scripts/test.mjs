// Runs the uvu suite (after the build) and closes with one plain line: "N passed, N failed".
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pattern = process.argv[2] ?? '\\.test\\.js$';
const child = spawn(process.execPath, [join(root, 'node_modules/uvu/bin.js'), 'test', pattern, '-c', 'false'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  out += d.toString();
});
child.on('close', (code, signal) => {
  const total = [...out.matchAll(/Total:\s+(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  const passed = [...out.matchAll(/Passed:\s+(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  const skipped = [...out.matchAll(/Skipped:\s+(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  // uvu's Total counts the tests that ran (a skipped one is not in it).
  const failed = code === 0 ? total - passed : Math.max(1, total - passed);
  console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? (signal ? 1 : 0));
});
