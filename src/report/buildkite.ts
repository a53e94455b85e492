// Buildkite (BUILDKITE=true and buildkite-agent on PATH): the Markdown
// summary as a build annotation —
//   buildkite-agent annotate --style <success|warning|error> --context <ctx>
// with the body on stdin (the agent reads it from a pipe when no body
// argument is given; 1 MiB at most). Context is "kvgate", or
// "kvgate-<step key>" when the step has a key, so a GPU step and a CPU
// (--stack sim) step of the same build keep separate annotations.
// When the run did not pass, the tail of each server log is printed in a
// collapsed log group ("--- …") under the step's output.
import { spawn } from 'node:child_process';
import type { Reporter, RunOutcome } from '../suite/events.ts';
import { whichSync } from '../env/capture.ts';
import type { CiReporterOptions } from './github.ts';
import { tailFile } from './log-tail.ts';
import { renderMarkdown, resultsPathFor } from './markdown.ts';
import type { SummarySource } from './source.ts';
import type { Summary } from './summary.ts';
import { stripAnsi } from './text.ts';

export type AnnotationStyle = 'success' | 'info' | 'warning' | 'error';

/** error: a test did not pass; warning: interrupted, or passed with warnings (e.g. regressions); else success. */
export function annotationStyle(s: Summary): AnnotationStyle {
  if (s.status === 'FAILED') return 'error';
  if (s.status === 'INTERRUPTED') return 'warning';
  return s.warnings.length || (s.comparison?.regressions ?? 0) > 0 ? 'warning' : 'success';
}

export function annotationContext(env: NodeJS.ProcessEnv): string {
  const key = env['BUILDKITE_STEP_KEY']?.replace(/[^A-Za-z0-9_.-]/g, '-');
  return key ? `kvgate-${key}` : 'kvgate';
}

/** True when the reporter should run: on a Buildkite agent with the agent CLI reachable. */
export function buildkiteAgentPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env['BUILDKITE'] !== 'true') return undefined;
  return whichSync('buildkite-agent', env['PATH']);
}

export interface RunResult {
  code: number | null;
  stderr: string;
}

/** Runs the agent with stdin, bounded by timeoutS; never throws. */
export function runWithStdin(bin: string, args: string[], stdin: string, env: NodeJS.ProcessEnv, timeoutS: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(bin, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ code: null, stderr: `${stderr}no answer within ${timeoutS}s` });
    }, timeoutS * 1000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => done({ code: null, stderr: err.message }));
    child.on('close', (code) => done({ code, stderr }));
    child.stdin.on('error', () => undefined); // the agent may exit before reading everything
    child.stdin.end(stdin);
  });
}

export class BuildkiteReporter implements Reporter {
  readonly name = 'buildkite';
  private readonly env: NodeJS.ProcessEnv;
  private readonly out: NodeJS.WritableStream;
  private readonly tailLines: number;

  constructor(
    private readonly source: SummarySource,
    private readonly agentBin: string,
    opts: CiReporterOptions = {},
  ) {
    this.env = opts.env ?? process.env;
    this.out = opts.out ?? process.stdout;
    this.tailLines = opts.logTailLines ?? 80;
  }

  async onEnd(outcome: RunOutcome): Promise<void> {
    const s = await this.source.get(outcome);
    if (s.status !== 'PASSED') {
      const lines: string[] = [];
      for (const srv of s.servers) {
        lines.push(`--- ${srv.role} log, last ${this.tailLines} lines (${srv.logFile})`);
        // Indented: a log line starting with "--- " or "+++ " must not open a group of its own.
        lines.push(stripAnsi(tailFile(srv.logFile, this.tailLines) ?? `(log not readable: ${srv.logFile})`).replace(/^/gm, '  '));
      }
      if (lines.length) this.out.write(lines.join('\n') + '\n');
    }
    const jobUrl = this.env['BUILDKITE_BUILD_URL'] && this.env['BUILDKITE_JOB_ID'] ? `${this.env['BUILDKITE_BUILD_URL']}#${this.env['BUILDKITE_JOB_ID']}` : undefined;
    const body = renderMarkdown(s, { artifacts: { resultsPath: resultsPathFor(s.resultsDir, s.config.repoRoot), url: jobUrl } });
    const args = ['annotate', '--style', annotationStyle(s), '--context', annotationContext(this.env)];
    const r = await runWithStdin(this.agentBin, args, body, this.env, 30);
    if (r.code !== 0) throw new Error(`${this.agentBin} ${args.join(' ')} failed (${r.code === null ? 'no exit code' : `exit ${r.code}`}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  }
}
