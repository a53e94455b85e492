// The self-test's judgement, matrix and stability figures, on hand-made runs (no servers).
import t from 'tap';
import { judgeScenario, stability, type ObservedTest, type ScenarioRun } from '../../src/selftest/judge.ts';
import { buildReport, renderJunit, renderMatrix, renderStability } from '../../src/selftest/report.ts';
import { findScenario, SCENARIOS, serverArgsEnv, suiteArgs } from '../../src/selftest/scenarios.ts';

const slow = findScenario('slow-load')!;
const clean = findScenario('clean-full')!;

function run(tests: ObservedTest[] | undefined, extra: Partial<ScenarioRun> = {}): ScenarioRun {
  return { scenario: 'x', exitCode: 1, signal: null, durationS: 12, tests, leftovers: [], resultsDir: '/r/slow-load', logFile: '/r/slow-load.log', ...extra };
}

const slowAsExpected: ObservedTest = {
  test: 'long-doc',
  status: 'fail',
  reason: 'warm TTFT (mean) 0.61 s > 0.22 s',
  criteria: [
    { id: 'ttft', status: 'fail', measured: 0.61, threshold: 0.22 },
    { id: 'cache-used', status: 'pass', measured: 5008, threshold: 0 },
  ],
};

t.test('a run that reaches the expected verdict is ✔', async (t) => {
  const v = judgeScenario(slow, run([slowAsExpected]));
  t.equal(v.ok, true);
  t.same(v.runProblems, []);
  t.equal(v.cells.length, 1);
  t.equal(v.cells[0]!.ok, true);
});

t.test('a test that passes where it should fail is ✘, with the status named', async (t) => {
  const v = judgeScenario(slow, run([{ ...slowAsExpected, status: 'pass', reason: 'all 4 criteria met' }], { exitCode: 0 }));
  t.equal(v.ok, false);
  t.match(v.cells[0]!.problems.join('\n'), /status pass, expected fail/);
  t.match(v.cells[0]!.problems.join('\n'), /reason does not match/);
  t.match(v.runProblems.join('\n'), /exit code 0, expected 1/);
});

t.test('the right status for the wrong reason is ✘: the check that caught it matters', async (t) => {
  // Failed, but on failures rather than TTFT, and with the cache criterion failing: not what slow-load proves.
  const wrong: ObservedTest = { ...slowAsExpected, reason: '3/16 requests failed (http-status 3)', criteria: [{ id: 'ttft', status: 'pass' }, { id: 'cache-used', status: 'fail' }] };
  const v = judgeScenario(slow, run([wrong]));
  t.equal(v.ok, false);
  const problems = v.cells[0]!.problems.join('\n');
  t.match(problems, /reason does not match/);
  t.match(problems, /criterion ttft pass, expected fail/);
  t.match(problems, /criterion cache-used fail, expected pass/);
});

t.test('a missing summary, a missing test, an extra test, a leftover process and a kill are each ✘', async (t) => {
  const noSummary = judgeScenario(slow, run(undefined, { summaryProblem: 'summary.json does not exist' }));
  t.equal(noSummary.ok, false);
  t.match(noSummary.runProblems.join('\n'), /no summary.json: summary.json does not exist/);
  t.equal(noSummary.cells[0]!.got.status, 'missing');

  const extra = judgeScenario(slow, run([slowAsExpected, { test: 'share-gpt', status: 'pass', reason: 'ok', criteria: [] }]));
  t.match(extra.runProblems.join('\n'), /tests ran that the scenario does not run: share-gpt/);

  const leftover = judgeScenario(slow, run([slowAsExpected], { leftovers: ['pid 42 (node src/sim/bin/vllm.ts serve)'] }));
  t.equal(leftover.ok, false);
  t.match(leftover.runProblems.join('\n'), /1 process\(es\) still running after the run: pid 42/);

  const killed = judgeScenario(slow, run([slowAsExpected], { exitCode: null, signal: 'SIGKILL' }));
  t.match(killed.runProblems.join('\n'), /killed by SIGKILL/);
});

t.test('scenario table: every scenario runs exactly its tests, with faults on the named server', async (t) => {
  t.same(suiteArgs(slow), ['--quick', '--skip-lm-eval', '--skip-share-gpt']);
  t.same(suiteArgs(clean), []);
  const env = serverArgsEnv(findScenario('drop-saves+ignore-reset')!);
  t.equal(env['PEGA_EXTRA_ARGS'], '--sim-startup-delay-s 0 --sim-faults drop-saves');
  t.equal(env['VLLM_EXTRA_ARGS'], '--sim-startup-delay-s 0 --sim-faults ignore-reset');
  t.equal(env['VLLM_BASELINE_EXTRA_ARGS'], '--sim-startup-delay-s 0');
  const names = SCENARIOS.map((s) => s.name);
  t.equal(new Set(names).size, names.length, 'names are unique');
  for (const s of SCENARIOS) {
    t.ok(Object.keys(s.expect).length > 0, `${s.name} runs at least one test`);
    const failing = Object.values(s.expect).some((e) => e.status !== 'pass');
    t.equal(s.exitCode === 0, !failing, `${s.name}: exit code agrees with the expected verdicts`);
  }
  for (const required of ['clean-quick', 'clean-full', 'corrupt-load', 'slow-load', 'drop-saves', 'drop-saves+ignore-reset', 'no-connector', 'error-rate', 'cut-stream', 'crash-vllm', 'crash-pegaflow', 'startup-fail-pegaflow', 'startup-fail-vllm', 'startup-fail-baseline', 'baseline-faster']) {
    t.ok(findScenario(required), `scenario ${required} exists`);
  }
});

t.test('matrix and junit show the unexpected verdict', async (t) => {
  const good = judgeScenario(slow, run([slowAsExpected]));
  const bad = judgeScenario(slow, run([{ ...slowAsExpected, status: 'pass', reason: 'all 4 criteria met' }], { exitCode: 0, resultsDir: '/r/slow-load-b' }));
  const matrix = renderMatrix([good, bad], SCENARIOS);
  t.match(matrix, /slow-load .*fail ✔/);
  t.match(matrix, /slow-load-b .*fail → pass ✘/);
  t.match(matrix, /✘ slow-load-b:\n.*exit code 0, expected 1/);
  const report = buildReport({ id: 'x', dir: '/r', startedAt: new Date(0), endedAt: new Date(1000), thresholds: { maxTtftS: 0.22, minSpeedup: 1.2, ttftStat: 'mean', maxFailureRate: 0, disabledChecks: [] }, scenarios: SCENARIOS, verdicts: [good, bad], notRun: [] });
  t.equal(report.ok, false);
  const xml = renderJunit(report);
  t.match(xml, /<testsuites name="kvgate self-test" tests="4" failures="2"/);
  t.match(xml, /<failure type="unexpected-verdict" message="status pass, expected fail/);
  const allGood = buildReport({ id: 'x', dir: '/r', startedAt: new Date(0), endedAt: new Date(1000), thresholds: report.thresholds, scenarios: SCENARIOS, verdicts: [good], notRun: [] });
  t.equal(allGood.ok, true);
  t.equal(buildReport({ ...{ id: 'x', dir: '/r', startedAt: new Date(0), endedAt: new Date(1000), thresholds: report.thresholds, scenarios: SCENARIOS }, verdicts: [good], notRun: ['clean-full'] }).ok, false, 'scenarios left unrun make the self-test fail');
});

t.test('stability: spread, worst margin to each threshold, and false failures', async (t) => {
  const cleanRun = (ttft: number, speedup: number, status: 'pass' | 'fail' = 'pass'): ScenarioRun =>
    run(
      [
        { test: 'lm-eval', status: 'pass', reason: 'all 2 criteria met', criteria: [{ id: 'consistency', status: 'pass' }, { id: 'cache-used', status: 'pass', measured: 176, threshold: 0 }] },
        { test: 'long-doc', status, reason: status === 'pass' ? 'all 5 criteria met' : `warm TTFT (mean) ${ttft} s > 0.22 s`, criteria: [{ id: 'ttft', status: ttft > 0.22 ? 'fail' : 'pass', measured: ttft, threshold: 0.22 }, { id: 'speedup', status: 'pass', measured: speedup, threshold: 1.2 }] },
        { test: 'share-gpt', status: 'pass', reason: 'all 5 criteria met', criteria: [] },
      ],
      { exitCode: status === 'pass' ? 0 : 1 },
    );
  const verdicts = [cleanRun(0.11, 22), cleanRun(0.2, 1.5), cleanRun(0.25, 30, 'fail')].map((r) => judgeScenario(clean, r));
  const s = stability(verdicts);
  t.equal(s.runs, 3);
  t.equal(s.falseFailures, 1);
  t.equal(s.falseFailureRuns[0]!.run, 3);
  const ttft = s.figures.find((f) => f.test === 'long-doc' && f.criterion === 'ttft')!;
  t.equal(ttft.min, 0.11);
  t.equal(ttft.max, 0.25);
  t.equal(ttft.median, 0.2);
  t.equal(ttft.failures, 1);
  t.ok(Math.abs(ttft.worstMargin! - (0.22 - 0.25) / 0.22) < 1e-12, 'a ceiling: margin from the highest value, negative when over');
  const sp = s.figures.find((f) => f.criterion === 'speedup')!;
  t.ok(Math.abs(sp.worstMargin! - (1.5 - 1.2) / 1.2) < 1e-12, 'a floor: margin from the lowest value');
  t.equal(s.figures.find((f) => f.criterion === 'cache-used')!.worstMargin, null, 'no relative margin to a zero threshold');
  t.match(renderStability(s), /3 run\(s\), 1 false failure\(s\)/);
});
