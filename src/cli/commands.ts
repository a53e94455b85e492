// What each ci/*.ts entry point does, once its config is resolved.
import { existsSync } from 'node:fs';
import type { ParsedArgs } from '../config/args.ts';
import { UsageError } from '../config/args.ts';
import type { KvgateConfig, TestId } from '../config/config.ts';
import type { ScriptDoc } from '../config/usage.ts';
import { createResultsDir, layoutFor } from '../results/layout.ts';
import { checkLiveness, describePidFile, ownerAlive, readPidFiles, removePidFile, stopSignalOf } from '../stack/pidfile.ts';
import { httpOk } from '../stack/readiness.ts';
import { endpointsFor, startStack, ALL_ROLES, type ServerRole, type StackObserver } from '../stack/stack.ts';
import { stopGroup } from '../stack/supervisor.ts';
import { EXIT, runSuite } from '../suite/runner.ts';
import { TEST_NAMES } from '../suite/types.ts';
import { defaultReporters } from '../report/index.ts';
import { TEST_RUNNERS } from '../tests/index.ts';
import { preflightInputs, serverExecutableProblems } from './preflight.ts';

const STACK_EXAMPLE = 'MODEL=Qwen/Qwen3-8B ci/run-all-tests.ts --quick      # or: ci/run-all-tests.ts --stack sim';

export const DOCS: Record<'run-all-tests' | 'start-servers' | 'run-lm-eval' | 'run-long-doc-qa' | 'run-share-gpt', ScriptDoc> = {
  'run-all-tests': {
    synopsis: 'ci/run-all-tests.ts [options]',
    description:
      'Starts PegaFlow, the connector vLLM and (unless --quick) a baseline vLLM, runs the lm_eval consistency,\nlong-document QA and ShareGPT multi-turn tests, writes a .result per test, overall.result and reports,\nand stops every server it started.',
    sections: [{ title: 'Example', lines: [STACK_EXAMPLE] }],
  },
  'start-servers': {
    synopsis: 'ci/start-servers.ts <command> [options]',
    description: 'Starts or stops the servers on their own, for running test scripts one at a time.\nServers started here keep running after this command exits; stop them with stop-all.',
    sections: [
      {
        title: 'Commands',
        lines: [
          'start-all        PegaFlow, connector vLLM and baseline vLLM (--no-baseline: without the baseline)',
          'start-pega       PegaFlow only',
          'start-vllm       connector vLLM only (PegaFlow must be running)',
          'start-baseline   baseline vLLM only',
          'stop-all         stop every server started by kvgate whose harness is gone or that start-servers started',
          'status           RUNNING / NOT RUNNING for each of the three servers; exit 1 if one is down (--no-baseline: the baseline is not required)',
        ],
      },
    ],
  },
  'run-lm-eval': {
    synopsis: 'ci/run-lm-eval.ts [options]',
    description: 'Runs lm_eval twice against the connector vLLM (already running) and checks the logged samples are\nidentical per document. With the baseline up (and no --skip-baseline), also compares connector vs baseline.',
  },
  'run-long-doc-qa': {
    synopsis: 'ci/run-long-doc-qa.ts [options]',
    description: 'Sends long documents twice to the connector vLLM (cold, then warm through PegaFlow) and once to the\nbaseline; checks warm TTFT, speedup over the baseline, failures and proof that the cache path was used.',
  },
  'run-share-gpt': {
    synopsis: 'ci/run-share-gpt.ts [options]',
    description: 'Replays ShareGPT conversations turn by turn against the connector vLLM and the baseline; checks TTFT of\nlater turns, speedup, failures and proof that the cache path was used.',
  },
};

/** run-all-tests: the whole suite, servers included. */
function inputsOk(cfg: KvgateConfig, tests: readonly TestId[], script: string): boolean {
  const problems = preflightInputs(cfg, tests);
  if (problems.length) process.stderr.write(`${script}: bad input (nothing was started):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  return problems.length === 0;
}

export async function runAllTests(cfg: KvgateConfig): Promise<number> {
  if (!inputsOk(cfg, cfg.suite.tests, 'run-all-tests')) return EXIT.usage;
  const outcome = await runSuite(cfg, {
    tests: cfg.suite.tests,
    runners: TEST_RUNNERS,
    reporters: defaultReporters(cfg, { printConfig: true }),
    startServers: true,
    baseline: cfg.suite.startBaseline,
  });
  return outcome.exitCode;
}

/** The results dir of servers started by start-servers on our ports, so a test run alone writes next to their logs. */
export function sessionResultsDir(cfg: KvgateConfig): string | undefined {
  const ports = [cfg.ports.vllm, cfg.ports.pegaGrpc, cfg.ports.baseline];
  for (const entry of readPidFiles(cfg.results.stateDir)) {
    const rec = entry.record;
    if (rec && rec.ports.some((p) => ports.includes(p)) && checkLiveness(rec).state === 'running' && existsSync(rec.resultsDir)) return rec.resultsDir;
  }
  return undefined;
}

/** run-lm-eval / run-long-doc-qa / run-share-gpt: one test against servers that are already up. */
export async function runOneTest(cfg: KvgateConfig, test: TestId): Promise<number> {
  if (!inputsOk(cfg, [test], cfg.script)) return EXIT.usage;
  const skipBaseline = test === 'lm-eval' ? cfg.lmEval.skipBaseline : test === 'long-doc' ? cfg.longDoc.skipBaseline : cfg.shareGpt.skipBaseline;
  let appendToDir: string | undefined;
  if (!cfg.results.explicit) {
    appendToDir = sessionResultsDir(cfg);
    if (appendToDir && existsSync(layoutFor(appendToDir).resultFile(test))) {
      process.stderr.write(
        `${TEST_NAMES[test]} already has a result in ${appendToDir} (results are never overwritten); set BUILD_ID or RESULTS_DIR for a new results dir\n`,
      );
      return EXIT.usage;
    }
  }
  const outcome = await runSuite(cfg, {
    tests: [test],
    runners: TEST_RUNNERS,
    reporters: defaultReporters(cfg, { printConfig: false }),
    startServers: false,
    baseline: !skipBaseline,
    appendToDir,
  });
  return outcome.exitCode;
}

const START_COMMANDS: Record<string, readonly ServerRole[]> = {
  'start-all': ALL_ROLES,
  'start-pega': ['pegaflow-server'],
  'start-vllm': ['vllm-pegaflow'],
  'start-baseline': ['vllm-baseline'],
};
export const START_SERVERS_COMMANDS = [...Object.keys(START_COMMANDS), 'stop-all', 'status'];

export function validateStartServersArgs(args: ParsedArgs): void {
  const cmd = args.positionals[0];
  if (!cmd) throw new UsageError('missing command');
  if (!START_SERVERS_COMMANDS.includes(cmd)) throw new UsageError(`unknown command "${cmd}"`);
}

function consoleObserver(): StackObserver {
  const line = (s: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  return {
    info: line,
    warn: (m) => line(`WARN: ${m}`),
    serverStarting: (role, cmd, log) => line(`starting ${role}: ${cmd.join(' ')}\n  log: ${log}`),
    serverReady: (role, s) => line(`${role} ready after ${s.toFixed(1)}s`),
    serverExited: (role, exit, tail) => line(`${role} exited (${exit.signal ?? `code ${exit.code}`})\n${tail}`),
  };
}

export async function startServers(cfg: KvgateConfig, args: ParsedArgs): Promise<number> {
  const cmd = args.positionals[0]!;
  if (cmd === 'status') return serverStatus(cfg);
  if (cmd === 'stop-all') return stopAll(cfg);
  let roles = START_COMMANDS[cmd]!;
  if (cmd === 'start-all' && !cfg.suite.startBaseline) roles = roles.filter((r) => r !== 'vllm-baseline');
  const missing = serverExecutableProblems(cfg, roles);
  if (missing.length) {
    process.stderr.write(`start-servers: bad input (nothing was started):\n${missing.map((p) => `  ${p}`).join('\n')}\n`);
    return EXIT.usage;
  }
  if (cmd === 'start-vllm') {
    const pega = endpointsFor(cfg)['pegaflow-server'];
    const up = await httpOk(pega.healthUrl);
    if (!up.ready) {
      process.stderr.write(`PegaFlow is not running (${up.detail}); the connector vLLM registers with it at start-up. Run start-pega first.\n`);
      return EXIT.infrastructure;
    }
  }
  const dir = (!cfg.results.explicit && sessionResultsDir(cfg)) || createResultsDir(cfg.results.dir, cfg.results.explicit);
  const observer = consoleObserver();
  try {
    await startStack({ ...cfg, results: { ...cfg.results, dir } }, { roles, detached: true, observer });
  } catch (err) {
    const e = err as Error & { logTail?: string };
    process.stderr.write(`${e.message}\n${e.logTail ? `last log lines:\n${e.logTail}\n` : ''}`);
    return EXIT.infrastructure;
  }
  observer.info(`servers running; logs and results in ${dir}. Stop them with: ci/start-servers.ts stop-all`);
  return EXIT.passed;
}

async function serverStatus(cfg: KvgateConfig): Promise<number> {
  const eps = endpointsFor(cfg);
  const records = readPidFiles(cfg.results.stateDir).flatMap((e) => (e.record ? [e.record] : []));
  let allUp = true;
  for (const role of ALL_ROLES) {
    const health = await httpOk(eps[role].healthUrl);
    const rec = records.find((r) => r.name === role && checkLiveness(r).state === 'running');
    const who = rec ? ` (pid ${rec.pid}, log ${rec.logFile})` : health.ready ? ' (not started by kvgate)' : '';
    // With --no-baseline (as after start-all --no-baseline) the baseline is shown but not required.
    const required = role !== 'vllm-baseline' || cfg.suite.startBaseline;
    process.stdout.write(`${role.padEnd(16)} ${health.ready ? 'RUNNING' : 'NOT RUNNING'}  ${eps[role].httpBase}${who}${required ? '' : ' (not required: --no-baseline)'}\n`);
    if (!health.ready && required) allUp = false;
  }
  return allUp ? EXIT.passed : EXIT.failed;
}

async function stopAll(cfg: KvgateConfig): Promise<number> {
  let stopped = 0;
  let problems = 0;
  for (const entry of readPidFiles(cfg.results.stateDir)) {
    const rec = entry.record;
    if (!rec) {
      removePidFile(entry.path);
      continue;
    }
    const live = checkLiveness(rec);
    if (live.state !== 'running') {
      if (live.state === 'pid-reused') process.stdout.write(`${describePidFile(rec)}: pid now belongs to another process (${live.detail}); left alone\n`);
      removePidFile(entry.path);
      continue;
    }
    if (!rec.owner.detached && ownerAlive(rec)) {
      process.stdout.write(`${describePidFile(rec)} belongs to a running kvgate run (pid ${rec.owner.pid}); left alone\n`);
      continue;
    }
    process.stdout.write(`stopping ${describePidFile(rec)}\n`);
    const res = await stopGroup(rec.pgid, cfg.timeouts.stopS, rec.pid, stopSignalOf(rec));
    if (res.survivors.length) {
      problems++;
      process.stderr.write(`  pids ${res.survivors.map((s) => s.pid).join(', ')} survived SIGKILL\n`);
    } else {
      stopped++;
      removePidFile(entry.path);
    }
  }
  process.stdout.write(`stopped ${stopped} server(s)\n`);
  return problems ? EXIT.infrastructure : EXIT.passed;
}
