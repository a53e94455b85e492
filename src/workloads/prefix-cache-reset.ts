// Empties vLLM's GPU prefix cache before a measured pass, so that any prefix
// hit in that pass must come through the KV connector. Only the GPU cache: the
// request carries no query parameters, so neither `reset_external` (the
// connector's cache — the thing under test) nor `reset_running_requests` is set.
//
// What vLLM answers (vllm/entrypoints/serve/dev/cache/api_router.py, main in
// 2026; earlier vllm/entrypoints/serve/cache/api_router.py and api_server.py):
// - the route exists only with VLLM_SERVER_DEV_MODE=1; otherwise 404;
// - current versions: 200 {"success": true|false}; false while blocks are
//   still held "by running requests or in-flight async KV offload transfers;
//   callers may retry" (the engine's BlockPool.reset_prefix_cache refuses
//   while any block other than the null block is in use);
// - older versions: 200 with an empty body whatever happened (a refusal is
//   only logged by the engine).
// So: 404 → unavailable; 200 and success false → retried briefly (a pass has
// just ended, its last saves may still be in flight); 200 otherwise → done.
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';

export interface ResetOutcome {
  outcome: 'done' | 'unavailable' | 'failed';
  detail: string;
}

export interface ResetOptions {
  /** Per attempt, seconds (default 10). */
  timeoutS?: number;
  /** How long to keep asking while vLLM answers {"success": false}, seconds (default 10). */
  retryForS?: number;
  /** Pause between those attempts, seconds (default 0.2). */
  retryIntervalS?: number;
  /** An abort rejects with the signal's reason (the test was stopped). */
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

export const DEV_MODE_HINT =
  'real vLLM serves POST /reset_prefix_cache only with VLLM_SERVER_DEV_MODE=1 in its environment (kvgate\'s launcher sets it; a server started by hand needs it too)';

export async function resetPrefixCache(baseUrl: string, opts: ResetOptions = {}): Promise<ResetOutcome> {
  const url = `${baseUrl}/reset_prefix_cache`;
  const timeoutMs = (opts.timeoutS ?? 10) * 1000;
  const deadline = performance.now() + (opts.retryForS ?? 10) * 1000;
  const intervalMs = (opts.retryIntervalS ?? 0.2) * 1000;
  let refusals = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    let status: number;
    let body: string;
    try {
      const res = await request(url, {
        method: 'POST',
        signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        dispatcher: opts.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      body = await res.body.text();
    } catch (err) {
      opts.signal?.throwIfAborted();
      return { outcome: 'failed', detail: `POST ${url} failed: ${(err as Error).message}` };
    }
    if (status === 404) return { outcome: 'unavailable', detail: `POST ${url} answered 404: ${DEV_MODE_HINT}; without the reset, warm-pass hits may come from vLLM's own GPU cache, so cache use is judged on the metrics alone` };
    if (status !== 200) return { outcome: 'failed', detail: `POST ${url} answered ${status}, expected 200: ${body.trim().slice(0, 300) || '(empty body)'}` };
    const success = successField(body);
    if (success === true) return { outcome: 'done', detail: refusals ? `GPU prefix cache emptied (after ${refusals} refusal(s) while blocks were still held)` : 'GPU prefix cache emptied' };
    if (success === undefined) return { outcome: 'done', detail: 'GPU prefix cache reset requested (this vLLM answers an empty 200 and does not say whether the reset happened)' };
    refusals++;
    if (performance.now() + intervalMs > deadline) {
      return {
        outcome: 'failed',
        detail: `POST ${url} answered {"success": false} ${refusals} time(s) over ${opts.retryForS ?? 10} s: vLLM would not empty its GPU prefix cache while requests or KV transfers still held blocks`,
      };
    }
    try {
      await sleep(intervalMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw err;
    }
  }
}

/** `success` of a JSON answer; undefined for an empty or non-JSON body (older vLLM). */
function successField(body: string): boolean | undefined {
  if (!body.trim()) return undefined;
  try {
    const j = JSON.parse(body) as { success?: unknown };
    return j && typeof j === 'object' && typeof j.success === 'boolean' ? j.success : undefined;
  } catch {
    return undefined;
  }
}
