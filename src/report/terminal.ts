// What a person watching the run sees. On a TTY: a live status line (phase,
// requests done/total, rate, ETA) under the log; elsewhere (CI, NO_COLOR,
// pipes): plain timestamped lines without ANSI codes. Ends with a summary table.
// Everything printed is also appended, without colours, to results/<id>/kvgate.log.
// Text that comes from outside (server log tails, error details) may carry ANSI
// codes: they are stripped in plain mode and in the transcript.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Table from 'cli-table3';
import type { KvgateConfig } from '../config/config.ts';
import { layoutFor } from '../results/layout.ts';
import { formatNumber } from '../results/result-file.ts';
import type { PassProgress, Reporter, RunOutcome, SuiteEvent } from '../suite/events.ts';
import { KEY_METRICS, type TestResult, type TestStatus } from '../suite/types.ts';
import { stripAnsi } from './text.ts';

export interface TerminalOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env?: NodeJS.ProcessEnv;
  /** Print the resolved configuration block at run start (run-all-tests does). */
  printConfig?: boolean;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function isLiveTerminal(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(out.isTTY) && !env['NO_COLOR'] && !env['CI'] && env['TERM'] !== 'dumb';
}

export function configBlock(cfg: KvgateConfig): string[] {
  const rows: [string, string][] = [
    ['stack', cfg.stack],
    ['model', `${cfg.model} (served as ${cfg.servedModelName})`],
    ['results', cfg.results.dir],
    ['ports', `vllm ${cfg.ports.vllm}, baseline ${cfg.ports.baseline}, pegaflow grpc ${cfg.ports.pegaGrpc} / http ${cfg.ports.pegaHttp}`],
    ['pegaflow', `${cfg.pegaflow.bin} pool ${cfg.pegaflow.poolSize.text}, GPU ${cfg.pegaflow.device}, ssd ${cfg.pegaflow.ssdCachePath ? `${cfg.pegaflow.ssdCachePath} (${cfg.pegaflow.ssdCacheCapacity.text})` : 'off'}`],
    ['vllm', `${cfg.vllm.bin} max-num-seqs ${cfg.vllm.maxNumSeqs}, max-model-len ${cfg.vllm.maxModelLen}, tp ${cfg.vllm.tensorParallelSize}`],
    ['tests', cfg.suite.tests.join(', ') + (cfg.suite.quick ? ' (quick: no baseline)' : '')],
    ['criteria', `TTFT (${cfg.thresholds.ttftStat}) <= ${cfg.thresholds.maxTtftS}s, speedup >= ${cfg.thresholds.minSpeedup}x, failures <= ${cfg.thresholds.maxFailureRate * 100}%`],
    ['timeouts', `startup ${cfg.timeouts.serverStartupS}s, request ${cfg.timeouts.requestS}s, test ${cfg.timeouts.testS}s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['Configuration:', ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];
}

function statusText(status: TestStatus, color: boolean): string {
  const c = status === 'pass' ? ANSI.green : status === 'fail' || status === 'error' ? ANSI.red : ANSI.yellow;
  return color ? `${c}${status.toUpperCase()}${ANSI.reset}` : status.toUpperCase();
}

/** The fields the summary table reads: a live TestResult or a test read back from summary.json. */
export type SummaryRowInput = Pick<TestResult, 'name' | 'status' | 'durationS' | 'metrics'>;

function metric(r: SummaryRowInput, key: string, unit = ''): string {
  const v = r.metrics[key];
  if (v === undefined) return '–';
  if (typeof v !== 'number') return v;
  // Counts stay exact; measured quantities get three significant digits.
  return `${Number.isInteger(v) ? String(v) : formatNumber(Number(v.toPrecision(3)))}${unit}`;
}

/** The final summary table (also used for the GitHub/Buildkite Markdown by other reporters). */
export function summaryRows(tests: readonly SummaryRowInput[]): string[][] {
  return tests.map((r) => [
    r.name,
    r.status,
    `${r.durationS.toFixed(1)}s`,
    metric(r, KEY_METRICS.ttftColdS, 's'),
    metric(r, KEY_METRICS.ttftWarmS, 's'),
    metric(r, KEY_METRICS.ttftBaselineS, 's'),
    metric(r, KEY_METRICS.speedup, 'x'),
    metric(r, KEY_METRICS.pegaflowHitBlocks),
    r.metrics[KEY_METRICS.requests] !== undefined ? `${metric(r, KEY_METRICS.failedRequests)}/${metric(r, KEY_METRICS.requests)}` : '–',
  ]);
}
export const SUMMARY_HEADER = ['test', 'status', 'duration', 'TTFT cold', 'TTFT warm', 'TTFT baseline', 'speedup', 'PegaFlow hits', 'failed'];

export function renderSummaryTable(tests: readonly SummaryRowInput[], color: boolean): string {
  const table = new Table({ head: SUMMARY_HEADER, style: color ? {} : { head: [], border: [] } });
  for (const row of summaryRows(tests)) {
    if (color) row[1] = statusText(row[1] as TestStatus, true);
    table.push(row);
  }
  return table.toString();
}

export class TerminalReporter implements Reporter {
  readonly name = 'terminal';
  private readonly out: NonNullable<TerminalOptions['out']>;
  private readonly live: boolean;
  private readonly printConfig: boolean;
  private transcript: string | undefined;
  private status = '';
  private progress: PassProgress | undefined;
  private serverStarts = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;

  constructor(opts: TerminalOptions = {}) {
    this.out = opts.out ?? process.stdout;
    this.live = isLiveTerminal(this.out, opts.env ?? process.env);
    this.printConfig = opts.printConfig ?? false;
  }

  private stamp(): string {
    return new Date().toISOString().slice(11, 19);
  }

  /** A log line: above the live status line on a TTY, plain and timestamped otherwise. */
  line(text: string, color = ''): void {
    // Continuation lines (log tails, details) are indented: no line of ours starts with
    // what a CI might read as a command ("::error::", "--- ").
    const plain = `[${this.stamp()}] ${stripAnsi(text).replace(/\n/g, '\n    ')}`;
    if (this.transcript) {
      try {
        appendFileSync(this.transcript, plain + '\n');
      } catch {
        // transcript is best effort; the terminal still gets the line
      }
    }
    if (this.live) {
      this.out.write(`\r\x1b[2K${color}[${this.stamp()}] ${text.replace(/\n/g, '\n    ')}${color ? ANSI.reset : ''}\n`);
      this.drawStatus();
    } else this.out.write(plain + '\n');
  }

  private drawStatus(): void {
    if (!this.live || !this.status) return;
    const width = this.out.columns ?? 120;
    this.out.write(`\r\x1b[2K${ANSI.dim}${this.status.slice(0, width - 1)}${ANSI.reset}`);
  }

  private setStatus(text: string): void {
    this.status = text;
    this.drawStatus();
  }

  private progressText(p: PassProgress): string {
    const rate = p.elapsedS > 0 ? p.done / p.elapsedS : 0;
    const eta = rate > 0 ? (p.total - p.done) / rate : undefined;
    return `${p.test} ${p.pass} on ${p.server}: ${p.done}/${p.total} requests${p.failed ? `, ${p.failed} failed` : ''}, ${rate.toFixed(1)}/s${eta !== undefined ? `, ETA ${eta.toFixed(0)}s` : ''}`;
  }

  onEvent(e: SuiteEvent): void {
    switch (e.type) {
      case 'run-start':
        this.transcript = layoutFor(e.resultsDir).consoleLog;
        mkdirSync(dirname(this.transcript), { recursive: true });
        if (this.printConfig) for (const l of configBlock(e.config)) this.line(l);
        this.line(`results: ${e.resultsDir}`);
        if (this.live) this.ticker = setInterval(() => this.tick(), 500).unref();
        break;
      case 'server-starting':
        this.serverStarts.set(e.role, performance.now());
        this.line(`starting ${e.role}: ${e.commandLine.join(' ')}`);
        this.line(`  log: ${e.logFile}`, ANSI.dim);
        break;
      case 'server-ready':
        this.serverStarts.delete(e.role);
        this.line(`${e.role} ready after ${e.elapsedS.toFixed(1)}s`, ANSI.green);
        break;
      case 'server-exited':
        this.line(`${e.role} exited unexpectedly (${e.exit.signal ?? `code ${e.exit.code}`}); last log lines:\n${e.logTail}`, ANSI.red);
        break;
      case 'log':
        this.line(`${e.level === 'info' ? '' : `${e.level.toUpperCase()}: `}${e.message}`, e.level === 'error' ? ANSI.red : e.level === 'warn' ? ANSI.yellow : '');
        break;
      case 'test-start':
        this.line(`── ${e.name} ──`, ANSI.bold);
        break;
      case 'phase':
        this.line(`${e.test}: ${e.phase}`);
        break;
      case 'pass-start':
        this.progress = undefined;
        this.line(`${e.test}: ${e.pass} on ${e.server} (${e.total} requests)`);
        break;
      case 'progress':
        this.progress = e;
        this.setStatus(this.progressText(e));
        break;
      case 'pass-end':
        this.progress = undefined;
        this.status = '';
        this.line(`${e.test}: ${e.pass} on ${e.server}: ${e.summary}`);
        break;
      case 'test-end': {
        const r = e.result;
        const color = r.status === 'pass' ? ANSI.green : r.status === 'fail' || r.status === 'error' ? ANSI.red : ANSI.yellow;
        this.line(`${r.name}: ${r.status.toUpperCase()} — ${r.reason}`, color);
        for (const c of r.criteria) this.line(`  ${c.status === 'pass' ? '✔' : c.status === 'fail' ? '✘' : '•'} ${c.title}: ${c.reason}`);
        if (r.errorDetail) this.line(r.errorDetail, ANSI.dim);
        break;
      }
    }
  }

  private tick(): void {
    if (this.serverStarts.size) {
      const parts = [...this.serverStarts].map(([role, t]) => `${role} ${((performance.now() - t) / 1000).toFixed(0)}s`);
      this.setStatus(`waiting for ${parts.join(', ')}`);
    } else if (this.progress) this.setStatus(this.progressText(this.progress));
  }

  async onEnd(o: RunOutcome): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.status = '';
    if (this.live) this.out.write('\r\x1b[2K');
    const table = renderSummaryTable(o.tests, this.live);
    this.out.write(table + '\n');
    if (this.transcript) {
      try {
        appendFileSync(this.transcript, renderSummaryTable(o.tests, false) + '\n');
      } catch {
        // best effort
      }
    }
    // A recap of what did not pass, so a long log ends with the reasons.
    for (const r of o.tests) {
      if (r.status === 'pass') continue;
      this.line(`${r.name}: ${r.status.toUpperCase()} — ${r.reason}`, r.status === 'fail' || r.status === 'error' ? ANSI.red : ANSI.yellow);
      for (const c of r.criteria) if (c.status === 'fail') this.line(`  ✘ ${c.title}: ${c.reason}`);
    }
    if (o.warnings.length) this.line(`${o.warnings.length} warning${o.warnings.length > 1 ? 's' : ''} (listed above and in summary.json)`, ANSI.yellow);
    const layout = layoutFor(o.resultsDir);
    const reports = [layout.reportHtml, layout.summaryJson, layout.junitXml, layout.envJson].filter((f) => existsSync(f));
    if (reports.length) this.line(`reports: ${reports.join(', ')}`);
    this.line(`overall: ${o.status} (exit ${o.exitCode}); results in ${o.resultsDir}`, o.status === 'PASSED' ? ANSI.green : ANSI.red);
  }
}
