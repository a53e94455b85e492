// lm_eval consistency: the same eval twice against the connector vLLM, with
// the GPU prefix cache emptied in between so the second run's prompts come
// back through PegaFlow. Logged samples must be identical per document.
// Full mode adds the baseline twice: if the baseline disagrees with itself the
// engine is nondeterministic here (inconclusive); if it agrees with itself but
// not with the connector, the connector changed the outputs (fail).
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { classifyConsistency, compareSamples, findSamplesFile, identical, parseSamples, renderDiff, scoresOf, type SamplesComparison } from '../analysis/lm-eval-samples.ts';
import { cacheUsed, combine, withDisabled } from '../checks/criteria.ts';
import { buildLmEvalArgs, lmEvalEnv, requirementsFile, resolveLmEvalBinary } from '../workloads/lm-eval/driver.ts';
import type { TestContext, TestRunner } from '../suite/context.ts';
import { KEY_METRICS, TEST_NAMES, type CacheEvidence, type Criterion, type LmEvalDetails, type TestDetails } from '../suite/types.ts';
import { evidenceBetween, resetGpuCache, scrape, type VllmServer } from './measured-pass.ts';

interface RunOutput {
  id: string;
  server: VllmServer;
  outputDir: string;
  samplesFile: string;
  durationS: number;
  evidence: CacheEvidence;
}

class LmEvalRunFailed extends Error {}

async function runOnce(ctx: TestContext, bin: string, id: string, server: VllmServer): Promise<RunOutput> {
  const c = ctx.cfg.lmEval;
  const outputDir = join(ctx.layout.testDir(ctx.test), id);
  const reset = await resetGpuCache(ctx, server);
  const before = await scrape(ctx, server);
  ctx.emit({ type: 'phase', test: ctx.test, phase: `lm_eval ${id} on ${server} (${c.task}, limit ${c.limit})` });
  const args = buildLmEvalArgs({
    servedModelName: ctx.cfg.servedModelName,
    baseUrl: `${ctx.endpoints[server].httpBase}/v1/completions`,
    task: c.task,
    includePath: c.includePath,
    limit: c.limit,
    concurrent: c.concurrent,
    seed: c.seed,
    outputPath: outputDir,
  });
  const logFile = join(ctx.layout.logs, `lm_eval-${id}.log`);
  const res = await ctx.runProcess(
    // Local task files name their data relative to the task folder: run there.
    { name: `lm_eval-${id}`, command: bin, args, env: lmEvalEnv(c.includePath), logFile, cwd: c.includePath ?? ctx.layout.testDir(ctx.test) },
    { phase: `lm_eval ${id} (LM_EVAL_RUN_TIMEOUT)`, timeoutS: ctx.cfg.timeouts.lmEvalRunS, signal: ctx.signal },
  );
  if (res.exit.code !== 0) {
    throw new LmEvalRunFailed(`lm_eval ${id} on ${server} exited with ${res.exit.signal ?? `code ${res.exit.code}`} (log ${logFile}): ${res.logTail.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`);
  }
  const after = await scrape(ctx, server);
  return { id, server, outputDir, samplesFile: findSamplesFile(outputDir, c.task), durationS: res.durationS, evidence: evidenceBetween(before, after, reset) };
}

export const runLmEvalConsistency: TestRunner = async (ctx) => {
  const startedAt = new Date().toISOString();
  const c = ctx.cfg.lmEval;
  const { bin, how } = await resolveLmEvalBinary({
    lmEvalBin: c.bin,
    allowVenv: c.allowVenv,
    venvDir: c.venvDir,
    requirementsFile: requirementsFile(ctx.cfg.repoRoot),
    installTimeoutS: ctx.cfg.timeouts.lmEvalInstallS,
    logFile: join(ctx.layout.logs, 'lm_eval-install.log'),
    runProcess: ctx.runProcess,
    signal: ctx.signal,
    onInstall: (m) => ctx.info(m),
  });
  ctx.info(`lm_eval: ${bin} (from ${how})`);
  const withBaseline = ctx.useBaseline && !c.skipBaseline;
  const runs: RunOutput[] = [];
  const finish = (judged: Criterion[], mismatches: LmEvalDetails['mismatches'], diffFile: string | undefined, extraReason?: string) => {
    const criteria = withDisabled(judged, ctx.cfg.thresholds.disabledChecks);
    const { status, reason } = combine(criteria);
    const endedAt = new Date().toISOString();
    const scores = runs.map((r) => ({ ...r, scores: scoresOf(parseSamples(r.samplesFile)) }));
    const details: TestDetails = {
      passes: [],
      warnings: [],
      lmEval: { runs: scores.map((r) => ({ id: r.id, server: r.server, outputDir: r.outputDir, samplesFile: r.samplesFile, scores: r.scores, durationS: r.durationS })), mismatches, diffFile },
    };
    const second = runs.find((r) => r.id === 'second_run');
    const metrics: Record<string, number | string> = {
      docs: c.limit,
      ...(second?.evidence.pegaflowHitBlocks !== undefined ? { [KEY_METRICS.pegaflowHitBlocks]: second.evidence.pegaflowHitBlocks } : {}),
      ...(mismatches[0] ? { differing_docs: mismatches[0].count } : {}),
    };
    for (const r of scores) for (const [k, v] of Object.entries(r.scores)) metrics[`${r.id}.${k.replace(',', '.')}`] = v;
    return { test: ctx.test, name: TEST_NAMES[ctx.test], status, reason: extraReason ?? reason, startedAt, endedAt, durationS: (Date.parse(endedAt) - Date.parse(startedAt)) / 1000, criteria, metrics, details };
  };

  try {
    runs.push(await runOnce(ctx, bin, 'first_run', 'vllm-pegaflow'));
    runs.push(await runOnce(ctx, bin, 'second_run', 'vllm-pegaflow'));
    if (withBaseline) {
      runs.push(await runOnce(ctx, bin, 'baseline_first_run', 'vllm-baseline'));
      runs.push(await runOnce(ctx, bin, 'baseline_second_run', 'vllm-baseline'));
    }
  } catch (err) {
    if (!(err instanceof LmEvalRunFailed)) throw err;
    const crit: Criterion = { id: 'lm-eval-ran', title: 'lm_eval runs completed', status: 'fail', reason: err.message };
    return finish([crit], [], undefined);
  }

  const samples = new Map(runs.map((r) => [r.id, parseSamples(r.samplesFile)]));
  const connector = compareSamples(samples.get('first_run')!, samples.get('second_run')!, 'connector run 1', 'connector run 2');
  const baseline = withBaseline ? compareSamples(samples.get('baseline_first_run')!, samples.get('baseline_second_run')!, 'baseline run 1', 'baseline run 2') : undefined;
  const cross = withBaseline ? compareSamples(samples.get('first_run')!, samples.get('baseline_first_run')!, 'connector', 'baseline') : undefined;
  const verdict = classifyConsistency(connector, baseline, cross);
  const comparisons = [connector, baseline, cross].filter((x): x is SamplesComparison => x !== undefined);
  let diffFile: string | undefined;
  if (comparisons.some((x) => !identical(x))) {
    diffFile = join(ctx.layout.testDir(ctx.test), 'samples_diff.txt');
    await writeFileAtomic(diffFile, renderDiff(comparisons));
  }
  const mismatches = comparisons.map((x) => ({ comparison: `${x.labelA} vs ${x.labelB}`, docIds: x.differingDocIds, count: x.differingDocIds.length, total: x.docs }));
  const criteria: Criterion[] = [
    { id: 'consistency', title: withBaseline ? 'outputs identical across runs and match the baseline' : 'outputs identical across runs', status: verdict.status, reason: verdict.reason + (diffFile && verdict.status !== 'pass' ? ` (see ${diffFile})` : '') },
    cacheUsed(runs.find((r) => r.id === 'second_run')!.evidence, 'second lm_eval run'),
  ];
  return finish(criteria, mismatches, diffFile);
};
