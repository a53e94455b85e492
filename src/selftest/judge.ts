// Pure judgement of self-test runs: did each test reach the verdict its
// scenario expects, and (for --repeat) how much margin did each clean-run
// figure leave to its threshold. No I/O here; run-scenario.ts gathers facts.
import type { TestId } from '../config/config.ts';
import { mean, percentile } from '../analysis/stats.ts';
import type { CriterionStatus, TestStatus } from '../suite/types.ts';
import type { Expectation, Scenario } from './scenarios.ts';

/** What one suite run produced for one test (from its summary.json). */
export interface ObservedTest {
  test: TestId;
  status: TestStatus;
  reason: string;
  criteria: { id: string; status: CriterionStatus; measured?: number | null; threshold?: number | null }[];
}

/** Facts about one scenario run, gathered by run-scenario.ts. */
export interface ScenarioRun {
  scenario: string;
  exitCode: number | null;
  signal: string | null;
  durationS: number;
  /** Tests in summary.json; undefined when there was none to read. */
  tests: ObservedTest[] | undefined;
  /** Why summary.json could not be read, when it could not. */
  summaryProblem?: string;
  /** Processes of this run still alive after it ended ("pid command"). */
  leftovers: string[];
  resultsDir: string;
  logFile: string;
}

export interface Cell {
  test: TestId;
  expected: { status: TestStatus; reason: string; criteria: Record<string, CriterionStatus> };
  got: { status: TestStatus | 'missing'; reason: string; criteria: Record<string, CriterionStatus> };
  ok: boolean;
  /** Each way the result differs from the expectation. */
  problems: string[];
}

export interface ScenarioVerdict {
  scenario: string;
  ok: boolean;
  cells: Cell[];
  /** Problems not tied to one test: exit code, leftover processes, missing summary. */
  runProblems: string[];
  run: ScenarioRun;
}

function judgeCell(test: TestId, exp: Expectation, got: ObservedTest | undefined): Cell {
  const expectedCriteria = { ...(exp.criteria ?? {}) } as Record<string, CriterionStatus>;
  const expected = { status: exp.status, reason: exp.reason.source, criteria: expectedCriteria };
  if (!got) {
    return { test, expected, got: { status: 'missing', reason: 'test not in summary.json', criteria: {} }, ok: false, problems: ['no result for this test'] };
  }
  const gotCriteria = Object.fromEntries(got.criteria.map((c) => [c.id, c.status])) as Record<string, CriterionStatus>;
  const problems: string[] = [];
  if (got.status !== exp.status) problems.push(`status ${got.status}, expected ${exp.status}`);
  if (!exp.reason.test(got.reason)) problems.push(`reason does not match /${exp.reason.source}/`);
  for (const [id, want] of Object.entries(expectedCriteria)) {
    const have = gotCriteria[id];
    if (have !== want) problems.push(`criterion ${id} ${have ?? 'absent'}, expected ${want}`);
  }
  return { test, expected, got: { status: got.status, reason: got.reason, criteria: gotCriteria }, ok: problems.length === 0, problems };
}

/** Compares one scenario run with its expectations. */
export function judgeScenario(s: Scenario, run: ScenarioRun): ScenarioVerdict {
  const cells = (Object.entries(s.expect) as [TestId, Expectation][]).map(([test, exp]) => judgeCell(test, exp, run.tests?.find((t) => t.test === test)));
  const runProblems: string[] = [];
  if (run.tests === undefined) runProblems.push(`no summary.json: ${run.summaryProblem ?? 'not written'}`);
  if (run.signal) runProblems.push(`run-all-tests killed by ${run.signal}`);
  else if (run.exitCode !== s.exitCode) runProblems.push(`exit code ${run.exitCode}, expected ${s.exitCode}`);
  if (run.leftovers.length) runProblems.push(`${run.leftovers.length} process(es) still running after the run: ${run.leftovers.join('; ')}`);
  const unexpected = (run.tests ?? []).filter((t) => !(t.test in s.expect)).map((t) => t.test);
  if (unexpected.length) runProblems.push(`tests ran that the scenario does not run: ${unexpected.join(', ')}`);
  return { scenario: s.name, ok: runProblems.length === 0 && cells.every((c) => c.ok), cells, runProblems, run };
}

// ── clean-run stability (--repeat) ─────────────────────────────────────────

/** Which side of its threshold a criterion's figure must stay on. */
const DIRECTION: Record<string, 'max' | 'min' | undefined> = { ttft: 'max', failures: 'max', speedup: 'min', 'cache-used': 'min' };

export interface FigureSpread {
  test: TestId;
  criterion: string;
  direction: 'max' | 'min';
  threshold: number;
  runs: number;
  min: number;
  median: number;
  max: number;
  mean: number;
  /** The run closest to the threshold: relative margin, (threshold − x) ÷ threshold for a ceiling, (x − threshold) ÷ threshold for a floor; null when the threshold is 0. */
  worstMargin: number | null;
  /** Runs in which this criterion failed. */
  failures: number;
}

export interface Stability {
  runs: number;
  /** Runs in which some test did not pass: false failures, since the stack was healthy. */
  falseFailures: number;
  falseFailureRuns: { run: number; problems: string[] }[];
  figures: FigureSpread[];
}

/** Spread of every thresholded figure over repeated clean runs. */
export function stability(verdicts: readonly ScenarioVerdict[]): Stability {
  const series = new Map<string, { test: TestId; criterion: string; direction: 'max' | 'min'; threshold: number; values: number[]; failures: number }>();
  verdicts.forEach((v) => {
    for (const t of v.run.tests ?? []) {
      for (const c of t.criteria) {
        const direction = DIRECTION[c.id];
        if (!direction || typeof c.measured !== 'number' || typeof c.threshold !== 'number') continue;
        const key = `${t.test}/${c.id}`;
        const s = series.get(key) ?? { test: t.test, criterion: c.id, direction, threshold: c.threshold, values: [], failures: 0 };
        s.values.push(c.measured);
        if (c.status === 'fail') s.failures++;
        series.set(key, s);
      }
    }
  });
  const figures: FigureSpread[] = [...series.values()].map((s) => {
    const sorted = [...s.values].sort((a, b) => a - b);
    const worst = s.direction === 'max' ? sorted[sorted.length - 1]! : sorted[0]!;
    const margin = s.threshold === 0 ? null : s.direction === 'max' ? (s.threshold - worst) / s.threshold : (worst - s.threshold) / s.threshold;
    return {
      test: s.test,
      criterion: s.criterion,
      direction: s.direction,
      threshold: s.threshold,
      runs: s.values.length,
      min: sorted[0]!,
      median: percentile(sorted, 50) ?? sorted[0]!,
      max: sorted[sorted.length - 1]!,
      mean: mean(sorted) ?? sorted[0]!,
      worstMargin: margin,
      failures: s.failures,
    };
  });
  const falseFailureRuns = verdicts
    .map((v, i) => ({ run: i + 1, problems: [...v.runProblems, ...v.cells.flatMap((c) => c.problems.map((p) => `${c.test}: ${p} (${c.got.reason})`))] }))
    .filter((r) => r.problems.length > 0);
  return { runs: verdicts.length, falseFailures: falseFailureRuns.length, falseFailureRuns, figures };
}
