// ci/self-test.ts: runs the scenario table (or --repeat N clean runs), a few
// at a time, judges each run against its expectation, and writes the matrix,
// self-test.json and junit.xml. Exit 0 only when every verdict was the
// expected one and no run left a process behind.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { UsageError, type ParsedArgs } from '../config/args.ts';
import type { KvgateConfig } from '../config/config.ts';
import type { ScriptDoc } from '../config/usage.ts';
import { createResultsDir } from '../results/layout.ts';
import { judgeScenario, stability, type ScenarioVerdict } from './judge.ts';
import { buildReport, renderJunit, renderList, renderMatrix, renderStability } from './report.ts';
import { runScenario } from './run-scenario.ts';
import { findScenario, SCENARIOS, STABILITY_SCENARIO, type Scenario } from './scenarios.ts';

export const SELF_TEST_DOC: ScriptDoc = {
  synopsis: 'ci/self-test.ts [--scenario NAME[,NAME…]] [NAME…] [--list] [--repeat N] [--jobs N]',
  description:
    'Runs the suite on the simulated stack once clean and once per injected fault, and checks that each test reaches\nthe verdict the scenario expects. Prints a scenario × test matrix; writes self-test.json and junit.xml to\nresults/self-test-<BUILD_ID>/ (or RESULTS_DIR). Exit 0: every verdict as expected; 1: some were not.',
  sections: [
    {
      title: 'Examples',
      lines: [
        'ci/self-test.ts                         # every scenario',
        'ci/self-test.ts --list                  # the scenarios and what each proves',
        'ci/self-test.ts slow-load drop-saves    # two of them',
        'ci/self-test.ts --repeat 10             # clean run ten times: false failures and margins',
      ],
    },
  ],
};

/** Scenario names from --scenario/SELF_TEST_SCENARIOS and positionals; unknown names are a usage error. */
export function selectedScenarios(cfgNames: readonly string[], positionals: readonly string[]): Scenario[] {
  const names = [...cfgNames, ...positionals.flatMap((p) => p.split(',')).map((x) => x.trim()).filter(Boolean)];
  if (names.length === 0) return [...SCENARIOS];
  const unknown = names.filter((n) => !findScenario(n));
  if (unknown.length) throw new UsageError(`unknown scenario${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return SCENARIOS.filter((s) => names.includes(s.name));
}

export function validateSelfTestArgs(args: ParsedArgs, cfg: KvgateConfig): void {
  selectedScenarios(cfg.selfTest.scenarios, args.positionals);
}

/** Runs `work` over `items`, at most `jobs` at a time, stopping new starts once `signal` aborts. */
async function pool<T, R>(items: readonly T[], jobs: number, signal: AbortSignal, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length && !signal.aborted) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function runSelfTest(cfg: KvgateConfig, args: ParsedArgs): Promise<number> {
  const st = cfg.selfTest;
  if (st.list) {
    process.stdout.write(renderList(SCENARIOS));
    return 0;
  }
  const repeat = st.repeat;
  const chosen = repeat > 0 ? [findScenario(STABILITY_SCENARIO)!] : selectedScenarios(st.scenarios, args.positionals);
  const runs: { scenario: Scenario; label: string }[] =
    repeat > 0 ? Array.from({ length: repeat }, (_, i) => ({ scenario: chosen[0]!, label: `${STABILITY_SCENARIO}-${i + 1}` })) : chosen.map((s) => ({ scenario: s, label: s.name }));
  const jobs = st.jobs ?? Math.max(1, Math.floor(availableParallelism() / 2));

  const dir = createResultsDir(cfg.results.explicit ? cfg.results.dir : join(cfg.repoRoot, 'results', `self-test-${cfg.results.buildId}`), cfg.results.explicit);
  const startedAt = new Date();
  const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  log(`self-test: ${runs.length} run(s), ${jobs} at a time, results in ${dir}`);
  log(`thresholds: TTFT ≤ ${cfg.thresholds.maxTtftS} s (${cfg.thresholds.ttftStat}), speedup ≥ ${cfg.thresholds.minSpeedup}×, failure rate ≤ ${cfg.thresholds.maxFailureRate}${cfg.thresholds.disabledChecks.length ? `; DISABLED checks: ${cfg.thresholds.disabledChecks.join(', ')}` : ''}`);

  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the running scenarios (each stops its servers and writes its results)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const verdicts = await pool(runs, jobs, stop.signal, async ({ scenario, label }) => {
    log(`▶ ${label}`);
    const run = await runScenario(scenario, { repoRoot: cfg.repoRoot, dir, label, signal: stop.signal });
    const v = judgeScenario(scenario, run);
    log(`${v.ok ? '✔' : '✘'} ${label} (${run.durationS.toFixed(0)} s)${v.ok ? '' : `: ${[...v.runProblems, ...v.cells.filter((c) => !c.ok).map((c) => `${c.test} ${c.problems.join(', ')}`)].join('; ')}`}`);
    return v;
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const done = verdicts.filter((v): v is ScenarioVerdict => v !== undefined);
  const notRun = runs.filter((_, i) => verdicts[i] === undefined).map((r) => r.label);
  const stab = repeat > 0 ? stability(done) : undefined;
  const report = buildReport({ id: cfg.results.buildId, dir, startedAt, endedAt: new Date(), thresholds: cfg.thresholds, scenarios: SCENARIOS, verdicts: done, stability: stab, notRun });
  writeFileSync(join(dir, 'self-test.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'junit.xml'), renderJunit(report));

  process.stdout.write(`\n${renderMatrix(done, SCENARIOS, { color: process.stdout.isTTY === true && !process.env['NO_COLOR'] })}`);
  if (stab) process.stdout.write(`\n${renderStability(stab)}`);
  if (notRun.length) process.stdout.write(`not run (interrupted): ${notRun.join(', ')}\n`);
  const bad = done.filter((v) => !v.ok).length;
  process.stdout.write(
    `\nself-test ${report.ok ? 'PASSED' : 'FAILED'}: ${done.length - bad}/${runs.length} scenario run(s) as expected in ${report.durationS.toFixed(0)} s` +
      `\n  ${join(dir, 'self-test.json')}\n  ${join(dir, 'junit.xml')}\n`,
  );
  if (stop.signal.aborted) return 130;
  // With --repeat, a false failure is an unexpected verdict like any other: the thresholds leave too little margin.
  return report.ok ? 0 : 1;
}
