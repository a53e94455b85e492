// The measurement layers against the simulated servers (src/sim/): the
// streaming client and the GPU-cache reset against `vllm serve` (the sim
// executable), and a cold/warm pair of passes through the sim PegaFlow whose
// metric deltas prove — or, with the connector disabled, disprove — that the
// warm pass went through the cache.
import t, { type Test } from 'tap';
import { cacheEvidence } from '../../src/analysis/evidence.ts';
import { snapshotAll } from '../../src/analysis/prometheus.ts';
import { passRecord } from '../../src/analysis/pass-record.ts';
import { cacheUsed } from '../../src/checks/criteria.ts';
import { createMemoryLogger } from '../../src/sim/pegaflow/log.ts';
import { startSimPegaflow, type SimPegaflowHandle } from '../../src/sim/pegaflow/server.ts';
import type { ServerEndpoint } from '../../src/stack/stack.ts';
import { sendStreaming } from '../../src/workloads/client/stream-client.ts';
import type { RequestInput } from '../../src/workloads/client/types.ts';
import { runPass } from '../../src/workloads/pass-runner.ts';
import { resetPrefixCache } from '../../src/workloads/prefix-cache-reset.ts';
import { longDocument, MODEL, startVllm, type Server } from '../sim/vllm-helpers.ts';

type Tap = Test;

const doc = (i: number): RequestInput => ({ id: `doc-${i}`, endpoint: 'completions', prompt: `${longDocument(100 + i, 1500)}\nQuestion: what does the cache hold?`, maxTokens: 8 });

t.test('the client against the sim vLLM: chat and completions records, usage, cached tokens after a repeat', async (t) => {
  const srv = await startVllm(t, ['--enable-prompt-tokens-details'], { VLLM_SERVER_DEV_MODE: '1' });
  const opts = { baseUrl: srv.url, model: MODEL, timeoutS: 30 };
  const c = await sendStreaming({ id: 'chat', endpoint: 'chat', messages: [{ role: 'user', content: 'Say something about caches.' }], maxTokens: 12 }, opts);
  t.ok(c.ok, c.error?.message ?? 'ok');
  t.ok(c.outputText.length > 0, `answer: ${JSON.stringify(c.outputText)}`);
  t.ok(c.firstChunkS! <= c.ttftS!, 'the role chunk is never after the first content');
  t.ok(c.promptTokens! > 0 && c.completionTokens! > 0 && c.completionTokens! <= 12);
  t.ok(['stop', 'length'].includes(c.finishReason!));
  const first = await sendStreaming(doc(1), opts);
  const again = await sendStreaming(doc(1), opts);
  t.ok(first.ok && again.ok);
  t.equal(first.cachedTokens, 0, 'cold');
  t.ok(again.cachedTokens! > 1000, `the repeat hit the GPU prefix cache (${again.cachedTokens} cached tokens)`);
  t.equal(again.outputText, first.outputText, 'greedy: same answer');
  const reset = await resetPrefixCache(srv.url);
  t.same(reset, { outcome: 'done', detail: 'GPU prefix cache emptied' });
  const afterReset = await sendStreaming(doc(1), opts);
  t.equal(afterReset.cachedTokens, 0, 'nothing cached after the reset');
});

t.test('without VLLM_SERVER_DEV_MODE the sim answers 404 and the reset is unavailable, naming the variable', async (t) => {
  const srv = await startVllm(t);
  const r = await resetPrefixCache(srv.url);
  t.equal(r.outcome, 'unavailable');
  t.match(r.detail, /answered 404: real vLLM serves POST \/reset_prefix_cache only with VLLM_SERVER_DEV_MODE=1/);
});

async function connectorStack(t: Tap, vllmFaults: string[] = []): Promise<{ pf: SimPegaflowHandle; vllm: Server; endpoints: ServerEndpoint[] }> {
  const pf = await startSimPegaflow({ grpcAddr: { host: '127.0.0.1', port: 0 }, httpAddr: { host: '127.0.0.1', port: 0 }, startupDelayS: 0 }, { logger: createMemoryLogger('error') });
  t.teardown(() => pf.close());
  const kv = JSON.stringify({ kv_connector: 'PegaKVConnector', kv_role: 'kv_both', kv_connector_module_path: 'pegaflow.connector', kv_connector_extra_config: { 'pegaflow.host': 'http://127.0.0.1', 'pegaflow.port': pf.grpcPort } });
  const vllm = await startVllm(t, ['--kv-transfer-config', kv, ...(vllmFaults.length ? ['--sim-faults', vllmFaults.join(',')] : [])], { VLLM_SERVER_DEV_MODE: '1' });
  const endpoints: ServerEndpoint[] = [
    { role: 'pegaflow-server', httpBase: pf.httpUrl, metricsUrl: `${pf.httpUrl}/metrics`, healthUrl: `${pf.httpUrl}/health` },
    { role: 'vllm-pegaflow', httpBase: vllm.url, metricsUrl: `${vllm.url}/metrics`, healthUrl: `${vllm.url}/health` },
  ];
  return { pf, vllm, endpoints };
}

/** Cold pass, GPU-cache reset, scrape, warm pass, scrape: the evidence of the warm pass. */
async function coldThenWarm(stack: { vllm: Server; endpoints: ServerEndpoint[] }) {
  const inputs = [0, 1, 2, 3].map(doc);
  const pass = { baseUrl: stack.vllm.url, model: MODEL, timeoutS: 30, maxInflight: 2, requestRate: Infinity, seed: 1 };
  const cold = await runPass(inputs, pass);
  const reset = await resetPrefixCache(stack.vllm.url);
  const before = await snapshotAll(stack.endpoints);
  const warm = await runPass(inputs, pass);
  const after = await snapshotAll(stack.endpoints);
  const pick = (s: typeof before) => ({ pegaflow: s.snapshots['pegaflow-server'], vllm: s.snapshots['vllm-pegaflow'] });
  const evidence = cacheEvidence(pick(before), pick(after), reset);
  return { cold, warm, reset, evidence, errors: { ...before.errors, ...after.errors } };
}

t.test('a warm pass after a GPU-cache reset is served through PegaFlow, and the evidence says so', async (t) => {
  const stack = await connectorStack(t);
  const { cold, warm, reset, evidence, errors } = await coldThenWarm(stack);
  t.same(errors, {}, 'every scrape answered');
  t.equal(reset.outcome, 'done');
  t.ok(cold.records.every((r) => r.ok) && warm.records.every((r) => r.ok), 'no failed request');
  t.same(
    warm.records.map((r) => r.outputText),
    cold.records.map((r) => r.outputText),
    'same answers through the cache',
  );
  t.equal(evidence.pegaflowHitSource, 'pegaflow_cache_tier_block_requests_total');
  t.ok(evidence.pegaflowHitBlocks! > 300, `PegaFlow served ${evidence.pegaflowHitBlocks} blocks`);
  t.equal(evidence.pegaflowHitBlocks, evidence.pegaflowQueriedBlocks, 'every block asked was a hit');
  t.equal(evidence.vllmExternalHitTokens, evidence.pegaflowHitBlocks! * 16, 'vLLM loaded what PegaFlow served (16-token blocks)');
  t.equal(evidence.vllmPrefixHitTokens, 0, 'nothing came from the emptied GPU cache');
  t.equal(evidence.serverTtftCount, 4);
  const verdict = cacheUsed(evidence);
  t.equal(verdict.status, 'pass', verdict.reason);
  const record = passRecord(warm.records, { id: 'pegaflow_pass2', server: 'vllm-pegaflow', kind: 'warm', durationS: warm.durationS, evidence });
  t.equal(record.failed, 0);
  t.equal(record.ttftS!.count, 4);
});

t.test('with the connector disabled the warm pass is not proven, however it performed', async (t) => {
  const stack = await connectorStack(t, ['no-connector']);
  const { warm, evidence } = await coldThenWarm(stack);
  t.ok(warm.records.every((r) => r.ok));
  const verdict = cacheUsed(evidence);
  t.equal(verdict.status, 'fail');
  t.match(verdict.reason, /^cache path not exercised: /);
});
