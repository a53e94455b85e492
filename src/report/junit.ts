// junit.xml for Buildkite Test Engine, GitHub test reporters and Jenkins.
//
// Mapping (kept within the Jenkins junit-10 XSD, the common denominator):
//   <testsuites>          the run (name, tests, failures, errors, time)
//     <testsuite>         one per run: name "kvgate <run id>", timestamp (UTC,
//                         YYYY-MM-DDTHH:MM:SS as the Ant XSD wants it),
//                         hostname, <properties> with run facts
//       <testcase>        one per test: classname = name = the test's name
//                           pass          → no child
//                           fail          → <failure type="fail" message=reason>
//                           error         → <error type="error" message=reason>
//                           interrupted   → <error type="interrupted" message=reason>
//                           inconclusive  → <skipped message="inconclusive: reason">
//                         (inconclusive proves nothing about the connector, so it is
//                         neither a failure nor a pass in test dashboards; the run's
//                         exit code still counts it as not passed)
//       <testcase>        one per verdict criterion: classname = test name,
//                         name = criterion title, time 0
//                           pass → no child; fail → <failure type="criterion">;
//                           skipped → <skipped message=reason>;
//                           inconclusive → <skipped message="inconclusive: reason">
// Every `message` is the one-line reason; bodies and <system-out> carry the
// key figures. Times are seconds with millisecond precision.
import { hostname as osHostname } from 'node:os';
import { writeFileAtomic, writeFileAtomicSync } from '../results/atomic.ts';
import { layoutFor } from '../results/layout.ts';
import type { Reporter, RunOutcome } from '../suite/events.ts';
import type { SummarySource } from './source.ts';
import type { Summary, SummaryCriterion, SummaryTest } from './summary.ts';
import { cleanLine as oneLine, escapeXml, escapeXmlAttr, fmtNum, withUnit } from './text.ts';

/** Seconds as the junit XSD's time pattern accepts them: plain decimal, no exponent, never negative. */
export function junitTime(s: number | null | undefined): string {
  return s !== null && s !== undefined && Number.isFinite(s) && s > 0 ? s.toFixed(3) : '0';
}

/** ISO 8601 without zone or fraction (the Ant XSD pattern); the value is UTC. */
export function junitTimestamp(iso: string): string {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 19) : new Date(0).toISOString().slice(0, 19);
}

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
    .join('');
}

function el(name: string, a: Record<string, string | number | undefined>, body?: string): string {
  return body === undefined || body === '' ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${body}</${name}>`;
}

/** Key figures of a test, one `name: value` per line (metrics, then passes). */
export function keyFigureLines(t: SummaryTest): string[] {
  const lines = Object.entries(t.metrics).map(([k, v]) => `${k}: ${typeof v === 'number' ? fmtNum(v) : v}`);
  for (const p of t.details?.passes ?? []) {
    const ttft = p.ttftS ? `TTFT mean ${fmtNum(p.ttftS.mean, 's')} p50 ${fmtNum(p.ttftS.p50, 's')} p99 ${fmtNum(p.ttftS.p99, 's')}` : 'no TTFT';
    const ev = p.evidence;
    const hits = ev ? `, PegaFlow hit blocks ${fmtNum(ev.pegaflowHitBlocks)}, vLLM external hit tokens ${fmtNum(ev.vllmExternalHitTokens)}` : '';
    lines.push(`pass ${p.id} on ${p.server}: ${p.requests - p.failed}/${p.requests} ok, ${ttft}${hits}`);
  }
  for (const m of t.details?.lmEval?.mismatches ?? []) lines.push(`lm_eval ${m.comparison}: ${m.count}/${m.total} documents differ`);
  return lines;
}

function criterionFigures(c: SummaryCriterion): string {
  if (c.measured === undefined && c.threshold === undefined) return '';
  return `measured ${withUnit(c.measured, c.unit)}, threshold ${withUnit(c.threshold, c.unit)}`;
}

function uniqueTitles(criteria: SummaryCriterion[]): string[] {
  const seen = new Map<string, number>();
  for (const c of criteria) seen.set(c.title, (seen.get(c.title) ?? 0) + 1);
  return criteria.map((c) => ((seen.get(c.title) ?? 0) > 1 ? `${c.title} (${c.id})` : c.title));
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

function testCase(t: SummaryTest, counts: Counts): string {
  counts.tests++;
  const reason = oneLine(t.reason);
  const figures = keyFigureLines(t);
  const failed = t.criteria.filter((c) => c.status === 'fail');
  let outcome = '';
  const body = [
    ...failed.map((c) => `✘ ${c.title}: ${oneLine(c.reason)}`),
    ...(t.errorDetail ? ['', t.errorDetail] : []),
  ].join('\n');
  switch (t.status) {
    case 'pass':
      break;
    case 'fail':
      counts.failures++;
      outcome = el('failure', { message: reason, type: 'fail' }, escapeXml(body || reason));
      break;
    case 'error':
    case 'interrupted':
      counts.errors++;
      outcome = el('error', { message: reason, type: t.status }, escapeXml(body || reason));
      break;
    case 'inconclusive':
      counts.skipped++;
      outcome = el('skipped', { message: `inconclusive: ${reason}` });
      break;
  }
  const out = el('system-out', {}, escapeXml([`status: ${t.status}`, `reason: ${reason}`, ...figures].join('\n')));
  return `    ${el('testcase', { classname: t.name, name: t.name, time: junitTime(t.durationS) }, `\n      ${outcome ? `${outcome}\n      ` : ''}${out}\n    `)}`;
}

function criterionCase(t: SummaryTest, c: SummaryCriterion, title: string, counts: Counts): string {
  counts.tests++;
  const reason = oneLine(c.reason);
  const figures = criterionFigures(c);
  let child = '';
  if (c.status === 'fail') {
    counts.failures++;
    child = el('failure', { message: reason, type: 'criterion' }, escapeXml([reason, figures].filter(Boolean).join('\n')));
  } else if (c.status === 'skipped') {
    counts.skipped++;
    child = el('skipped', { message: reason });
  } else if (c.status === 'inconclusive') {
    counts.skipped++;
    child = el('skipped', { message: `inconclusive: ${reason}` });
  } else if (figures) {
    child = el('system-out', {}, escapeXml(`${reason}\n${figures}`));
  }
  return `    ${el('testcase', { classname: t.name, name: title, time: '0' }, child ? `\n      ${child}\n    ` : undefined)}`;
}

export function renderJunit(s: Summary): string {
  const counts: Counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const cases: string[] = [];
  for (const t of s.tests) {
    cases.push(testCase(t, counts));
    const titles = uniqueTitles(t.criteria);
    t.criteria.forEach((c, i) => cases.push(criterionCase(t, c, titles[i]!, counts)));
  }
  const env = s.environment;
  const props: [string, string | undefined][] = [
    ['kvgate.run_id', s.runId],
    ['kvgate.status', s.status],
    ['kvgate.exit_code', String(s.exitCode)],
    ['kvgate.stack', s.config.stack],
    ['kvgate.model', s.config.model],
    ['kvgate.quick', String(s.config.suite.quick)],
    ['kvgate.results_dir', s.resultsDir],
    ['kvgate.version', env?.harness.version],
    ['kvgate.git_sha', env?.harness.gitSha],
    ['vllm.version', env?.tools['vllm']?.version],
    ['pegaflow.version', env?.tools['pegaflow-server']?.version],
    ['gpu', env?.gpus.map((g) => g.name).join(', ') || undefined],
  ];
  const properties = props
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([name, value]) => `      ${el('property', { name, value })}`)
    .join('\n');
  const suiteOut = [
    `kvgate run ${s.runId}: ${s.status} (exit ${s.exitCode})`,
    ...(s.abortReason ? [`stopped early: ${s.abortReason}`] : []),
    ...s.warnings.map((w) => `warning: ${oneLine(w)}`),
  ].join('\n');
  const time = junitTime(s.durationS);
  const suite = [
    `  <testsuite${attrs({
      name: `kvgate ${s.runId}`,
      tests: counts.tests,
      failures: counts.failures,
      errors: counts.errors,
      skipped: counts.skipped,
      time,
      timestamp: junitTimestamp(s.startedAt),
      hostname: env?.os.hostname ?? osHostname(),
      id: '0',
      package: 'kvgate',
    })}>`,
    `    <properties>\n${properties}\n    </properties>`,
    ...cases,
    `    ${el('system-out', {}, escapeXml(suiteOut))}`,
    '  </testsuite>',
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'kvgate', tests: counts.tests, failures: counts.failures, errors: counts.errors, time })}>`,
    ...suite,
    '</testsuites>',
    '',
  ].join('\n');
}

/** Writes results/<id>/junit.xml at the end of the run (also on the second-Ctrl-C path). */
export class JunitReporter implements Reporter {
  readonly name = 'junit';
  constructor(private readonly source: SummarySource) {}

  async onEnd(outcome: RunOutcome): Promise<void> {
    const summary = await this.source.get(outcome);
    await writeFileAtomic(layoutFor(outcome.resultsDir).junitXml, renderJunit(summary));
  }

  onEndSync(outcome: RunOutcome): void {
    writeFileAtomicSync(layoutFor(outcome.resultsDir).junitXml, renderJunit(this.source.now(outcome)));
  }
}
