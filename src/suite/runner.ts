// The suite runner: starts (or finds) the servers, runs the selected tests in
// order, and makes sure every outcome — pass, fail, dead server, timeout,
// Ctrl-C — ends with every .result, overall.result, summary and log on disk
// and no process of ours left running.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KvgateConfig, TestId } from '../config/config.ts';
import { createResultsDir, layoutFor, type ResultsLayout } from '../results/layout.ts';
import { startLifeline, type Lifeline } from '../stack/lifeline.ts';
import { monitorHealth } from '../stack/monitor.ts';
import { guardedRunner } from '../stack/run-process.ts';
import { httpOk } from '../stack/readiness.ts';
import { endpointsFor, startStack, StackError, type ServerEndpoint, type ServerRole, type StackHandle, type StackObserver } from '../stack/stack.ts';
import { ServerStartError, SpawnError, describeExit } from '../stack/supervisor.ts';
import { LauncherError } from '../stack/launchers/pegaflow.ts';
import { abortCauseOf, describeAbort, SuiteAbort, type AbortCause, type TestContext, type TestRunner } from './context.ts';
import { EventBus, type Reporter, type RunOutcome, type ServerRecord } from './events.ts';
import { TEST_NAMES, worstStatus, type TestResult, type TestStatus } from './types.ts';

export interface RunSuiteOptions {
  tests: TestId[];
  runners: Record<TestId, TestRunner>;
  reporters: Reporter[];
  /** run-all-tests starts its own servers; a test script run alone uses servers that are already up. */
  startServers: boolean;
  /** Baseline server wanted (full suite, or a test without --skip-baseline). */
  baseline: boolean;
  /** Existing results dir to add to (a test script run alone next to start-servers' logs). */
  appendToDir?: string;
  /** Install SIGINT/SIGTERM handlers (off in in-process tests). */
  handleSignals?: boolean;
}

export const EXIT = { passed: 0, failed: 1, usage: 2, infrastructure: 3, sigint: 130, sigterm: 143 } as const;

export function exitCodeFor(statuses: TestStatus[], interruptedBy?: 'SIGINT' | 'SIGTERM'): number {
  if (interruptedBy) return interruptedBy === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  if (statuses.includes('error')) return EXIT.infrastructure;
  if (statuses.some((s) => s !== 'pass')) return EXIT.failed;
  return EXIT.passed;
}

function nowIso(): string {
  return new Date().toISOString();
}

/** A result the runner writes itself, for tests that could not run or finish. */
export function syntheticResult(test: TestId, status: TestStatus, reason: string, errorDetail?: string, startedAt = nowIso()): TestResult {
  const endedAt = nowIso();
  return {
    test,
    name: TEST_NAMES[test],
    status,
    reason,
    startedAt,
    endedAt,
    durationS: (Date.parse(endedAt) - Date.parse(startedAt)) / 1000,
    criteria: [],
    metrics: {},
    errorDetail,
  };
}

function rolesFor(opts: RunSuiteOptions): ServerRole[] {
  return ['pegaflow-server', 'vllm-pegaflow', ...(opts.baseline ? (['vllm-baseline'] as const) : [])];
}

export async function runSuite(cfg: KvgateConfig, opts: RunSuiteOptions): Promise<RunOutcome> {
  const startedAt = nowIso();
  const resultsDir = opts.appendToDir ?? createResultsDir(cfg.results.dir, cfg.results.explicit);
  const layout = layoutFor(resultsDir);
  const bus = new EventBus(opts.reporters);
  const warnings: string[] = [];
  const results = new Map<TestId, TestResult>();
  const servers = new Map<ServerRole, ServerRecord>();
  const endpoints = endpointsFor(cfg);
  const roles = rolesFor(opts);

  const runAbort = new AbortController();
  let interruptedBy: 'SIGINT' | 'SIGTERM' | undefined;
  let currentTestAbort: AbortController | undefined;
  let stack: StackHandle | undefined;
  let lifeline: Lifeline | undefined;
  let abortReason: string | undefined;

  const warn = (message: string) => {
    warnings.push(message);
    bus.emit({ type: 'log', level: 'warn', message });
  };
  const info = (message: string) => bus.emit({ type: 'log', level: 'info', message });

  const abortAll = (cause: AbortCause) => {
    const err = new SuiteAbort(cause);
    currentTestAbort?.abort(err);
    if (!runAbort.signal.aborted) runAbort.abort(err);
  };

  const observer: StackObserver = {
    info,
    warn,
    serverStarting(role, commandLine, logFile) {
      servers.set(role, { role, commandLine, logFile });
      bus.emit({ type: 'server-starting', role, commandLine, logFile });
    },
    serverReady(role, elapsedS) {
      const rec = servers.get(role);
      if (rec) rec.readyAfterS = elapsedS;
      bus.emit({ type: 'server-ready', role, elapsedS });
    },
    serverExited(role, exit, logTail) {
      const rec = servers.get(role);
      if (rec) rec.exit = exit;
      bus.emit({ type: 'server-exited', role, exit, logTail });
      abortAll({ kind: 'server-died', role, detail: `exited unexpectedly (${describeExit(exit)})`, logTail });
    },
  };

  const finish = (): RunOutcome => {
    for (const test of opts.tests) {
      if (results.has(test)) continue;
      const cause = abortCauseOf(runAbort.signal);
      const status: TestStatus = cause?.kind === 'interrupted' ? 'interrupted' : 'error';
      const reason = cause ? `not run: ${describeAbort(cause)}` : `not run: ${abortReason ?? 'the suite stopped early'}`;
      results.set(test, syntheticResult(test, status, reason));
    }
    const tests = opts.tests.map((t) => results.get(t)!);
    const statuses = tests.map((t) => t.status);
    return {
      config: cfg,
      resultsDir,
      startedAt,
      endedAt: nowIso(),
      status: interruptedBy ? 'INTERRUPTED' : worstStatus(statuses),
      exitCode: exitCodeFor(statuses, interruptedBy),
      tests,
      servers: [...servers.values()],
      warnings,
      abortReason,
    };
  };

  // Signals: the first stops everything gracefully; a second escalates to SIGKILL at once.
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (interruptedBy) {
      stack?.killNow();
      // Also groups the stack handle does not cover yet (servers still starting) and guarded tools (lm_eval).
      lifeline?.killNow();
      const outcome = finish();
      bus.endSync(outcome);
      process.exit(exitCodeFor([], interruptedBy));
    }
    interruptedBy = signal;
    abortReason = `interrupted by ${signal}`;
    bus.emit({ type: 'log', level: 'warn', message: `${signal} received: stopping servers and writing results (send it again to kill at once)` });
    abortAll({ kind: 'interrupted', signal });
  };
  const sigint = () => onSignal('SIGINT');
  const sigterm = () => onSignal('SIGTERM');
  if (opts.handleSignals !== false) {
    process.on('SIGINT', sigint);
    process.on('SIGTERM', sigterm);
  }

  bus.emit({ type: 'run-start', config: cfg, resultsDir, startedAt, tests: opts.tests });
  try {
    if (opts.startServers) {
      lifeline = startLifeline({ graceS: cfg.timeouts.stopS, reportFile: layout.logFor('lifeline') });
      stack = await startStack(cfg, { roles, detached: false, lifeline, observer, signal: runAbort.signal });
    } else {
      await checkServersUp(roles, endpoints);
    }
    if (!runAbort.signal.aborted) await runTests(cfg, opts, layout, endpoints, roles, bus, results, {
      runAbort,
      setCurrent: (c) => (currentTestAbort = c),
      abortAll,
      info,
      warn,
      lifeline,
    });
  } catch (err) {
    abortReason = startFailureMessage(err);
    const detail = (err as { logTail?: string }).logTail;
    if (!interruptedBy) {
      for (const test of opts.tests) {
        if (!results.has(test)) {
          const r = syntheticResult(test, 'error', abortReason, detail);
          results.set(test, r);
          emitted.add(r);
          bus.emit({ type: 'test-end', result: r });
        }
      }
    }
  } finally {
    if (stack) {
      const problems = await stack.stop();
      for (const p of problems) warn(p);
    }
    lifeline?.close();
    if (opts.handleSignals !== false) {
      process.off('SIGINT', sigint);
      process.off('SIGTERM', sigterm);
    }
  }
  const outcome = finish();
  for (const test of opts.tests) {
    const r = results.get(test)!;
    // Tests that never got a test-end event (not run) still need their reporters to hear of them.
    if (!emitted.has(r)) bus.emit({ type: 'test-end', result: r });
  }
  const reporterErrors = await bus.end(outcome);
  for (const e of reporterErrors) process.stderr.write(`kvgate: ${e}\n`);
  return outcome;
}

// Results already announced through test-end (so finish() does not announce them twice).
const emitted = new WeakSet<TestResult>();

function startFailureMessage(err: unknown): string {
  if (err instanceof ServerStartError) return `server start failed: ${err.message}`;
  if (err instanceof StackError || err instanceof LauncherError || err instanceof SpawnError) return err.message;
  if (err instanceof SuiteAbort) return err.message;
  return `unexpected error: ${(err as Error).stack ?? String(err)}`;
}

async function checkServersUp(roles: ServerRole[], endpoints: ReturnType<typeof endpointsFor>): Promise<void> {
  const down: string[] = [];
  for (const role of roles) {
    const ep = endpoints[role];
    const r = await httpOk(ep.healthUrl);
    if (!r.ready) down.push(`${role} is not up (${r.detail})`);
  }
  if (down.length) {
    throw new StackError(
      `${down.join('; ')}. Start the servers first: ci/start-servers.ts start-all${roles.includes('vllm-baseline') ? '' : ' --no-baseline'} (same env), or pass --skip-baseline if only the baseline is missing.`,
    );
  }
}

interface RunControls {
  runAbort: AbortController;
  setCurrent(c: AbortController | undefined): void;
  abortAll(cause: AbortCause): void;
  info(m: string): void;
  warn(m: string): void;
  lifeline: Lifeline | undefined;
}

async function runTests(
  cfg: KvgateConfig,
  opts: RunSuiteOptions,
  layout: ResultsLayout,
  endpoints: ReturnType<typeof endpointsFor>,
  roles: ServerRole[],
  bus: EventBus,
  results: Map<TestId, TestResult>,
  ctl: RunControls,
): Promise<void> {
  // Health polling catches hung servers and servers we did not start; exits of our own children are caught at once by the stack observer.
  const monitor = monitorHealth(
    roles.map((r) => endpoints[r]),
    {
      intervalS: 1,
      failuresToDeclare: 2,
      probeTimeoutS: 1,
      onDown: (role, detail) => ctl.abortAll({ kind: 'server-died', role, detail, logTail: '' }),
    },
  );
  try {
    for (const test of opts.tests) {
      if (ctl.runAbort.signal.aborted) break;
      const testAbort = new AbortController();
      // Every in-flight request listens on this signal; hundreds at once is normal here.
      setMaxListeners(0, testAbort.signal);
      ctl.setCurrent(testAbort);
      const startedAt = nowIso();
      bus.emit({ type: 'test-start', test, name: TEST_NAMES[test] });
      const timer = setTimeout(
        () => testAbort.abort(new SuiteAbort({ kind: 'timeout', phase: `test ${TEST_NAMES[test]} (TEST_TIMEOUT)`, limitS: cfg.timeouts.testS })),
        cfg.timeouts.testS * 1000,
      );
      const ctx: TestContext = {
        cfg,
        test,
        layout,
        endpoints,
        useBaseline: roles.includes('vllm-baseline'),
        signal: testAbort.signal,
        emit: (e) => bus.emit(e),
        info: ctl.info,
        warn: ctl.warn,
        runProcess: guardedRunner(ctl.lifeline, cfg.timeouts.stopS),
      };
      let result: TestResult;
      try {
        // A test that ignores its signal must not hang the suite: race it against the abort.
        const aborted = new Promise<never>((_, reject) => {
          testAbort.signal.addEventListener('abort', () => reject(testAbort.signal.reason), { once: true });
        });
        result = await Promise.race([opts.runners[test](ctx), aborted]);
        // A server that died in the last moments of the test makes its last requests fail fast, so the
        // verdict can come before the exit is seen: check every server once more before accepting it.
        if (!testAbort.signal.aborted) await confirmServersUp(roles.map((r) => endpoints[r]), testAbort);
        // A verdict reached while a server was dying is not a verdict.
        if (testAbort.signal.aborted) throw testAbort.signal.reason;
      } catch (err) {
        result = resultForFailure(test, err, startedAt);
      } finally {
        clearTimeout(timer);
        ctl.setCurrent(undefined);
      }
      results.set(test, result);
      emitted.add(result);
      bus.emit({ type: 'test-end', result });
      // A dead server or an interruption stops the suite; a timeout or failure of one test does not.
      const cause = abortCauseOf(testAbort.signal);
      if (cause && cause.kind !== 'timeout' && !ctl.runAbort.signal.aborted) ctl.runAbort.abort(testAbort.signal.reason);
    }
  } finally {
    monitor.stop();
  }
}

/** How long a server that fails /health after a test gets before it is declared dead (an exit event ends the wait sooner). */
const SETTLE_MS = 3000;

/**
 * Probes each server's /health; one that does not answer is probed again
 * until SETTLE_MS has passed. Still down: aborts the test as server-died
 * (the stack observer usually aborts it first, with the exit code).
 */
async function confirmServersUp(endpoints: readonly ServerEndpoint[], testAbort: AbortController): Promise<void> {
  await Promise.all(
    endpoints.map(async (ep) => {
      const until = Date.now() + SETTLE_MS;
      for (;;) {
        const r = await httpOk(ep.healthUrl, 1000);
        if (r.ready || testAbort.signal.aborted) return;
        if (Date.now() >= until) {
          testAbort.abort(new SuiteAbort({ kind: 'server-died', role: ep.role, detail: `stopped answering /health at the end of the test (${r.detail})`, logTail: '' }));
          return;
        }
        await sleep(250);
      }
    }),
  );
}

export function resultForFailure(test: TestId, err: unknown, startedAt: string): TestResult {
  if (err instanceof SuiteAbort) {
    const c = err.abortCause;
    if (c.kind === 'interrupted') return syntheticResult(test, 'interrupted', describeAbort(c), undefined, startedAt);
    if (c.kind === 'server-died') {
      return syntheticResult(test, 'error', describeAbort(c), c.logTail ? `last lines of the ${c.role} log:\n${c.logTail}` : undefined, startedAt);
    }
    return syntheticResult(test, 'error', describeAbort(c), undefined, startedAt);
  }
  const e = err as Error & { logTail?: string; phase?: string; limitS?: number };
  if (e && typeof e.phase === 'string' && typeof e.limitS === 'number') {
    return syntheticResult(test, 'error', `timed out: ${e.phase} exceeded ${e.limitS}s`, e.logTail, startedAt);
  }
  return syntheticResult(test, 'error', `error: ${e?.message ?? String(err)}`, e?.logTail ?? e?.stack, startedAt);
}
