// The simulated PegaKVConnector: vLLM's side of PegaFlow, over the
// pegaflow.Engine gRPC service. At start-up it registers the KV memory file
// (RegisterContextBatch) and holds a liveness Session stream; per request it
// asks which leading blocks PegaFlow holds (QueryPrefetch), has them written
// into the KV memory file (Load), releases the lease, and saves newly computed
// blocks (Save). Every failure is an error for the caller: no silent fallback.
import type * as grpc from '@grpc/grpc-js';
import { createEngineClient, type EngineClient, type QueryResponse } from '../../grpc/engine.ts';
import type { Logger } from './log.ts';

export const LAYER_NAME = 'sim.kv';
export const NAMESPACE = 'default';
const WHERE = 'pegaflow_connector.py:212';

export class ConnectorError extends Error {}

export interface ConnectorEndpoint {
  /** host:port for gRPC (no scheme). */
  address: string;
  /** Where host and port came from, for error messages. */
  source: string;
}

export interface ConnectorOptions {
  endpoint: ConnectorEndpoint;
  instanceId: string;
  kvFilePath: string;
  numBlocks: number;
  bytesPerBlock: number;
  logger: Logger;
  rpcTimeoutMs?: number;
  clientVersion?: string;
}

function describe(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number') return `gRPC code ${e.code}: ${e.details || e.message}`;
  return (err as Error).message ?? String(err);
}

/** Strips a URL scheme and trailing slashes from a host (`http://127.0.0.1` → `127.0.0.1`). */
export function bareHost(host: string): string {
  return host.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

/**
 * The PegaFlow address from `kv_connector_extra_config` (`pegaflow.host`,
 * `pegaflow.port`), overridden by env PEGAFLOW_HOST / PEGAFLOW_PORT; defaults
 * http://127.0.0.1 and 50055.
 */
export function resolveEndpoint(extra: Record<string, unknown>, env: NodeJS.ProcessEnv): ConnectorEndpoint {
  const hostFrom = env['PEGAFLOW_HOST'] ? 'env PEGAFLOW_HOST' : extra['pegaflow.host'] !== undefined ? 'kv_connector_extra_config["pegaflow.host"]' : 'default';
  const portFrom = env['PEGAFLOW_PORT'] ? 'env PEGAFLOW_PORT' : extra['pegaflow.port'] !== undefined ? 'kv_connector_extra_config["pegaflow.port"]' : 'default';
  const host = bareHost(String(env['PEGAFLOW_HOST'] || extra['pegaflow.host'] || 'http://127.0.0.1'));
  const port = String(env['PEGAFLOW_PORT'] || extra['pegaflow.port'] || '50055');
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ConnectorError(`PegaFlow port "${port}" (from ${portFrom}) is not a TCP port number`);
  }
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { address: `${hostPart}:${port}`, source: `host from ${hostFrom}, port from ${portFrom}` };
}

export interface PrefetchResult {
  hitBlocks: number;
  lease: Buffer;
}

export class PegaConnector {
  private readonly client: EngineClient;
  private session: grpc.ClientReadableStream<Record<string, never>> | undefined;
  private closing = false;
  /** False once the Session stream has ended while we were not closing. */
  sessionAlive = false;

  constructor(private readonly opts: ConnectorOptions) {
    this.client = createEngineClient(opts.endpoint.address, opts.rpcTimeoutMs ?? 30_000);
  }

  get address(): string {
    return this.opts.endpoint.address;
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  /** RegisterContextBatch, then opens the Session stream. Throws ConnectorError when PegaFlow is unreachable or refuses. */
  async start(): Promise<void> {
    const o = this.opts;
    let res;
    try {
      res = await this.client.call(
        'RegisterContextBatch',
        {
          instanceId: o.instanceId,
          namespace: NAMESPACE,
          tpRank: 0,
          tpSize: 1,
          worldSize: 1,
          deviceId: 0,
          layerNames: [LAYER_NAME],
          wrapperBytes: [Buffer.from(o.kvFilePath, 'utf8')],
          numBlocks: [o.numBlocks],
          bytesPerBlock: [o.bytesPerBlock],
          clientVersion: o.clientVersion ?? '',
        },
        5_000,
      );
    } catch (err) {
      throw new ConnectorError(
        `PegaKVConnector could not register the KV cache with PegaFlow at ${o.endpoint.address} (${o.endpoint.source}): ${describe(err)}. ` +
          'Is pegaflow-server running there? Set kv_connector_extra_config "pegaflow.host"/"pegaflow.port" or env PEGAFLOW_HOST/PEGAFLOW_PORT.',
      );
    }
    if (!res.status?.ok) {
      throw new ConnectorError(`PegaFlow at ${o.endpoint.address} refused RegisterContextBatch for instance ${o.instanceId}: ${res.status?.message ?? '(no status)'}`);
    }
    o.logger.info(WHERE, `Registered KV cache with PegaFlow at ${o.endpoint.address}: instance_id=${o.instanceId} namespace=${NAMESPACE} layer=${LAYER_NAME} num_blocks=${o.numBlocks} bytes_per_block=${o.bytesPerBlock} kv_file=${o.kvFilePath}`);
    this.openSession();
  }

  private openSession(): void {
    const o = this.opts;
    const stream = this.client.openSession({ instanceId: o.instanceId, namespace: NAMESPACE, tpSize: 1, worldSize: 1 });
    this.session = stream;
    this.sessionAlive = true;
    let reported = false;
    const ended = (why: string) => {
      if (reported) return;
      reported = true;
      this.sessionAlive = false;
      if (this.closing) return;
      o.logger.error(WHERE, `PegaFlow session stream for instance ${o.instanceId} at ${o.endpoint.address} ended: ${why}. KV connector calls may fail from now on.`);
    };
    stream.on('data', () => {});
    stream.on('error', (err) => ended(describe(err)));
    stream.on('end', () => ended('the server closed it'));
  }

  async queryPrefetch(reqId: string, hashes: readonly Buffer[]): Promise<PrefetchResult> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      let res: QueryResponse;
      try {
        res = await this.client.call('QueryPrefetch', { instanceId: this.opts.instanceId, blockHashes: [...hashes], reqId });
      } catch (err) {
        throw new ConnectorError(`PegaFlow QueryPrefetch for ${reqId} (${hashes.length} blocks) failed: ${describe(err)}`);
      }
      if (res.ready) return { hitBlocks: Number(res.ready.numHitBlocks), lease: res.ready.lease ?? Buffer.alloc(0) };
      // `loading`: PegaFlow is still staging blocks (SSD prefetch); ask again shortly, as the real connector does.
      if (performance.now() > deadline) throw new ConnectorError(`PegaFlow QueryPrefetch for ${reqId} still answered "loading" after 10 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Load: the i-th leased block goes into blockIds[i]. Resolves when PegaFlow has written them. */
  async load(reqId: string, lease: Buffer, blockIds: readonly number[]): Promise<void> {
    let res;
    try {
      res = await this.client.call('Load', {
        instanceId: this.opts.instanceId,
        tpRank: 0,
        deviceId: 0,
        loadStateShm: '',
        groups: [{ layerNames: [LAYER_NAME] }],
        loads: [{ lease, blockIdsByGroup: [{ targets: blockIds.map((blockId) => ({ blockId })) }] }],
      });
    } catch (err) {
      throw new ConnectorError(`PegaFlow Load for ${reqId} (${blockIds.length} blocks) failed: ${describe(err)}`);
    }
    if (!res.status?.ok) throw new ConnectorError(`PegaFlow Load for ${reqId} answered not ok: ${res.status?.message ?? '(no status)'}`);
  }

  async release(reqId: string, lease: Buffer): Promise<void> {
    try {
      await this.client.call('Release', { lease });
    } catch (err) {
      throw new ConnectorError(`PegaFlow Release for ${reqId} failed: ${describe(err)}`);
    }
  }

  async save(reqId: string, blockIds: readonly number[], hashes: readonly Buffer[]): Promise<void> {
    let res;
    try {
      res = await this.client.call('Save', {
        instanceId: this.opts.instanceId,
        tpRank: 0,
        deviceId: 0,
        saves: [{ layerName: LAYER_NAME, blockIds: [...blockIds], blockHashes: [...hashes] }],
      });
    } catch (err) {
      throw new ConnectorError(`PegaFlow Save for ${reqId} (${blockIds.length} blocks) failed: ${describe(err)}`);
    }
    if (!res.status?.ok) throw new ConnectorError(`PegaFlow Save for ${reqId} answered not ok: ${res.status?.message ?? '(no status)'}`);
  }

  /** Unregisters (best effort, short deadline), ends the session and closes the channel. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.client.call('UnregisterContext', { instanceId: this.opts.instanceId }, 300);
    } catch {
      // PegaFlow may already be gone; the session's end drops the instance anyway.
    }
    this.session?.cancel();
    this.client.close();
  }
}
