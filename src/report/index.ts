// Which reporters a run uses. Adding an output format means adding a reporter here, not editing the runner.
import type { KvgateConfig } from '../config/config.ts';
import type { Reporter } from '../suite/events.ts';
import { ResultFilesReporter } from './result-files.ts';
import { TerminalReporter } from './terminal.ts';

export interface ReporterOptions {
  printConfig: boolean;
}

export function defaultReporters(cfg: KvgateConfig, opts: ReporterOptions): Reporter[] {
  void cfg;
  return [new TerminalReporter({ printConfig: opts.printConfig }), new ResultFilesReporter()];
}
