// GitHub Actions (GITHUB_ACTIONS=true): workflow-command annotations for
// failed criteria (::error) and warnings / inconclusive results (::warning),
// the tail of each server log folded in ::group:: blocks when the run did not
// pass, and the Markdown summary appended to $GITHUB_STEP_SUMMARY.
//
// GitHub shows at most 10 error and 10 warning annotations per step; errors
// are printed first, most specific first. While the run prints (server log
// tails, reasons), workflow commands are switched off (::stop-commands::), so
// text from servers cannot act as one; they are switched on again at the end.
import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import type { Reporter, RunOutcome, SuiteEvent } from '../suite/events.ts';
import { tailFile } from './log-tail.ts';
import { renderMarkdown, resultsPathFor } from './markdown.ts';
import type { SummarySource } from './source.ts';
import type { Summary } from './summary.ts';
import { cleanLine as oneLine, stripAnsi } from './text.ts';

/** Escapes a workflow command's message (data). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow command property value (title=…): data escapes plus ':' and ','. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(command: string, props: Record<string, string>, message: string): string {
  const p = Object.entries(props)
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',');
  return `::${command}${p ? ` ${p}` : ''}::${escapeData(message)}`;
}

/** Inverse of the escaping, for tests and tools reading our output. */
export function unescapeCommandValue(s: string): string {
  return s.replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function annotationsFor(s: Summary): string[] {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const t of s.tests) {
    const failed = t.criteria.filter((c) => c.status === 'fail');
    for (const c of failed) errors.push(workflowCommand('error', { title: `${t.name}: ${c.title}` }, oneLine(c.reason)));
    if (t.status === 'error' || t.status === 'interrupted') errors.push(workflowCommand('error', { title: `${t.name}: ${t.status}` }, oneLine(t.reason)));
    else if (t.status === 'fail' && failed.length === 0) errors.push(workflowCommand('error', { title: t.name }, oneLine(t.reason)));
    const inconclusive = t.criteria.filter((c) => c.status === 'inconclusive');
    for (const c of inconclusive) warnings.push(workflowCommand('warning', { title: `${t.name}: ${c.title}` }, `inconclusive: ${oneLine(c.reason)}`));
    if (t.status === 'inconclusive' && inconclusive.length === 0) warnings.push(workflowCommand('warning', { title: `${t.name}: inconclusive` }, oneLine(t.reason)));
  }
  for (const w of s.warnings) warnings.push(workflowCommand('warning', { title: 'kvgate' }, oneLine(w)));
  return [...errors, ...warnings];
}

/**
 * A folded block of raw text. Workflow commands are switched off inside
 * (::stop-commands::) so a log line starting with "::" cannot act as one.
 */
export function groupBlock(title: string, body: string): string[] {
  const token = `kvgate-${randomBytes(8).toString('hex')}`;
  return [`::group::${escapeData(title)}`, `::stop-commands::${token}`, ...stripAnsi(body).split('\n'), `::${token}::`, '::endgroup::'];
}

export function logGroups(s: Summary, tailLines: number): string[] {
  const out: string[] = [];
  for (const t of s.tests) {
    if (t.errorDetail) out.push(...groupBlock(`${t.name}: ${t.status} detail`, t.errorDetail));
  }
  for (const srv of s.servers) {
    const tail = tailFile(srv.logFile, tailLines);
    out.push(...groupBlock(`${srv.role} log, last ${tailLines} lines (${srv.logFile})`, tail ?? `(log not readable: ${srv.logFile})`));
  }
  return out;
}

export interface CiReporterOptions {
  /** CI facts (GITHUB_*, BUILDKITE_*, PATH); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  out?: NodeJS.WritableStream;
  /** Server log lines shown when the run did not pass. */
  logTailLines?: number;
}

export function githubArtifacts(s: Summary, env: NodeJS.ProcessEnv): { resultsPath: string; name?: string; url?: string } {
  const server = env['GITHUB_SERVER_URL'];
  const repo = env['GITHUB_REPOSITORY'];
  const runId = env['GITHUB_RUN_ID'];
  return {
    resultsPath: resultsPathFor(s.resultsDir, s.config.repoRoot),
    ...(env['KVGATE_ARTIFACT_NAME'] ? { name: env['KVGATE_ARTIFACT_NAME'] } : {}),
    ...(server && repo && runId ? { url: `${server}/${repo}/actions/runs/${runId}#artifacts` } : {}),
  };
}

export class GitHubReporter implements Reporter {
  readonly name = 'github';
  private readonly env: NodeJS.ProcessEnv;
  private readonly out: NodeJS.WritableStream;
  private readonly tailLines: number;
  /** Workflow commands are off while the run prints (server output must not act as one). */
  private stopToken: string | undefined;

  constructor(
    private readonly source: SummarySource,
    opts: CiReporterOptions = {},
  ) {
    this.env = opts.env ?? process.env;
    this.out = opts.out ?? process.stdout;
    this.tailLines = opts.logTailLines ?? 80;
  }

  onEvent(e: SuiteEvent): void {
    if (e.type !== 'run-start' || this.stopToken) return;
    this.stopToken = `kvgate-${randomBytes(8).toString('hex')}`;
    this.out.write(`::stop-commands::${this.stopToken}\n`);
  }

  async onEnd(outcome: RunOutcome): Promise<void> {
    // Commands back on first, whatever happens next.
    if (this.stopToken) this.out.write(`::${this.stopToken}::\n`);
    this.stopToken = undefined;
    const s = await this.source.get(outcome);
    const lines = annotationsFor(s);
    if (s.status !== 'PASSED') lines.push(...logGroups(s, this.tailLines));
    this.out.write(lines.map((l) => l + '\n').join(''));
    const summaryFile = this.env['GITHUB_STEP_SUMMARY'];
    if (summaryFile) {
      // GitHub's own file for this step: appended to (other steps' content stays), not a results/ file.
      await appendFile(summaryFile, renderMarkdown(s, { artifacts: githubArtifacts(s, this.env) }) + '\n');
    }
  }
}
