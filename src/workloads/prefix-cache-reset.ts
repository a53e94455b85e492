// Empties vLLM's GPU prefix cache before a measured warm pass, so any hit must
// come through the KV connector. Only the GPU cache: never the connector's,
// which is what is under test.
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';

export type ResetOutcome = { outcome: 'done' | 'unavailable' | 'failed'; detail: string };

/**
 * POST /reset_prefix_cache. Current vLLM answers 200 with {"success": false}
 * while requests still hold blocks; older versions answer an empty 200. The
 * harness resets only when idle, but the server may still be finishing the
 * last requests, so a refused reset is retried briefly.
 */
export async function resetPrefixCache(baseUrl: string, opts: { attempts?: number; retryDelayMs?: number; timeoutMs?: number } = {}): Promise<ResetOutcome> {
  const attempts = opts.attempts ?? 20;
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await request(`${baseUrl}/reset_prefix_cache`, { method: 'POST', headersTimeout: opts.timeoutMs ?? 10_000, bodyTimeout: opts.timeoutMs ?? 10_000 });
      const body = await res.body.text();
      if (res.statusCode === 404) {
        return {
          outcome: 'unavailable',
          detail: 'POST /reset_prefix_cache answered 404: real vLLM serves it only with VLLM_SERVER_DEV_MODE=1 (kvgate sets it for servers it starts); warm-pass hits may then come from the GPU cache, so the verdict rests on the connector metrics',
        };
      }
      if (res.statusCode !== 200) return { outcome: 'failed', detail: `POST /reset_prefix_cache answered ${res.statusCode}: ${body.slice(0, 200)}` };
      let success = true;
      try {
        const parsed = JSON.parse(body) as { success?: boolean };
        if (parsed && typeof parsed === 'object' && parsed.success === false) success = false;
      } catch {
        // empty or non-JSON 200: older vLLM, which reset or raised
      }
      if (success) return { outcome: 'done', detail: 'GPU prefix cache emptied' };
      last = 'the server refused (requests still hold cache blocks)';
    } catch (err) {
      last = (err as Error).message;
      return { outcome: 'failed', detail: `POST /reset_prefix_cache failed: ${last}` };
    }
    await sleep(opts.retryDelayMs ?? 250);
  }
  return { outcome: 'failed', detail: `POST /reset_prefix_cache: ${last} after ${attempts} attempts` };
}
