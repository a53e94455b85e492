// run-all-tests --compare-to DIR: at the end, prints the comparison with the
// earlier run and writes results/<id>/comparison.json. The comparison is also
// in summary.json and the CI summaries; regressions are warnings there and do
// not change the run's status or exit code (gate on them with
// ci/compare-runs.ts, which exits 1 when there are any).
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import type { Reporter, RunOutcome } from '../suite/events.ts';
import { renderComparisonTable } from './compare-render.ts';
import type { SummarySource } from './source.ts';

export const COMPARISON_FILE = 'comparison.json';

export class ComparisonReporter implements Reporter {
  readonly name = 'comparison';
  constructor(
    private readonly source: SummarySource,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly color = false,
  ) {}

  async onEnd(outcome: RunOutcome): Promise<void> {
    await this.source.get(outcome);
    const { comparison, error } = this.source.comparison;
    if (error) {
      this.out.write(`WARN: ${error}\n`);
      return;
    }
    if (!comparison) return;
    // On a live terminal, clear the status line first.
    this.out.write((this.color ? '\r\x1b[2K' : '') + renderComparisonTable(comparison, this.color) + '\n');
    await writeFileAtomic(join(outcome.resultsDir, COMPARISON_FILE), JSON.stringify(comparison, null, 2) + '\n');
  }
}
