import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { compareFigure, compareSummaries, figureDirection } from '../../src/report/compare.ts';
import { parseCompareArgs, runCompareCli } from '../../src/report/compare-cli.ts';
import { defaultReporters } from '../../src/report/index.ts';
import { EnvironmentCapture, SummarySource } from '../../src/report/source.ts';
import { SummaryReporter } from '../../src/report/summary-reporter.ts';
import { buildSummary, readSummary, type Summary } from '../../src/report/summary.ts';
import type { RunOutcome } from '../../src/suite/events.ts';
import { drive, fakeProbe, MemoryStream } from './fixtures/drive.ts';
import { makeConfig, passingFixture } from './fixtures/outcomes.ts';

/** The passing run with long-doc's warm TTFT scaled by `factor`. */
function scaled(factor: number, mutate?: (o: RunOutcome) => void): Summary {
  const f = passingFixture();
  const m = f.outcome.tests[1]!.metrics;
  m['ttft_warm_s'] = (m['ttft_warm_s'] as number) * factor;
  mutate?.(f.outcome);
  return buildSummary(f.outcome);
}

t.test('directions: TTFT and failures up are worse, speedup and hits down are worse, counts are neutral', async (t) => {
  t.equal(figureDirection('ttft_warm_s'), 'lower-is-better');
  t.equal(figureDirection('failed_requests'), 'lower-is-better');
  t.equal(figureDirection('failed_criteria'), 'lower-is-better');
  t.equal(figureDirection('speedup'), 'higher-is-better');
  t.equal(figureDirection('pegaflow_hit_blocks'), 'higher-is-better');
  t.equal(figureDirection('requests'), 'neutral');
});

t.test('a 30% TTFT increase is a regression; a 2% one is not', async (t) => {
  const base = scaled(1);
  const worse = compareSummaries(base, scaled(1.3), { tolerance: 0.1 });
  const f = worse.figures.find((x) => x.test === 'long-doc-qa' && x.figure === 'ttft_warm_s')!;
  t.equal(f.verdict, 'regression');
  t.ok(Math.abs(f.deltaRel! - 0.3) < 1e-9);
  t.equal(worse.regressions, 1, 'only that figure');

  const noise = compareSummaries(base, scaled(1.02), { tolerance: 0.1 });
  t.equal(noise.figures.find((x) => x.figure === 'ttft_warm_s' && x.test === 'long-doc-qa')!.verdict, 'unchanged');
  t.equal(noise.regressions, 0);

  const better = compareSummaries(base, scaled(0.7));
  t.equal(better.figures.find((x) => x.figure === 'ttft_warm_s' && x.test === 'long-doc-qa')!.verdict, 'improvement', 'TTFT down is better');
});

t.test('speedup down, hits down and failures up are regressions; the opposite directions are not', async (t) => {
  t.equal(compareFigure('x', 'speedup', 5, 3, 0.1).verdict, 'regression');
  t.equal(compareFigure('x', 'speedup', 5, 7, 0.1).verdict, 'improvement');
  t.equal(compareFigure('x', 'pegaflow_hit_blocks', 8640, 4000, 0.1).verdict, 'regression');
  t.equal(compareFigure('x', 'failed_requests', 0, 2, 0.1).verdict, 'regression', 'from 0, any increase of failures');
  t.equal(compareFigure('x', 'failed_requests', 2, 0, 0.1).verdict, 'improvement');
  t.equal(compareFigure('x', 'requests', 90, 120, 0.1).verdict, 'changed', 'neutral figures are never regressions');
  t.equal(compareFigure('x', 'ttft_warm_s', 0.2, 0.22, 0.1).verdict, 'unchanged', 'exactly at the tolerance is not beyond it');
});

t.test('status changes for the worse and figures present in only one run are listed', async (t) => {
  const old = scaled(1);
  const neu = scaled(1, (o) => {
    o.tests[2]!.status = 'fail';
    delete o.tests[1]!.metrics['ttft_cold_s'];
    o.tests[1]!.metrics['ttft_p99_s'] = 0.3;
  });
  const c = compareSummaries(old, neu);
  t.same(c.statusChanges, [{ test: 'share-gpt-multi-turn', old: 'pass', new: 'fail', regression: true }]);
  t.same(c.onlyInOld, [{ test: 'long-doc-qa', figure: 'ttft_cold_s' }]);
  t.same(c.onlyInNew, [{ test: 'long-doc-qa', figure: 'ttft_p99_s' }]);
  t.equal(c.regressions, 1);
  const dropped = compareSummaries(old, buildSummary({ ...passingFixture().outcome, tests: passingFixture().outcome.tests.slice(0, 2) }));
  t.ok(dropped.onlyInOld.some((x) => x.test === 'share-gpt-multi-turn' && x.figure === 'speedup'), 'a test missing from the new run');
});

t.test('different setups are noted', async (t) => {
  const other = scaled(1, (o) => {
    o.config = { ...o.config, model: 'other/model' };
  });
  t.match(compareSummaries(scaled(1), other).notes, [/model differs: Qwen\/Qwen3-8B \(old\) vs other\/model \(new\)/]);
});

async function writeRun(factor: number): Promise<string> {
  const f = passingFixture();
  const m = f.outcome.tests[1]!.metrics;
  m['ttft_warm_s'] = (m['ttft_warm_s'] as number) * factor;
  await drive([new SummaryReporter(new SummarySource())], f.outcome);
  return f.dir;
}

t.test('compare-runs CLI: exit 1 on regressions, 0 without, 2 on bad input; --json and --tolerance', async (t) => {
  const old = await writeRun(1);
  const worse = await writeRun(1.3);
  const same = await writeRun(1.02);
  const io = () => ({ out: new MemoryStream(), err: new MemoryStream(), env: {} });

  let x = io();
  t.equal(runCompareCli([old, worse], x), 1);
  t.match(x.out.text, /1 regression/);
  t.match(x.out.text, /long-doc-qa\s+│ ttft_warm_s\s+│ [\d.]+\s+│ [\d.]+\s+│ \+30%/);
  t.notMatch(x.out.text, /\x1b/, 'no colours when not a TTY');

  x = io();
  t.equal(runCompareCli([old, same], x), 0);
  t.match(x.out.text, /no regressions/);

  x = io();
  t.equal(runCompareCli([old, worse, '--tolerance', '35%'], x), 0, 'a wider tolerance');

  x = io();
  t.equal(runCompareCli([old, worse, '--json'], x), 1);
  const json = JSON.parse(x.out.text);
  t.equal(json.regressions, 1);
  t.equal(json.tolerance, 0.1);

  x = io();
  t.equal(runCompareCli([old], x), 2);
  t.match(x.err.text, /expected two results directories/);
  x = io();
  t.equal(runCompareCli([old, join(old, 'missing')], x), 2);
  t.match(x.err.text, /missing\/summary\.json: no such file/);
  x = io();
  t.equal(runCompareCli([old, worse, '--tolerance', 'lots'], x), 2);
  t.equal(runCompareCli([old, worse, '--bogus'], io()), 2);
  t.equal(parseCompareArgs(['a', 'b'], { REGRESSION_TOLERANCE: '0.25' }).tolerance, 0.25, 'REGRESSION_TOLERANCE sets the default');
});

t.test('ci/compare-runs.ts runs as an executable with those exit codes', async (t) => {
  const old = await writeRun(1);
  const worse = await writeRun(1.3);
  const script = join(process.cwd(), 'ci', 'compare-runs.ts');
  t.equal(spawnSync(script, [old, worse], { encoding: 'utf8' }).status, 1);
  t.match(execFileSync(script, [old, old], { encoding: 'utf8' }), /no regressions/);
  t.equal(spawnSync(script, ['/nonexistent-a', '/nonexistent-b'], { encoding: 'utf8' }).status, 2);
});

t.test('run-all-tests --compare-to: prints the comparison, writes comparison.json, puts it in summary.json; exit code unchanged', async (t) => {
  const oldDir = await writeRun(1);
  const f = passingFixture();
  const { cfg } = makeConfig(['--compare-to', oldDir]);
  t.equal(cfg.suite.compareTo, oldDir);
  const m = f.outcome.tests[1]!.metrics;
  m['ttft_warm_s'] = (m['ttft_warm_s'] as number) * 1.3;
  const outcome: RunOutcome = { ...f.outcome, config: { ...f.outcome.config, suite: cfg.suite } };
  const out = new MemoryStream();
  const reporters = defaultReporters(outcome.config, { printConfig: false, env: {}, out, capture: { probe: fakeProbe } });
  t.ok(reporters.some((r) => r.name === 'comparison'));
  t.same(await drive(reporters, outcome), []);
  t.match(out.text, /comparison with run run-1 .*: 1 regression/);
  t.ok(existsSync(join(f.dir, 'comparison.json')));
  t.equal(JSON.parse(readFileSync(join(f.dir, 'comparison.json'), 'utf8')).regressions, 1);
  const s = readSummary(f.dir);
  t.equal(s.comparison?.regressions, 1);
  t.ok(s.warnings.some((w) => /^regression: long-doc-qa: ttft_warm_s/.test(w)), 'regressions are warnings');
  t.equal(s.status, 'PASSED', 'status unchanged');
  t.equal(s.exitCode, 0, 'exit code unchanged');
});

t.test('a --compare-to dir whose summary.json became unreadable is a warning, not a failure', async (t) => {
  const f = passingFixture();
  const source = new SummarySource({ capture: new EnvironmentCapture({ probe: fakeProbe }), compareTo: join(f.dir, 'gone') });
  const s = await source.get(f.outcome);
  t.equal(s.comparison, undefined);
  t.match(s.warnings.at(-1), /comparison with .*gone failed: .*no such file/);
});
