// The simulated vLLM as PegaFlow's KV connector client, against the simulated
// PegaFlow (in-process) over gRPC: registration, QueryPrefetch/Load/Save,
// metrics, faults on both sides.
import t, { type Test } from 'tap';
import { createMemoryLogger } from '../../src/sim/pegaflow/log.ts';
import { startSimPegaflow, type SimPegaflowHandle } from '../../src/sim/pegaflow/server.ts';
import { countTokens } from '../../src/sim/vllm/tokenizer.ts';
import { freePort } from '../helpers/ports.ts';
import { exitWithin, longDocument, metric, MODEL, postJson, scrape, spawnVllm, startVllm, waitFor, type Server } from './vllm-helpers.ts';

async function pegaflow(t: Test, faultSpecs: string[] = []): Promise<SimPegaflowHandle & { lines: string[] }> {
  const logger = createMemoryLogger('info');
  const pf = await startSimPegaflow({ grpcAddr: { host: '127.0.0.1', port: 0 }, httpAddr: { host: '127.0.0.1', port: 0 }, startupDelayS: 0, faultSpecs }, { logger });
  t.teardown(() => pf.close());
  return Object.assign(pf, { lines: logger.lines });
}

function kvTransferConfig(port: number, host = 'http://127.0.0.1'): string {
  return JSON.stringify({
    kv_connector: 'PegaKVConnector',
    kv_role: 'kv_both',
    kv_connector_module_path: 'pegaflow.connector',
    kv_connector_extra_config: { 'pegaflow.host': host, 'pegaflow.port': port },
  });
}

function withConnector(t: Test, pf: SimPegaflowHandle, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  return startVllm(t, ['--kv-transfer-config', kvTransferConfig(pf.grpcPort), '--enable-prompt-tokens-details', ...extra], { VLLM_SERVER_DEV_MODE: '1', ...env });
}

async function complete(srv: Server, prompt: string): Promise<{ text: string; cached: number; status: number; body: any }> {
  const r = await postJson(`${srv.url}/v1/completions`, { model: MODEL, prompt, max_tokens: 16, temperature: 0 });
  const body = r.json as any;
  return { status: r.status, body, text: body.choices?.[0]?.text, cached: body.usage?.prompt_tokens_details?.cached_tokens };
}

async function reset(srv: Server): Promise<void> {
  // Save runs right after the first token and the request frees its blocks when it is done: retry until idle.
  await waitFor(async () => ((await postJson(`${srv.url}/reset_prefix_cache`, {})).json as any).success === true, 5_000, 'a successful prefix cache reset');
}

const pfMetric = async (pf: SimPegaflowHandle, name: string, labels: Record<string, string> = {}) => metric(await scrape(pf.httpUrl), name, labels) ?? 0;

t.test('start-up registers the KV memory file with PegaFlow and holds a session', async (t) => {
  const pf = await pegaflow(t);
  const srv = await withConnector(t, pf);
  const instances = (await (await fetch(`${pf.httpUrl}/instances`)).json()) as { instances: unknown[] };
  t.equal(instances.instances.length, 1, 'one instance registered');
  t.match(JSON.stringify(instances.instances[0]), /vllm-sim-/);
  t.match(srv.child.stdout(), /Registered KV cache with PegaFlow at 127\.0\.0\.1:\d+: instance_id=vllm-sim-\S+ namespace=default layer=sim\.kv num_blocks=8192 bytes_per_block=32/);
  t.ok(pf.lines.some((l) => /Registered instance vllm-sim-.* layer=sim\.kv kv_file=\/.*kvgate-sim-kv-vllm-sim-.*\.bin num_blocks=8192 bytes_per_block=32/.test(l)), 'PegaFlow opened the file');
  srv.child.proc.kill('SIGTERM');
  await exitWithin(srv.child, 5_000);
  await waitFor(async () => ((await (await fetch(`${pf.httpUrl}/instances`)).json()) as { instances: unknown[] }).instances.length === 0, 5_000, 'the instance to leave PegaFlow');
  t.pass('a stopped vLLM leaves PegaFlow');
});

t.test('a repeated prompt after /reset_prefix_cache is served by PegaFlow: external hits rise, output identical', async (t) => {
  const pf = await pegaflow(t);
  const srv = await withConnector(t, pf);
  const prompt = longDocument(11, 600);
  const n = countTokens(prompt);
  const loadable = Math.floor((n - 1) / 16);
  const cold = await complete(srv, prompt);
  t.equal(cold.status, 200);
  t.equal(cold.cached, 0);
  await reset(srv);
  const before = await scrape(srv.url);
  const warm = await complete(srv, prompt);
  t.equal(warm.status, 200);
  t.equal(warm.text, cold.text, 'the KV that came back from PegaFlow gives the same answer');
  t.equal(warm.cached, loadable * 16, 'cached_tokens = the loaded blocks');
  const after = await scrape(srv.url);
  t.equal(metric(after, 'vllm:external_prefix_cache_hits_total')! - metric(before, 'vllm:external_prefix_cache_hits_total')!, loadable * 16, 'external hits in tokens');
  t.equal(metric(after, 'vllm:external_prefix_cache_queries_total')! - metric(before, 'vllm:external_prefix_cache_queries_total')!, n, 'external queries: the whole prompt, as vLLM counts');
  t.equal(metric(after, 'vllm:prefix_cache_hits_total')! - metric(before, 'vllm:prefix_cache_hits_total')!, 0, 'no GPU prefix cache hit after the reset');
  t.equal(await pfMetric(pf, 'pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), loadable, 'PegaFlow served every asked block from RAM');
  t.equal(await pfMetric(pf, 'pegaflow_cache_block_insertions_total'), Math.floor(n / 16), 'the cold request saved its full blocks');

  const gpu = await complete(srv, prompt);
  t.equal(gpu.text, cold.text, 'and the loaded blocks now serve the GPU prefix cache');
  t.equal(await pfMetric(pf, 'pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), loadable, 'without asking PegaFlow again');
});

t.test('a second vLLM instance with the same model gets the first one\'s blocks through PegaFlow', async (t) => {
  const pf = await pegaflow(t);
  const a = await withConnector(t, pf);
  const b = await withConnector(t, pf);
  const prompt = longDocument(12, 400);
  const fromA = await complete(a, prompt);
  await waitFor(async () => (await pfMetric(pf, 'pegaflow_cache_block_insertions_total')) > 0, 5_000, 'the save');
  const fromB = await complete(b, prompt);
  t.equal(fromB.text, fromA.text, 'same model, same KV, same answer');
  t.equal(fromB.cached, Math.floor((countTokens(prompt) - 1) / 16) * 16, 'B loaded what A saved');
});

t.test('no-connector fault: registered, but no query, load or save reaches PegaFlow', async (t) => {
  const pf = await pegaflow(t);
  const srv = await withConnector(t, pf, ['--sim-faults', 'no-connector']);
  const prompt = longDocument(13, 400);
  const cold = await complete(srv, prompt);
  await reset(srv);
  const warm = await complete(srv, prompt);
  t.equal(warm.text, cold.text);
  t.equal(warm.cached, 0, 'nothing cached after the reset');
  const m = await scrape(srv.url);
  t.equal(metric(m, 'vllm:external_prefix_cache_hits_total'), 0);
  t.equal(metric(m, 'vllm:external_prefix_cache_queries_total'), 2 * countTokens(prompt), 'vLLM still counts the prompts as queried');
  const p = await scrape(pf.httpUrl);
  t.equal(metric(p, 'pegaflow_rpc_requests_total', { method: 'query_prefetch' }) ?? 0, 0, 'no QueryPrefetch');
  t.equal(metric(p, 'pegaflow_rpc_requests_total', { method: 'save' }) ?? 0, 0, 'no Save');
  t.equal(metric(p, 'pegaflow_rpc_requests_total', { method: 'register_context_batch' }), 1, 'but it registered');
});

t.test('a corrupted block loaded from PegaFlow changes the output', async (t) => {
  const pf = await pegaflow(t, ['corrupt-load']);
  const srv = await withConnector(t, pf);
  const prompt = longDocument(14, 400);
  const cold = await complete(srv, prompt);
  await reset(srv);
  const warm = await complete(srv, prompt);
  t.equal(warm.status, 200);
  t.ok(warm.cached > 0, 'the blocks were loaded');
  t.not(warm.text, cold.text, 'the answer differs: the cache bug is visible');
});

t.test('PegaFlow RPC errors during a request answer HTTP 500, not a silent fallback', async (t) => {
  const pf = await pegaflow(t, ['error-rate=1']);
  const srv = await withConnector(t, pf);
  const r = await complete(srv, longDocument(15, 100));
  t.equal(r.status, 500);
  t.equal(r.body.error.type, 'InternalServerError');
  t.match(r.body.error.message, /KV connector failed for request cmpl-[0-9a-f]+: PegaFlow QueryPrefetch .* failed/);
  const m = await scrape(srv.url);
  t.equal(metric(m, 'vllm:request_success_total', { finished_reason: 'error' }), 1);
  t.equal(metric(m, 'vllm:kv_cache_usage_perc'), 0, 'the failed request freed its blocks');
});

t.test('when the PegaFlow session ends the error is logged, and later requests fail with 500', async (t) => {
  const pf = await pegaflow(t);
  const srv = await withConnector(t, pf);
  await pf.close();
  await waitFor(() => /PegaFlow session stream for instance vllm-sim-\S+ at 127\.0\.0\.1:\d+ ended/.test(srv.child.stdout()), 5_000, 'the session error in the log');
  t.pass('logged');
  const r = await complete(srv, longDocument(16, 100));
  t.equal(r.status, 500);
  t.match(r.body.error.message, /PegaFlow QueryPrefetch/);
});

t.test('PegaFlow unreachable at start-up: exit 1 with an error naming the address and where it came from', async (t) => {
  const port = await freePort();
  const child = spawnVllm(t, ['serve', MODEL, '--port', String(await freePort()), '--sim-startup-delay-s', '0', '--kv-transfer-config', kvTransferConfig(port)]);
  t.equal((await exitWithin(child, 15_000)).code, 1);
  t.match(child.stdout(), new RegExp(`PegaKVConnector could not register the KV cache with PegaFlow at 127\\.0\\.0\\.1:${port} \\(host from kv_connector_extra_config\\["pegaflow\\.host"\\], port from kv_connector_extra_config\\["pegaflow\\.port"\\]\\)`));
});

t.test('PEGAFLOW_HOST and PEGAFLOW_PORT override kv_connector_extra_config', async (t) => {
  const pf = await pegaflow(t);
  const wrong = await freePort();
  const srv = await startVllm(t, ['--kv-transfer-config', kvTransferConfig(wrong, 'http://192.0.2.1')], { PEGAFLOW_HOST: 'http://127.0.0.1', PEGAFLOW_PORT: String(pf.grpcPort) });
  t.match(srv.child.stdout(), /PegaFlow at 127\.0\.0\.1:\d+; host from env PEGAFLOW_HOST, port from env PEGAFLOW_PORT/);
});
