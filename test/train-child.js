// Runs bench/train.js as a real child process for the signal tests: its output as it comes, waits for a line.
import { spawn } from 'node:child_process';

/** Spawns `node bench/train.js ...args`; `waitFor(re, stream)` resolves when the output matches (rejects on exit). */
export function spawnTrain(args) {
  const child = spawn(process.execPath, ['bench/train.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  const waiters = [];
  let closed = null;
  const check = () => {
    for (const w of waiters.slice()) {
      if (w.re.test(out[w.stream])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', (d) => { out.stdout += d; check(); });
  child.stderr.on('data', (d) => { out.stderr += d; check(); });
  // 'close': both streams fully read.
  const exited = new Promise((resolve) => child.on('close', (code, signal) => {
    closed = signal ?? code;
    for (const w of waiters) w.reject(new Error(`exited (${signal ?? code}) before ${w.stream} matched ${w.re}:\n${out.stderr}`));
    resolve(signal ?? code);
  }));
  const waitFor = (re, stream = 'stderr') => new Promise((resolve, reject) => {
    if (re.test(out[stream])) return resolve();
    if (closed !== null) return reject(new Error(`exited (${closed}) before ${stream} matched ${re}:\n${out.stderr}`));
    waiters.push({ re, stream, resolve, reject });
  });
  return { child, out, exited, waitFor };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
