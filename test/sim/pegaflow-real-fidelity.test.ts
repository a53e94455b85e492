// The simulated PegaFlow against the real pegaflow-server 0.25.1
// (test/fixtures/real/pegaflow/, captured on a GPU): the sim accepts and
// lists every real flag, and the same KV traffic the real server saw leaves
// the sim's /metrics with the same families, types, labels and counts, stage
// by stage (after start-up, after the traffic, after memory cleanup).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { parseMetrics, sumOf, type MetricSnapshot } from '../../src/analysis/prometheus.ts';
import { parseCli } from '../../src/sim/pegaflow/cli.ts';
import { helpText } from '../../src/sim/pegaflow/usage.ts';
import { declaredFamilies, labelKeys, realPegaflowFlags, realPegaflowText } from '../helpers/real-pegaflow.ts';
import { kvFile, startInProcess } from './pegaflow-helpers.ts';

/** A value each flag accepts, for the flags whose --help shows no default. */
const SAMPLE_VALUES: Record<string, string> = {
  devices: '0,1',
  'hint-value-size': '1mb',
  'metrics-otel-endpoint': 'http://127.0.0.1:4317',
  'ssd-cache-path': '/tmp/kvgate-ssd',
  nics: 'mlx5_0',
  'metaserver-addr': 'http://127.0.0.1:50056',
};

t.test('every flag of the real 0.25.1 --help is accepted by the sim, with the real default or a sample value', async (t) => {
  const base = ['--addr', '127.0.0.1:1', '--http-addr', '127.0.0.1:2'];
  for (const [name, f] of realPegaflowFlags()) {
    if (name === 'help' || name === 'version' || name === 'addr' || name === 'http-addr') continue;
    const value = SAMPLE_VALUES[name] ?? f.defaultText;
    if (f.takesValue && value === undefined) {
      t.fail(`no sample value for --${name}`);
      continue;
    }
    const args = f.takesValue ? [`--${name}`, value!] : [`--${name}`];
    const r = parseCli([...base, ...args], {});
    t.equal(r.kind, 'run', `${args.join(' ')} accepted${r.kind === 'exit' ? `: ${r.stderr}` : ''}`);
  }
});

t.test('the sim --help lists every flag the real one lists', async (t) => {
  const sim = helpText('current');
  for (const name of realPegaflowFlags().keys()) t.match(sim, new RegExp(`--${name}\\b`), `--${name}`);
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The traffic of the real capture, call for call (SOURCE.md): the Python
 * connector client, then kvgate's own client while the instance is held.
 */
async function realTraffic(client: Awaited<ReturnType<typeof startInProcess>>['client'], kv: string): Promise<void> {
  const query = (hashes: Buffer[], reqId: string) => client.call('QueryPrefetch', { instanceId: 'gpu', blockHashes: hashes, reqId });
  const untilReady = async (hashes: Buffer[], reqId: string) => {
    for (;;) {
      const r = await query(hashes, reqId);
      if (r.ready) return r.ready;
      await sleep(20);
    }
  };
  await client.call('Health', {});
  await client.call('RegisterContextBatch', { instanceId: 'gpu', namespace: 'kvgate', tpRank: 0, tpSize: 1, worldSize: 1, deviceId: 0, layerNames: ['layer.0'], wrapperBytes: [Buffer.from(kv)], numBlocks: [64], bytesPerBlock: [32] });
  const saved = Array.from({ length: 32 }, (_, i) => digest(`saved-${i}`));
  await client.call('Save', { instanceId: 'gpu', tpRank: 0, deviceId: 0, saves: [{ layerName: 'layer.0', blockIds: [...saved.keys()], blockHashes: saved }] });
  const q = await untilReady(saved, 'py-1');
  await client.call('Load', { instanceId: 'gpu', tpRank: 0, deviceId: 0, loadStateShm: 'shm', groups: [{ layerNames: ['layer.0'] }], loads: [{ lease: q.lease, blockIdsByGroup: [{ targets: saved.map((_, i) => ({ blockId: 32 + i })) }] }] });
  await untilReady([digest('never-saved')], 'py-miss');
  // kvgate's client on the held instance.
  await client.call('Release', { lease: (await untilReady(saved, 'ours-1')).lease });
  const fresh = Array.from({ length: 8 }, (_, i) => digest(`fresh-${i}`));
  await client.call('Save', { instanceId: 'gpu', tpRank: 0, deviceId: 0, saves: [{ layerName: 'layer.0', blockIds: [...fresh.keys()], blockHashes: fresh }] });
  await client.call('Release', { lease: (await untilReady(fresh, 'ours-2')).lease });
  for (let i = 0; i < 5; i++) await query([digest('kvgate-never-saved')], `fresh-${i}`);
  await untilReady([digest('kvgate-never-saved')], 'ours-3');
  await client.call('UnregisterContext', { instanceId: 'not-registered' }).catch(() => undefined);
  await client.call('UnregisterContext', { instanceId: 'gpu' });
}

t.test('the same traffic leaves the sim /metrics like the real one: families, types, labels, counts', async (t) => {
  const { server, client } = await startInProcess(t, { poolSizeBytes: 2 * 1024 ** 3, blockBytes: 65536, ssdCachePaths: ['/unused/ssd'], ssdCacheCapacityBytes: 1024 ** 3 });
  const scrape = async () => (await fetch(`${server.httpUrl}/metrics`)).text();
  // Readiness: kvgate's probe calls gRPC Health twice before the real capture's first scrape.
  await client.call('Health', {});
  await client.call('Health', {});
  const stages: [string, string][] = [['before', await scrape()]];
  await realTraffic(client, kvFile(t, 64));
  stages.push(['after', await scrape()]);
  t.equal((await fetch(`${server.httpUrl}/cache/memory/cleanup`, { method: 'POST' })).status, 200);
  stages.push(['after-cleanup', await scrape()]);

  for (const [stage, simText] of stages) {
    const realText = realPegaflowText(`metrics-${stage}.txt`);
    t.same(Object.fromEntries([...declaredFamilies(simText)].sort()), Object.fromEntries([...declaredFamilies(realText)].sort()), `${stage}: the same families with the same types`);
    t.same(Object.fromEntries([...labelKeys(simText)].sort()), Object.fromEntries([...labelKeys(realText)].sort()), `${stage}: the same label names on each family`);
  }

  const sim = parseMetrics(stages[1]![1]);
  const real = parseMetrics(realPegaflowText('metrics-after.txt'));
  const same = (name: string, labels?: Record<string, string>) => t.equal(sumOf(sim, name, labels), sumOf(real, name, labels), `${name}${labels ? JSON.stringify(labels) : ''} = ${sumOf(real, name, labels)}`);
  for (const tier of ['ram', 'miss']) same('pegaflow_cache_tier_block_requests_total', { tier });
  for (const name of ['pegaflow_cache_block_hits_total', 'pegaflow_cache_block_misses_total', 'pegaflow_cache_block_insertions_total', 'pegaflow_hll_total_requests']) same(name);
  const distinct = (snap: MetricSnapshot) => sumOf(snap, 'pegaflow_hll_cardinality', { window: '1h' }) ?? NaN;
  t.ok(Math.abs(distinct(sim) - distinct(real)) < 0.01, `distinct missed blocks: sim ${distinct(sim)} (exact), real ${distinct(real)} (HyperLogLog estimate)`);
  for (const [method, status] of [['query_prefetch', 'ok'], ['save', 'ok'], ['load', 'ok'], ['release', 'ok'], ['health', 'ok'], ['register_context_batch', 'ok'], ['unregister_context', 'ok'], ['unregister_context', "The system is not in a state required for the operation's execution"]] as const) {
    same('pegaflow_rpc_requests_total', { method, status });
  }
  const cleaned = (snap: MetricSnapshot) => sumOf(snap, 'pegaflow_cache_block_evictions_total');
  t.equal(cleaned(parseMetrics(stages[2]![1])), cleaned(parseMetrics(realPegaflowText('metrics-after-cleanup.txt'))), 'cleanup evicted as many blocks');
});
