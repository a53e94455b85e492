// Writes results/<id>/env.json: the environment probes start at run-start
// (overlapping server start-up) and are joined with the server command lines
// at the end.
import { writeFileAtomic, writeFileAtomicSync } from '../results/atomic.ts';
import { layoutFor } from '../results/layout.ts';
import type { Reporter, RunOutcome, SuiteEvent } from '../suite/events.ts';
import type { EnvironmentCapture } from './source.ts';

export class EnvironmentReporter implements Reporter {
  readonly name = 'environment';
  constructor(private readonly capture: EnvironmentCapture) {}

  onEvent(e: SuiteEvent): void {
    if (e.type === 'run-start') this.capture.start(e.config);
  }

  async onEnd(outcome: RunOutcome): Promise<void> {
    const env = await this.capture.result(outcome.config, outcome.servers);
    if (!env) throw new Error(this.capture.error ?? 'environment capture produced nothing');
    await writeFileAtomic(layoutFor(outcome.resultsDir).envJson, JSON.stringify(env, null, 2) + '\n');
  }

  onEndSync(outcome: RunOutcome): void {
    const env = this.capture.current(outcome.servers);
    if (env) writeFileAtomicSync(layoutFor(outcome.resultsDir).envJson, JSON.stringify(env, null, 2) + '\n');
  }
}
