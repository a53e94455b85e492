// Cache-path evidence: what the servers' own counters say happened during one
// pass (after − before). Pure: snapshots in, CacheEvidence out.
//
// PegaFlow (OTel exporter; a series is omitted until first recorded):
//   hits    = Δ pegaflow_cache_tier_block_requests_total{tier=ram|ssd|rdma}
//   queried = Δ pegaflow_cache_tier_block_requests_total (all tiers, miss included)
// Older servers without the tier counter: hits = Δ pegaflow_cache_block_hits_total,
// queried = hits + Δ pegaflow_cache_block_misses_total, and pegaflowHitSource
// says so. A series absent before and present after counted from 0 before.
// Both cache families absent from both scrapes: 0 hits of 0 asked when the
// scrapes hold PegaFlow's pool metrics (nothing recorded yet), otherwise the
// server does not expose them ("unavailable"). A series that went down (the
// server restarted) counts from 0.
// vLLM (series exist from start-up): Δ vllm:external_prefix_cache_{hits,queries}
// and vllm:prefix_cache_{hits,queries} (tokens), server TTFT mean = Δsum / Δcount
// of the vllm:time_to_first_token_seconds histogram. Everything summed over labels
// (engines, model names, OTel scopes).
import type { CacheEvidence } from '../suite/types.ts';
import type { ResetOutcome } from '../workloads/prefix-cache-reset.ts';
import { hasFamily, histogramOf, labelKey, matchesFilter, seriesOf, type LabelFilter, type MetricSnapshot } from './prometheus.ts';

export const PEGAFLOW_TIER_REQUESTS = 'pegaflow_cache_tier_block_requests_total';
export const PEGAFLOW_LEGACY_HITS = 'pegaflow_cache_block_hits_total';
export const PEGAFLOW_LEGACY_MISSES = 'pegaflow_cache_block_misses_total';
export const PEGAFLOW_INSERTIONS = 'pegaflow_cache_block_insertions_total';
export const PEGAFLOW_HIT_TIERS = ['ram', 'ssd', 'rdma'] as const;
export const VLLM_EXTERNAL_HITS = 'vllm:external_prefix_cache_hits_total';
export const VLLM_EXTERNAL_QUERIES = 'vllm:external_prefix_cache_queries_total';
export const VLLM_PREFIX_HITS = 'vllm:prefix_cache_hits_total';
export const VLLM_PREFIX_QUERIES = 'vllm:prefix_cache_queries_total';
export const VLLM_TTFT_HISTOGRAM = 'vllm:time_to_first_token_seconds';

/** The scrapes one pass is judged on: PegaFlow and the vLLM the pass ran against (either may be missing: its scrape failed). */
export interface EvidenceSnapshots {
  pegaflow?: MetricSnapshot;
  vllm?: MetricSnapshot;
}

/** The reset before the pass: its outcome, or 'not-requested'. */
export type ResetState = ResetOutcome | CacheEvidence['reset'];

/**
 * Counter increase over the series matching `filter`, per series (a series
 * absent before counts from 0, one that went down counts from 0: a restart).
 * Undefined when either scrape is missing or the family is in neither.
 */
export function counterDelta(before: MetricSnapshot | undefined, after: MetricSnapshot | undefined, name: string, filter?: LabelFilter): number | undefined {
  if (!before || !after) return undefined;
  const a = seriesOf(after, name);
  const b = seriesOf(before, name);
  if (!a && !b) return undefined;
  const old = new Map<string, number>();
  for (const s of b ?? []) if (matchesFilter(s.labels, filter)) old.set(labelKey(s.labels), s.value);
  let delta = 0;
  for (const s of a ?? []) {
    if (!matchesFilter(s.labels, filter)) continue;
    const prev = old.get(labelKey(s.labels)) ?? 0;
    delta += s.value >= prev ? s.value - prev : s.value;
  }
  return delta;
}

/** True when the scrape holds PegaFlow's pool metrics (present from start-up, unlike the cache counters). */
function exportsPegaflow(snap: MetricSnapshot): boolean {
  return hasFamily(snap, 'pegaflow_pool_capacity_bytes');
}

interface PegaflowHits {
  source: CacheEvidence['pegaflowHitSource'];
  hits: number | undefined;
  queried: number | undefined;
}

function pegaflowHits(before: MetricSnapshot | undefined, after: MetricSnapshot | undefined): PegaflowHits {
  const unavailable: PegaflowHits = { source: 'unavailable', hits: undefined, queried: undefined };
  if (!before || !after) return unavailable;
  const exposes = (name: string) => hasFamily(before, name) || hasFamily(after, name);
  if (exposes(PEGAFLOW_TIER_REQUESTS)) {
    return {
      source: PEGAFLOW_TIER_REQUESTS,
      hits: counterDelta(before, after, PEGAFLOW_TIER_REQUESTS, { tier: PEGAFLOW_HIT_TIERS }) ?? 0,
      queried: counterDelta(before, after, PEGAFLOW_TIER_REQUESTS) ?? 0,
    };
  }
  if (exposes(PEGAFLOW_LEGACY_HITS)) {
    const hits = counterDelta(before, after, PEGAFLOW_LEGACY_HITS) ?? 0;
    const misses = counterDelta(before, after, PEGAFLOW_LEGACY_MISSES);
    return { source: PEGAFLOW_LEGACY_HITS, hits, queried: misses === undefined ? undefined : hits + misses };
  }
  // Neither cache family, but PegaFlow's own metrics are there: an OTel
  // exporter that has recorded no query yet (the real 0.25.1 before its first
  // QueryPrefetch). Nothing was asked, so nothing was hit.
  if (exportsPegaflow(before) && exportsPegaflow(after)) return { source: PEGAFLOW_TIER_REQUESTS, hits: 0, queried: 0 };
  return unavailable;
}

function normalizeReset(reset: ResetState): { reset: CacheEvidence['reset']; resetDetail?: string } {
  return typeof reset === 'string' ? { reset } : { reset: reset.outcome, resetDetail: reset.detail };
}

/** Legacy argument form of cacheEvidence. */
export interface EvidenceInput {
  pegaflowBefore?: MetricSnapshot;
  pegaflowAfter?: MetricSnapshot;
  vllmBefore?: MetricSnapshot;
  vllmAfter?: MetricSnapshot;
  reset: CacheEvidence['reset'];
  resetDetail?: string;
}

/** Evidence for one pass from the scrapes before and after it and the GPU-cache reset that preceded it. */
export function cacheEvidence(before: EvidenceSnapshots, after: EvidenceSnapshots, reset: ResetState): CacheEvidence;
/** @deprecated use cacheEvidence(before, after, reset). */
export function cacheEvidence(input: EvidenceInput): CacheEvidence;
export function cacheEvidence(a: EvidenceSnapshots | EvidenceInput, b?: EvidenceSnapshots, c?: ResetState): CacheEvidence {
  if (b === undefined) {
    const i = a as EvidenceInput;
    const reset: ResetState = i.resetDetail !== undefined && i.reset !== 'not-requested' ? { outcome: i.reset, detail: i.resetDetail } : i.reset;
    return evidence({ pegaflow: i.pegaflowBefore, vllm: i.vllmBefore }, { pegaflow: i.pegaflowAfter, vllm: i.vllmAfter }, reset);
  }
  return evidence(a as EvidenceSnapshots, b, c ?? 'not-requested');
}

function evidence(before: EvidenceSnapshots, after: EvidenceSnapshots, reset: ResetState): CacheEvidence {
  const pf = pegaflowHits(before.pegaflow, after.pegaflow);
  let inserted = counterDelta(before.pegaflow, after.pegaflow, PEGAFLOW_INSERTIONS);
  // Omitted until the first insertion: 0 when PegaFlow's cache counters are otherwise there.
  if (inserted === undefined && pf.source !== 'unavailable') inserted = 0;
  const vb = before.vllm;
  const va = after.vllm;
  const ttftBefore = histogramOf(vb, VLLM_TTFT_HISTOGRAM);
  const ttftAfter = histogramOf(va, VLLM_TTFT_HISTOGRAM);
  let ttftCount: number | undefined;
  let ttftMean: number | undefined;
  if (ttftBefore && ttftAfter) {
    const restarted = ttftAfter.count < ttftBefore.count;
    ttftCount = restarted ? ttftAfter.count : ttftAfter.count - ttftBefore.count;
    const sum = restarted ? ttftAfter.sum : ttftAfter.sum - ttftBefore.sum;
    ttftMean = ttftCount > 0 ? sum / ttftCount : undefined;
  }
  return {
    pegaflowHitBlocks: pf.hits,
    pegaflowQueriedBlocks: pf.queried,
    pegaflowHitSource: pf.source,
    pegaflowInsertedBlocks: inserted,
    vllmExternalHitTokens: counterDelta(vb, va, VLLM_EXTERNAL_HITS),
    vllmExternalQueryTokens: counterDelta(vb, va, VLLM_EXTERNAL_QUERIES),
    vllmPrefixHitTokens: counterDelta(vb, va, VLLM_PREFIX_HITS),
    vllmPrefixQueryTokens: counterDelta(vb, va, VLLM_PREFIX_QUERIES),
    serverTtftMeanS: ttftMean,
    serverTtftCount: ttftCount,
    ...normalizeReset(reset),
  };
}

/** The evidence snapshots of one pass out of a snapshotAll() result. */
export function evidenceSnapshots(set: { snapshots: Partial<Record<string, MetricSnapshot>> }, vllmRole: 'vllm-pegaflow' | 'vllm-baseline'): EvidenceSnapshots {
  return { pegaflow: set.snapshots['pegaflow-server'], vllm: set.snapshots[vllmRole] };
}
