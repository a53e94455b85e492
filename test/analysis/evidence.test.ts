// Cache evidence from metric snapshots taken before and after a pass: PegaFlow
// tier deltas, the legacy fallback, series that appear during the pass,
// families that never appear, vLLM's counters and TTFT histogram.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { cacheEvidence, counterDelta } from '../../src/analysis/evidence.ts';
import { parseMetrics, type MetricSnapshot } from '../../src/analysis/prometheus.ts';

const snap = (name: string): MetricSnapshot => parseMetrics(readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), 'utf8'));
const simPega = { fresh: snap('sim-pegaflow-fresh.txt'), cold: snap('sim-pegaflow-after-cold.txt'), warm: snap('sim-pegaflow-after-warm.txt') };
const simVllm = { fresh: snap('sim-vllm-fresh.txt'), cold: snap('sim-vllm-after-cold.txt'), warm: snap('sim-vllm-after-warm.txt') };
const DONE = { outcome: 'done', detail: 'GPU prefix cache emptied' } as const;

t.test('warm pass through PegaFlow: hits are the ram+ssd+rdma tiers, queried all tiers, vLLM external hits rose', async (t) => {
  const ev = cacheEvidence({ pegaflow: simPega.cold, vllm: simVllm.cold }, { pegaflow: simPega.warm, vllm: simVllm.warm }, DONE);
  t.equal(ev.pegaflowHitSource, 'pegaflow_cache_tier_block_requests_total');
  t.equal(ev.pegaflowHitBlocks, 549, 'the ram series appeared during the pass: counted from 0');
  t.equal(ev.pegaflowQueriedBlocks, 549, 'miss unchanged, ram +549');
  t.equal(ev.pegaflowInsertedBlocks, 0, 'nothing new stored');
  t.equal(ev.vllmExternalHitTokens, 8784);
  t.equal(ev.vllmExternalQueryTokens, 17_602 - 8801);
  t.equal(ev.vllmPrefixHitTokens, 0, 'the GPU cache had been emptied');
  t.equal(ev.vllmPrefixQueryTokens, 8801);
  t.equal(ev.serverTtftCount, 2);
  t.ok(Math.abs(ev.serverTtftMeanS! - (1.2564405060000003 - 1.1005085290000003) / 2) < 1e-12, `server TTFT mean ${ev.serverTtftMeanS}`);
  t.equal(ev.reset, 'done');
  t.equal(ev.resetDetail, 'GPU prefix cache emptied');
});

t.test('cold pass from a fresh PegaFlow: families declared without series count from 0; misses only', async (t) => {
  const ev = cacheEvidence({ pegaflow: simPega.fresh, vllm: simVllm.fresh }, { pegaflow: simPega.cold, vllm: simVllm.cold }, 'not-requested');
  t.equal(ev.pegaflowHitSource, 'pegaflow_cache_tier_block_requests_total');
  t.equal(ev.pegaflowHitBlocks, 0);
  t.equal(ev.pegaflowQueriedBlocks, 549);
  t.equal(ev.pegaflowInsertedBlocks, 550);
  t.equal(ev.vllmExternalHitTokens, 0);
  t.equal(ev.reset, 'not-requested');
  t.equal(ev.resetDetail, undefined);
});

t.test('an older PegaFlow without the tier counter: legacy hit counter, hit series absent before the pass', async (t) => {
  const ev = cacheEvidence({ pegaflow: snap('pegaflow-legacy-before-warm.txt') }, { pegaflow: snap('pegaflow-legacy-after-warm.txt') }, 'not-requested');
  t.equal(ev.pegaflowHitSource, 'pegaflow_cache_block_hits_total', 'says which counter was used');
  t.equal(ev.pegaflowHitBlocks, 18_720);
  t.equal(ev.pegaflowQueriedBlocks, 18_720, 'hits + misses (misses unchanged)');
  t.equal(ev.pegaflowInsertedBlocks, 0);
  t.equal(ev.vllmExternalHitTokens, undefined, 'no vLLM scrape');
});

t.test('a PegaFlow that has recorded no query (pool metrics only, as the real 0.25.1 before its first QueryPrefetch): 0 of 0, not unavailable', async (t) => {
  const bare = parseMetrics('# TYPE pegaflow_pool_capacity_bytes gauge\npegaflow_pool_capacity_bytes{otel_scope_name="pegaflow-core"} 1e9\n');
  const ev = cacheEvidence({ pegaflow: bare, vllm: simVllm.cold }, { pegaflow: bare, vllm: simVllm.warm }, 'not-requested');
  t.equal(ev.pegaflowHitSource, 'pegaflow_cache_tier_block_requests_total');
  t.equal(ev.pegaflowHitBlocks, 0);
  t.equal(ev.pegaflowQueriedBlocks, 0);
  t.equal(ev.pegaflowInsertedBlocks, 0);
  t.equal(ev.vllmExternalHitTokens, 8784, 'vLLM evidence unaffected');
});

t.test('a scrape with no PegaFlow metric at all: unavailable, not zero', async (t) => {
  const foreign = parseMetrics('# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3\n');
  const ev = cacheEvidence({ pegaflow: foreign, vllm: simVllm.cold }, { pegaflow: foreign, vllm: simVllm.warm }, 'not-requested');
  t.equal(ev.pegaflowHitSource, 'unavailable');
  t.equal(ev.pegaflowHitBlocks, undefined);
  t.equal(ev.pegaflowQueriedBlocks, undefined);
  t.equal(ev.pegaflowInsertedBlocks, undefined);
  t.equal(ev.vllmExternalHitTokens, 8784, 'vLLM evidence unaffected');
});

t.test('a failed scrape (before or after) makes that server\'s figures unavailable', async (t) => {
  const noPegaAfter = cacheEvidence({ pegaflow: simPega.cold, vllm: simVllm.cold }, { vllm: simVllm.warm }, DONE);
  t.equal(noPegaAfter.pegaflowHitSource, 'unavailable');
  t.equal(noPegaAfter.pegaflowHitBlocks, undefined);
  const noPegaBefore = cacheEvidence({ vllm: simVllm.cold }, { pegaflow: simPega.warm, vllm: simVllm.warm }, DONE);
  t.equal(noPegaBefore.pegaflowHitBlocks, undefined, 'totals since start-up are not a pass delta');
  const noVllm = cacheEvidence({ pegaflow: simPega.cold }, { pegaflow: simPega.warm }, DONE);
  t.equal(noVllm.vllmExternalHitTokens, undefined);
  t.equal(noVllm.serverTtftMeanS, undefined);
  t.equal(noVllm.serverTtftCount, undefined);
  t.equal(noVllm.pegaflowHitBlocks, 549);
});

t.test('vLLM with two engines: counters and the TTFT histogram are summed over label sets', async (t) => {
  const ev = cacheEvidence({ vllm: snap('vllm-dp2-before-warm.txt') }, { vllm: snap('vllm-dp2-after-warm.txt') }, { outcome: 'unavailable', detail: '404' });
  t.equal(ev.vllmExternalHitTokens, 299_520);
  t.equal(ev.vllmExternalQueryTokens, 300_000);
  t.equal(ev.vllmPrefixHitTokens, 0);
  t.equal(ev.serverTtftCount, 30);
  t.ok(Math.abs(ev.serverTtftMeanS! - 0.105) < 1e-9, `(1.5 + 1.65) s / 30 = ${ev.serverTtftMeanS}`);
  t.equal(ev.reset, 'unavailable');
  t.equal(ev.resetDetail, '404');
});

t.test('a counter that went down (server restarted between scrapes) counts from 0', async (t) => {
  const before = parseMetrics('# TYPE c_total counter\nc_total{tier="ram"} 100\nc_total{tier="miss"} 50\n');
  const after = parseMetrics('# TYPE c_total counter\nc_total{tier="ram"} 30\nc_total{tier="miss"} 70\n');
  t.equal(counterDelta(before, after, 'c_total'), 30 + 20);
  t.equal(counterDelta(before, after, 'c', { tier: 'ram' }), 30);
  t.equal(counterDelta(before, after, 'absent_total'), undefined);
  t.equal(counterDelta(undefined, after, 'c_total'), undefined);
});

t.test('a pass with no TTFT observations has a count of 0 and no mean', async (t) => {
  const ev = cacheEvidence({ vllm: simVllm.warm }, { vllm: simVllm.warm }, 'not-requested');
  t.equal(ev.serverTtftCount, 0);
  t.equal(ev.serverTtftMeanS, undefined);
});

t.test('the older object form of cacheEvidence gives the same evidence', async (t) => {
  const a = cacheEvidence({ pegaflow: simPega.cold, vllm: simVllm.cold }, { pegaflow: simPega.warm, vllm: simVllm.warm }, DONE);
  const b = cacheEvidence({ pegaflowBefore: simPega.cold, pegaflowAfter: simPega.warm, vllmBefore: simVllm.cold, vllmAfter: simVllm.warm, reset: 'done', resetDetail: 'GPU prefix cache emptied' });
  t.same(b, a);
});
