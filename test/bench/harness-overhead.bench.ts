// Harness overhead: where the wall time of a sim-stack suite run goes. Runs
// `ci/run-all-tests.ts --stack sim --quick`, then the full suite, each with
// private ports and dirs (test/helpers/sim-config.ts simEnv), no simulated
// start-up delay (vLLM, baseline and PegaFlow: --sim-startup-delay-s 0) and
// lm_eval through the stand-in (test/stand-ins/lm_eval). Per phase, from what
// the run writes:
//   summary.json        run and test start/end, servers' readyAfterS, lm_eval run durations
//   pids/<server>.json  when each server was spawned
//   <test>/…/*.json     each measured pass (its durationS: the pass runner's time)
// and the wall clock of the child process (boot before the run starts, reports
// and exit after it ends). "in workloads": pass runner and lm_eval time;
// "waiting for servers": spawn → ready, and stopping them; the rest is the
// harness's own overhead.
//
//   npm run bench:overhead [-- --quick-only] [-- --keep]
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { readSummary, type Summary } from '../../src/report/summary.ts';
import { simEnv } from '../helpers/sim-config.ts';
import { BENCH_DIR, describeMachine, machineInfo, pass, REPO_ROOT, table, writeBenchResult } from './lib.ts';

const argv = process.argv.slice(2);
const quickOnly = argv.includes('--quick-only');
const keep = argv.includes('--keep');
const OVERHEAD_TARGET_S = 2;

interface Phase {
  phase: string;
  totalS: number;
  workloadS: number;
  serversS: number;
  overheadS: number;
}

interface SuiteRun {
  variant: 'quick' | 'full';
  args: string[];
  exitCode: number | null;
  wallS: number;
  resultsDir: string;
  phases: Phase[];
  totals: Phase;
}

const t = (iso: string): number => Date.parse(iso);
const s = (ms: number): number => ms / 1000;

/** Total length of the union of [start, end] intervals, ms. */
function unionMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [a, b] of sorted) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** Every measured-pass file under a test dir ({ pass: { durationS } }): the pass runner's time. */
function passSeconds(dir: string): number {
  if (!existsSync(dir)) return 0;
  let sum = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sum += passSeconds(p);
    else if (name.endsWith('.json') && name !== 'result.json' && name !== 'test_data.json') {
      const doc = JSON.parse(readFileSync(p, 'utf8')) as { pass?: { durationS?: unknown } };
      if (typeof doc.pass?.durationS === 'number') sum += doc.pass.durationS;
    }
  }
  return sum;
}

function serverSpawns(resultsDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const dir = join(resultsDir, 'pids');
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const rec = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { name?: unknown; startedAt?: unknown };
    if (typeof rec.name === 'string' && typeof rec.startedAt === 'string') out.set(rec.name, t(rec.startedAt));
  }
  return out;
}

const TEST_DIR: Record<string, string> = { 'lm-eval': 'lm_eval', 'long-doc': 'long_doc_qa', 'share-gpt': 'share_gpt' };

function phasesOf(summary: Summary, spawnedAtMs: number, exitedAtMs: number): Phase[] {
  const phase = (name: string, totalMs: number, workloadMs: number, serversMs: number): Phase => ({
    phase: name,
    totalS: s(totalMs),
    workloadS: s(workloadMs),
    serversS: s(serversMs),
    overheadS: s(totalMs - workloadMs - serversMs),
  });
  const runStart = t(summary.startedAt);
  const runEnd = t(summary.endedAt);
  const tests = summary.tests;
  const firstTestStart = tests.length ? t(tests[0]!.startedAt) : runEnd;
  const lastTestEnd = tests.length ? t(tests.at(-1)!.endedAt) : runEnd;
  const spawns = serverSpawns(summary.resultsDir);
  const waits: [number, number][] = [];
  for (const srv of summary.servers) {
    const at = spawns.get(srv.role);
    if (at !== undefined && typeof srv.readyAfterS === 'number') waits.push([at, at + srv.readyAfterS * 1000]);
  }
  const firstSpawn = Math.min(firstTestStart, ...waits.map((w) => w[0]));
  const out: Phase[] = [phase('boot (node, config, until the run starts)', runStart - spawnedAtMs, 0, 0)];
  out.push(phase('start: reaping, port preflight, executable probes', firstSpawn - runStart, 0, 0));
  out.push(phase(`start: ${summary.servers.map((x) => x.role).join(', ')} spawn → ready`, firstTestStart - firstSpawn, 0, unionMs(waits)));
  let prevEnd = firstTestStart;
  let gapsMs = 0;
  for (const test of tests) {
    gapsMs += t(test.startedAt) - prevEnd;
    prevEnd = t(test.endedAt);
    const lm = test.details?.lmEval?.runs.reduce((a, r) => a + (r.durationS ?? 0), 0) ?? 0;
    const workS = lm + passSeconds(join(summary.resultsDir, TEST_DIR[test.test] ?? test.test));
    out.push(phase(`test ${test.name} (${test.status})`, test.durationS * 1000, workS * 1000, 0));
  }
  if (gapsMs > 0) out.push(phase('between tests', gapsMs, 0, 0));
  out.push(phase('stop servers', runEnd - lastTestEnd, 0, runEnd - lastTestEnd));
  out.push(phase('reports and exit', exitedAtMs - runEnd, 0, 0));
  return out;
}

async function runSuite(variant: 'quick' | 'full'): Promise<SuiteRun> {
  const { env, base } = await simEnv({
    VLLM_EXTRA_ARGS: '--sim-startup-delay-s 0',
    VLLM_BASELINE_EXTRA_ARGS: '--sim-startup-delay-s 0',
    PEGA_EXTRA_ARGS: '--sim-startup-delay-s 0',
    LM_EVAL_BIN: join(REPO_ROOT, 'test/stand-ins/lm_eval'),
  });
  const args = ['--stack', 'sim', ...(variant === 'quick' ? ['--quick'] : [])];
  mkdirSync(join(BENCH_DIR, 'logs'), { recursive: true });
  const logFile = join(BENCH_DIR, 'logs', `harness-overhead-${variant}.log`);
  const log = createWriteStream(logFile);
  await once(log, 'open');
  process.stdout.write(`  ${variant}: ci/run-all-tests.ts ${args.join(' ')} (output: ${logFile})…\n`);
  const spawnedAtMs = Date.now();
  const child = spawn(join(REPO_ROOT, 'ci/run-all-tests.ts'), args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  const [code] = (await once(child, 'exit')) as [number | null];
  const exitedAtMs = Date.now();
  log.end();
  const resultsDir = env['RESULTS_DIR']!;
  const summary = readSummary(resultsDir);
  const phases = phasesOf(summary, spawnedAtMs, exitedAtMs);
  const sum = (k: keyof Omit<Phase, 'phase'>) => phases.reduce((a, p) => a + p[k], 0);
  const run: SuiteRun = {
    variant,
    args,
    exitCode: code,
    wallS: s(exitedAtMs - spawnedAtMs),
    resultsDir,
    phases,
    totals: { phase: 'total', totalS: sum('totalS'), workloadS: sum('workloadS'), serversS: sum('serversS'), overheadS: sum('overheadS') },
  };
  if (!keep) rmSync(base, { recursive: true, force: true });
  return run;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  process.stdout.write(`harness overhead (sim stack, no start-up delay, lm_eval stand-in)\nmachine: ${describeMachine(machine)}\n`);
  const runs: SuiteRun[] = [await runSuite('quick')];
  if (!quickOnly) runs.push(await runSuite('full'));

  for (const r of runs) {
    process.stdout.write(`\n${r.variant === 'quick' ? '--quick' : 'full suite'}: exit ${r.exitCode}, wall ${r.wallS.toFixed(2)} s${keep ? ` (results kept in ${r.resultsDir})` : ''}\n`);
    const row = (p: Phase) => [p.phase, p.totalS.toFixed(2), p.workloadS.toFixed(2), p.serversS.toFixed(2), p.overheadS.toFixed(2)];
    process.stdout.write(table(['phase', 'total s', 'in workloads s', 'waiting for servers s', 'harness overhead s'], [...r.phases.map(row), row(r.totals)]) + '\n');
  }
  const quick = runs[0]!;
  const met = quick.totals.overheadS <= OVERHEAD_TARGET_S;
  process.stdout.write(`\nTarget: harness overhead ≤ ${OVERHEAD_TARGET_S} s for --quick: ${quick.totals.overheadS.toFixed(2)} s, ${pass(met)}\n`);
  const file = await writeBenchResult('harness-overhead', {
    benchmark: 'harness-overhead',
    date: new Date().toISOString(),
    machine,
    env: { VLLM_EXTRA_ARGS: '--sim-startup-delay-s 0', VLLM_BASELINE_EXTRA_ARGS: '--sim-startup-delay-s 0', PEGA_EXTRA_ARGS: '--sim-startup-delay-s 0', LM_EVAL_BIN: 'test/stand-ins/lm_eval' },
    runs,
    targets: [{ target: `harness overhead ≤ ${OVERHEAD_TARGET_S} s for --quick`, measured: quick.totals.overheadS, met }],
  });
  process.stdout.write(`written: ${file}\n`);
  if (runs.some((r) => r.exitCode !== 0)) process.exitCode = 1;
}

await main();
