// One summary per run, shared by every reporter that renders it (summary.json,
// JUnit, HTML, GitHub, Buildkite, comparison), so they all show the same
// figures. It joins the RunOutcome with the environment capture (started at
// run-start, overlapping server start-up) and, with --compare-to, the
// comparison against an earlier run.
import type { KvgateConfig } from '../config/config.ts';
import { captureEnvironment, withServers, type CaptureOptions, type Environment, type EnvironmentWithoutServers } from '../env/capture.ts';
import type { RunOutcome, ServerRecord } from '../suite/events.ts';
import { compareSummaries, regressionLines } from './compare.ts';
import { buildSummary, readSummary, type Comparison, type Summary } from './summary.ts';

/** Environment probes started once, read at the end (or whatever is known when the process must exit now). */
export class EnvironmentCapture {
  private pending: Promise<EnvironmentWithoutServers | undefined> | undefined;
  private settled: EnvironmentWithoutServers | undefined;
  private failure: string | undefined;

  constructor(private readonly opts: CaptureOptions = {}) {}

  start(cfg: KvgateConfig): void {
    if (this.pending) return;
    this.pending = captureEnvironment(cfg, this.opts).then(
      (env) => (this.settled = env),
      (err: unknown) => {
        this.failure = `environment capture failed: ${(err as Error).message}`;
        return undefined;
      },
    );
  }

  async result(cfg: KvgateConfig, servers: readonly ServerRecord[]): Promise<Environment | undefined> {
    this.start(cfg);
    const env = await this.pending;
    return env ? withServers(env, servers) : undefined;
  }

  /** Without waiting: undefined while the probes still run. */
  current(servers: readonly ServerRecord[]): Environment | undefined {
    return this.settled ? withServers(this.settled, servers) : undefined;
  }

  get error(): string | undefined {
    return this.failure;
  }
}

export interface SummarySourceOptions {
  capture?: EnvironmentCapture | undefined;
  /** Earlier results dir to compare with (run-all-tests --compare-to). */
  compareTo?: string | undefined;
  tolerance?: number | undefined;
}

export interface ComparisonResult {
  comparison?: Comparison;
  /** Why there is none although one was asked for (unreadable summary.json, …). */
  error?: string;
}

export class SummarySource {
  private readonly memo = new WeakMap<RunOutcome, Promise<Summary>>();
  private comparisonResult: ComparisonResult = {};

  constructor(private readonly opts: SummarySourceOptions = {}) {}

  get capture(): EnvironmentCapture | undefined {
    return this.opts.capture;
  }

  /** The run's summary: waits for the environment probes; memoised per outcome. */
  get(outcome: RunOutcome): Promise<Summary> {
    let p = this.memo.get(outcome);
    if (!p) {
      p = (async () => {
        const environment = await this.opts.capture?.result(outcome.config, outcome.servers);
        return this.build(outcome, environment);
      })();
      this.memo.set(outcome, p);
    }
    return p;
  }

  /** What is known now, without waiting (second Ctrl-C). */
  now(outcome: RunOutcome): Summary {
    return this.build(outcome, this.opts.capture?.current(outcome.servers));
  }

  /** The comparison of the last summary built (for the comparison reporter's error message). */
  get comparison(): ComparisonResult {
    return this.comparisonResult;
  }

  private build(outcome: RunOutcome, environment: Environment | undefined): Summary {
    const base = buildSummary(outcome, { environment });
    if (!this.opts.compareTo) return base;
    try {
      const old = readSummary(this.opts.compareTo);
      const comparison = compareSummaries(old, base, { tolerance: this.opts.tolerance, oldDir: this.opts.compareTo, newDir: outcome.resultsDir });
      this.comparisonResult = { comparison };
      // Regressions are warnings: they do not change the run's status or exit code.
      const extra = regressionLines(comparison).map((l) => `regression: ${l}`);
      return buildSummary(outcome, { environment, comparison, extraWarnings: extra });
    } catch (err) {
      this.comparisonResult = { error: `comparison with ${this.opts.compareTo} failed: ${(err as Error).message}` };
      return buildSummary(outcome, { environment, extraWarnings: [this.comparisonResult.error!] });
    }
  }
}
