// Ctrl-C (SIGINT) and SIGTERM (`kill`, a service stop) as stop requests. The first asks the run to stop at the next
// safe point (after the current step, or at once during the final evaluation) and save; signals within
// SAME_REQUEST_MS of it are the same request, because a terminal, `timeout -s INT` or a process manager that
// signals the whole process group often delivers two at once; a later one quits at once. Checkpoint files are
// written synchronously and committed by state.json last, so quitting between two event-loop turns always leaves
// the last committed checkpoint whole.

export type StopSignalName = 'SIGINT' | 'SIGTERM';

/** Signals this close to the first one are the same stop request (a process group signalled twice). */
export const SAME_REQUEST_MS = 2000;

/** What a signal means: the first stop request, a repeat of it, or "quit now". */
export type SignalAction = 'stop' | 'same' | 'quit';

/** The user-facing name and the exit code (128 + the signal's number) of a stop signal. */
export function signalInfo(sig: StopSignalName): { name: string; code: number } {
  return sig === 'SIGINT' ? { name: 'Ctrl-C', code: 130 } : { name: 'SIGTERM', code: 143 };
}

/** The stop-request policy, apart from the process (the clock is passed in, so it is testable). */
export class StopRequests {
  private readonly controller = new AbortController();
  private firstAt = -Infinity;
  /** Exit code of the first signal (0 while none came). */
  code = 0;

  /** Aborted at the first stop request. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Classifies a signal arriving at `nowMs` and records the first one. */
  receive(sig: StopSignalName, nowMs: number): SignalAction {
    if (!this.controller.signal.aborted) {
      this.firstAt = nowMs;
      this.code = signalInfo(sig).code;
      this.controller.abort();
      return 'stop';
    }
    return nowMs - this.firstAt <= SAME_REQUEST_MS ? 'same' : 'quit';
  }
}

/** Installs SIGINT/SIGTERM handlers for one command; `dispose()` removes them. */
export function handleStopSignals(): { requests: StopRequests; dispose: () => void } {
  const requests = new StopRequests();
  const onSignal = (sig: StopSignalName) => {
    const { name, code } = signalInfo(sig);
    const action = requests.receive(sig, performance.now());
    if (action === 'stop') {
      console.error(`\n${name}: stopping after this step and saving a checkpoint (${name} again, ${SAME_REQUEST_MS / 1000} s or more later, quits at once)`);
    } else if (action === 'same') {
      console.error(`${name} again within ${SAME_REQUEST_MS / 1000} s: the same stop request (still stopping and saving)`);
    } else if (action === 'quit') {
      console.error(`\n${name} again: exiting now; the last completed checkpoint is kept`);
      process.exit(code);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requests,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Thrown where a stop request ends work that has no step to finish (the final evaluation). */
export class StoppedError extends Error {
  override name = 'StoppedError';
}

/** Throws StoppedError when `signal` is aborted. */
export function throwIfStopped(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new StoppedError(`stopped during ${what}`);
}
