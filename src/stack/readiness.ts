// Readiness probes. "Connection refused" while a server loads is expected and
// reported only as a detail, never as an error.
import { request } from 'undici';
import { checkEngineHealth } from '../grpc/engine.ts';
import type { ReadinessProbe, ReadinessResult } from './supervisor.ts';

function describeFetchError(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (not listening yet)';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'no answer within the probe timeout';
  return code ?? e.message ?? String(err);
}

/** GET `url`; ready on a 2xx answer. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<ReadinessResult> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ready: true };
    return { ready: false, detail: `GET ${url} answered ${res.statusCode}` };
  } catch (err) {
    return { ready: false, detail: `GET ${url}: ${describeFetchError(err)}` };
  }
}

export function httpProbe(url: string): ReadinessProbe {
  return () => httpOk(url);
}

/**
 * PegaFlow is ready when its HTTP endpoint answers (`/health`; older servers
 * only had `/metrics`) and the gRPC Engine.Health RPC says ok.
 */
export function pegaflowProbe(httpBase: string, grpcAddress: string, httpPath: '/health' | '/metrics' = '/health'): ReadinessProbe {
  return async () => {
    const http = await httpOk(`${httpBase}${httpPath}`);
    if (!http.ready) return http;
    const grpc = await checkEngineHealth(grpcAddress);
    return grpc.ok ? { ready: true } : { ready: false, detail: grpc.reason };
  };
}
