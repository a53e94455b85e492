// Suite events. The runner never prints or writes reports itself: it emits
// these to reporters (terminal, .result files, summary.json, JUnit, GitHub,
// Buildkite, HTML), each a small class behind the Reporter interface.
import type { KvgateConfig, TestId } from '../config/config.ts';
import type { ServerRole } from '../stack/stack.ts';
import type { ExitInfo } from '../stack/supervisor.ts';
import type { OverallStatus, TestResult } from './types.ts';

export interface PassProgress {
  test: TestId;
  /** e.g. "pegaflow_pass1", "baseline", "turn 2". */
  pass: string;
  server: ServerRole;
  done: number;
  failed: number;
  total: number;
  elapsedS: number;
}

export type SuiteEvent =
  | { type: 'run-start'; config: KvgateConfig; resultsDir: string; startedAt: string; tests: TestId[] }
  | { type: 'server-starting'; role: ServerRole; commandLine: string[]; logFile: string }
  | { type: 'server-ready'; role: ServerRole; elapsedS: number }
  | { type: 'server-exited'; role: ServerRole; exit: ExitInfo; logTail: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'test-start'; test: TestId; name: string }
  | { type: 'phase'; test: TestId; phase: string }
  | { type: 'pass-start'; test: TestId; pass: string; server: ServerRole; total: number }
  | ({ type: 'progress' } & PassProgress)
  | { type: 'pass-end'; test: TestId; pass: string; server: ServerRole; summary: string }
  | { type: 'test-end'; result: TestResult };

export interface ServerRecord {
  role: ServerRole;
  commandLine: string[];
  logFile: string;
  readyAfterS?: number;
  exit?: ExitInfo;
}

/** Everything known at the end of a run; reporters turn it into files. */
export interface RunOutcome {
  config: KvgateConfig;
  resultsDir: string;
  startedAt: string;
  endedAt: string;
  status: OverallStatus;
  exitCode: number;
  tests: TestResult[];
  servers: ServerRecord[];
  warnings: string[];
  /** Set when the run stopped early: start failure, interruption, dead server. */
  abortReason?: string;
}

export interface Reporter {
  readonly name: string;
  onEvent?(event: SuiteEvent): void;
  /** Called once at the end, also after errors and interruptions. Must not throw. */
  onEnd?(outcome: RunOutcome): Promise<void>;
  /**
   * Last-chance synchronous write when the process must exit now (second
   * Ctrl-C): only reporters whose files must never be missing implement it.
   */
  onEndSync?(outcome: RunOutcome): void;
}

/** Fans events out to reporters; a reporter that throws is reported, never fatal. */
export class EventBus {
  private readonly errors: string[] = [];
  constructor(readonly reporters: Reporter[]) {}

  emit(event: SuiteEvent): void {
    for (const r of this.reporters) {
      try {
        r.onEvent?.(event);
      } catch (err) {
        this.errors.push(`reporter ${r.name} failed on ${event.type}: ${(err as Error).message}`);
      }
    }
  }

  async end(outcome: RunOutcome): Promise<string[]> {
    for (const r of this.reporters) {
      try {
        await r.onEnd?.(outcome);
      } catch (err) {
        this.errors.push(`reporter ${r.name} failed at the end: ${(err as Error).message}`);
      }
    }
    return this.errors;
  }

  endSync(outcome: RunOutcome): void {
    for (const r of this.reporters) {
      try {
        r.onEndSync?.(outcome);
      } catch {
        // exiting now; nothing else can be done
      }
    }
  }
}
