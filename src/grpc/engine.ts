// Typed access to PegaFlow's gRPC `pegaflow.Engine` service, loaded at run time
// from proto/pegaflow/engine.proto. The harness uses the client for readiness
// (Health); the simulated vLLM uses it as its KV connector; the simulated
// PegaFlow serves the same service definition.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ENGINE_PROTO_PATH = fileURLToPath(new URL('../../proto/pegaflow/engine.proto', import.meta.url));

// Field names are camelCase (proto-loader's default); 64-bit integers are plain
// numbers (block counts and sizes stay far below 2^53); bytes are Buffers.
const LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface ResponseStatus {
  ok: boolean;
  message: string;
}

export interface RegisterContextRequest {
  instanceId: string;
  namespace: string;
  tpRank: number;
  tpSize: number;
  worldSize: number;
  deviceId: number;
  layerNames: string[];
  wrapperBytes: Buffer[];
  numBlocks: number[];
  bytesPerBlock: number[];
  kvStrideBytes?: number[];
  segments?: number[];
  ppRank?: number;
  clientVersion?: string;
}
export interface StatusResponse {
  status: ResponseStatus | null;
}
export interface SaveLayer {
  layerName: string;
  blockIds: number[];
  blockHashes: Buffer[];
}
export interface SaveRequest {
  instanceId: string;
  tpRank: number;
  deviceId: number;
  saves: SaveLayer[];
  ppRank?: number;
}
export interface LoadBlockTarget {
  blockId?: number;
  target?: 'blockId';
}
export interface LeaseLoad {
  lease: Buffer;
  blockIdsByGroup: { targets: LoadBlockTarget[] }[];
}
export interface LoadRequest {
  instanceId: string;
  tpRank: number;
  deviceId: number;
  loadStateShm: string;
  groups: { layerNames: string[] }[];
  loads: LeaseLoad[];
}
export interface QueryRequest {
  instanceId: string;
  blockHashes: Buffer[];
  reqId: string;
  waitForFullPrefix?: boolean;
  groupId?: number;
}
export interface QueryReady {
  numHitBlocks: number;
  lease: Buffer;
  hitPositions: number[];
}
export interface QueryResponse {
  loading?: Record<string, never> | null;
  ready?: QueryReady | null;
  outcome?: 'loading' | 'ready';
}
export interface ReleaseRequest {
  lease: Buffer;
}
export interface UnregisterRequest {
  instanceId: string;
}
export interface SessionRequest {
  instanceId: string;
  namespace: string;
  tpSize: number;
  worldSize: number;
}

/** Unary RPCs of the Engine service, request and response types. */
export interface EngineUnaryMethods {
  RegisterContextBatch: [RegisterContextRequest, StatusResponse];
  Save: [SaveRequest, StatusResponse];
  Load: [LoadRequest, StatusResponse];
  QueryPrefetch: [QueryRequest, QueryResponse];
  Release: [ReleaseRequest, Record<string, never>];
  UnregisterContext: [UnregisterRequest, StatusResponse];
  Shutdown: [Record<string, never>, StatusResponse];
  Health: [Record<string, never>, StatusResponse];
}

type GrpcServiceClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
interface EngineServiceCtor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions): GrpcServiceClient;
  service: grpc.ServiceDefinition;
}

let cachedCtor: EngineServiceCtor | undefined;
function engineServiceCtor(): EngineServiceCtor {
  if (!cachedCtor) {
    const definition = protoLoader.loadSync(ENGINE_PROTO_PATH, LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { pegaflow: { Engine: EngineServiceCtor } };
    cachedCtor = loaded.pegaflow.Engine;
  }
  return cachedCtor;
}

/** The service definition a gRPC server registers its handlers against. */
export function engineServiceDefinition(): grpc.ServiceDefinition {
  return engineServiceCtor().service;
}

export interface EngineClient {
  /** Calls one unary RPC; rejects with the gRPC error (code, details) on failure or after `timeoutMs`. */
  call<M extends keyof EngineUnaryMethods>(
    method: M,
    request: EngineUnaryMethods[M][0],
    timeoutMs?: number,
  ): Promise<EngineUnaryMethods[M][1]>;
  /** Opens the server-streaming liveness session a vLLM instance holds for its lifetime. */
  openSession(request: SessionRequest): grpc.ClientReadableStream<Record<string, never>>;
  close(): void;
}

/** `address` is host:port without a scheme (e.g. 127.0.0.1:50055). */
export function createEngineClient(address: string, defaultTimeoutMs = 10_000): EngineClient {
  const Ctor = engineServiceCtor();
  // Loopback only: no TLS. Keepalive off: short-lived harness calls.
  const client = new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    call(method, request, timeoutMs = defaultTimeoutMs) {
      return new Promise((resolve, reject) => {
        const fn = client[method] as (
          req: unknown,
          options: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res: unknown) => void,
        ) => void;
        fn.call(client, request, { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (err) reject(err);
          else resolve(res as never);
        });
      });
    },
    openSession(request) {
      const fn = client['Session'] as (req: unknown) => grpc.ClientReadableStream<Record<string, never>>;
      return fn.call(client, request);
    },
    close() {
      client.close();
    },
  };
}

/** True when `Engine.Health` answers with status.ok; the reason otherwise. */
export async function checkEngineHealth(
  address: string,
  timeoutMs = 2_000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const client = createEngineClient(address, timeoutMs);
  try {
    const res = await client.call('Health', {});
    if (res.status?.ok) return { ok: true };
    return { ok: false, reason: `Health answered ok=false: ${res.status?.message ?? '(no message)'}` };
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { ok: false, reason: `Health RPC failed: ${e.details || e.message} (code ${e.code})` };
  } finally {
    client.close();
  }
}
