// Handlers of the `pegaflow.Engine` gRPC service. Validation, error codes and
// messages follow the real server (pegaflow-server/src/service.rs; checked
// against 0.25.1 on a GPU, test/fixtures/real/pegaflow/) except where kvgate's
// wire contract with the simulated vLLM says otherwise: an unknown instance in
// Save/Load answers `status{ok:false}` (the real one answers
// FAILED_PRECONDITION), and Release of a lease that Load already used up
// answers ok (the real one answers FAILED_PRECONDITION).
import * as grpc from '@grpc/grpc-js';
import type {
  LoadRequest,
  QueryRequest,
  QueryResponse,
  RegisterContextRequest,
  ReleaseRequest,
  SaveRequest,
  SessionRequest,
  StatusResponse,
  UnregisterRequest,
} from '../../grpc/engine.ts';
import type { FaultPlan } from '../faults.ts';
import type { InstanceRegistry } from './instances.ts';
import { KvMemory, KvMemoryError } from './kv-memory.ts';
import type { Logger } from './log.ts';
import type { SimMetrics } from './metrics.ts';
import type { SimPegaflowOptions } from './options.ts';
import type { BlockStore, LeasedBlock } from './store.ts';
import { transferMs, type TransferChannel } from './transfer.ts';

export interface ServiceContext {
  options: SimPegaflowOptions;
  store: BlockStore;
  instances: InstanceRegistry;
  metrics: SimMetrics;
  faults: FaultPlan;
  channel: TransferChannel;
  logger: Logger;
  isStopping(): boolean;
  /** The crash-after fault: exit code 1 once the answer in flight has gone out. */
  crash(reason: string): void;
  /** The Shutdown RPC: exit code 0 once its answer has gone out. */
  requestShutdown(): void;
}

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

const OK: StatusResponse = { status: { ok: true, message: '' } };
const notOk = (message: string): StatusResponse => ({ status: { ok: false, message } });
const invalid = (message: string) => new RpcError(grpc.status.INVALID_ARGUMENT, message);
const LEASE_ID_BYTES = 16;

function checkDeviceId(deviceId: number): void {
  if (deviceId < 0) throw invalid(`device_id ${deviceId} must be >= 0`);
}

function checkLeaseId(lease: Buffer): void {
  if (lease.length === 0) throw invalid('query lease id must be non-empty');
  if (lease.length !== LEASE_ID_BYTES) throw invalid(`query lease id must be ${LEASE_ID_BYTES} bytes, got ${lease.length}`);
}

function missedHashes(hashes: readonly Buffer[], hits: number): string[] {
  return hashes.slice(hits).map((h) => h.toString('hex'));
}

function corrupted(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ 0xff;
  return out;
}

export function createEngineService(ctx: ServiceContext): grpc.UntypedServiceImplementation {
  const { store, instances, metrics, faults, channel, logger, options } = ctx;
  const crashLimit = faults.value('crash-after');
  let rpcsSeen = 0;
  const sessions = new Map<string, number>();
  let nextSessionToken = 0;

  /** Counts an RPC against crash-after; false when the server is already past its limit. */
  function admit(method: string): boolean {
    if (crashLimit === undefined) return true;
    rpcsSeen++;
    if (rpcsSeen > crashLimit) {
      ctx.crash(`crash-after=${crashLimit} fault: ${method} is RPC number ${rpcsSeen}, past the limit; exiting with code 1`);
      return false;
    }
    return true;
  }
  function afterAnswer(): void {
    if (crashLimit !== undefined && rpcsSeen === crashLimit) {
      ctx.crash(`crash-after=${crashLimit} fault: served ${crashLimit} RPC(s) other than Health; exiting with code 1`);
    }
  }

  function unary<Req, Res>(
    method: string,
    opts: { counted: boolean; errorRate: boolean },
    handler: (req: Req) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const start = performance.now();
      if (opts.counted && !admit(method)) return;
      const finish = (code: grpc.status, message: string, res?: Res) => {
        metrics.recordRpc(method, code, (performance.now() - start) / 1000);
        if (code === grpc.status.OK) callback(null, res);
        else {
          logger.warn(`RPC [${method}] failed: code=${grpc.status[code]} message=${message}`);
          callback(Object.assign(new Error(message), { code, details: message }));
        }
        if (opts.counted) afterAnswer();
      };
      if (opts.errorRate && faults.fires('error-rate')) {
        finish(grpc.status.INTERNAL, `injected fault error-rate=${faults.value('error-rate')}: ${method} answered with INTERNAL`);
        return;
      }
      handler(call.request).then(
        (res) => finish(grpc.status.OK, '', res),
        (err: unknown) => {
          if (err instanceof RpcError) finish(err.code, err.message);
          else {
            logger.error(`RPC [${method}] internal error: ${(err as Error).stack ?? String(err)}`);
            finish(grpc.status.INTERNAL, (err as Error).message ?? String(err));
          }
        },
      );
    };
  }

  async function registerContextBatch(req: RegisterContextRequest): Promise<StatusResponse> {
    checkDeviceId(req.deviceId);
    if (req.tpSize === 0) throw invalid('tp_size must be > 0');
    if (req.worldSize === 0) throw invalid('world_size must be > 0');
    if (req.tpRank >= req.tpSize) throw invalid(`tp_rank ${req.tpRank} out of range (tp_size ${req.tpSize})`);
    const n = req.layerNames.length;
    if (n === 0 || req.wrapperBytes.length !== n || req.numBlocks.length !== n || req.bytesPerBlock.length !== n) {
      throw invalid(
        `layer_names, wrapper_bytes, num_blocks and bytes_per_block must have the same non-zero length (got ${n}, ${req.wrapperBytes.length}, ${req.numBlocks.length}, ${req.bytesPerBlock.length})`,
      );
    }
    if (n !== 1) throw invalid(`the simulated server takes one layer per worker (the "sim.kv" file); got ${n} layers`);
    const topo = { namespace: req.namespace, tpSize: req.tpSize, worldSize: req.worldSize };
    const conflict = instances.conflict(req.instanceId, topo);
    if (conflict) throw new RpcError(grpc.status.FAILED_PRECONDITION, conflict);
    const path = req.wrapperBytes[0]!.toString('utf8');
    let kv: KvMemory;
    try {
      kv = await KvMemory.open(path, req.numBlocks[0]!, req.bytesPerBlock[0]!);
    } catch (err) {
      if (err instanceof KvMemoryError) throw new RpcError(grpc.status.INTERNAL, `register tensor failed: ${err.message}`);
      throw err;
    }
    const replaced = await instances.addWorker(req.instanceId, topo, { tpRank: req.tpRank, deviceId: req.deviceId, layerName: req.layerNames[0]!, kv });
    logger.info(
      `${replaced ? 'Re-registered' : 'Registered'} instance ${req.instanceId}: namespace=${req.namespace} tp_rank=${req.tpRank}/${req.tpSize} world_size=${req.worldSize} device=${req.deviceId} layer=${req.layerNames[0]} kv_file=${path} num_blocks=${kv.numBlocks} bytes_per_block=${kv.blockBytes}`,
    );
    return OK;
  }

  async function save(req: SaveRequest): Promise<StatusResponse> {
    const start = performance.now();
    checkDeviceId(req.deviceId);
    for (const layer of req.saves) {
      if (layer.blockIds.length !== layer.blockHashes.length) {
        throw invalid(`block_ids length ${layer.blockIds.length} does not match block_hashes ${layer.blockHashes.length} for layer ${layer.layerName}`);
      }
    }
    const inst = instances.get(req.instanceId);
    if (!inst) return notOk(`instance ${req.instanceId} not found`);
    const worker = inst.workers.get(req.tpRank);
    if (!worker) return notOk(`tp_rank ${req.tpRank} of instance ${req.instanceId} is not registered`);
    for (const layer of req.saves) {
      if (layer.layerName !== worker.layerName) throw invalid(`unknown layer "${layer.layerName}" for instance ${req.instanceId} (registered: "${worker.layerName}")`);
      for (const id of layer.blockIds) {
        const bad = worker.kv.checkBlockId(id);
        if (bad) throw invalid(bad);
      }
    }
    const asked = req.saves.reduce((n, l) => n + l.blockIds.length, 0);
    if (faults.has('drop-saves')) {
      logger.debug(`drop-saves fault: Save of ${asked} block(s) from ${req.instanceId} answered ok, nothing stored`);
      return OK;
    }
    let slotsRead = 0;
    let inserted = 0;
    for (const layer of req.saves) {
      for (let i = 0; i < layer.blockIds.length; i++) {
        const hash = layer.blockHashes[i]!;
        if (!store.needsSlot(inst.namespace, hash, req.tpRank)) continue;
        const data = await worker.kv.readBlock(layer.blockIds[i]!);
        slotsRead++;
        if (store.putSlot(inst.namespace, hash, req.tpRank, inst.tpSize, data) === 'inserted') inserted++;
      }
    }
    metrics.recordSave(Math.round((slotsRead * options.blockBytes) / inst.tpSize), (performance.now() - start) / 1000);
    logger.debug(`Save from ${req.instanceId} tp_rank=${req.tpRank}: ${asked} block(s) asked, ${slotsRead} read, ${inserted} inserted`);
    return OK;
  }

  /**
   * With an SSD tier, the real server answers `loading` to the first query of
   * a req_id whose blocks are not all in RAM (it starts an SSD lookup) and
   * `ready` to a later query with the same req_id (0.25.1: a miss answers
   * QueryLoading, then QueryReady(0); a client that changes req_id on every
   * poll never gets past loading). Key: instance + req_id; value: ready time.
   */
  const ssdLookups = new Map<string, number>();
  const SSD_LOOKUP_MS = 1;
  const SSD_LOOKUPS_KEPT = 4096;

  /** 'lookup-started' or 'pending': answer loading; 'done': the lookup of this req_id ended; 'none': no lookup needed. */
  function ssdLookup(req: QueryRequest, namespace: string): 'none' | 'lookup-started' | 'pending' | 'done' {
    if (!store.ssdEnabled) return 'none';
    const key = `${req.instanceId}\u0000${req.reqId}`;
    const now = performance.now();
    const readyAt = ssdLookups.get(key);
    if (readyAt !== undefined) {
      if (now < readyAt) return 'pending';
      ssdLookups.delete(key);
      return 'done';
    }
    if (req.blockHashes.every((h) => store.tierOf(namespace, h) === 'ram')) return 'none';
    if (ssdLookups.size >= SSD_LOOKUPS_KEPT) ssdLookups.delete(ssdLookups.keys().next().value as string);
    ssdLookups.set(key, now + SSD_LOOKUP_MS);
    return 'lookup-started';
  }

  async function queryPrefetch(req: QueryRequest): Promise<QueryResponse> {
    if (req.reqId === '') throw invalid('req_id must not be empty');
    const inst = instances.get(req.instanceId);
    if (!inst) throw new RpcError(grpc.status.FAILED_PRECONDITION, `instance ${req.instanceId} not found`);
    const lookup = ssdLookup(req, inst.namespace);
    if (lookup === 'lookup-started' || lookup === 'pending') {
      metrics.recordQuery(store.classify(inst.namespace, req.blockHashes), { lookedUp: true, answered: false });
      logger.debug(`QueryPrefetch ${req.reqId} from ${req.instanceId}: ${req.blockHashes.length} asked, SSD lookup under way: loading`);
      return { loading: {} };
    }
    const r = store.query(req.instanceId, inst.namespace, req.blockHashes, inst.worldSize);
    // The ready answer that ends a lookup was already counted in the tier counter by its loading answer.
    metrics.recordQuery(r.tiers, { lookedUp: lookup === 'none', answered: true }, missedHashes(req.blockHashes, r.hitBlocks));
    logger.debug(
      `QueryPrefetch ${req.reqId} from ${req.instanceId}: ${req.blockHashes.length} asked, hit=${r.hitBlocks} (ram=${r.tiers.ram} ssd=${r.tiers.ssd}) miss=${r.tiers.miss}`,
    );
    return { ready: { numHitBlocks: r.hitBlocks, lease: r.lease ?? Buffer.alloc(0), hitPositions: [] } };
  }

  async function load(req: LoadRequest): Promise<StatusResponse> {
    const start = performance.now();
    checkDeviceId(req.deviceId);
    const inst = instances.get(req.instanceId);
    if (!inst) return notOk(`instance ${req.instanceId} not found`);
    const worker = inst.workers.get(req.tpRank);
    if (!worker) return notOk(`tp_rank ${req.tpRank} of instance ${req.instanceId} is not registered`);
    if (req.groups.length === 0) throw invalid('load requires at least one layer group');
    const layers = req.groups.flatMap((g) => g.layerNames);
    if (new Set(layers).size !== layers.length) throw invalid('load layer names must be unique across groups');
    for (const name of layers) {
      if (name !== worker.layerName) throw invalid(`unknown layer "${name}" for instance ${req.instanceId} (registered: "${worker.layerName}")`);
    }
    for (const l of req.loads) checkLeaseId(l.lease);

    const releases: (() => void)[] = [];
    try {
      const writes: { blockId: number; data: Buffer; block: LeasedBlock }[] = [];
      for (const l of req.loads) {
        const taken = store.consumeLease(req.instanceId, l.lease);
        if (!taken.ok) throw new RpcError(grpc.status.INTERNAL, taken.reason);
        releases.push(taken.done);
        if (l.blockIdsByGroup.length !== req.groups.length) {
          throw invalid(`load group count ${l.blockIdsByGroup.length} does not match layer group count ${req.groups.length}`);
        }
        l.blockIdsByGroup.forEach((group, g) => {
          if (group.targets.length !== taken.blocks.length) {
            throw invalid(`query lease block count ${taken.blocks.length} does not match destination block count ${group.targets.length} for group ${g}`);
          }
          group.targets.forEach((target, i) => {
            // An unset oneof means "no destination for this block".
            if (target.target !== 'blockId' || target.blockId === undefined) return;
            const bad = worker.kv.checkBlockId(target.blockId);
            if (bad) throw invalid(bad);
            const block = taken.blocks[i]!;
            const data = block.slots[req.tpRank];
            if (!data || data.length !== worker.kv.blockBytes) {
              throw invalid(
                `stored block has ${block.slots.length} slot(s) of ${block.slots[0]?.length ?? 0} bytes but instance ${req.instanceId} tp_rank ${req.tpRank} expects ${worker.kv.blockBytes}: namespace is shared by incompatible KV layouts`,
              );
            }
            writes.push({ blockId: target.blockId, data, block });
          });
        });
      }
      if (writes.length > 0 && faults.fires('corrupt-load')) {
        writes[0] = { ...writes[0]!, data: corrupted(writes[0]!.data) };
        logger.warn(`corrupt-load fault: flipped every byte of block ${writes[0]!.blockId} in this Load for ${req.instanceId}`);
      }
      const ssdBlocks = writes.filter((w) => w.block.tier === 'ssd').length;
      const ms = transferMs({ ramBlocks: writes.length - ssdBlocks, ssdBlocks }, options) * (faults.value('slow-load') ?? 1);
      await channel.run(ms, async () => {
        for (const w of writes) await worker.kv.writeBlock(w.blockId, w.data);
      });
      // Unpin first: a pool full of this load's own leased blocks must not block the promotion.
      for (const release of releases.splice(0)) release();
      for (const w of writes) if (w.block.tier === 'ssd') store.promote(w.block);
      metrics.recordLoad(Math.round((writes.length * options.blockBytes) / inst.tpSize), (performance.now() - start) / 1000, ssdBlocks);
      logger.debug(`Load into ${req.instanceId} tp_rank=${req.tpRank}: ${writes.length} block(s) (${ssdBlocks} from SSD), modelled ${ms.toFixed(3)} ms`);
      return OK;
    } catch (err) {
      metrics.recordLoadFailure();
      throw err;
    } finally {
      for (const release of releases) release();
    }
  }

  async function release(req: ReleaseRequest): Promise<Record<string, never>> {
    checkLeaseId(req.lease);
    const r = store.releaseLease(req.lease);
    if (r === 'unknown') throw new RpcError(grpc.status.FAILED_PRECONDITION, 'query lease is unknown or expired');
    if (r === 'consumed') logger.debug('Release of a lease already used up by Load: nothing to do');
    return {};
  }

  async function unregisterContext(req: UnregisterRequest): Promise<StatusResponse> {
    const removed = await instances.remove(req.instanceId);
    if (removed === undefined) throw new RpcError(grpc.status.FAILED_PRECONDITION, `instance ${req.instanceId} not found`);
    logger.info(`Unregistered instance ${req.instanceId} (${removed} worker(s))`);
    return OK;
  }

  const session: grpc.handleServerStreamingCall<SessionRequest, Record<string, never>> = (call) => {
    if (!admit('session')) return;
    const { instanceId } = call.request;
    if (instanceId === '') {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'instance_id must not be empty' });
      afterAnswer();
      return;
    }
    const token = ++nextSessionToken;
    sessions.set(instanceId, token);
    logger.info(`Session opened: instance_id=${instanceId} namespace=${call.request.namespace} tp_size=${call.request.tpSize} world_size=${call.request.worldSize} token=${token}`);
    let ended = false;
    const onEnd = () => {
      if (ended || ctx.isStopping()) return;
      ended = true;
      // A newer session for the same instance supersedes this one: leave the instance alone.
      if (sessions.get(instanceId) !== token) return;
      sessions.delete(instanceId);
      logger.info(`Session closed: instance_id=${instanceId} token=${token}; dropping the instance`);
      void instances.remove(instanceId);
    };
    call.on('cancelled', onEnd);
    call.on('close', onEnd);
    call.on('error', onEnd);
    afterAnswer();
  };

  return {
    RegisterContextBatch: unary('register_context_batch', { counted: true, errorRate: false }, registerContextBatch),
    Save: unary('save', { counted: true, errorRate: true }, save),
    Load: unary('load', { counted: true, errorRate: true }, load),
    QueryPrefetch: unary('query_prefetch', { counted: true, errorRate: true }, queryPrefetch),
    Release: unary('release', { counted: true, errorRate: false }, release),
    UnregisterContext: unary('unregister_context', { counted: true, errorRate: false }, unregisterContext),
    Shutdown: unary('shutdown', { counted: true, errorRate: false }, async () => {
      logger.warn('Shutdown requested via RPC');
      ctx.requestShutdown();
      return OK;
    }),
    Health: unary('health', { counted: false, errorRate: false }, async () => OK),
    Session: session,
  };
}
