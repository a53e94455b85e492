import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { B, hashOf, histogramCount, kvFile, loadRequest, metric, registerRequest, saveRequest, scrape, startInProcess } from './pegaflow-helpers.ts';

const blockOf = (path: string, i: number) => readFileSync(path).subarray(i * B, (i + 1) * B);
const filled = (byte: number) => Buffer.alloc(B, byte);

function grpcCode(err: unknown): number | undefined {
  return (err as grpc.ServiceError).code;
}

t.test('Health answers ok and /health answers 200 "ok"', async (t) => {
  const { server, client } = await startInProcess(t);
  t.same(await client.call('Health', {}), { status: { ok: true, message: '' } });
  const res = await fetch(`${server.httpUrl}/health`);
  t.equal(res.status, 200);
  t.equal(await res.text(), 'ok');
});

t.test('Register, Save, Query, Load, Release: the saved bytes land in the target blocks and the metrics move', async (t) => {
  const { server, client, lines } = await startInProcess(t);
  const path = kvFile(t, 8);
  const before = await scrape(server.httpUrl);

  t.same(await client.call('RegisterContextBatch', registerRequest('vllm-1', path, 8)), { status: { ok: true, message: '' } });
  t.ok(lines.some((l) => /INFO pegaflow_server: Registered instance vllm-1: .*kv_file=.*num_blocks=8 bytes_per_block=32/.test(l)), 'registration is logged');
  t.same(await (await fetch(`${server.httpUrl}/instances`)).json(), { instances: ['vllm-1'] });

  const hashes = ['a', 'b', 'c'].map(hashOf);
  t.same(await client.call('Save', saveRequest('vllm-1', [0, 1, 2], hashes)), { status: { ok: true, message: '' } });

  const q = await client.call('QueryPrefetch', { instanceId: 'vllm-1', blockHashes: [...hashes, hashOf('never-saved')], reqId: 'req-1' });
  t.equal(q.ready?.numHitBlocks, 3);
  t.equal(q.ready?.lease.length, 16);
  t.same(q.ready?.hitPositions, []);

  // Block 0's bytes to block 5, block 1 not loaded, block 2's to block 7.
  t.same(await client.call('Load', loadRequest('vllm-1', q.ready!.lease, [5, undefined, 7])), { status: { ok: true, message: '' } });
  t.same(blockOf(path, 5), filled(1));
  t.same(blockOf(path, 6), filled(7), 'untargeted block untouched');
  t.same(blockOf(path, 7), filled(3));
  t.same(blockOf(path, 0), filled(1), 'source blocks untouched');
  t.same(await client.call('Release', { lease: q.ready!.lease }), {}, 'Release after Load is accepted');

  const after = await scrape(server.httpUrl);
  const delta = (name: string, labels: Record<string, string> = {}) => metric(after, name, labels) - metric(before, name, labels);
  t.equal(delta('pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), 3);
  t.equal(delta('pegaflow_cache_tier_block_requests_total', { tier: 'miss' }), 1);
  t.equal(delta('pegaflow_cache_tier_block_requests_total'), 4, 'tiers sum to the blocks asked');
  t.equal(delta('pegaflow_cache_block_hits_total'), 3);
  t.equal(delta('pegaflow_cache_block_misses_total'), 1);
  t.equal(delta('pegaflow_cache_block_insertions_total'), 3);
  t.equal(metric(after, 'pegaflow_cache_resident_blocks', { class: 'retained' }), 3);
  const blockBytes = 2 * 1024 * 1024;
  t.equal(metric(after, 'pegaflow_cache_resident_bytes'), 3 * blockBytes);
  t.equal(metric(after, 'pegaflow_pool_used_bytes'), 3 * blockBytes);
  t.equal(metric(after, 'pegaflow_pool_capacity_bytes'), 30 * 1024 ** 3);
  t.equal(delta('pegaflow_save_bytes_total'), 3 * blockBytes);
  t.equal(delta('pegaflow_load_bytes_total'), 2 * blockBytes);
  t.equal(histogramCount(after, 'pegaflow_load_duration_seconds') - histogramCount(before, 'pegaflow_load_duration_seconds'), 1, 'one load observed');
  for (const method of ['register_context_batch', 'save', 'query_prefetch', 'load', 'release']) {
    t.equal(delta('pegaflow_rpc_requests_total', { method, status: 'ok' }), 1, method);
  }
  const tierFamily = after.find((f) => f.name === 'pegaflow_cache_tier_block_requests_total');
  t.equal(tierFamily?.type, 'COUNTER');
  t.equal(tierFamily?.metrics[0]?.labels?.['otel_scope_name'], 'pegaflow-core', 'scope label as the OTel exporter adds it');
  t.equal(after.find((f) => f.name === 'pegaflow_load_duration_seconds')?.type, 'HISTOGRAM');
  t.notOk(after.some((f) => f.name.startsWith('process_') || f.name.startsWith('nodejs_')), 'no default process metrics');
});

t.test('saving hashes already stored inserts nothing new, and an empty query leases nothing', async (t) => {
  const { server, client } = await startInProcess(t);
  const path = kvFile(t, 4);
  await client.call('RegisterContextBatch', registerRequest('i', path, 4));
  await client.call('Save', saveRequest('i', [0, 1], [hashOf('a'), hashOf('b')]));
  await client.call('Save', saveRequest('i', [2, 3], [hashOf('a'), hashOf('b')]));
  const m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_cache_block_insertions_total'), 2);
  const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('zzz')], reqId: 'r' });
  t.equal(q.ready?.numHitBlocks, 0);
  t.equal(q.ready?.lease.length, 0);
});

t.test('calls for an unknown instance: status ok=false for Save/Load, FAILED_PRECONDITION for Unregister (as the real 0.25.1) and QueryPrefetch', async (t) => {
  const { client } = await startInProcess(t);
  const save = await client.call('Save', saveRequest('ghost', [0], [hashOf('a')]));
  t.equal(save.status?.ok, false);
  t.match(save.status?.message, /instance ghost not found/);
  const load = await client.call('Load', loadRequest('ghost', Buffer.alloc(16), [0]));
  t.equal(load.status?.ok, false);
  await t.rejects(client.call('UnregisterContext', { instanceId: 'ghost' }), { code: grpc.status.FAILED_PRECONDITION, details: 'instance ghost not found' });
  await t.rejects(client.call('QueryPrefetch', { instanceId: 'ghost', blockHashes: [], reqId: 'r' }), { code: grpc.status.FAILED_PRECONDITION });
});

t.test('malformed requests are refused as the real server refuses them', async (t) => {
  const { client } = await startInProcess(t);
  const path = kvFile(t, 4);
  await t.rejects(client.call('RegisterContextBatch', { ...registerRequest('i', path, 4), tpRank: 1, tpSize: 1 }), { code: grpc.status.INVALID_ARGUMENT });
  await t.rejects(client.call('RegisterContextBatch', registerRequest('i', '/no/such/kv.bin', 4)), { code: grpc.status.INTERNAL, details: /register tensor failed/ });
  await t.rejects(client.call('RegisterContextBatch', registerRequest('i', path, 99)), { code: grpc.status.INTERNAL, details: /needs 3168/ });
  await client.call('RegisterContextBatch', registerRequest('i', path, 4));
  await t.rejects(client.call('Save', saveRequest('i', [0, 1], [hashOf('a')])), { code: grpc.status.INVALID_ARGUMENT, details: /does not match/ });
  await t.rejects(client.call('Save', saveRequest('i', [9], [hashOf('a')])), { code: grpc.status.INVALID_ARGUMENT, details: /out of range/ });
  await t.rejects(client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [], reqId: '' }), { code: grpc.status.INVALID_ARGUMENT, details: /req_id/ });
  await t.rejects(client.call('Release', { lease: Buffer.alloc(16, 1) }), { code: grpc.status.FAILED_PRECONDITION, details: /unknown or expired/ });
  await t.rejects(client.call('Release', { lease: Buffer.alloc(3) }), { code: grpc.status.INVALID_ARGUMENT });
  await t.rejects(client.call('Load', loadRequest('i', Buffer.alloc(16, 2), [0])), { code: grpc.status.INTERNAL, details: /unknown or expired/ });

  await client.call('Save', saveRequest('i', [0], [hashOf('a')]));
  const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a')], reqId: 'r' });
  await t.rejects(client.call('Load', loadRequest('i', q.ready!.lease, [1, 2])), { code: grpc.status.INVALID_ARGUMENT, details: /block count 1 does not match destination block count 2/ });
});

t.test('a method outside our proto answers UNIMPLEMENTED', async (t) => {
  const { server } = await startInProcess(t);
  const raw = new grpc.Client(server.grpcAddress, grpc.credentials.createInsecure());
  t.teardown(() => raw.close());
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    raw.makeUnaryRequest(
      '/pegaflow.Engine/QueryBlocksForTransfer',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 5_000 },
      (e) => resolve(e),
    );
  });
  t.equal(err?.code, grpc.status.UNIMPLEMENTED);
});

t.test('an instance stays listed while its Session stream is open and is dropped when it closes', async (t) => {
  const { server, client, lines } = await startInProcess(t);
  const path = kvFile(t, 4);
  const session = client.openSession({ instanceId: 'held', namespace: 'ns', tpSize: 1, worldSize: 1 });
  session.on('error', () => {}); // the cancel below surfaces as CANCELLED
  await client.call('RegisterContextBatch', registerRequest('held', path, 4));
  await client.call('RegisterContextBatch', registerRequest('other', kvFile(t, 4), 4));
  const listed = async () => ((await (await fetch(`${server.httpUrl}/instances`)).json()) as { instances: string[] }).instances;
  t.same(await listed(), ['held', 'other']);
  session.cancel();
  const deadline = performance.now() + 5_000;
  while ((await listed()).includes('held') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.same(await listed(), ['other']);
  t.ok(lines.some((l) => /Session closed: instance_id=held/.test(l)));
  const save = await client.call('Save', saveRequest('held', [0], [hashOf('a')]));
  t.equal(save.status?.ok, false, 'the dropped instance is unknown afterwards');
});

t.test('corrupt-load alters the bytes of one loaded block', async (t) => {
  const { client, lines } = await startInProcess(t, { faultSpecs: ['corrupt-load'] });
  const path = kvFile(t, 4);
  await client.call('RegisterContextBatch', registerRequest('i', path, 4));
  await client.call('Save', saveRequest('i', [0, 1], [hashOf('a'), hashOf('b')]));
  const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a'), hashOf('b')], reqId: 'r' });
  t.equal((await client.call('Load', loadRequest('i', q.ready!.lease, [2, 3]))).status?.ok, true);
  t.notSame(blockOf(path, 2), filled(1), 'first loaded block corrupted');
  t.same(blockOf(path, 3), filled(2), 'the others arrive intact');
  t.ok(lines.some((l) => /corrupt-load fault/.test(l)));
});

t.test('drop-saves answers ok but later queries find nothing', async (t) => {
  const { server, client } = await startInProcess(t, { faultSpecs: ['drop-saves'] });
  const path = kvFile(t, 4);
  await client.call('RegisterContextBatch', registerRequest('i', path, 4));
  t.equal((await client.call('Save', saveRequest('i', [0, 1], [hashOf('a'), hashOf('b')]))).status?.ok, true);
  const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a'), hashOf('b')], reqId: 'r' });
  t.equal(q.ready?.numHitBlocks, 0);
  const m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_cache_tier_block_requests_total', { tier: 'miss' }), 2);
  t.equal(metric(m, 'pegaflow_save_bytes_total'), 0);
});

t.test('error-rate=1 answers every Save, QueryPrefetch and Load with INTERNAL, and Health stays ok', async (t) => {
  const { server, client } = await startInProcess(t, { faultSpecs: ['error-rate=1'] });
  const path = kvFile(t, 4);
  t.equal((await client.call('RegisterContextBatch', registerRequest('i', path, 4))).status?.ok, true);
  await t.rejects(client.call('Save', saveRequest('i', [0], [hashOf('a')])), { code: grpc.status.INTERNAL, details: /error-rate/ });
  await t.rejects(client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a')], reqId: 'r' }), { code: grpc.status.INTERNAL });
  await t.rejects(client.call('Load', loadRequest('i', Buffer.alloc(16), [0])), { code: grpc.status.INTERNAL });
  t.equal((await client.call('Health', {})).status?.ok, true);
  const m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_rpc_requests_total', { method: 'save', status: 'Internal error' }), 1);
});

t.test('slow-load multiplies the modelled load time, and concurrent loads queue on one channel', async (t) => {
  // 5 blocks × 20 ms each: 100 ms per load unfaulted.
  const cases = [
    { faults: [] as string[], minMs: 90 },
    { faults: ['slow-load=3'], minMs: 280 },
  ];
  for (const c of cases) {
    const { client } = await startInProcess(t, { faultSpecs: c.faults, loadUsPerBlock: 20_000 });
    const path = kvFile(t, 10);
    await client.call('RegisterContextBatch', registerRequest('i', path, 10));
    const hashes = [0, 1, 2, 3, 4].map((i) => hashOf(`b${i}`));
    await client.call('Save', saveRequest('i', [0, 1, 2, 3, 4], hashes));
    const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r' });
    const start = performance.now();
    await client.call('Load', loadRequest('i', q.ready!.lease, [5, 6, 7, 8, 9]));
    t.ok(performance.now() - start >= c.minMs, `load with faults [${c.faults}] took at least ${c.minMs} ms`);
  }
  const { client } = await startInProcess(t, { loadUsPerBlock: 20_000 });
  const path = kvFile(t, 10);
  await client.call('RegisterContextBatch', registerRequest('i', path, 10));
  const hashes = [0, 1, 2, 3, 4].map((i) => hashOf(`c${i}`));
  await client.call('Save', saveRequest('i', [0, 1, 2, 3, 4], hashes));
  const q1 = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r1' });
  const q2 = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r2' });
  const start = performance.now();
  await Promise.all([client.call('Load', loadRequest('i', q1.ready!.lease, [5, 6, 7, 8, 9])), client.call('Load', loadRequest('i', q2.ready!.lease, [5, 6, 7, 8, 9]))]);
  t.ok(performance.now() - start >= 190, 'two 100 ms loads issued together take at least 200 ms');
});

t.test('with an SSD tier: evicted blocks hit as ssd, load back into RAM, and memory cleanup keeps SSD copies', async (t) => {
  const blockBytes = 1024;
  const { server, client } = await startInProcess(t, { poolSizeBytes: 2 * blockBytes, blockBytes, ssdCachePaths: ['/unused/ssd'], ssdCacheCapacityBytes: 100 * blockBytes });
  const path = kvFile(t, 8);
  await client.call('RegisterContextBatch', registerRequest('i', path, 8));
  const hashes = ['a', 'b', 'c'].map(hashOf);
  await client.call('Save', saveRequest('i', [0, 1, 2], hashes)); // 'a' is pushed to SSD only
  const first = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r' });
  t.ok(first.loading && !first.ready, 'a block on SSD only: the first answer is loading (SSD lookup)');
  await sleep(5);
  const q = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r' });
  t.equal(q.ready?.numHitBlocks, 3);
  let m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_cache_tier_block_requests_total', { tier: 'ssd' }), 1, 'counted once, when looked up');
  t.equal(metric(m, 'pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), 2);
  t.equal(metric(m, 'pegaflow_cache_block_hits_total'), 3, 'the legacy counter counts the ready answer');
  await client.call('Load', loadRequest('i', q.ready!.lease, [5, 6, 7]));
  t.same(blockOf(path, 5), filled(1), 'the SSD block arrives intact');
  m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_ssd_prefetch_success_total'), 1);
  t.equal(metric(m, 'pegaflow_cache_block_insertions_total'), 4, 'the SSD block came back into RAM');

  const res = await fetch(`${server.httpUrl}/cache/memory/cleanup`, { method: 'POST' });
  t.equal(res.status, 200);
  t.same(await res.json(), { evicted_blocks: 2, evicted_bytes: 2 * blockBytes, reclaimed_bytes: 2 * blockBytes, still_referenced_blocks: 0 });
  t.ok((await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r2' })).loading);
  await sleep(5);
  const again = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: hashes, reqId: 'r2' });
  t.equal(again.ready?.numHitBlocks, 3);
  m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_cache_tier_block_requests_total', { tier: 'ssd' }), 4, 'all three now come from SSD');
  t.equal(metric(m, 'pegaflow_cache_resident_blocks'), 0);
});

t.test('SSD lookups as the real 0.25.1: loading, then ready for the same req_id; a new req_id on every poll stays loading; all-RAM queries need none', async (t) => {
  const blockBytes = 1024;
  const { server, client } = await startInProcess(t, { poolSizeBytes: 8 * blockBytes, blockBytes, ssdCachePaths: ['/unused/ssd'], ssdCacheCapacityBytes: 100 * blockBytes });
  await client.call('RegisterContextBatch', registerRequest('i', kvFile(t, 8), 8));
  await client.call('Save', saveRequest('i', [0, 1], [hashOf('a'), hashOf('b')]));
  const inRam = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a'), hashOf('b')], reqId: 'ram' });
  t.equal(inRam.ready?.numHitBlocks, 2, 'all in RAM: ready at once');
  await client.call('Release', { lease: inRam.ready!.lease });

  const unknown = [hashOf('never-saved')];
  for (let i = 0; i < 3; i++) {
    const r = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: unknown, reqId: `fresh-${i}` });
    t.ok(r.loading && !r.ready, `fresh req_id ${i}: loading`);
    await sleep(5);
  }
  const before = await scrape(server.httpUrl);
  t.ok((await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: unknown, reqId: 'stable' })).loading, 'first query of a req_id: loading');
  await sleep(5);
  const done = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: unknown, reqId: 'stable' });
  t.equal(done.ready?.numHitBlocks, 0, 'its repeat: ready, 0 hits');
  const after = await scrape(server.httpUrl);
  const delta = (name: string, labels: Record<string, string> = {}) => metric(after, name, labels) - metric(before, name, labels);
  t.equal(delta('pegaflow_cache_tier_block_requests_total', { tier: 'miss' }), 1, 'the loading answer is counted in the tier counter, the ready one is not');
  t.equal(delta('pegaflow_cache_block_misses_total'), 1, 'the ready answer is counted in the legacy counter');
});

t.test('without an SSD tier a miss answers ready(0) at once', async (t) => {
  const { client } = await startInProcess(t);
  await client.call('RegisterContextBatch', registerRequest('i', kvFile(t, 2), 2));
  const r = await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('never-saved')], reqId: 'r' });
  t.equal(r.ready?.numHitBlocks, 0);
});

t.test('a full pool of leased blocks turns new saves into allocation failures', async (t) => {
  const blockBytes = 1024;
  const { server, client } = await startInProcess(t, { poolSizeBytes: 2 * blockBytes, blockBytes });
  const path = kvFile(t, 4);
  await client.call('RegisterContextBatch', registerRequest('i', path, 4));
  await client.call('Save', saveRequest('i', [0, 1], [hashOf('a'), hashOf('b')]));
  await client.call('QueryPrefetch', { instanceId: 'i', blockHashes: [hashOf('a'), hashOf('b')], reqId: 'r' });
  await client.call('Save', saveRequest('i', [2], [hashOf('c')]));
  const m = await scrape(server.httpUrl);
  t.equal(metric(m, 'pegaflow_pool_alloc_failures_total'), 1);
  t.equal(metric(m, 'pegaflow_cache_block_evictions_total'), 0);
});

t.test('HTTP: /metrics is 404 with Prometheus off; instance cleanup answers the real JSON', async (t) => {
  const { server, client } = await startInProcess(t, { enablePrometheus: false });
  t.equal((await fetch(`${server.httpUrl}/metrics`)).status, 404);
  t.equal((await fetch(`${server.httpUrl}/instances`, { method: 'POST' })).status, 405);
  t.equal((await fetch(`${server.httpUrl}/nowhere`)).status, 404);
  await client.call('RegisterContextBatch', registerRequest('a', kvFile(t, 4), 4));
  await client.call('RegisterContextBatch', registerRequest('b', kvFile(t, 4), 4));
  const missing = await fetch(`${server.httpUrl}/instances/cleanup?id=zzz`, { method: 'POST' });
  t.equal(missing.status, 404);
  const one = await fetch(`${server.httpUrl}/instances/cleanup?id=a`, { method: 'POST' });
  t.same(await one.json(), { removed_instances: ['a'], removed_tensors: 1 });
  const all = await fetch(`${server.httpUrl}/instances/cleanup`, { method: 'POST' });
  t.same(await all.json(), { removed_instances: ['b'], removed_tensors: 1 });
  t.same(await (await fetch(`${server.httpUrl}/instances`)).json(), { instances: [] });
});
