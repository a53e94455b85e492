// The HTTP side of pegaflow-server (pegaflow-server/src/http_server.rs):
// /health, /metrics, /instances, /instances/cleanup, /cache/memory/cleanup,
// with the same status codes and JSON field names.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './log.ts';
import type { MemoryCleanupStats } from './store.ts';

export interface HttpBackend {
  /** Undefined when Prometheus is off: /metrics answers 404, as the real route is then absent. */
  metricsText?: () => Promise<string>;
  listInstances(): string[];
  /** Without id: all instances. Undefined when the id is unknown. */
  cleanupInstances(id?: string): Promise<{ removedInstances: string[]; removedTensors: number } | undefined>;
  cleanupMemory(): MemoryCleanupStats;
}

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void> | void;

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const sendJson = (res: ServerResponse, body: unknown) => send(res, 200, JSON.stringify(body), 'application/json');

export function createHttpServer(backend: HttpBackend, logger: Logger): Server {
  const routes: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
    '/health': { GET: (_req, res) => send(res, 200, 'ok') },
    '/instances': { GET: (_req, res) => sendJson(res, { instances: backend.listInstances() }) },
    '/instances/cleanup': {
      POST: async (_req, res, query) => {
        const id = query.get('id') ?? undefined;
        const r = await backend.cleanupInstances(id);
        if (!r) {
          send(res, 404, `instance ${id} not found`);
          return;
        }
        if (r.removedInstances.length > 0) logger.warn(`Cleanup via HTTP: removed instance(s) [${r.removedInstances.join(', ')}], ${r.removedTensors} KV file(s) closed`);
        else logger.info('Cleanup via HTTP: no instances to remove');
        sendJson(res, { removed_instances: r.removedInstances, removed_tensors: r.removedTensors });
      },
    },
    '/cache/memory/cleanup': {
      POST: (_req, res) => {
        const s = backend.cleanupMemory();
        logger.info(`Memory cache cleanup: evicted_blocks=${s.evictedBlocks} evicted_bytes=${s.evictedBytes} reclaimed_bytes=${s.reclaimedBytes} still_referenced_blocks=${s.stillReferencedBlocks}`);
        sendJson(res, {
          evicted_blocks: s.evictedBlocks,
          evicted_bytes: s.evictedBytes,
          reclaimed_bytes: s.reclaimedBytes,
          still_referenced_blocks: s.stillReferencedBlocks,
        });
      },
    },
  };
  const metricsText = backend.metricsText;
  if (metricsText) {
    routes['/metrics'] = { GET: async (_req, res) => send(res, 200, await metricsText(), 'text/plain; version=0.0.4; charset=utf-8') };
  }

  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const route = routes[url.pathname];
    if (!route) {
      send(res, 404, '');
      return;
    }
    const handler = route[req.method as 'GET' | 'POST'];
    if (!handler) {
      res.setHeader('allow', Object.keys(route).join(','));
      send(res, 405, '');
      return;
    }
    req.resume();
    Promise.resolve(handler(req, res, url.searchParams)).catch((err: unknown) => {
      logger.error(`HTTP ${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) send(res, 500, `internal error: ${(err as Error).message}`);
    });
  });
}
