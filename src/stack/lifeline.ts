// The harness side of the lifeline: starts the watchdog (src/stack/lifeline-watchdog.mjs)
// and tells it which process groups to stop if this process dies without
// stopping them itself (SIGKILL, OOM killer, runner timeout).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

const WATCHDOG = fileURLToPath(new URL('./lifeline-watchdog.mjs', import.meta.url));

export interface Lifeline {
  readonly watchdogPid: number;
  guard(pgid: number): void;
  release(pgid: number): void;
  /** SIGKILL every guarded group now (second Ctrl-C, also while servers are still starting). */
  killNow(): void;
  /** Normal shutdown: the watchdog exits without stopping anything still guarded. */
  close(): void;
}

export function startLifeline(opts: { graceS: number; reportFile: string }): Lifeline {
  mkdirSync(dirname(opts.reportFile), { recursive: true });
  const errFd = openSync(opts.reportFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [WATCHDOG, String(opts.graceS), opts.reportFile], {
      detached: true,
      stdio: ['pipe', 'ignore', errFd],
    });
  } finally {
    closeSync(errFd);
  }
  child.unref();
  const stdin = child.stdin!;
  (stdin as unknown as Socket).unref?.();
  stdin.on('error', () => {}); // watchdog gone: nothing to tell it any more
  const guarded = new Set<number>();
  const send = (line: string) => {
    if (!stdin.destroyed) stdin.write(line + '\n');
  };
  return {
    watchdogPid: child.pid!,
    guard(pgid) {
      guarded.add(pgid);
      send(`guard ${pgid}`);
    },
    release(pgid) {
      guarded.delete(pgid);
      send(`release ${pgid}`);
    },
    killNow() {
      for (const pgid of guarded) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // group already gone
        }
      }
    },
    close() {
      for (const pgid of guarded) send(`release ${pgid}`);
      guarded.clear();
      stdin.end();
    },
  };
}
