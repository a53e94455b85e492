// What the self-test shows: a scenario × test matrix (expected → got, ✔/✘)
// for the terminal, self-test.json for machines, junit.xml for CI dashboards,
// and the --repeat stability table. Rendering only; the verdicts come from judge.ts.
import Table from 'cli-table3';
import { hostname } from 'node:os';
import type { TestId } from '../config/config.ts';
import { escapeXml, escapeXmlAttr, fmtNum, fmtPercent, oneLine, truncate } from '../report/text.ts';
import type { ScenarioVerdict, Stability } from './judge.ts';
import { ALL_TESTS, type Scenario } from './scenarios.ts';

export const SELF_TEST_SCHEMA_VERSION = 1;

export interface SelfTestReport {
  schemaVersion: typeof SELF_TEST_SCHEMA_VERSION;
  id: string;
  dir: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  ok: boolean;
  thresholds: { maxTtftS: number; minSpeedup: number; ttftStat: string; maxFailureRate: number; disabledChecks: readonly string[] };
  scenarios: {
    name: string;
    proves: string;
    ok: boolean;
    durationS: number;
    exitCode: { expected: number; got: number | null; signal: string | null };
    resultsDir: string;
    log: string;
    leftovers: string[];
    problems: string[];
    cells: ScenarioVerdict['cells'];
  }[];
  stability?: Stability;
  /** Scenarios not run because the self-test was interrupted. */
  notRun: string[];
}

const mark = (ok: boolean): string => (ok ? '✔' : '✘');

/** The matrix cell for one test of one scenario: "expected → got ✔". */
function cellText(v: ScenarioVerdict, test: TestId): string {
  const c = v.cells.find((x) => x.test === test);
  if (!c) return '·';
  const arrow = c.expected.status === c.got.status ? c.got.status : `${c.expected.status} → ${c.got.status}`;
  return `${arrow} ${mark(c.ok)}`;
}

/** The scenario × test matrix, plus one line per unexpected result saying why. */
export function renderMatrix(verdicts: readonly ScenarioVerdict[], scenarios: readonly Scenario[], opts: { color?: boolean } = {}): string {
  const table = new Table({
    head: ['scenario', ...ALL_TESTS, 'exit', 'processes', 'time', ''],
    style: { head: opts.color ? ['bold'] : [], border: opts.color ? ['grey'] : [] },
  });
  for (const v of verdicts) {
    const s = scenarios.find((x) => x.name === v.scenario);
    const exitOk = v.run.signal === null && v.run.exitCode === s?.exitCode;
    table.push([
      v.run.resultsDir.split('/').pop() ?? v.scenario,
      ...ALL_TESTS.map((t) => cellText(v, t)),
      `${v.run.exitCode ?? v.run.signal ?? '?'} ${mark(exitOk)}`,
      v.run.leftovers.length ? `${v.run.leftovers.length} left ✘` : 'none ✔',
      `${v.run.durationS.toFixed(0)}s`,
      mark(v.ok),
    ]);
  }
  const lines = [table.toString()];
  for (const v of verdicts.filter((x) => !x.ok)) {
    lines.push(`✘ ${v.run.resultsDir.split('/').pop() ?? v.scenario}:`);
    for (const p of v.runProblems) lines.push(`    ${p}`);
    for (const c of v.cells.filter((x) => !x.ok)) lines.push(`    ${c.test}: ${c.problems.join('; ')}`, `      reason: ${truncate(oneLine(c.got.reason), 300)}`);
    lines.push(`    log: ${v.run.logFile}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The --repeat table: each figure's spread over the clean runs and its closest approach to the threshold. */
export function renderStability(s: Stability): string {
  const table = new Table({ head: ['test', 'criterion', 'threshold', 'min', 'median', 'max', 'worst margin', 'failed'], style: { head: [], border: [] } });
  for (const f of s.figures) {
    table.push([
      f.test,
      f.criterion,
      `${f.direction === 'max' ? '≤' : '≥'} ${fmtNum(f.threshold)}`,
      fmtNum(f.min),
      fmtNum(f.median),
      fmtNum(f.max),
      f.worstMargin === null ? 'n/a' : fmtPercent(f.worstMargin),
      `${f.failures}/${f.runs}`,
    ]);
  }
  const head = `clean-run stability: ${s.runs} run(s), ${s.falseFailures} false failure(s)`;
  const why = s.falseFailureRuns.map((r) => `  run ${r.run}: ${r.problems.join('; ')}`);
  return `${[head, table.toString(), ...why].join('\n')}\n`;
}

/** junit.xml: one testcase per scenario × test, and one per scenario for its exit code and leftover processes. */
export function renderJunit(r: SelfTestReport): string {
  const cases: string[] = [];
  let failures = 0;
  for (const s of r.scenarios) {
    const classname = `self-test.${s.name}`;
    for (const c of s.cells) {
      const name = `${c.test}: expected ${c.expected.status}`;
      const body = c.ok ? '' : `<failure type="unexpected-verdict" message="${escapeXmlAttr(`${c.problems.join('; ')}: ${oneLine(c.got.reason)}`)}">${escapeXml(`got ${c.got.status}: ${c.got.reason}\nexpected ${c.expected.status} /${c.expected.reason}/\nlog: ${s.log}`)}</failure>`;
      if (!c.ok) failures++;
      cases.push(`    <testcase classname="${escapeXmlAttr(classname)}" name="${escapeXmlAttr(name)}" time="0">${body}</testcase>`);
    }
    const runOk = s.problems.length === 0;
    if (!runOk) failures++;
    const runBody = runOk ? '' : `<failure type="run" message="${escapeXmlAttr(s.problems.join('; '))}">${escapeXml(`log: ${s.log}`)}</failure>`;
    cases.push(`    <testcase classname="${escapeXmlAttr(classname)}" name="exit code and no process left" time="${s.durationS.toFixed(3)}">${runBody}</testcase>`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kvgate self-test" tests="${cases.length}" failures="${failures}" errors="0" time="${r.durationS.toFixed(3)}">`,
    `  <testsuite name="kvgate self-test ${escapeXmlAttr(r.id)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${r.durationS.toFixed(3)}" timestamp="${r.startedAt.slice(0, 19)}" hostname="${escapeXmlAttr(hostname())}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function buildReport(args: {
  id: string;
  dir: string;
  startedAt: Date;
  endedAt: Date;
  thresholds: SelfTestReport['thresholds'];
  scenarios: readonly Scenario[];
  verdicts: readonly ScenarioVerdict[];
  stability?: Stability;
  notRun: string[];
}): SelfTestReport {
  return {
    schemaVersion: SELF_TEST_SCHEMA_VERSION,
    id: args.id,
    dir: args.dir,
    startedAt: args.startedAt.toISOString(),
    endedAt: args.endedAt.toISOString(),
    durationS: (args.endedAt.getTime() - args.startedAt.getTime()) / 1000,
    ok: args.notRun.length === 0 && args.verdicts.length > 0 && args.verdicts.every((v) => v.ok),
    thresholds: args.thresholds,
    scenarios: args.verdicts.map((v) => {
      const s = args.scenarios.find((x) => x.name === v.scenario)!;
      return {
        name: v.run.resultsDir.split('/').pop() ?? v.scenario,
        proves: s.proves,
        ok: v.ok,
        durationS: v.run.durationS,
        exitCode: { expected: s.exitCode, got: v.run.exitCode, signal: v.run.signal },
        resultsDir: v.run.resultsDir,
        log: v.run.logFile,
        leftovers: v.run.leftovers,
        problems: v.runProblems,
        cells: v.cells,
      };
    }),
    ...(args.stability ? { stability: args.stability } : {}),
    notRun: args.notRun,
  };
}

/** --list: each scenario, its faults and what it proves. */
export function renderList(scenarios: readonly Scenario[]): string {
  const table = new Table({ head: ['scenario', 'faults', 'tests → expected', 'proves'], colWidths: [27, 30, 22, 60], wordWrap: true, style: { head: [], border: [] } });
  for (const s of scenarios) {
    const faults = [
      ...Object.entries(s.faults ?? {}).map(([server, f]) => `${server}: ${f}`),
      ...Object.entries(s.serverArgs ?? {}).map(([server, a]) => `${server}: ${a.join(' ')}`),
    ].join('\n');
    const expect = Object.entries(s.expect).map(([t, e]) => `${t} → ${e.status}`).join('\n');
    table.push([`${s.name}${s.quick ? '' : '\n(with baseline)'}`, faults || 'none', expect, s.proves]);
  }
  return `${table.toString()}\n`;
}
