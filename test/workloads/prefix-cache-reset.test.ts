// POST /reset_prefix_cache: each answer vLLM can give, mapped to done /
// unavailable / failed; retries only while vLLM answers {"success": false}.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { resetPrefixCache } from '../../src/workloads/prefix-cache-reset.ts';
import { freePort } from '../helpers/ports.ts';

type Tap = Test;

/** Answers the n-th request (0-based) with answers[min(n, last)]; records method and URL. */
async function server(t: Tap, answers: { status: number; body: string }[]): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const srv = createServer((req, res) => {
    const a = answers[Math.min(seen.length, answers.length - 1)]!;
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen };
}

const FALSE = { status: 200, body: '{"success":false}' };
const TRUE = { status: 200, body: '{"success":true}' };

t.test('success true: done, with a bare POST (the connector cache is never asked to reset)', async (t) => {
  const srv = await server(t, [TRUE]);
  t.same(await resetPrefixCache(srv.url), { outcome: 'done', detail: 'GPU prefix cache emptied' });
  t.same(srv.seen, ['POST /reset_prefix_cache'], 'no reset_external, no reset_running_requests');
});

t.test('success false while blocks are held: retried until vLLM accepts', async (t) => {
  const srv = await server(t, [FALSE, FALSE, TRUE]);
  const r = await resetPrefixCache(srv.url, { retryIntervalS: 0.01 });
  t.same(r, { outcome: 'done', detail: 'GPU prefix cache emptied (after 2 refusal(s) while blocks were still held)' });
  t.equal(srv.seen.length, 3);
});

t.test('success false for longer than the retry window: failed, saying why', async (t) => {
  const srv = await server(t, [FALSE]);
  const r = await resetPrefixCache(srv.url, { retryForS: 0.2, retryIntervalS: 0.05 });
  t.equal(r.outcome, 'failed');
  t.match(r.detail, /answered \{"success": false\} \d+ time\(s\) over 0\.2 s: vLLM would not empty its GPU prefix cache while requests or KV transfers still held blocks/);
  t.ok(srv.seen.length >= 2, `asked ${srv.seen.length} times`);
});

t.test('an empty 200 (older vLLM) is done, noting the server does not confirm it', async (t) => {
  const srv = await server(t, [{ status: 200, body: '' }]);
  const r = await resetPrefixCache(srv.url);
  t.equal(r.outcome, 'done');
  t.match(r.detail, /does not say whether the reset happened/);
  t.equal(srv.seen.length, 1, 'not retried');
});

t.test('404: unavailable, and the detail says real vLLM needs VLLM_SERVER_DEV_MODE=1', async (t) => {
  const srv = await server(t, [{ status: 404, body: '{"detail":"Not Found"}' }]);
  const r = await resetPrefixCache(srv.url);
  t.equal(r.outcome, 'unavailable');
  t.match(r.detail, /answered 404: real vLLM serves POST \/reset_prefix_cache only with VLLM_SERVER_DEV_MODE=1/);
  t.equal(srv.seen.length, 1, 'not retried');
});

t.test('another status or no server: failed with the status and body, or the connection error; not retried', async (t) => {
  const srv = await server(t, [{ status: 500, body: '{"error":{"message":"engine dead"}}' }]);
  const r = await resetPrefixCache(srv.url);
  t.equal(r.outcome, 'failed');
  t.match(r.detail, /answered 500, expected 200: \{"error":\{"message":"engine dead"\}\}/);
  t.equal(srv.seen.length, 1);
  const port = await freePort();
  const gone = await resetPrefixCache(`http://127.0.0.1:${port}`);
  t.equal(gone.outcome, 'failed');
  t.match(gone.detail, new RegExp(`POST http://127\\.0\\.0\\.1:${port}/reset_prefix_cache failed`));
});

t.test('an abort while retrying rejects with the abort reason', async (t) => {
  const srv = await server(t, [FALSE]);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('interrupted by SIGINT')), 100);
  await t.rejects(resetPrefixCache(srv.url, { retryForS: 30, retryIntervalS: 0.02, signal: ac.signal }), /interrupted by SIGINT/);
});
