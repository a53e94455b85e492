// Writes `<test>.result` as each test ends, the per-test JSON next to the
// test's artefacts, and `overall.result` at the end. Synchronous variant for
// the second-Ctrl-C path, so these files exist whatever happens.
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../results/atomic.ts';
import { layoutFor } from '../results/layout.ts';
import { formatResultFile } from '../results/result-file.ts';
import type { Reporter, RunOutcome, SuiteEvent } from '../suite/events.ts';
import type { TestResult } from '../suite/types.ts';

export class ResultFilesReporter implements Reporter {
  readonly name = 'result-files';
  private resultsDir: string | undefined;
  private readonly pending: Promise<void>[] = [];
  private readonly written = new Set<string>();

  onEvent(event: SuiteEvent): void {
    if (event.type === 'run-start') this.resultsDir = event.resultsDir;
    if (event.type === 'test-end' && this.resultsDir) {
      const files = this.filesFor(this.resultsDir, event.result);
      this.pending.push(Promise.all(files.map(([path, body]) => writeFileAtomic(path, body).then(() => void this.written.add(path)))).then(() => undefined));
    }
  }

  private filesFor(dir: string, r: TestResult): [string, string][] {
    const layout = layoutFor(dir);
    return [
      [layout.resultFile(r.test), formatResultFile({ ...r, timestamp: r.endedAt, reason: r.errorDetail ? `${r.reason} | ${r.errorDetail}` : r.reason })],
      [join(layout.testDir(r.test), 'result.json'), JSON.stringify(r, null, 2) + '\n'],
    ];
  }

  async onEnd(outcome: RunOutcome): Promise<void> {
    await Promise.all(this.pending);
    const layout = layoutFor(outcome.resultsDir);
    // Tests that ended without an event (should not happen) still get their file.
    for (const r of outcome.tests) for (const [path, body] of this.filesFor(outcome.resultsDir, r)) if (!this.written.has(path)) await writeFileAtomic(path, body);
    await writeFileAtomic(layout.overall, `${outcome.status}\n`);
  }

  onEndSync(outcome: RunOutcome): void {
    const layout = layoutFor(outcome.resultsDir);
    for (const r of outcome.tests) for (const [path, body] of this.filesFor(outcome.resultsDir, r)) writeFileAtomicSync(path, body);
    writeFileAtomicSync(layout.overall, `${outcome.status}\n`);
  }
}
