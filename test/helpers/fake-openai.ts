// A small OpenAI-style streaming server for client tests. Each request's
// behaviour is chosen by the prompt text (or last message), e.g. "mode:cut".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeServer {
  url: string;
  requests: Record<string, unknown>[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeOpenAi(opts: { roleDelayMs?: number; firstTokenDelayMs?: number } = {}): Promise<FakeServer> {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', async () => {
      const json = JSON.parse(body || '{}') as Record<string, unknown> & { prompt?: string; messages?: { content: string }[] };
      requests.push(json);
      const text = json.prompt ?? json.messages?.at(-1)?.content ?? '';
      const mode = /mode:(\S+)/.exec(text)?.[1] ?? 'ok';
      const chat = Array.isArray(json.messages);
      if (mode === 'http500') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'injected failure', type: 'InternalServerError', code: 500 } }));
        return;
      }
      if (mode === 'hang') return; // never answers
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (o: unknown) => res.write(`data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`);
      const delta = (content: string, finish: string | null = null) =>
        chat ? { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: finish }] } : { object: 'text_completion', choices: [{ index: 0, text: content, finish_reason: finish }] };
      if (chat) {
        await sleep(opts.roleDelayMs ?? 0);
        send({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      }
      await sleep(opts.firstTokenDelayMs ?? 0);
      if (mode === 'badjson') {
        send('{not json');
        res.end();
        return;
      }
      if (mode === 'streamerror') {
        send({ error: { message: 'engine died', type: 'InternalServerError' } });
        res.end();
        return;
      }
      // Split one event across two writes to exercise the parser's buffering.
      const first = `data: ${JSON.stringify(delta('Hello'))}\n\n`;
      res.write(first.slice(0, 10));
      await sleep(2);
      res.write(first.slice(10));
      if (mode === 'cut') {
        res.socket?.destroy();
        return;
      }
      send(delta(' world', 'stop'));
      send({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14, prompt_tokens_details: { cached_tokens: 8 } } });
      if (mode === 'nodone') {
        res.end();
        return;
      }
      send('[DONE]');
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
