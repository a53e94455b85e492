// The HTTP API, shaped like vLLM's OpenAI-compatible server: /health,
// /v1/models, /version, /metrics, the dev-mode /reset_prefix_cache, and
// /v1/completions and /v1/chat/completions, non-streaming and streaming (SSE:
// `data: <json>\n\n` chunks, `data: [DONE]` last). Field names and `object`
// values follow vLLM's protocol models; errors use its
// `{"error": {"message", "type", "param", "code"}}` body.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultPlan } from '../faults.ts';
import { applyChatTemplate, ChatTemplateError, type ChatMessage } from './chat-template.ts';
import { ApiError, badRequest, errorBody, internalError, notFound } from './errors.ts';
import type { Logger } from './log.ts';
import type { VllmMetrics } from './metrics.ts';
import { SIM_VLLM_VERSION, type SimVllmOptions } from './options.ts';
import { Pacer } from './pacer.ts';
import type { FinishedRequest, Scheduler, TokenEvent } from './scheduler.ts';
import { detokenize, tokenize } from './tokenizer.ts';

export interface ApiDeps {
  options: SimVllmOptions;
  scheduler: Scheduler;
  metrics: VllmMetrics;
  faults: FaultPlan;
  logger: Logger;
  /** VLLM_SERVER_DEV_MODE=1: the dev routes (/reset_prefix_cache) exist. */
  devMode: boolean;
  /** False once the engine is dead or stopping: /health answers 503. */
  healthy(): boolean;
  /** Called when a completion request's response has ended (crash-after counts these). */
  completionServed(): void;
}

const MAX_BODY_BYTES = 256 * 1024 * 1024;
const ROUTE_FILE = 'launcher.py:46';

class BodyError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyError(`request body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, errorBody(err));
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error', 503: 'Service Unavailable' };

// ── request parameters ─────────────────────────────────────────────────────

interface Sampling {
  maxTokens: number | undefined;
  temperature: number;
  seed: number | undefined;
  stop: string[];
  ignoreEos: boolean;
  includeStopStr: boolean;
  stream: boolean;
  includeUsage: boolean;
}

function optNumber(body: Record<string, unknown>, key: string, opts: { int?: boolean; min?: number } = {}): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
    throw badRequest(`${key} must be ${opts.int ? 'an integer' : 'a number'} (got ${JSON.stringify(v)})`, key);
  }
  return v;
}

function parseSampling(body: Record<string, unknown>, maxTokensKeys: string[], defaultMaxTokens: number | undefined): Sampling {
  let maxTokens: number | undefined = defaultMaxTokens;
  for (const key of maxTokensKeys) {
    const v = optNumber(body, key, { int: true });
    if (v !== undefined) {
      maxTokens = v;
      break;
    }
  }
  if (maxTokens !== undefined && maxTokens < 1) throw badRequest(`max_tokens must be at least 1, got ${maxTokens}.`, 'max_tokens');
  const temperature = optNumber(body, 'temperature') ?? 1.0;
  if (temperature < 0) throw badRequest(`temperature must be non-negative, got ${temperature}.`, 'temperature');
  const n = optNumber(body, 'n', { int: true }) ?? 1;
  if (n !== 1) throw badRequest(`n=${n}: the simulated vLLM generates one sequence per prompt (n=1)`, 'n');
  const seed = optNumber(body, 'seed', { int: true });
  const rawStop = body['stop'];
  let stop: string[] = [];
  if (typeof rawStop === 'string') stop = [rawStop];
  else if (Array.isArray(rawStop) && rawStop.every((s) => typeof s === 'string')) stop = rawStop as string[];
  else if (rawStop !== undefined && rawStop !== null) throw badRequest('stop must be a string or a list of strings', 'stop');
  const streamOptions = body['stream_options'] as { include_usage?: unknown } | undefined | null;
  const stream = body['stream'] === true;
  if (streamOptions && !stream) throw badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  return {
    maxTokens,
    temperature,
    seed: seed === undefined ? undefined : seed >>> 0,
    stop,
    ignoreEos: body['ignore_eos'] === true,
    includeStopStr: body['include_stop_str_in_output'] === true,
    stream,
    includeUsage: stream && streamOptions?.include_usage === true,
  };
}

// ── the SSE writer ─────────────────────────────────────────────────────────

class Sse {
  private started = false;
  ended = false;
  constructor(private readonly res: ServerResponse) {}

  private head(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  }

  data(obj: unknown, after?: () => void): void {
    if (this.ended || this.res.destroyed) return;
    this.head();
    this.res.write(`data: ${JSON.stringify(obj)}\n\n`, after);
  }

  done(): void {
    if (this.ended || this.res.destroyed) return;
    this.head();
    this.ended = true;
    this.res.end('data: [DONE]\n\n');
  }

  /** cut-stream fault: the connection drops without [DONE]. */
  cut(): void {
    this.ended = true;
    this.res.destroy();
  }
}

// ── the routes ─────────────────────────────────────────────────────────────

interface Route {
  method: 'GET' | 'POST';
  handler: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;
}

export function createApiHandler(deps: ApiDeps): { handle: (req: IncomingMessage, res: ServerResponse) => void; routes: [string, string][] } {
  const { options, scheduler, metrics, faults, logger } = deps;
  const primaryName = options.servedModelNames[0]!;
  const createdAt = Math.floor(Date.now() / 1000);
  const active = new Set<{ abort(): void }>();
  const fixed = options.fixedLatency;
  const pacer = fixed ? new Pacer((err) => logger.error('serving.py:600', `paced output failed: ${(err as Error).stack ?? String(err)}`)) : undefined;

  function checkModel(body: Record<string, unknown>): string {
    const model = body['model'];
    if (model === undefined || model === null) return primaryName;
    if (typeof model !== 'string' || !options.servedModelNames.includes(model)) {
      throw notFound(`The model \`${String(model)}\` does not exist.`);
    }
    return model;
  }

  function checkLength(promptTokens: number, maxTokens: number | undefined): number {
    const limit = options.maxModelLen;
    const requested = maxTokens ?? 1;
    if (promptTokens + requested > limit) {
      throw new ApiError(
        400,
        'BadRequestError',
        `You passed ${promptTokens} input tokens and requested ${requested} output tokens. However, the model's context length is only ${limit} tokens, resulting in a maximum input length of ${limit - requested} tokens. Please reduce the length of the input prompt.`,
        'input_tokens',
      );
    }
    return maxTokens ?? limit - promptTokens;
  }

  function logRequest(id: string, prompt: string, tokens: number, s: Sampling, maxTokens: number): void {
    if (!options.enableLogRequests) return;
    const shown = prompt.length > 80 ? `${prompt.slice(0, 80)}…` : prompt;
    logger.info(
      'logger.py:39',
      `Received request ${id}: prompt: ${JSON.stringify(shown)}, params: SamplingParams(n=1, temperature=${s.temperature}, seed=${s.seed ?? 'None'}, stop=${JSON.stringify(s.stop)}, max_tokens=${maxTokens}, ignore_eos=${s.ignoreEos ? 'True' : 'False'}), prompt_token_ids: ${tokens} tokens`,
    );
  }

  interface Submitted {
    onToken(ev: TokenEvent): void;
    onFinish(r: FinishedRequest): void;
    onError(e: ApiError): void;
  }

  /** Submits one prompt; the returned handle aborts it. */
  function submit(id: string, tokens: number[], maxTokens: number, s: Sampling, sink: Submitted): { abort(): void } {
    const handle = scheduler.submit({
      requestId: id,
      promptTokens: tokens,
      maxTokens,
      temperature: s.temperature,
      ...(s.seed !== undefined ? { seed: s.seed } : {}),
      stop: s.stop,
      ignoreEos: s.ignoreEos,
      includeStopStr: s.includeStopStr,
      arrivalMs: performance.now(),
      sink: {
        onToken: (ev) => sink.onToken(ev),
        onFinish: (r) => {
          active.delete(handle);
          sink.onFinish(r);
        },
        onError: (e) => {
          active.delete(handle);
          sink.onError(e);
        },
      },
    });
    active.add(handle);
    return handle;
  }

  /**
   * Fixed-latency mode: token j of a prompt goes out at arrival + ttft + j × itl
   * (the engine, running with no step time, is far ahead of that); the finish
   * follows the last token. Errors are not delayed.
   */
  function paced(arrivedMs: number, sink: Submitted): Submitted {
    if (!fixed || !pacer) return sink;
    let tokens = 0;
    let lastDueMs = arrivedMs + fixed.ttftMs;
    return {
      onToken(ev) {
        lastDueMs = arrivedMs + fixed.ttftMs + tokens++ * fixed.itlMs;
        pacer.at(lastDueMs, () => sink.onToken(ev));
      },
      onFinish(r) {
        pacer.at(lastDueMs, () => sink.onFinish(r));
      },
      onError: (e) => sink.onError(e),
    };
  }

  function usageOf(promptTokens: number, completionTokens: number, cachedTokens: number) {
    return {
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + completionTokens,
      completion_tokens: completionTokens,
      prompt_tokens_details: options.enablePromptTokensDetails ? { cached_tokens: cachedTokens } : null,
    };
  }

  /** Shared flow of both completion endpoints. */
  async function generate(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'completion' | 'chat',
  ): Promise<void> {
    // Fixed-latency mode counts from here: the request's head has been read.
    const arrivedMs = performance.now();
    let ended = false;
    res.on('close', () => {
      if (!ended) {
        ended = true;
        deps.completionServed();
      }
    });
    let body: Record<string, unknown>;
    try {
      const text = await readBody(req);
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('the request body must be a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (err) {
      sendError(res, err instanceof ApiError ? err : badRequest(`invalid JSON body: ${(err as Error).message}`));
      return;
    }
    if (faults.fires('error-rate')) {
      sendError(res, internalError(`injected fault error-rate=${faults.value('error-rate')}: request failed`));
      return;
    }
    let model: string;
    let prompts: { text: string; tokens: number[] }[];
    let s: Sampling;
    const maxTokensPerPrompt: number[] = [];
    try {
      model = checkModel(body);
      if (kind === 'chat') {
        s = parseSampling(body, ['max_completion_tokens', 'max_tokens'], undefined);
        let text: string;
        try {
          text = applyChatTemplate(body['messages'] as ChatMessage[]);
        } catch (err) {
          if (err instanceof ChatTemplateError) throw badRequest(err.message, 'messages');
          throw err;
        }
        prompts = [{ text, tokens: tokenize(text) }];
      } else {
        s = parseSampling(body, ['max_tokens'], 16);
        prompts = completionPrompts(body['prompt']);
      }
      for (const p of prompts) maxTokensPerPrompt.push(checkLength(p.tokens.length, s.maxTokens));
    } catch (err) {
      sendError(res, err instanceof ApiError ? err : internalError((err as Error).message));
      return;
    }

    const base = randomUUID().replace(/-/g, '');
    const id = kind === 'chat' ? `chatcmpl-${base}` : `cmpl-${base}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const handles: { abort(): void }[] = [];
    const abortAll = () => handles.forEach((h) => h.abort());
    res.on('close', () => {
      if (!res.writableFinished) abortAll();
    });

    const results: (FinishedRequest | undefined)[] = prompts.map(() => undefined);
    let failed = false;
    let remaining = prompts.length;
    const sse = s.stream ? new Sse(res) : undefined;
    const cut = s.stream && faults.fires('cut-stream');
    const firstChunkSent = prompts.map(() => false);
    let contentChunks = 0;

    const onError = (e: ApiError) => {
      if (failed) return;
      failed = true;
      abortAll();
      if (sse) {
        if (sse.ended) return;
        // vLLM reports an error after streaming began as a data line with an error object.
        sse.data(errorBody(e));
        sse.done();
      } else if (!res.headersSent) sendError(res, e);
    };

    const finishAll = () => {
      if (failed) return;
      const done = results as FinishedRequest[];
      const promptTokens = done.reduce((n, r) => n + r.promptTokens, 0);
      const completionTokens = done.reduce((n, r) => n + r.tokenIds.length, 0);
      const cachedTokens = done.reduce((n, r) => n + r.cachedTokens, 0);
      if (sse) {
        if (s.includeUsage) {
          const usage = usageOf(promptTokens, completionTokens, cachedTokens);
          if (!options.enablePromptTokensDetails) delete (usage as { prompt_tokens_details?: unknown }).prompt_tokens_details;
          sse.data({ id, object, created, model, choices: [], usage });
        }
        sse.done();
        return;
      }
      const usage = usageOf(promptTokens, completionTokens, cachedTokens);
      if (kind === 'chat') {
        const r = done[0]!;
        sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: r.text, refusal: null, annotations: null, audio: null, function_call: null, tool_calls: [], reasoning_content: null },
              logprobs: null,
              finish_reason: r.finishReason,
              stop_reason: r.stopReason,
            },
          ],
          service_tier: null,
          system_fingerprint: null,
          usage,
          prompt_logprobs: null,
          kv_transfer_params: null,
        });
      } else {
        sendJson(res, 200, {
          id,
          object: 'text_completion',
          created,
          model,
          choices: done.map((r, i) => ({
            index: i,
            text: (body['echo'] === true ? prompts[i]!.text : '') + r.text,
            logprobs: null,
            finish_reason: r.finishReason,
            stop_reason: r.stopReason,
            prompt_logprobs: null,
          })),
          usage,
          kv_transfer_params: null,
        });
      }
    };

    prompts.forEach((p, i) => {
      const reqId = prompts.length > 1 ? `${id}-${i}` : id;
      logRequest(reqId, p.text, p.tokens.length, s, maxTokensPerPrompt[i]!);
      let handle: { abort(): void };
      try {
        handle = submit(reqId, p.tokens, maxTokensPerPrompt[i]!, s, paced(arrivedMs, {
          onToken(ev) {
            if (!sse || failed) return;
            const finish = ev.finish ? { finish_reason: ev.finish.reason, stop_reason: ev.finish.stopReason } : { finish_reason: null, stop_reason: null };
            const cutNow = cut && ev.delta !== '' && contentChunks++ === 0;
            // cut-stream: the first content chunk goes out, then the connection drops (no [DONE]).
            const after = cutNow ? () => sse.cut() : undefined;
            if (cutNow) {
              logger.warn('serving.py:612', `cut-stream fault: dropping the connection of ${id} after its first content chunk`);
              failed = true;
            }
            if (kind === 'chat') {
              if (!firstChunkSent[i]) {
                firstChunkSent[i] = true;
                sse.data({ id, object, created, model, choices: [{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
              }
              sse.data({ id, object, created, model, choices: [{ index: i, delta: { content: ev.delta }, logprobs: null, ...finish }] }, after);
            } else {
              sse.data({ id, object, created, model, choices: [{ index: i, text: ev.delta, logprobs: null, ...finish }], usage: null }, after);
            }
            if (cutNow) {
              sse.ended = true;
              abortAll();
            }
          },
          onFinish(r) {
            results[i] = r;
            if (--remaining === 0) finishAll();
          },
          onError,
        }));
      } catch (err) {
        onError(err instanceof ApiError ? err : internalError((err as Error).message));
        return;
      }
      handles.push(handle);
      // Fixed-latency mode: the role-only chunk goes out at once, before the first token (a known gap for benchmarks).
      if (fixed && sse && kind === 'chat' && !firstChunkSent[i]) {
        firstChunkSent[i] = true;
        sse.data({ id, object, created, model, choices: [{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
      }
    });
  }

  function completionPrompts(prompt: unknown): { text: string; tokens: number[] }[] {
    const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0);
    let list: { text: string; tokens: number[] }[];
    if (typeof prompt === 'string') list = [{ text: prompt, tokens: tokenize(prompt) }];
    else if (isIds(prompt)) list = [{ text: detokenize(prompt), tokens: prompt }];
    else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) list = (prompt as string[]).map((t) => ({ text: t, tokens: tokenize(t) }));
    else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isIds)) list = (prompt as number[][]).map((ids) => ({ text: detokenize(ids), tokens: ids }));
    else throw badRequest('prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids', 'prompt');
    for (const p of list) if (p.tokens.length === 0) throw badRequest('Prompt cannot be empty', 'prompt');
    return list;
  }

  const routes: Record<string, Route> = {
    '/health': {
      method: 'GET',
      handler: (_req, res) => {
        res.writeHead(deps.healthy() ? 200 : 503, { 'content-length': 0 });
        res.end();
      },
    },
    '/version': { method: 'GET', handler: (_req, res) => sendJson(res, 200, { version: SIM_VLLM_VERSION }) },
    '/v1/models': {
      method: 'GET',
      handler: (_req, res) =>
        sendJson(res, 200, {
          object: 'list',
          data: options.servedModelNames.map((name) => ({
            id: name,
            object: 'model',
            created: createdAt,
            owned_by: 'vllm',
            root: options.model,
            parent: null,
            max_model_len: options.maxModelLen,
            permission: [
              {
                id: `modelperm-${randomUUID().replace(/-/g, '')}`,
                object: 'model_permission',
                created: createdAt,
                allow_create_engine: false,
                allow_sampling: true,
                allow_logprobs: true,
                allow_search_indices: false,
                allow_view: true,
                allow_fine_tuning: false,
                organization: '*',
                group: null,
                is_blocking: false,
              },
            ],
          })),
        }),
    },
    '/metrics': {
      method: 'GET',
      handler: async (_req, res) => {
        const text = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
    '/v1/completions': { method: 'POST', handler: (req, res) => generate(req, res, 'completion') },
    '/v1/chat/completions': { method: 'POST', handler: (req, res) => generate(req, res, 'chat') },
  };
  if (deps.devMode && !faults.has('no-reset-endpoint')) {
    routes['/reset_prefix_cache'] = {
      method: 'POST',
      handler: async (req, res, url) => {
        await readBody(req).catch(() => '');
        logger.info('api_router.py:41', 'Resetting prefix cache...');
        if (url.searchParams.get('reset_external') === 'true') {
          logger.warn('api_router.py:41', 'reset_external=true: the simulated connector has no external cache reset; only the GPU prefix cache is reset');
        }
        if (faults.has('ignore-reset')) {
          logger.warn('api_router.py:41', 'ignore-reset fault: answering success without clearing the prefix cache');
          sendJson(res, 200, { success: true });
          return;
        }
        const ok = scheduler.resetPrefixCache();
        if (ok) logger.info('block_pool.py:415', 'Successfully reset prefix cache');
        else logger.warn('block_pool.py:409', `Failed to reset prefix cache because some blocks (${scheduler.pool.numUsed}) are not freed yet`);
        sendJson(res, 200, { success: ok });
      },
    };
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!options.disableAccessLog) {
      res.on('finish', () => {
        const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
        logger.raw(`INFO:     ${peer} - "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${STATUS_TEXT[res.statusCode] ?? ''}`.trimEnd());
      });
    }
    const route = routes[url.pathname];
    if (!route) {
      sendJson(res, 404, { detail: 'Not Found' });
      return;
    }
    if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('allow', route.method);
      sendJson(res, 405, { detail: 'Method Not Allowed' });
      return;
    }
    if (options.apiKey && url.pathname.startsWith('/v1') && req.headers['authorization'] !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, { error: 'Unauthorized' });
      return;
    }
    Promise.resolve(route.handler(req, res, url)).catch((err: unknown) => {
      logger.error('api_server.py:1302', `unhandled error on ${req.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendError(res, internalError((err as Error).message));
      else res.destroy();
    });
  };

  return { handle, routes: Object.entries(routes).map(([path, r]) => [path, r.method]) };
}
