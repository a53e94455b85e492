// Runs one self-test scenario: the real suite (ci/run-all-tests.ts --stack
// sim) as a child process with private ports and dirs and the scenario's
// faults, then gathers what a judge needs: exit code, summary.json verdicts,
// and any process of the run still alive afterwards (found by a marker env var
// that every server, watchdog and lm_eval of the run inherits).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestId } from '../config/config.ts';
import { readSummary } from '../report/summary.ts';
import { freePorts } from '../stack/free-port.ts';
import { allPids, describeProcess } from '../stack/proc.ts';
import type { ObservedTest, ScenarioRun } from './judge.ts';
import { serverArgsEnv, suiteArgs, WORKLOAD_ENV, type Scenario } from './scenarios.ts';

/** Marker env var: its value is unique per scenario run. */
export const TOKEN_ENV = 'KVGATE_SELFTEST_TOKEN';
/** A scenario run that takes longer than this is stopped (SIGTERM, then SIGKILL). */
const RUN_LIMIT_S = 600;
const KILL_GRACE_S = 30;
/** How long the run's processes get to go away after it exits (the lifeline watchdog polls). */
const LEFTOVER_GRACE_MS = 5000;

/** Env vars of the caller that would point the child at other servers, dirs or CI reporters. */
const DROPPED_ENV = [
  'RESULTS_DIR', 'BUILD_ID', 'KVGATE_STATE_DIR', 'STACK', 'MODEL', 'SERVED_MODEL_NAME', 'VLLM_BIN', 'PEGAFLOW_BIN', 'PEGA_FLAG_DIALECT',
  'VLLM_PORT', 'VLLM_BASELINE_PORT', 'PEGA_PORT', 'PEGA_METRICS_PORT', 'VLLM_EXTRA_ARGS', 'VLLM_BASELINE_EXTRA_ARGS', 'PEGA_EXTRA_ARGS',
  'KVGATE_SIM_FAULTS', 'COMPARE_TO', 'GITHUB_ACTIONS', 'GITHUB_STEP_SUMMARY', 'BUILDKITE', 'LM_EVAL_LIMIT', 'LM_EVAL_TASK', 'LM_EVAL_INCLUDE_PATH',
  'DATA_FILE', 'SHARE_GPT_DATASET',
];

export interface RunScenarioOptions {
  repoRoot: string;
  /** The self-test's dir; the run writes <dir>/<label>/ and <dir>/<label>.log. */
  dir: string;
  /** Name of this run's results dir (the scenario's name, or name-N with --repeat). */
  label: string;
  /** Stops the run early (the self-test was interrupted). */
  signal?: AbortSignal;
}

/** Pids (other than ours) whose environment carries the marker with this value. */
export function processesWithToken(token: string): number[] {
  const needle = `${TOKEN_ENV}=${token}`;
  const found: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(needle)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function observedTests(resultsDir: string): { tests?: ObservedTest[]; problem?: string } {
  if (!existsSync(join(resultsDir, 'summary.json'))) return { problem: `${join(resultsDir, 'summary.json')} does not exist` };
  try {
    const s = readSummary(resultsDir);
    return {
      tests: s.tests.map((t) => ({
        test: t.test as TestId,
        status: t.status,
        reason: t.reason,
        criteria: t.criteria.map((c) => ({ id: c.id, status: c.status, measured: c.measured, threshold: c.threshold })),
      })),
    };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

export async function runScenario(s: Scenario, opts: RunScenarioOptions): Promise<ScenarioRun> {
  const resultsDir = join(opts.dir, opts.label);
  const logFile = join(opts.dir, `${opts.label}.log`);
  const stateDir = join(opts.dir, '.state', opts.label);
  mkdirSync(stateDir, { recursive: true });
  const token = randomUUID();
  const [vllm, baseline, pega, pegaHttp] = await freePorts(4);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of DROPPED_ENV) delete env[k];
  Object.assign(env, WORKLOAD_ENV, serverArgsEnv(s), {
    STACK: 'sim',
    RESULTS_DIR: resultsDir,
    KVGATE_STATE_DIR: stateDir,
    VLLM_PORT: String(vllm),
    VLLM_BASELINE_PORT: String(baseline),
    PEGA_PORT: String(pega),
    PEGA_METRICS_PORT: String(pegaHttp),
    PEGA_SSD_CACHE_PATH: 'none',
    STOP_TIMEOUT: '5',
    LM_EVAL_BIN: process.env['LM_EVAL_BIN'] || join(opts.repoRoot, 'test', 'stand-ins', 'lm_eval'),
    NO_COLOR: '1',
    [TOKEN_ENV]: token,
  });

  const out = openSync(logFile, 'a');
  const started = performance.now();
  const child = spawn(join(opts.repoRoot, 'ci', 'run-all-tests.ts'), suiteArgs(s), { cwd: opts.repoRoot, env, stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => resolve({ code: null, signal: `spawn error: ${err.message}` }));
  });
  // Over the limit or interrupted: SIGTERM (the suite then stops its servers and writes results), SIGKILL later.
  const stop = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_S * 1000).unref();
  };
  const limit = setTimeout(stop, RUN_LIMIT_S * 1000);
  opts.signal?.addEventListener('abort', stop, { once: true });
  const { code, signal } = await exited;
  clearTimeout(limit);
  opts.signal?.removeEventListener('abort', stop);
  const durationS = (performance.now() - started) / 1000;

  let alive = processesWithToken(token);
  for (const until = Date.now() + LEFTOVER_GRACE_MS; alive.length && Date.now() < until; alive = processesWithToken(token)) await sleep(100);
  const leftovers = alive.map((pid) => describeProcess(pid));
  // Leave nothing behind for the next scenario, but report what was there.
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  const { tests, problem } = observedTests(resultsDir);
  return { scenario: s.name, exitCode: code, signal, durationS, tests, summaryProblem: problem, leftovers, resultsDir, logFile };
}
