// What a test gets to work with, and how it is stopped early. Tests never
// read env vars, start servers or print: they use this context.
import type { KvgateConfig, TestId } from '../config/config.ts';
import type { ResultsLayout } from '../results/layout.ts';
import type { ServerEndpoint, ServerRole } from '../stack/stack.ts';
import type { SuiteEvent } from './events.ts';
import type { TestResult } from './types.ts';
import type { GuardedRunner } from '../stack/run-process.ts';

/** Why a test was stopped before it finished. */
export type AbortCause =
  | { kind: 'interrupted'; signal: 'SIGINT' | 'SIGTERM' }
  | { kind: 'server-died'; role: ServerRole; detail: string; logTail: string }
  | { kind: 'timeout'; phase: string; limitS: number };

export class SuiteAbort extends Error {
  constructor(readonly abortCause: AbortCause) {
    super(describeAbort(abortCause));
    this.name = 'SuiteAbort';
  }
}

export function describeAbort(cause: AbortCause): string {
  switch (cause.kind) {
    case 'interrupted':
      return `interrupted by ${cause.signal}`;
    case 'server-died':
      return `${cause.role} ${cause.detail}`;
    case 'timeout':
      return `timed out: ${cause.phase} exceeded ${cause.limitS}s`;
  }
}

/** The SuiteAbort behind an aborted signal, if any. */
export function abortCauseOf(signal: AbortSignal): AbortCause | undefined {
  return signal.aborted && signal.reason instanceof SuiteAbort ? signal.reason.abortCause : undefined;
}

export interface TestContext {
  cfg: KvgateConfig;
  test: TestId;
  layout: ResultsLayout;
  endpoints: Record<ServerRole, ServerEndpoint>;
  /** Baseline comparison requested and the baseline server is available. */
  useBaseline: boolean;
  /** Aborted on interruption, a dead server, or the test timeout; pass it to every request. */
  signal: AbortSignal;
  emit(event: SuiteEvent): void;
  info(message: string): void;
  warn(message: string): void;
  /** Runs a child process (lm_eval, pip) in its own group, guarded by the lifeline and the signal. */
  runProcess: GuardedRunner;
}

/** A test: runs its passes and returns a judged result. Throws (or rejects) only on infrastructure errors. */
export type TestRunner = (ctx: TestContext) => Promise<TestResult>;
