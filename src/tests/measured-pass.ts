// One measured pass, the unit both performance tests are built from:
// optional GPU-cache reset → metrics before → requests → metrics after →
// evidence → PassRecord, with progress events and the raw records on disk.
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { cacheEvidence } from '../analysis/evidence.ts';
import { scrapeAll, type MetricSnapshot } from '../analysis/prometheus.ts';
import { describePass, passRecord } from '../analysis/pass-record.ts';
import { runPass } from '../workloads/pass-runner.ts';
import { resetPrefixCache, type ResetOutcome } from '../workloads/prefix-cache-reset.ts';
import type { RequestInput, RequestRecord } from '../workloads/client/types.ts';
import type { CacheEvidence, PassRecord } from '../suite/types.ts';
import type { TestContext } from '../suite/context.ts';

export type VllmServer = 'vllm-pegaflow' | 'vllm-baseline';

export interface Snapshots {
  pegaflow?: MetricSnapshot;
  vllm?: MetricSnapshot;
}

/** Scrapes PegaFlow and one vLLM; scrape failures become warnings (the evidence check then fails on missing data). */
export async function scrape(ctx: TestContext, server: VllmServer): Promise<Snapshots> {
  const { snapshots, errors } = await scrapeAll({ pegaflow: ctx.endpoints['pegaflow-server'].metricsUrl, vllm: ctx.endpoints[server].metricsUrl });
  for (const e of errors) ctx.warn(`metrics scrape failed: ${e}`);
  return snapshots;
}

export async function resetGpuCache(ctx: TestContext, server: VllmServer): Promise<ResetOutcome> {
  const r = await resetPrefixCache(ctx.endpoints[server].httpBase);
  if (r.outcome !== 'done') ctx.warn(`${server}: ${r.detail}`);
  return r;
}

export function evidenceBetween(before: Snapshots, after: Snapshots, reset: ResetOutcome | undefined): CacheEvidence {
  return cacheEvidence({
    pegaflowBefore: before.pegaflow,
    pegaflowAfter: after.pegaflow,
    vllmBefore: before.vllm,
    vllmAfter: after.vllm,
    reset: reset ? reset.outcome : 'not-requested',
    resetDetail: reset?.detail,
  });
}

export interface MeasuredPassSpec {
  id: string;
  server: VllmServer;
  kind: PassRecord['kind'];
  inputs: RequestInput[];
  resetBefore: boolean;
  maxInflight: number;
  requestRate: number;
  seed: number;
  /** Where the raw records go (JSON); the bash suite's <pass>.log(.json). */
  outFile: string;
}

export interface MeasuredPass {
  pass: PassRecord;
  records: RequestRecord[];
}

export async function measuredPass(ctx: TestContext, spec: MeasuredPassSpec): Promise<MeasuredPass> {
  const reset = spec.resetBefore ? await resetGpuCache(ctx, spec.server) : undefined;
  const before = await scrape(ctx, spec.server);
  ctx.emit({ type: 'pass-start', test: ctx.test, pass: spec.id, server: spec.server, total: spec.inputs.length });
  const { records, durationS } = await runPass(spec.inputs, {
    baseUrl: ctx.endpoints[spec.server].httpBase,
    model: ctx.cfg.servedModelName,
    timeoutS: ctx.cfg.timeouts.requestS,
    maxInflight: spec.maxInflight,
    requestRate: spec.requestRate,
    seed: spec.seed,
    signal: ctx.signal,
    onProgress: (p) => ctx.emit({ type: 'progress', test: ctx.test, pass: spec.id, server: spec.server, ...p }),
  });
  ctx.signal.throwIfAborted();
  const after = await scrape(ctx, spec.server);
  const pass = passRecord(records, { id: spec.id, server: spec.server, kind: spec.kind, durationS, evidence: evidenceBetween(before, after, reset) });
  ctx.emit({ type: 'pass-end', test: ctx.test, pass: spec.id, server: spec.server, summary: describePass(pass) });
  await writeFileAtomic(spec.outFile, JSON.stringify({ pass, records }, null, 1) + '\n');
  return { pass, records };
}

export function passFile(ctx: TestContext, name: string): string {
  return join(ctx.layout.testDir(ctx.test), `${name}.json`);
}
