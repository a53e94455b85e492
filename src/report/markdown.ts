// The Markdown summary of a run, shared by the GitHub step summary and the
// Buildkite annotation: headline, the terminal's summary table, criteria per
// test, warnings, the comparison with an earlier run, and where the artefacts are.
import { relative, isAbsolute } from 'node:path';
import { comparisonMarkdown } from './compare-render.ts';
import type { Summary, SummaryTest } from './summary.ts';
import { SUMMARY_HEADER, summaryRows } from './terminal.ts';
import { escapeHtml, escapeMarkdown, fmtDurationS, withUnit, markdownCode, markdownFence, oneLine, stripAnsi, truncate, truncateBytes } from './text.ts';

/** GitHub step summaries and Buildkite annotations both stop at 1 MiB. */
export const MARKDOWN_MAX_BYTES = 1024 * 1024 - 4096;

export interface ArtifactInfo {
  /** The results dir as artefact globs see it (relative to the checkout when inside it). */
  resultsPath: string;
  /** Name of the uploaded artefact, when the CI names it. */
  name?: string | undefined;
  /** Page that lists the artefacts (run page, job page). */
  url?: string | undefined;
}

export const STATUS_ICON: Record<string, string> = {
  PASSED: '✅',
  FAILED: '❌',
  INTERRUPTED: '⏹️',
  pass: '✅',
  fail: '❌',
  error: '💥',
  interrupted: '⏹️',
  inconclusive: '❔',
  skipped: '⏭️',
};

const CRITERION_MARK: Record<string, string> = { pass: '✔', fail: '✘', inconclusive: '?', skipped: '–' };

export function resultsPathFor(resultsDir: string, repoRoot: string): string {
  const rel = relative(repoRoot, resultsDir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resultsDir;
}

function headline(s: Summary): string {
  const notPassed = s.tests.filter((t) => t.status !== 'pass').length;
  const detail =
    s.status === 'PASSED'
      ? `all ${s.tests.length} test${s.tests.length === 1 ? '' : 's'} passed`
      : s.status === 'INTERRUPTED'
        ? escapeMarkdown(s.abortReason ?? 'interrupted')
        : `${notPassed} of ${s.tests.length} test${s.tests.length === 1 ? '' : 's'} did not pass`;
  return `## ${STATUS_ICON[s.status] ?? ''} kvgate ${s.status} — ${detail}`;
}

function runLine(s: Summary): string {
  const parts = [
    `run ${markdownCode(s.runId)}`,
    `stack **${escapeMarkdown(s.config.stack)}**`,
    `model ${markdownCode(s.config.model)}`,
    s.config.suite.quick ? 'quick (no baseline)' : 'full suite',
    `duration ${fmtDurationS(s.durationS)}`,
    `exit ${s.exitCode}`,
  ];
  const env = s.environment;
  if (env?.gpus.length) parts.push(`GPU ${escapeMarkdown(env.gpus.map((g) => g.name).join(', '))}`);
  if (env?.harness.gitSha) parts.push(`kvgate ${markdownCode(env.harness.gitSha.slice(0, 12))}`);
  return parts.join(' · ');
}

export function markdownTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = header.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function summaryTable(s: Summary): string {
  const rows = summaryRows(s.tests).map((r) => r.map((cell, i) => (i === 1 ? `${STATUS_ICON[cell] ?? ''} ${cell}` : escapeMarkdown(cell))));
  return markdownTable(SUMMARY_HEADER, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
}

function criteriaSection(t: SummaryTest): string {
  const open = t.status !== 'pass' ? ' open' : '';
  // Inside an HTML block Markdown escapes would show literally: HTML-escape instead.
  const summaryText = `${escapeHtml(t.name)}</b> — ${t.status.toUpperCase()}: ${escapeHtml(truncate(oneLine(t.reason), 300))}`;
  const lines = [`<details${open}><summary>${STATUS_ICON[t.status] ?? ''} <b>${summaryText}</summary>`, ''];
  if (t.criteria.length) {
    const rows = t.criteria.map((c) => [
      `${CRITERION_MARK[c.status] ?? ''} ${c.status}`,
      escapeMarkdown(c.title),
      c.measured !== undefined ? escapeMarkdown(withUnit(c.measured, c.unit)) : '',
      c.threshold !== undefined ? escapeMarkdown(withUnit(c.threshold, c.unit)) : '',
      escapeMarkdown(truncate(c.reason, 300)),
    ]);
    lines.push(markdownTable(['', 'criterion', 'measured', 'threshold', 'reason'], rows, ['l', 'l', 'r', 'r', 'l']));
  } else lines.push('_No criteria were judged._');
  if (t.errorDetail) lines.push('', markdownFence(truncate(stripAnsi(t.errorDetail), 4000)));
  lines.push('', '</details>');
  return lines.join('\n');
}

function artifactsSection(s: Summary, a: ArtifactInfo): string {
  const where = a.name ? `uploaded as artefact **${escapeMarkdown(a.name)}**` : 'uploaded with the job’s artefacts';
  const link = a.url ? ` ([open](${a.url}))` : '';
  const base = a.resultsPath.replace(/\/$/, '');
  return [
    '### Artefacts',
    '',
    `Results directory ${markdownCode(base)}, ${where}${link}:`,
    '',
    `- ${markdownCode(`${base}/report.html`)} — charts and tables (self-contained; open in a browser)`,
    `- ${markdownCode(`${base}/summary.json`)} — everything above, machine-readable (schema version ${s.schemaVersion})`,
    `- ${markdownCode(`${base}/junit.xml`)} — one test case per test and per criterion`,
    `- ${markdownCode(`${base}/env.json`)} — versions, GPUs, server command lines`,
    `- ${markdownCode(`${base}/logs/`)} — server and lm_eval logs; ${markdownCode(`${base}/kvgate.log`)} — this run's console`,
    ...(s.comparison ? [`- ${markdownCode(`${base}/comparison.json`)} — figures against run ${markdownCode(s.comparison.old.runId)}`] : []),
  ].join('\n');
}

export interface MarkdownOptions {
  artifacts?: ArtifactInfo;
  maxBytes?: number;
}

export function renderMarkdown(s: Summary, opts: MarkdownOptions = {}): string {
  const parts: string[] = [headline(s), '', runLine(s), '', summaryTable(s), ''];
  if (s.abortReason && s.status !== 'INTERRUPTED') parts.push(`**Stopped early:** ${escapeMarkdown(s.abortReason)}`, '');
  parts.push('### Criteria', '');
  for (const t of s.tests) parts.push(criteriaSection(t), '');
  if (s.warnings.length) {
    parts.push('### Warnings', '');
    for (const w of s.warnings.slice(0, 50)) parts.push(`- ${escapeMarkdown(truncate(oneLine(w), 400))}`);
    if (s.warnings.length > 50) parts.push(`- … and ${s.warnings.length - 50} more (see summary.json)`);
    parts.push('');
  }
  if (s.comparison) parts.push(comparisonMarkdown(s.comparison), '');
  if (opts.artifacts) parts.push(artifactsSection(s, opts.artifacts), '');
  return truncateBytes(parts.join('\n'), opts.maxBytes ?? MARKDOWN_MAX_BYTES, '\n\n…(summary truncated at the CI size limit; see summary.json)\n');
}
