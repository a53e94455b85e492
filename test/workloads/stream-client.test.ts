// The streaming client against a small in-test HTTP server: what TTFT
// measures, what the record holds, and how each failure is classified.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { sendStreaming } from '../../src/workloads/client/stream-client.ts';
import type { RequestInput } from '../../src/workloads/client/types.ts';
import { freePort } from '../helpers/ports.ts';

type Tap = Test;
type Handler = (ctx: { req: IncomingMessage; body: Record<string, unknown>; res: ServerResponse; sse: (o: unknown) => void }) => Promise<void> | void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP server whose every request runs `handler`; records what was asked. */
async function server(t: Tap, handler: Handler): Promise<{ url: string; seen: { path: string; body: Record<string, unknown> }[] }> {
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  const srv = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      seen.push({ path: req.url ?? '', body });
      const sse = (o: unknown) => res.write(`data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`);
      void Promise.resolve(handler({ req, body, res, sse })).catch(() => res.destroy());
    });
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

const stream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const chatDelta = (delta: Record<string, unknown>, finish: string | null = null) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
const textChunk = (text: string, finish: string | null = null) => ({ id: 'cmpl-1', object: 'text_completion', model: 'm', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }], usage: null });
const usage = (extra: Record<string, unknown> = {}) => ({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 12, total_tokens: 14, completion_tokens: 2, ...extra } });
const chat = (content = 'hi'): RequestInput => ({ id: 'r1', endpoint: 'chat', messages: [{ role: 'user', content }], maxTokens: 8 });
const opts = (url: string, extra: { timeoutS?: number; signal?: AbortSignal } = {}) => ({ baseUrl: url, model: 'served-name', timeoutS: extra.timeoutS ?? 10, signal: extra.signal });

t.test('chat: TTFT is measured to the first content, not to the earlier role-only chunk', async (t) => {
  const srv = await server(t, async ({ res, sse }) => {
    stream(res);
    sse(chatDelta({ role: 'assistant', content: '' }));
    await sleep(150);
    sse(chatDelta({ content: 'Hel' }));
    await sleep(20);
    sse(chatDelta({ content: 'lo' }, 'stop'));
    sse(usage({ prompt_tokens_details: { cached_tokens: 8 } }));
    sse('[DONE]');
    res.end();
  });
  const r = await sendStreaming(chat(), opts(srv.url));
  t.ok(r.ok, r.error?.message ?? 'ok');
  t.ok(r.ttftS! >= 0.15, `TTFT ${r.ttftS} includes the 150 ms before the first content`);
  t.ok(r.firstChunkS! < r.ttftS!, `the role chunk came first (${r.firstChunkS} s): what the bash suite would have reported`);
  t.equal(r.outputText, 'Hello');
  t.equal(r.reasoningText, '');
  t.equal(r.finishReason, 'stop');
  t.same([r.promptTokens, r.completionTokens, r.cachedTokens], [12, 2, 8], 'usage chunk read');
  t.equal(r.interTokenS.length, 1, 'one gap between two content chunks');
  // Not ">= 20 ms": a late read of the first token shrinks the measured gap; only the order is certain.
  t.ok(r.interTokenS[0]! >= 0 && r.ttftS! + r.interTokenS[0]! <= r.latencyS, `gap ${r.interTokenS[0]} s after the first token, within the request`);
  t.ok(r.endedAtS >= r.sentAtS + r.ttftS!, 'ended after the first token');
  t.equal(r.latencyS, r.endedAtS - r.sentAtS);
  t.equal(srv.seen[0]!.path, '/v1/chat/completions');
  t.same(srv.seen[0]!.body, {
    model: 'served-name',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 8,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
});

t.test('completions: TTFT on the first non-empty text; prompt, temperature and seed are sent', async (t) => {
  const srv = await server(t, async ({ res, sse }) => {
    stream(res);
    sse(textChunk('')); // a special token detokenized to nothing
    await sleep(60);
    sse(textChunk(' The'));
    sse(textChunk(' end', 'length'));
    sse(usage());
    sse('[DONE]');
    res.end();
  });
  const r = await sendStreaming({ id: 'c', endpoint: 'completions', prompt: 'doc', maxTokens: 4, temperature: 0.7, seed: 3, tags: { document: 2 } }, opts(srv.url));
  t.ok(r.ok, r.error?.message ?? 'ok');
  t.ok(r.ttftS! >= 0.06, 'the empty first chunk did not count');
  t.equal(r.outputText, ' The end');
  t.equal(r.finishReason, 'length');
  t.same(r.tags, { document: 2 });
  t.equal(srv.seen[0]!.path, '/v1/completions');
  t.same(srv.seen[0]!.body, { model: 'served-name', prompt: 'doc', max_tokens: 4, temperature: 0.7, seed: 3, stream: true, stream_options: { include_usage: true } });
});

t.test('reasoning text ends TTFT and is kept apart from the answer (vLLM sends reasoning and reasoning_content alike)', async (t) => {
  const srv = await server(t, async ({ res, sse }) => {
    stream(res);
    sse(chatDelta({ role: 'assistant', content: '' }));
    await sleep(80);
    sse(chatDelta({ reasoning: 'think', reasoning_content: 'think' }));
    await sleep(80);
    sse(chatDelta({ reasoning_content: ' more' })); // older vLLM: only reasoning_content
    sse(chatDelta({ content: 'Answer' }, 'stop'));
    sse('[DONE]');
    res.end();
  });
  const r = await sendStreaming(chat(), opts(srv.url));
  t.ok(r.ok);
  t.ok(r.ttftS! >= 0.08 && r.ttftS! < r.latencyS, 'TTFT at the first reasoning chunk');
  // Two gaps, in arrival order. Not ">= 80 ms": a late read of the first token shrinks the measured gap (CI once read less).
  t.ok(r.interTokenS.length === 2 && r.interTokenS.every((g) => g >= 0), `two later text chunks, gaps ${r.interTokenS.map((g) => g.toFixed(3)).join(', ')} s`);
  t.equal(r.reasoningText, 'think more', 'not counted twice');
  t.equal(r.outputText, 'Answer');
});

t.test('an empty answer (first token EOS): TTFT is the chunk that finishes the choice', async (t) => {
  const srv = await server(t, async ({ res, sse }) => {
    stream(res);
    await sleep(100);
    sse(chatDelta({ role: 'assistant', content: '' }));
    sse(chatDelta({ content: '' }, 'stop'));
    sse(usage({ completion_tokens: 1 }));
    sse('[DONE]');
    res.end();
  });
  const r = await sendStreaming(chat(), opts(srv.url));
  t.ok(r.ok, r.error?.message ?? 'ok');
  t.ok(r.ttftS! >= 0.1);
  t.equal(r.outputText, '');
  t.equal(r.finishReason, 'stop');
});

t.test('HTTP errors keep the status and the server\'s own message', async (t) => {
  const srv = await server(t, ({ body, res }) => {
    const content = (body['messages'] as { content: string }[])[0]!.content;
    if (content === '400') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: "This model's maximum context length is 32768 tokens.", type: 'BadRequestError', param: 'input_tokens', code: 400 } }));
    } else if (content === '404') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"detail":"Not Found"}');
    } else {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'error', message: 'engine dead', type: 'InternalServerError', code: 500 }));
    }
  });
  const bad = await sendStreaming(chat('400'), opts(srv.url));
  t.same([bad.ok, bad.error?.kind, bad.error?.httpStatus], [false, 'http-status', 400]);
  t.equal(bad.error?.message, "HTTP 400: This model's maximum context length is 32768 tokens.");
  t.equal((await sendStreaming(chat('404'), opts(srv.url))).error?.message, 'HTTP 404: Not Found');
  t.equal((await sendStreaming(chat('500'), opts(srv.url))).error?.message, 'HTTP 500: engine dead', 'older vLLM error shape');
});

t.test('connection failures: refused, and closed before any answer', async (t) => {
  const port = await freePort();
  const refused = await sendStreaming(chat(), opts(`http://127.0.0.1:${port}`));
  t.equal(refused.error?.kind, 'connection');
  t.match(refused.error?.message, new RegExp(`POST http://127\\.0\\.0\\.1:${port}/v1/chat/completions: .*ECONNREFUSED`));
  const srv = await server(t, ({ res }) => {
    res.socket?.destroy();
  });
  const closed = await sendStreaming(chat(), opts(srv.url));
  t.equal(closed.error?.kind, 'connection');
  t.equal(closed.ok, false);
});

t.test('a stream that breaks off is stream-cut: connection dropped, or ended without [DONE]', async (t) => {
  const srv = await server(t, async ({ body, res, sse }) => {
    stream(res);
    sse(chatDelta({ role: 'assistant', content: '' }));
    sse(chatDelta({ content: 'partial' }));
    await sleep(10);
    if ((body['messages'] as { content: string }[])[0]!.content === 'drop') res.socket?.destroy();
    else res.end();
  });
  const dropped = await sendStreaming(chat('drop'), opts(srv.url));
  t.equal(dropped.error?.kind, 'stream-cut');
  t.match(dropped.error?.message, /^stream cut before data: \[DONE\] after 2 chunk\(s\)/);
  t.ok(dropped.ttftS !== undefined && !dropped.ok, 'a TTFT was seen, but the request failed');
  t.equal(dropped.outputText, 'partial', 'what arrived is kept');
  const ended = await sendStreaming(chat('end'), opts(srv.url));
  t.equal(ended.error?.kind, 'stream-cut');
  t.equal(ended.error?.message, 'stream ended before data: [DONE] after 2 chunk(s)');
});

t.test('invalid chunks: bad JSON, an error object in the stream, a stream with nothing generated', async (t) => {
  const srv = await server(t, ({ body, res, sse }) => {
    const mode = (body['messages'] as { content: string }[])[0]!.content;
    stream(res);
    sse(chatDelta({ role: 'assistant', content: '' }));
    if (mode === 'json') sse('{"choices": [');
    if (mode === 'error') sse({ error: { message: 'KV connector failed for request 7: load refused', type: 'InternalServerError', code: 500 } });
    sse('[DONE]');
    res.end();
  });
  const json = await sendStreaming(chat('json'), opts(srv.url));
  t.equal(json.error?.kind, 'invalid-chunk');
  t.match(json.error?.message, /^invalid JSON in stream \(chunk 2\): \{"choices": \[/);
  const inStream = await sendStreaming(chat('error'), opts(srv.url));
  t.equal(inStream.error?.kind, 'invalid-chunk');
  t.equal(inStream.error?.message, 'error in stream after 1 chunk(s): KV connector failed for request 7: load refused');
  const empty = await sendStreaming(chat('nothing'), opts(srv.url));
  t.equal(empty.error?.kind, 'invalid-chunk');
  t.match(empty.error?.message, /without generated text or a finish_reason/);
});

t.test('a 200 that is not an event stream is reported with its content type', async (t) => {
  const srv = await server(t, ({ res }) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[{"message":{"content":"x"}}]}');
  });
  const r = await sendStreaming(chat(), opts(srv.url));
  t.equal(r.error?.kind, 'stream-cut');
  t.match(r.error?.message, /content-type application\/json, not text\/event-stream/);
});

t.test('the per-request timeout stops a request that hangs before or during the stream', async (t) => {
  const srv = await server(t, ({ body, res, sse }) => {
    if ((body['messages'] as { content: string }[])[0]!.content === 'mid') {
      stream(res);
      sse(chatDelta({ role: 'assistant', content: '' }));
      sse(chatDelta({ content: 'a' }));
    } // else: never answers
  });
  const before = await sendStreaming(chat('hang'), opts(srv.url, { timeoutS: 0.3 }));
  t.equal(before.error?.kind, 'timeout');
  t.match(before.error?.message, /^request timed out after 0\.3 s \(REQUEST_TIMEOUT\) waiting for the response headers/);
  t.ok(before.latencyS >= 0.3 && before.latencyS < 10, `stopped at ${before.latencyS.toFixed(2)} s`);
  const mid = await sendStreaming(chat('mid'), opts(srv.url, { timeoutS: 0.3 }));
  t.equal(mid.error?.kind, 'timeout');
  t.match(mid.error?.message, /mid-stream after 2 chunk\(s\)/);
  t.equal(mid.outputText, 'a');
});

t.test('an external abort stops the request and is reported as aborted, not as a server failure', async (t) => {
  const srv = await server(t, ({ body, res, sse }) => {
    if ((body['messages'] as { content: string }[])[0]!.content === 'mid') {
      stream(res);
      sse(chatDelta({ role: 'assistant', content: '' }));
    }
  });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const hung = await sendStreaming(chat('hang'), opts(srv.url, { timeoutS: 30, signal: ac.signal }));
  t.equal(hung.error?.kind, 'aborted');
  t.ok(hung.latencyS < 10);
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 100);
  const mid = await sendStreaming(chat('mid'), opts(srv.url, { timeoutS: 30, signal: ac2.signal }));
  t.equal(mid.error?.kind, 'aborted');
  t.match(mid.error?.message, /mid-stream/);
  const pre = await sendStreaming(chat('hang'), opts(srv.url, { signal: AbortSignal.abort() }));
  t.equal(pre.error?.kind, 'aborted', 'an already aborted signal sends nothing useful');
});
