// Runs a finite child process (lm_eval, pip) the way servers are run: own
// process group, output to a log file, stopped with its whole tree on abort
// or timeout, guarded by the lifeline if the harness dies.
import { spawnInGroup, stopGroup, tailLines, type ExitInfo, type ProcessSpec } from './supervisor.ts';
import type { Lifeline } from './lifeline.ts';

export interface GuardedRunOptions {
  signal?: AbortSignal;
  /** Phase name for the timeout message, e.g. "lm_eval first run". */
  phase: string;
  timeoutS: number;
}

export interface GuardedRunResult {
  exit: ExitInfo;
  durationS: number;
  logTail: string;
}

export class ProcessTimeoutError extends Error {
  constructor(
    readonly phase: string,
    readonly limitS: number,
    readonly logTail: string,
  ) {
    super(`${phase} timed out after ${limitS}s`);
  }
}

export type GuardedRunner = (spec: ProcessSpec, opts: GuardedRunOptions) => Promise<GuardedRunResult>;

export function guardedRunner(lifeline: Lifeline | undefined, graceS: number): GuardedRunner {
  return async (spec, opts) => {
    const started = performance.now();
    const proc = await spawnInGroup(spec);
    lifeline?.guard(proc.pgid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopGroup(proc.pgid, graceS, proc.pid);
    }, opts.timeoutS * 1000);
    const onAbort = () => void stopGroup(proc.pgid, graceS, proc.pid);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const exit = await proc.exited;
      // The leader exiting does not end its children: make sure nothing of the group is left.
      await stopGroup(proc.pgid, graceS, proc.pid);
      const logTail = tailLines(spec.logFile);
      if (timedOut) throw new ProcessTimeoutError(opts.phase, opts.timeoutS, logTail);
      opts.signal?.throwIfAborted();
      return { exit, durationS: (performance.now() - started) / 1000, logTail };
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      lifeline?.release(proc.pgid);
    }
  };
}
