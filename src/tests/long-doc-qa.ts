// Long-document QA: the same long prompts twice through the connector vLLM
// (cold fills PegaFlow; then the GPU prefix cache is emptied so the warm pass
// must be served through PegaFlow), and once, cold, through the baseline.
// Pass when the warm TTFT is under the ceiling, beats the baseline by the
// required ratio, no request failed, and the metrics prove the cache path.
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { pickStat } from '../analysis/stats.ts';
import { cacheUsed, combine, failures, speedup, ttftCeiling, ttftCrossCheck, withDisabled } from '../checks/criteria.ts';
import { generateLongDocRequests, loadPromptFile } from '../workloads/datasets/long-doc.ts';
import type { RequestInput } from '../workloads/client/types.ts';
import type { TestRunner } from '../suite/context.ts';
import { KEY_METRICS, TEST_NAMES, type Criterion, type PassRecord, type TestDetails, type TestResult } from '../suite/types.ts';
import { measuredPass, passFile } from './measured-pass.ts';

export function longDocInputs(prompts: { id: string; prompt: string; documentIndex?: number }[], outputLen: number): RequestInput[] {
  return prompts.map((p): RequestInput => ({
    id: p.id,
    endpoint: 'completions',
    prompt: p.prompt,
    maxTokens: outputLen,
    temperature: 0,
    tags: p.documentIndex !== undefined ? { document: p.documentIndex } : ({} as Record<string, number>),
  }));
}

export const runLongDocQa: TestRunner = async (ctx) => {
  const startedAt = new Date().toISOString();
  const c = ctx.cfg.longDoc;
  const stat = ctx.cfg.thresholds.ttftStat;
  const prompts = c.dataFile
    ? loadPromptFile(c.dataFile).slice(0, c.numRequests).map((prompt, i) => ({ id: `prompt-${i}`, prompt }))
    : generateLongDocRequests({ numRequests: c.numRequests, numDocuments: c.numDocuments, documentLength: c.documentLength, seed: c.seed });
  const inputs = longDocInputs(prompts, c.outputLen);
  await writeFileAtomic(join(ctx.layout.testDir(ctx.test), 'test_data.json'), JSON.stringify({ source: c.dataFile ?? 'generated', seed: c.seed, documentLength: c.documentLength, prompts }, null, 1) + '\n');

  const common = { maxInflight: c.maxInflight, requestRate: c.requestRate, seed: c.seed, inputs };
  ctx.emit({ type: 'phase', test: ctx.test, phase: `${inputs.length} prompts of ~${c.dataFile ? '?' : c.documentLength} tokens; pass 1 cold, pass 2 warm through PegaFlow${ctx.useBaseline ? ', baseline cold' : ''}` });
  const cold = await measuredPass(ctx, { ...common, id: 'pegaflow_pass1', server: 'vllm-pegaflow', kind: 'cold', resetBefore: true, outFile: passFile(ctx, 'pegaflow_pass1') });
  const warm = await measuredPass(ctx, { ...common, id: 'pegaflow_pass2', server: 'vllm-pegaflow', kind: 'warm', resetBefore: true, outFile: passFile(ctx, 'pegaflow_pass2') });
  const baseline = ctx.useBaseline
    ? await measuredPass(ctx, { ...common, id: 'baseline', server: 'vllm-baseline', kind: 'baseline', resetBefore: true, outFile: passFile(ctx, 'baseline') })
    : undefined;

  const passes: PassRecord[] = [cold.pass, warm.pass, ...(baseline ? [baseline.pass] : [])];
  const failed = passes.reduce((a, p) => a + p.failed, 0);
  const total = passes.reduce((a, p) => a + p.requests, 0);
  const byKind: PassRecord['errorsByKind'] = {};
  for (const p of passes) for (const [k, n] of Object.entries(p.errorsByKind)) byKind[k as keyof typeof byKind] = (byKind[k as keyof typeof byKind] ?? 0) + (n ?? 0);

  const warmTtft = pickStat(warm.pass.ttftS, stat);
  const baselineTtft = pickStat(baseline?.pass.ttftS, stat);
  const criteria: Criterion[] = withDisabled([
    failures(failed, total, ctx.cfg.thresholds.maxFailureRate, byKind),
    ttftCeiling(warmTtft, stat, c.maxTtftS, 'warm TTFT'),
    ...(baseline ? [speedup(baselineTtft, warmTtft, c.minSpeedup)] : []),
    cacheUsed(warm.pass.evidence, 'warm pass'),
    ttftCrossCheck(warm.pass.ttftS?.mean, warm.pass.evidence?.serverTtftMeanS),
  ], ctx.cfg.thresholds.disabledChecks);
  const { status, reason } = combine(criteria);
  const endedAt = new Date().toISOString();
  const firstChunk = warm.records.filter((r) => r.ok && r.firstChunkS !== undefined).map((r) => r.firstChunkS!);
  const details: TestDetails = { passes, warnings: [] };
  const metrics: TestResult['metrics'] = {
    [KEY_METRICS.requests]: total,
    [KEY_METRICS.failedRequests]: failed,
    ...(pickStat(cold.pass.ttftS, stat) !== undefined ? { [KEY_METRICS.ttftColdS]: pickStat(cold.pass.ttftS, stat)! } : {}),
    ...(warmTtft !== undefined ? { [KEY_METRICS.ttftWarmS]: warmTtft } : {}),
    ...(baselineTtft !== undefined ? { [KEY_METRICS.ttftBaselineS]: baselineTtft } : {}),
    ...(baselineTtft !== undefined && warmTtft ? { [KEY_METRICS.speedup]: baselineTtft / warmTtft } : {}),
    ...(warm.pass.evidence?.pegaflowHitBlocks !== undefined ? { [KEY_METRICS.pegaflowHitBlocks]: warm.pass.evidence.pegaflowHitBlocks } : {}),
    ...(warm.pass.evidence?.vllmExternalHitTokens !== undefined ? { vllm_external_hit_tokens: warm.pass.evidence.vllmExternalHitTokens } : {}),
    ...(warm.pass.evidence?.serverTtftMeanS !== undefined ? { server_ttft_warm_mean_s: warm.pass.evidence.serverTtftMeanS } : {}),
    ...(firstChunk.length ? { first_chunk_warm_mean_s: firstChunk.reduce((a, b) => a + b, 0) / firstChunk.length } : {}),
    ttft_stat: stat,
  };
  return {
    test: ctx.test,
    name: TEST_NAMES[ctx.test],
    status,
    reason,
    startedAt,
    endedAt,
    durationS: (Date.parse(endedAt) - Date.parse(startedAt)) / 1000,
    criteria,
    metrics,
    details,
  };
};
