// kvgate's Prometheus parser and cache-evidence check on the real
// pegaflow-server 0.25.1's /metrics (test/fixtures/real/pegaflow/): the names,
// types and labels the evidence check reads, the OTel exporter's habit of
// omitting a family until it is recorded, and the verdicts those scrapes give.
import t from 'tap';
import { cacheEvidence, PEGAFLOW_INSERTIONS, PEGAFLOW_LEGACY_HITS, PEGAFLOW_LEGACY_MISSES, PEGAFLOW_TIER_REQUESTS } from '../../src/analysis/evidence.ts';
import { hasFamily, histogramOf, seriesOf, sumOf } from '../../src/analysis/prometheus.ts';
import { cacheUsed } from '../../src/checks/cache-used.ts';
import { declaredFamilies, realPegaflowMetrics, realPegaflowText } from '../helpers/real-pegaflow.ts';

const before = realPegaflowMetrics('before');
const after = realPegaflowMetrics('after');
const cleaned = realPegaflowMetrics('after-cleanup');

t.test('every family of the real exposition parses, with the declared type', async (t) => {
  for (const stage of ['before', 'after', 'after-cleanup'] as const) {
    const declared = declaredFamilies(realPegaflowText(`metrics-${stage}.txt`));
    const snap = realPegaflowMetrics(stage);
    for (const [name, type] of declared) {
      t.equal(snap.types.get(name), type, `${stage}: ${name} is a ${type}`);
      if (type === 'histogram') t.ok(histogramOf(snap, name), `${stage}: histogram ${name} has sum and count`);
      else t.ok((seriesOf(snap, name) ?? []).length > 0, `${stage}: ${name} has samples`);
    }
  }
  t.equal(declaredFamilies(realPegaflowText('metrics-before.txt')).size, 7, 'before traffic');
  t.equal(declaredFamilies(realPegaflowText('metrics-after.txt')).size, 23, 'after traffic');
  t.equal(declaredFamilies(realPegaflowText('metrics-after-cleanup.txt')).size, 26, 'after cleanup: evictions, reclaimed bytes, residence times');
});

t.test('before any KV traffic the real server exposes no cache family at all (OTel omits unrecorded instruments)', async (t) => {
  for (const name of [PEGAFLOW_TIER_REQUESTS, PEGAFLOW_INSERTIONS, PEGAFLOW_LEGACY_HITS, PEGAFLOW_LEGACY_MISSES, 'pegaflow_pool_used_bytes']) {
    t.notOk(hasFamily(before, name), `${name} absent before traffic`);
  }
  t.equal(sumOf(before, 'pegaflow_pool_capacity_bytes'), 2 * 1024 ** 3, 'the pool capacity is there from the start');
  t.equal(sumOf(before, 'pegaflow_rpc_requests_total', { method: 'health' }), 2, 'the readiness Health calls are counted');
});

t.test('after the traffic: the names, labels and values the evidence check reads', async (t) => {
  t.equal(sumOf(after, PEGAFLOW_TIER_REQUESTS, { tier: 'ram' }), 72);
  t.equal(sumOf(after, PEGAFLOW_TIER_REQUESTS, { tier: 'miss' }), 7, 'loading answers are counted too');
  t.equal(sumOf(after, PEGAFLOW_LEGACY_HITS), 72);
  t.equal(sumOf(after, PEGAFLOW_LEGACY_MISSES), 2, 'only the two ready(0) answers');
  t.equal(sumOf(after, PEGAFLOW_INSERTIONS), 40, '32 saved by the connector client, 8 through kvgate proto/');
  for (const s of seriesOf(after, PEGAFLOW_TIER_REQUESTS) ?? []) t.equal(s.labels['otel_scope_name'], 'pegaflow-core', `tier ${s.labels['tier']} carries the OTel scope`);
  t.equal(sumOf(cleaned, 'pegaflow_cache_block_evictions_total'), 40, 'memory cleanup evicted all 40');
  t.equal(sumOf(cleaned, 'pegaflow_cache_resident_blocks'), 0);
});

t.test('evidence from the real scrapes: hits from the tier counter, absent-before series counted from 0', async (t) => {
  const ev = cacheEvidence({ pegaflow: before }, { pegaflow: after }, 'not-requested');
  t.equal(ev.pegaflowHitSource, PEGAFLOW_TIER_REQUESTS);
  t.equal(ev.pegaflowHitBlocks, 72);
  t.equal(ev.pegaflowQueriedBlocks, 79);
  t.equal(ev.pegaflowInsertedBlocks, 40);
  const verdict = cacheUsed(ev);
  t.equal(verdict.status, 'pass');
  t.equal(verdict.reason, 'PegaFlow served 72/79 blocks, vLLM external prefix-cache counter unavailable');
});

t.test('a pass during which the real server got no query: cache path not exercised, not "counters unavailable"', async (t) => {
  const idle = cacheEvidence({ pegaflow: before }, { pegaflow: before }, 'not-requested');
  t.equal(idle.pegaflowHitSource, PEGAFLOW_TIER_REQUESTS);
  t.equal(idle.pegaflowHitBlocks, 0);
  const verdict = cacheUsed(idle);
  t.equal(verdict.status, 'fail');
  t.equal(verdict.reason, 'cache path not exercised: PegaFlow hits did not rise during the warm pass (PegaFlow was asked for no blocks)');
  const afterCleanup = cacheUsed(cacheEvidence({ pegaflow: after }, { pegaflow: cleaned }, 'not-requested'));
  t.equal(afterCleanup.status, 'fail', 'cleanup alone moves no hit counter');
});
