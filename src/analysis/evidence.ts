// Cache-path evidence: what the servers' own counters say happened during a
// pass (after − before). Pure: snapshots in, CacheEvidence out.
import type { CacheEvidence } from '../suite/types.ts';
import { hasFamily, histogramOf, sumOf, type MetricSnapshot } from './prometheus.ts';

export const PEGAFLOW_TIER = 'pegaflow_cache_tier_block_requests_total';
export const PEGAFLOW_LEGACY_HITS = 'pegaflow_cache_block_hits_total';
export const PEGAFLOW_LEGACY_MISSES = 'pegaflow_cache_block_misses_total';
const HIT_TIERS = ['ram', 'ssd', 'rdma'] as const;

export interface EvidenceInput {
  pegaflowBefore?: MetricSnapshot;
  pegaflowAfter?: MetricSnapshot;
  vllmBefore?: MetricSnapshot;
  vllmAfter?: MetricSnapshot;
  reset: CacheEvidence['reset'];
  resetDetail?: string;
}

/** after − before, where a family absent before but present after counts from 0 (series appear on first use). */
function delta(before: MetricSnapshot | undefined, after: MetricSnapshot | undefined, name: string, filter?: Record<string, string | readonly string[]>): number | undefined {
  const a = sumOf(after, name, filter);
  if (a === undefined) return undefined;
  return a - (sumOf(before, name, filter) ?? 0);
}

export function cacheEvidence(i: EvidenceInput): CacheEvidence {
  const pb = i.pegaflowBefore;
  const pa = i.pegaflowAfter;
  let source: CacheEvidence['pegaflowHitSource'] = 'unavailable';
  let hits: number | undefined;
  let queried: number | undefined;
  if (hasFamily(pa, PEGAFLOW_TIER)) {
    source = PEGAFLOW_TIER;
    hits = delta(pb, pa, PEGAFLOW_TIER, { tier: HIT_TIERS });
    queried = delta(pb, pa, PEGAFLOW_TIER);
  } else if (hasFamily(pa, PEGAFLOW_LEGACY_HITS)) {
    source = PEGAFLOW_LEGACY_HITS;
    hits = delta(pb, pa, PEGAFLOW_LEGACY_HITS);
    const misses = delta(pb, pa, PEGAFLOW_LEGACY_MISSES);
    queried = hits !== undefined && misses !== undefined ? hits + misses : undefined;
  } else if (pa) {
    // PegaFlow answered /metrics but has recorded no query yet: the real server omits a series until first use.
    source = PEGAFLOW_TIER;
    hits = 0;
    queried = 0;
  }
  const ttftBefore = histogramOf(i.vllmBefore, 'vllm:time_to_first_token_seconds');
  const ttftAfter = histogramOf(i.vllmAfter, 'vllm:time_to_first_token_seconds');
  const ttftCount = ttftAfter ? ttftAfter.count - (ttftBefore?.count ?? 0) : undefined;
  const ttftSum = ttftAfter ? ttftAfter.sum - (ttftBefore?.sum ?? 0) : undefined;
  const vb = i.vllmBefore;
  const va = i.vllmAfter;
  return {
    pegaflowHitBlocks: hits,
    pegaflowQueriedBlocks: queried,
    pegaflowHitSource: source,
    pegaflowInsertedBlocks: pa ? (delta(pb, pa, 'pegaflow_cache_block_insertions_total') ?? 0) : undefined,
    vllmExternalHitTokens: delta(vb, va, 'vllm:external_prefix_cache_hits_total'),
    vllmExternalQueryTokens: delta(vb, va, 'vllm:external_prefix_cache_queries_total'),
    vllmPrefixHitTokens: delta(vb, va, 'vllm:prefix_cache_hits_total'),
    vllmPrefixQueryTokens: delta(vb, va, 'vllm:prefix_cache_queries_total'),
    serverTtftMeanS: ttftCount && ttftSum !== undefined ? ttftSum / ttftCount : undefined,
    serverTtftCount: ttftCount,
    reset: i.reset,
    resetDetail: i.resetDetail,
  };
}
