// A comparison for people: a cli-table3 table for terminals, Markdown for CI summaries.
import Table from 'cli-table3';
import { changeText, fmtFigure, regressionLines } from './compare.ts';
import type { Comparison, FigureDelta } from './summary.ts';
import { escapeMarkdown, fmtPercent, markdownCode } from './text.ts';

const ARROW: Record<FigureDelta['direction'], string> = { 'lower-is-better': '↓ better', 'higher-is-better': '↑ better', neutral: '' };

function verdictText(f: FigureDelta, color: boolean): string {
  if (!color) return f.verdict;
  const c = f.verdict === 'regression' ? '\x1b[31m' : f.verdict === 'improvement' ? '\x1b[32m' : '\x1b[2m';
  return `${c}${f.verdict}\x1b[0m`;
}

export function comparisonHeadline(c: Comparison): string {
  const base = `comparison with run ${c.old.runId} (${c.old.dir}), tolerance ${fmtPercent(c.tolerance, 0)}`;
  return c.regressions ? `${base}: ${c.regressions} regression${c.regressions > 1 ? 's' : ''}` : `${base}: no regressions`;
}

export function renderComparisonTable(c: Comparison, color: boolean): string {
  const table = new Table({
    head: ['test', 'figure', 'old', 'new', 'change', 'direction', 'verdict'],
    style: color ? {} : { head: [], border: [] },
    // Compact: no rule between rows.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const s of c.statusChanges) table.push([s.test, 'status', s.old, s.new, '', '', s.regression ? verdictText({ verdict: 'regression' } as FigureDelta, color) : 'changed']);
  for (const f of c.figures) table.push([f.test, f.figure, fmtFigure(f.old), fmtFigure(f.new), changeText(f), ARROW[f.direction], verdictText(f, color)]);
  const lines = [comparisonHeadline(c), table.toString()];
  if (c.onlyInOld.length) lines.push(`only in the old run: ${c.onlyInOld.map((x) => `${x.test}/${x.figure}`).join(', ')}`);
  if (c.onlyInNew.length) lines.push(`only in the new run: ${c.onlyInNew.map((x) => `${x.test}/${x.figure}`).join(', ')}`);
  for (const n of c.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

/** Markdown section; regressions first, the full table folded. */
export function comparisonMarkdown(c: Comparison): string {
  const out: string[] = [];
  out.push(`### Comparison with run ${markdownCode(c.old.runId)}`);
  out.push('');
  out.push(
    c.regressions
      ? `⚠️ **${c.regressions} regression${c.regressions > 1 ? 's' : ''}** beyond ${fmtPercent(c.tolerance, 0)} (flagged as warnings; they do not change the exit code).`
      : `No regressions beyond ${fmtPercent(c.tolerance, 0)}.`,
  );
  for (const l of regressionLines(c)) out.push(`- ${escapeMarkdown(l)}`);
  for (const n of c.notes) out.push(`- note: ${escapeMarkdown(n)}`);
  out.push('');
  out.push('<details><summary>All figures</summary>');
  out.push('');
  out.push('| test | figure | old | new | change | verdict |');
  out.push('| --- | --- | ---: | ---: | ---: | --- |');
  for (const s of c.statusChanges) out.push(`| ${escapeMarkdown(s.test)} | status | ${s.old} | ${s.new} | | ${s.regression ? '**regression**' : 'changed'} |`);
  for (const f of c.figures) {
    out.push(
      `| ${escapeMarkdown(f.test)} | ${escapeMarkdown(f.figure)} | ${fmtFigure(f.old)} | ${fmtFigure(f.new)} | ${escapeMarkdown(changeText(f))} | ${f.verdict === 'regression' ? '**regression**' : f.verdict} |`,
    );
  }
  if (c.onlyInOld.length) out.push('', `Only in the old run: ${c.onlyInOld.map((x) => escapeMarkdown(`${x.test}/${x.figure}`)).join(', ')}`);
  if (c.onlyInNew.length) out.push('', `Only in the new run: ${c.onlyInNew.map((x) => escapeMarkdown(`${x.test}/${x.figure}`)).join(', ')}`);
  out.push('', '</details>');
  return out.join('\n');
}
