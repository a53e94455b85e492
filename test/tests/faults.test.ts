// The three tests on the simulated stack, clean and with each fault injected:
// the right test reaches the right verdict with the right one-line reason, and
// the run leaves no process behind. Runs the real suite (ci/run-all-tests.ts)
// through the self-test's scenario runner, with the self-test's small workloads.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestId } from '../../src/config/config.ts';
import { judgeScenario } from '../../src/selftest/judge.ts';
import { runScenario } from '../../src/selftest/run-scenario.ts';
import { findScenario } from '../../src/selftest/scenarios.ts';

const ROOT = process.cwd();
const DIR = mkdtempSync(join(tmpdir(), 'kvgate-faults-'));

/** scenario → the reason each test must give (stricter than the scenario table where it helps to read). */
const CASES: [string, Partial<Record<TestId, RegExp>>][] = [
  ['clean-quick', { 'lm-eval': /all 2 criteria met/, 'long-doc': /all 4 criteria met/, 'share-gpt': /all 4 criteria met/ }],
  ['clean-full', { 'lm-eval': /all 2 criteria met/, 'long-doc': /all 5 criteria met/, 'share-gpt': /all 5 criteria met/ }],
  ['corrupt-load', { 'lm-eval': /^connector run 1 vs connector run 2: samples differ in \d+\/10 docs: \d+(, \d+)* \(see .*samples_diff\.txt\)$/ }],
  ['slow-load', { 'long-doc': /^warm TTFT \(mean\) [\d.]+ s > 0\.22 s$/ }],
  ['drop-saves', { 'long-doc': /^warm TTFT \(mean\) [\d.]+ s > 0\.22 s$/ }],
  ['no-connector', { 'long-doc': /^warm TTFT \(mean\) [\d.]+ s > 0\.22 s$/, 'share-gpt': /^cache path not exercised: PegaFlow hits did not rise/ }],
  ['drop-saves+ignore-reset', { 'long-doc': /^cache path not exercised: PegaFlow hits did not rise during the warm pass/ }],
  ['no-reset-endpoint', { 'long-doc': /^cache path not exercised: .*warning: GPU prefix cache not reset \(POST \/reset_prefix_cache unavailable, needs VLLM_SERVER_DEV_MODE=1\), judged on metrics alone$/ }],
  ['error-rate', { 'long-doc': /^\d+\/16 requests failed \(http-status \d+\)$/ }],
  ['cut-stream', { 'long-doc': /^\d+\/16 requests failed \(stream-cut \d+\)$/ }],
];

for (const [name, reasons] of CASES) {
  t.test(name, { timeout: 300_000 }, async (t) => {
    const s = findScenario(name)!;
    // Thresholds as documented, whatever the caller's env says.
    for (const k of ['MAX_PEGAFLOW_TTFT', 'MIN_SPEEDUP_RATIO', 'TTFT_STAT', 'MAX_FAILURE_RATE', 'KVGATE_INTERNAL_DISABLE_CHECKS']) delete process.env[k];
    const run = await runScenario(s, { repoRoot: ROOT, dir: DIR, label: name });
    const v = judgeScenario(s, run);
    t.ok(v.ok, `verdicts as the scenario expects: ${[...v.runProblems, ...v.cells.flatMap((c) => c.problems)].join('; ') || 'yes'} (log ${run.logFile})`);
    for (const [test, re] of Object.entries(reasons) as [TestId, RegExp][]) {
      const got = run.tests?.find((x) => x.test === test);
      t.match(got?.reason ?? '(no result)', re, `${test}: ${got?.status} with the expected reason`);
    }
    t.same(run.leftovers, [], 'no process of the run is left');
  });
}
