// The streaming client: one request in, one RequestRecord out. It measures and
// never judges, and never retries: a failed request is a finding.
import { Agent, request, type Dispatcher } from 'undici';
import { SseParser } from './sse.ts';
import type { RequestError, RequestInput, RequestRecord } from './types.ts';

// One shared dispatcher, unlimited connections per origin, so 1000 concurrent
// streams open 1000 sockets instead of queueing behind a small pool.
let sharedAgent: Agent | undefined;
export function defaultDispatcher(): Dispatcher {
  sharedAgent ??= new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  return sharedAgent;
}

export interface SendOptions {
  baseUrl: string;
  model: string;
  timeoutS: number;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

interface ChunkChoice {
  delta?: { content?: string | null; reasoning_content?: string | null };
  text?: string | null;
  finish_reason?: string | null;
}
interface Chunk {
  choices?: ChunkChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: { message?: string } | string;
}

const now = () => performance.now() / 1000;

export function requestBody(input: RequestInput, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    max_tokens: input.maxTokens,
    temperature: input.temperature ?? 0,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (input.seed !== undefined) body['seed'] = input.seed;
  if (input.endpoint === 'chat') body['messages'] = input.messages ?? [];
  else body['prompt'] = input.prompt ?? '';
  return body;
}

/** The generated text a chunk carries ('' for role-only or usage-only chunks). */
export function chunkText(chunk: Chunk): string {
  const c = chunk.choices?.[0];
  if (!c) return '';
  // Reasoning models stream their thinking as reasoning_content before content:
  // those are generated tokens too, so they end the time-to-first-token.
  return (c.delta ? (c.delta.content ?? '') + (c.delta.reasoning_content ?? '') : c.text ?? '') || '';
}

function classifyThrown(err: unknown, timedOut: boolean, aborted: boolean): RequestError {
  if (timedOut) return { kind: 'timeout', message: 'request timed out (REQUEST_TIMEOUT)' };
  if (aborted) return { kind: 'aborted', message: 'request aborted: the test was stopped' };
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  return { kind: 'connection', message: `${code ? `${code}: ` : ''}${e.message ?? String(err)}` };
}

async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  try {
    const text = await body.text();
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string; detail?: string };
      if (typeof parsed.error === 'object' && parsed.error?.message) return parsed.error.message;
      if (typeof parsed.error === 'string') return parsed.error;
      return parsed.message ?? parsed.detail ?? text.slice(0, 300);
    } catch {
      return text.slice(0, 300);
    }
  } catch {
    return '(no body)';
  }
}

export async function sendStreaming(input: RequestInput, opts: SendOptions): Promise<RequestRecord> {
  const path = input.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const record: RequestRecord = {
    id: input.id,
    endpoint: input.endpoint,
    tags: input.tags ?? {},
    ok: false,
    sentAtS: now(),
    ttftS: undefined,
    firstChunkS: undefined,
    interTokenS: [],
    latencyS: 0,
    promptTokens: undefined,
    completionTokens: undefined,
    cachedTokens: undefined,
    outputText: '',
    finishReason: undefined,
    error: undefined,
  };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutS * 1000);
  const onOuterAbort = () => controller.abort();
  if (opts.signal?.aborted) controller.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const sent = (record.sentAtS = now());
  let lastTextAt: number | undefined;
  const text: string[] = [];
  try {
    const res = await request(`${opts.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(requestBody(input, opts.model)),
      signal: controller.signal,
      dispatcher: opts.dispatcher ?? defaultDispatcher(),
      headersTimeout: opts.timeoutS * 1000,
      bodyTimeout: opts.timeoutS * 1000,
    });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      record.error = { kind: 'http-status', httpStatus: res.statusCode, message: `HTTP ${res.statusCode}: ${await readErrorBody(res.body)}` };
      return record;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let done = false;
    const handle = (payload: string): boolean => {
      if (payload === '[DONE]') {
        done = true;
        return true;
      }
      let chunk: Chunk;
      try {
        chunk = JSON.parse(payload) as Chunk;
      } catch {
        record.error = { kind: 'invalid-chunk', message: `invalid JSON in stream: ${payload.slice(0, 120)}` };
        return true;
      }
      if (chunk.error) {
        const msg = typeof chunk.error === 'string' ? chunk.error : chunk.error.message ?? JSON.stringify(chunk.error);
        record.error = { kind: 'invalid-chunk', message: `error in stream: ${msg}` };
        return true;
      }
      const t = now();
      record.firstChunkS ??= t - sent;
      const piece = chunkText(chunk);
      if (piece) {
        if (lastTextAt === undefined) record.ttftS = t - sent;
        else record.interTokenS.push(t - lastTextAt);
        lastTextAt = t;
        text.push(piece);
      }
      const finish = chunk.choices?.[0]?.finish_reason;
      if (finish) record.finishReason = finish;
      if (chunk.usage) {
        record.promptTokens = chunk.usage.prompt_tokens;
        record.completionTokens = chunk.usage.completion_tokens;
        record.cachedTokens = chunk.usage.prompt_tokens_details?.cached_tokens;
      }
      return false;
    };
    try {
      outer: for await (const buf of res.body) {
        for (const payload of parser.push(decoder.decode(buf as Uint8Array, { stream: true }))) if (handle(payload)) break outer;
      }
    } catch (err) {
      // The answer had begun: losing the connection now is a cut stream.
      const thrown = classifyThrown(err, timedOut, opts.signal?.aborted ?? false);
      record.error = thrown.kind === 'connection' ? { kind: 'stream-cut', message: `stream cut before data: [DONE] (${thrown.message})` } : thrown;
    }
    if (!done && !record.error) for (const payload of parser.flush()) if (handle(payload)) break;
    if (!record.error && !done) record.error = { kind: 'stream-cut', message: 'stream ended before data: [DONE]' };
    if (!record.error && record.ttftS === undefined) record.error = { kind: 'invalid-chunk', message: 'stream finished without any generated text' };
    // Drain (or drop) what is left so the socket can be reused.
    res.body.destroy();
    record.ok = record.error === undefined;
  } catch (err) {
    record.error = classifyThrown(err, timedOut, opts.signal?.aborted ?? false);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    record.latencyS = now() - sent;
    record.outputText = text.join('');
  }
  return record;
}
