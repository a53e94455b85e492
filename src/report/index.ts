// Which reporters a run uses. Adding an output format means adding a reporter here, not editing the runner.
//
//   result-files   always   <test>.result, per-test result.json, overall.result
//   environment    always   env.json (probes start at run-start)
//   summary        always   summary.json (validated)
//   junit          always   junit.xml
//   html           always   report.html
//   comparison     --compare-to DIR / COMPARE_TO   comparison table + comparison.json
//   github         GITHUB_ACTIONS=true             ::error/::warning, log groups, $GITHUB_STEP_SUMMARY
//   buildkite      BUILDKITE=true and buildkite-agent on PATH   build annotation, log groups
//   terminal       always, last                    live progress / plain lines, final table
//
// CI detection reads `env` (default process.env): these are facts about where
// the run happens, not configuration, so they stay out of KvgateConfig.
import type { KvgateConfig } from '../config/config.ts';
import type { CaptureOptions } from '../env/capture.ts';
import type { Reporter } from '../suite/events.ts';
import { BuildkiteReporter, buildkiteAgentPath } from './buildkite.ts';
import { ComparisonReporter } from './comparison-reporter.ts';
import { EnvironmentReporter } from './environment.ts';
import { GitHubReporter } from './github.ts';
import { HtmlReporter } from './html.ts';
import { JunitReporter } from './junit.ts';
import { ResultFilesReporter } from './result-files.ts';
import { EnvironmentCapture, SummarySource } from './source.ts';
import { SummaryReporter } from './summary-reporter.ts';
import { isLiveTerminal, TerminalReporter } from './terminal.ts';

export interface ReporterOptions {
  printConfig: boolean;
  /** Environment facts (GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, BUILDKITE, PATH, NO_COLOR, CI…); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where terminal and CI output goes; default process.stdout. */
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Environment probes (tests inject a fake probe). */
  capture?: CaptureOptions;
}

export function isGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env['GITHUB_ACTIONS'] === 'true';
}

export function defaultReporters(cfg: KvgateConfig, opts: ReporterOptions): Reporter[] {
  const env = opts.env ?? process.env;
  const out = opts.out ?? process.stdout;
  const capture = new EnvironmentCapture(opts.capture);
  const source = new SummarySource({ capture, compareTo: cfg.suite.compareTo, tolerance: cfg.suite.regressionTolerance });
  const reporters: Reporter[] = [
    new ResultFilesReporter(),
    new EnvironmentReporter(capture),
    new SummaryReporter(source),
    new JunitReporter(source),
    new HtmlReporter(source),
  ];
  if (cfg.suite.compareTo) reporters.push(new ComparisonReporter(source, out, isLiveTerminal(out, env)));
  if (isGitHubActions(env)) reporters.push(new GitHubReporter(source, { env, out }));
  const agent = buildkiteAgentPath(env);
  if (agent) reporters.push(new BuildkiteReporter(source, agent, { env, out }));
  // Last: its closing lines (summary table, overall status) end the output, after every file is written.
  reporters.push(new TerminalReporter({ printConfig: opts.printConfig, out, env }));
  return reporters;
}
