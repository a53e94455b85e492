// Prometheus parsing and scraping: the workaround for parse-prometheus-text-format
// 1.1.1's labelled-histogram bug, counters with and without `_total`, label
// filters, and realistic vLLM / PegaFlow expositions (test/fixtures/metrics/).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { hasFamily, histogramOf, histogramSeries, parseMetrics, scrapeMetrics, snapshotAll, sumOf } from '../../src/analysis/prometheus.ts';
import type { ServerEndpoint } from '../../src/stack/stack.ts';
import { freePort } from '../helpers/ports.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), 'utf8');

const LABELLED = `# HELP req_seconds Request time.
# TYPE req_seconds histogram
req_seconds_bucket{model_name="m",engine="0",le="0.1"} 1
req_seconds_bucket{model_name="m",engine="0",le="1"} 3
req_seconds_bucket{model_name="m",engine="0",le="+Inf"} 4
req_seconds_sum{model_name="m",engine="0"} 2.5
req_seconds_count{model_name="m",engine="0"} 4
req_seconds_bucket{model_name="m",engine="1",le="0.1"} 0
req_seconds_bucket{model_name="m",engine="1",le="1"} 2
req_seconds_bucket{model_name="m",engine="1",le="+Inf"} 2
req_seconds_sum{model_name="m",engine="1"} 0.75
req_seconds_count{model_name="m",engine="1"} 2
# HELP requests_total Requests answered.
# TYPE requests_total counter
requests_total{code="200"} 10
requests_total{code="500"} 2
`;

t.test('the library alone loses _sum, _count and labels of a labelled histogram (the bug worked around)', async (t) => {
  const fam = parsePrometheusTextFormat(LABELLED).find((f) => f.name === 'req_seconds')!;
  t.equal(fam.metrics.length, 1, 'both label sets collapsed into one sample');
  t.equal(fam.metrics[0]!.sum, undefined, '_sum dropped');
  t.equal(fam.metrics[0]!.count, undefined, '_count dropped');
  t.equal(fam.metrics[0]!.labels, undefined, 'labels dropped');
});

t.test('a histogram with two label sets keeps sum, count and buckets per series; totals add the series', async (t) => {
  const snap = parseMetrics(LABELLED);
  t.same(histogramOf(snap, 'req_seconds'), { sum: 3.25, count: 6, series: 2 }, 'summed over engine 0 and 1');
  t.same(histogramOf(snap, 'req_seconds', { engine: '1' }), { sum: 0.75, count: 2, series: 1 }, 'one label set');
  const series = histogramSeries(snap, 'req_seconds')!;
  const e0 = series.find((s) => s.labels['engine'] === '0')!;
  t.same(e0.labels, { model_name: 'm', engine: '0' }, 'labels kept, le removed');
  t.same(e0.buckets, [
    { le: 0.1, count: 1 },
    { le: 1, count: 3 },
    { le: Infinity, count: 4 },
  ]);
  t.equal(snap.types.get('req_seconds'), 'histogram', 'the declared type is remembered');
  t.equal(histogramOf(snap, 'nope'), undefined, 'a histogram that is not exposed');
});

t.test('the counter next to it: sum over series, names with or without _total, label filters', async (t) => {
  const snap = parseMetrics(LABELLED);
  t.equal(sumOf(snap, 'requests_total'), 12);
  t.equal(sumOf(snap, 'requests'), 12, 'asked without _total');
  t.equal(sumOf(snap, 'requests', { code: '500' }), 2);
  t.equal(sumOf(snap, 'requests', { code: ['200', '500'] }), 12, 'any of several values');
  t.equal(sumOf(snap, 'requests', { code: '404' }), 0, 'exposed, no matching series: 0');
  t.equal(sumOf(snap, 'requests', { region: 'eu' }), 0, 'a label the series do not carry matches nothing');
  t.equal(sumOf(snap, 'absent_total'), undefined, 'not exposed: undefined, not 0');
  t.equal(sumOf(undefined, 'requests'), undefined, 'no snapshot (failed scrape)');
  t.ok(hasFamily(snap, 'requests'));
  t.ok(hasFamily(snap, 'req_seconds'), 'a histogram counts as exposed');
  t.notOk(hasFamily(snap, 'absent'));
});

t.test('a labelled summary keeps its _sum and _count too', async (t) => {
  const snap = parseMetrics(`# TYPE rpc_seconds summary
rpc_seconds{method="load",quantile="0.5"} 0.1
rpc_seconds_sum{method="load"} 4
rpc_seconds_count{method="load"} 20
rpc_seconds{method="save",quantile="0.5"} 0.2
rpc_seconds_sum{method="save"} 1
rpc_seconds_count{method="save"} 5
`);
  t.same(histogramOf(snap, 'rpc_seconds'), { sum: 5, count: 25, series: 2 });
  t.equal(sumOf(snap, 'rpc_seconds', { quantile: '0.5', method: 'save' }), 0.2, 'quantile samples readable as series');
});

t.test('special values and a text without its final newline', async (t) => {
  const snap = parseMetrics('# TYPE g gauge\ng{a="x"} +Inf\ng{a="y"} -Inf\nh NaN\nbig 1.7637891234567e+09\nlast 42');
  t.same(snap.families.get('g')!.map((s) => s.value), [Infinity, -Infinity]);
  t.ok(Number.isNaN(sumOf(snap, 'h')!), 'NaN stays NaN');
  t.equal(sumOf(snap, 'big'), 1763789123.4567);
  t.equal(sumOf(snap, 'last'), 42, 'the last sample is kept although the text does not end with \\n');
});

t.test('real vLLM shape (prometheus_client, data parallel 2): engines summed, _created families kept apart', async (t) => {
  const snap = parseMetrics(fixture('vllm-dp2-after-warm.txt'));
  t.equal(sumOf(snap, 'vllm:external_prefix_cache_hits_total'), 299_520, '149 760 per engine');
  t.equal(sumOf(snap, 'vllm:external_prefix_cache_hits'), 299_520, 'without _total');
  t.equal(sumOf(snap, 'vllm:external_prefix_cache_hits', { engine: '1' }), 149_760);
  t.equal(sumOf(snap, 'vllm:request_success_total', { finished_reason: 'length' }), 60);
  t.ok(snap.families.has('vllm:external_prefix_cache_hits_created'), '_created is its own gauge family, not added to the counter');
  const ttft = histogramOf(snap, 'vllm:time_to_first_token_seconds')!;
  t.equal(ttft.count, 60);
  t.equal(ttft.series, 2);
  t.ok(Math.abs(ttft.sum - 28.47) < 1e-9, `sum ${ttft.sum} = 14.07 + 14.4`);
  for (const s of histogramSeries(snap, 'vllm:time_to_first_token_seconds')!) {
    t.equal(s.buckets.length, 23, `engine ${s.labels['engine']}: 22 bounds and +Inf`);
    t.equal(s.buckets.at(-1)!.count, s.count, 'the +Inf bucket equals _count');
  }
});

t.test('simulated vLLM after a warm pass: prom-client text with model_name and engine labels', async (t) => {
  const snap = parseMetrics(fixture('sim-vllm-after-warm.txt'));
  t.equal(sumOf(snap, 'vllm:external_prefix_cache_hits'), 8784);
  t.equal(sumOf(snap, 'vllm:prefix_cache_queries'), 17_602);
  t.same(histogramOf(snap, 'vllm:time_to_first_token_seconds'), { sum: 1.2564405060000003, count: 4, series: 1 });
});

t.test('PegaFlow (OTel exporter): tier counter by tier, declared families without series, scoped histograms', async (t) => {
  const fresh = parseMetrics(fixture('sim-pegaflow-fresh.txt'));
  t.ok(hasFamily(fresh, 'pegaflow_cache_tier_block_requests_total'), 'declared by HELP/TYPE before its first series');
  t.equal(sumOf(fresh, 'pegaflow_cache_tier_block_requests_total'), 0);
  const warm = parseMetrics(fixture('sim-pegaflow-after-warm.txt'));
  t.equal(sumOf(warm, 'pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), 549);
  t.equal(sumOf(warm, 'pegaflow_cache_tier_block_requests_total', { tier: ['ram', 'ssd', 'rdma'] }), 549);
  t.equal(sumOf(warm, 'pegaflow_cache_tier_block_requests_total'), 1098, 'ram + miss');
  const rpc = histogramSeries(warm, 'pegaflow_rpc_duration_seconds')!;
  t.equal(rpc.length, 5, 'one series per RPC method');
  t.ok(rpc.every((s) => s.labels['otel_scope_name'] === 'pegaflow_server_rpc'), 'otel_scope_name kept');
  t.equal(histogramOf(warm, 'pegaflow_rpc_duration_seconds')!.count, 12);
  const legacy = parseMetrics(fixture('pegaflow-legacy-after-warm.txt'));
  t.same(histogramOf(legacy, 'pegaflow_load_duration_seconds'), { sum: 0.725, count: 5, series: 2 }, 'two scopes summed');
});

async function serve(t: Tap, handler: (path: string) => { status: number; body: string } | 'hang'): Promise<string> {
  const server: Server = createServer((req, res) => {
    const r = handler(req.url ?? '/');
    if (r === 'hang') return;
    res.writeHead(r.status, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
type Tap = Test;

t.test('snapshotAll scrapes every server; failed scrapes are recorded, not thrown', async (t) => {
  const pega = await serve(t, () => ({ status: 200, body: fixture('sim-pegaflow-after-warm.txt') }));
  const broken = await serve(t, () => ({ status: 500, body: 'Internal Server Error' }));
  const deadPort = await freePort();
  const ep = (role: ServerEndpoint['role'], base: string): ServerEndpoint => ({ role, httpBase: base, metricsUrl: `${base}/metrics`, healthUrl: `${base}/health` });
  const set = await snapshotAll({
    'pegaflow-server': ep('pegaflow-server', pega),
    'vllm-pegaflow': ep('vllm-pegaflow', broken),
    'vllm-baseline': ep('vllm-baseline', `http://127.0.0.1:${deadPort}`),
  });
  t.equal(sumOf(set.snapshots['pegaflow-server'], 'pegaflow_cache_tier_block_requests_total', { tier: 'ram' }), 549);
  t.equal(set.snapshots['vllm-pegaflow'], undefined);
  t.match(set.errors['vllm-pegaflow'], /vllm-pegaflow metrics: GET http:\/\/127\.0\.0\.1:\d+\/metrics answered 500, expected 200/);
  t.match(set.errors['vllm-baseline'], new RegExp(`GET http://127\\.0\\.0\\.1:${deadPort}/metrics failed: .*ECONNREFUSED`));
  t.equal(set.errors['pegaflow-server'], undefined);
});

t.test('scrapeMetrics reports a timeout and unparsable text as failures', async (t) => {
  const slow = await serve(t, () => 'hang');
  const r = await scrapeMetrics(`${slow}/metrics`, { timeoutS: 0.3 });
  t.notOk(r.ok);
  t.match(!r.ok && r.error, /no answer within 0\.3 s/);
  const bad = await serve(t, () => ({ status: 200, body: 'metric{label=unquoted} 1\n' }));
  const b = await scrapeMetrics(`${bad}/metrics`);
  t.match(!b.ok && b.error, /is not Prometheus text/);
});
