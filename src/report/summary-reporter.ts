// Writes results/<id>/summary.json, validated against the schema before it is
// written. Data that fails validation (a bug) goes to summary.invalid.json
// next to it, and the reporter fails with the first issue.
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../results/atomic.ts';
import { layoutFor } from '../results/layout.ts';
import type { Reporter, RunOutcome } from '../suite/events.ts';
import type { SummarySource } from './source.ts';
import { serializeSummary, summaryData, SummaryError } from './summary.ts';

export class SummaryReporter implements Reporter {
  readonly name = 'summary';
  constructor(private readonly source: SummarySource) {}

  async onEnd(outcome: RunOutcome): Promise<void> {
    const layout = layoutFor(outcome.resultsDir);
    try {
      await writeFileAtomic(layout.summaryJson, serializeSummary(await this.source.get(outcome)));
    } catch (err) {
      if (err instanceof SummaryError) {
        await writeFileAtomic(join(outcome.resultsDir, 'summary.invalid.json'), JSON.stringify(summaryData(outcome), null, 2) + '\n');
        throw new Error(`summary.json not written (data kept in summary.invalid.json): ${err.message}`);
      }
      throw err;
    }
  }

  onEndSync(outcome: RunOutcome): void {
    writeFileAtomicSync(layoutFor(outcome.resultsDir).summaryJson, serializeSummary(this.source.now(outcome)));
  }
}
