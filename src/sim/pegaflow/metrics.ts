// Prometheus metrics under the real server's names, types and labels. The real
// server exports OpenTelemetry instruments through the OTel Prometheus
// exporter, which adds `otel_scope_name` to every series, a `_total` suffix to
// counters and a unit suffix (`_seconds`, `_bytes`), and omits a family until
// it is first recorded (0.25.1 on a GPU, test/fixtures/real/pegaflow/: before
// any KV traffic only the pool capacity, the HLL gauges, the RPC metrics and
// target_info are there). The sim does the same: empty families are dropped
// from the text, and the store gauges appear with the first stored block.
// A query is counted in the tier counter when it is looked up (an immediate
// `ready`, or a `loading` answer), and in the legacy hits/misses counters when
// it answers `ready`; the `ready` that ends an SSD lookup is not counted in
// the tier counter again (0.25.1: 9 queries of an unknown block, 7 of them
// `loading`, gave tier miss=7 and legacy misses=2). 0.25.1 has no
// largest-free gauge; neither has the sim. Own registry: no default process metrics.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EvictReason, StoreObserver, StoreStats, TierCounts } from './store.ts';

const CORE = { otel_scope_name: 'pegaflow-core' } as const;
const RPC = { otel_scope_name: 'pegaflow_server_rpc' } as const;

// Bucket bounds as the real server declares them (pegaflow-core/src/metrics.rs, pegaflow-server/src/metric.rs).
const TRANSFER_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60];
const RESIDENCE_BUCKETS_S = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400];
const RPC_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2];

/** The `status` label of pegaflow_rpc_requests_total: "ok", or the gRPC code as tonic's Display writes it. */
export const RPC_STATUS_TEXT: Readonly<Record<number, string>> = {
  1: 'The operation was cancelled',
  2: 'Unknown error',
  3: 'Client specified an invalid argument',
  4: 'Deadline expired before operation could complete',
  5: 'Some requested entity was not found',
  9: "The system is not in a state required for the operation's execution",
  12: 'Operation is not implemented or not supported',
  13: 'Internal error',
  14: 'The service is currently unavailable',
};

const SSD_THROUGHPUT_BUCKETS = [1e6, 1e7, 1e8, 2.5e8, 5e8, 1e9, 2e9, 4e9, 8e9, 16e9];
/** Distinct missed blocks remembered for the HLL gauges (the real sketch is bounded too). */
const MISS_HASHES_KEPT = 1 << 20;

/**
 * Drops `# HELP`/`# TYPE` blocks that have no sample: the OTel exporter
 * writes nothing for an instrument that was never recorded, prom-client
 * writes its header anyway.
 */
export function omitEmptyFamilies(text: string): string {
  const out: string[] = [];
  let header: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('# HELP ')) header = [];
      header.push(line);
      continue;
    }
    out.push(...header, line);
    header = [];
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export class SimMetrics implements StoreObserver {
  readonly registry = new Registry();
  private readonly c;
  private readonly h;

  private readonly blockBytes: number;
  private readonly ssdWriteBytesPerS: number;
  private storedAny = false;
  private queriedBlocks = 0;
  private readonly missHashes = new Set<string>();

  constructor(stats: () => StoreStats, opts: { ssdEnabled: boolean; blockBytes: number; hllWindows: readonly string[]; ssdUsPerBlock: number }) {
    this.blockBytes = opts.blockBytes;
    this.ssdWriteBytesPerS = opts.blockBytes / (Math.max(1, opts.ssdUsPerBlock) / 1e6);
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name, help, labelNames: [...labelNames, 'otel_scope_name'], registers });
    const histogram = (name: string, help: string, buckets: number[], labelNames: string[] = []) =>
      new Histogram({ name, help, buckets, labelNames: [...labelNames, 'otel_scope_name'], registers });
    // Store gauges are observed from the first stored block on, as the real server's are.
    const stored = () => this.storedAny;
    const gauge = (name: string, help: string, read: (s: StoreStats) => number, always = false) =>
      new Gauge({
        name,
        help,
        labelNames: ['otel_scope_name'],
        registers,
        collect() {
          if (always || stored()) this.set(CORE, read(stats()));
        },
      });
    // Locally saved blocks are all "retained"; "reclaimable" is for RDMA-fetched replicas.
    const byClass = (name: string, help: string, read: (s: StoreStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['class', 'otel_scope_name'],
        registers,
        collect() {
          if (!stored()) return;
          this.set({ class: 'reclaimable', ...CORE }, 0);
          this.set({ class: 'retained', ...CORE }, read(stats()));
        },
      });

    gauge('pegaflow_pool_capacity_bytes', 'Total pinned pool capacity in bytes', (s) => s.poolCapacityBytes, true);
    gauge('pegaflow_pool_used_bytes', 'Pinned pool bytes in use (resident blocks and blocks still held by leases)', (s) => s.poolUsedBytes);
    gauge('pegaflow_cache_resident_bytes', 'Bytes of sealed blocks resident in the RAM cache', (s) => s.residentBytes);
    byClass('pegaflow_cache_resident_blocks', 'Sealed blocks resident in the RAM cache, by replacement class', (s) => s.residentBlocks);
    byClass('pegaflow_cache_resident_bytes_by_class', 'Bytes of sealed blocks resident in the RAM cache, by replacement class', (s) => s.residentBytes);

    // Reuse estimates over sliding windows (the real server uses HyperLogLog
    // sketches; the sim counts exactly over its whole life, the same in every window).
    const hll = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['window', 'otel_scope_name'],
        registers,
        collect() {
          for (const window of opts.hllWindows) this.set({ window, ...CORE }, read());
        },
      });
    hll('pegaflow_hll_cardinality', 'Estimated distinct cache-miss blocks seen in the sliding window', () => this.missHashes.size);
    hll('pegaflow_hll_total_requests', 'Total queried blocks in the sliding window', () => this.queriedBlocks);
    hll('pegaflow_hll_estimated_hit_rate', 'Estimated infinite-cache reuse rate from HLL cache misses', () =>
      this.queriedBlocks > 0 ? 1 - this.missHashes.size / this.queriedBlocks : 0,
    );
    if (opts.ssdEnabled) {
      // The sim's SSD writes are synchronous: nothing is ever queued or in flight.
      gauge('pegaflow_ssd_write_queue_pending', 'SSD write batches waiting in the queue', () => 0);
      gauge('pegaflow_ssd_write_inflight', 'SSD block writes in flight', () => 0);
    }

    this.c = {
      allocFailures: counter('pegaflow_pool_alloc_failures_total', 'Blocks that found no room in the pool, even after evicting every unpinned block'),
      hits: counter('pegaflow_cache_block_hits_total', 'Legacy: leading blocks found by QueryPrefetch'),
      misses: counter('pegaflow_cache_block_misses_total', 'Legacy: blocks asked by QueryPrefetch and not found'),
      tiers: counter('pegaflow_cache_tier_block_requests_total', 'Blocks asked by QueryPrefetch, by the tier chosen to serve them (ram, ssd, rdma, miss); the tiers sum to the blocks asked', ['tier']),
      insertions: counter('pegaflow_cache_block_insertions_total', 'New blocks inserted into the RAM cache'),
      evictions: counter('pegaflow_cache_block_evictions_total', 'Blocks removed from the RAM cache, by pool pressure or memory cleanup'),
      evictedReferenced: counter('pegaflow_cache_block_evictions_still_referenced_total', 'Evicted blocks a lease still held, so their memory stayed in use'),
      reclaimedBytes: counter('pegaflow_cache_eviction_reclaimed_bytes_total', 'Pool bytes freed at once by evictions'),
      saveBytes: counter('pegaflow_save_bytes_total', 'Bytes saved from vLLM KV memory into the store'),
      loadBytes: counter('pegaflow_load_bytes_total', 'Bytes loaded from the store into vLLM KV memory'),
      loadFailures: counter('pegaflow_load_failures_total', 'Load calls that failed'),
      rpcRequests: counter('pegaflow_rpc_requests_total', 'gRPC requests served, by method and outcome', ['method', 'status']),
      ...(opts.ssdEnabled
        ? {
            ssdWriteBytes: counter('pegaflow_ssd_write_bytes_total', 'Bytes written to the SSD tier'),
            ssdPrefetchSuccess: counter('pegaflow_ssd_prefetch_success_total', 'Blocks brought back from the SSD tier'),
          }
        : {}),
    };
    this.h = {
      residence: histogram('pegaflow_cache_residence_duration_seconds', 'Time a block stayed in the RAM cache, from insertion to removal', RESIDENCE_BUCKETS_S, ['reason']),
      save: histogram('pegaflow_save_duration_seconds', 'Save call duration', TRANSFER_BUCKETS_S),
      load: histogram('pegaflow_load_duration_seconds', 'Load call duration, queueing for the transfer channel included', TRANSFER_BUCKETS_S),
      rpc: histogram('pegaflow_rpc_duration_seconds', 'gRPC request duration, by method and outcome', RPC_BUCKETS_S, ['method', 'status']),
      ...(opts.ssdEnabled ? { ssdThroughput: histogram('pegaflow_ssd_write_throughput_per_second', 'SSD write throughput per batch, bytes per second', SSD_THROUGHPUT_BUCKETS) } : {}),
    };

    new Gauge({ name: 'target_info', help: 'Target metadata', labelNames: ['service_name', 'telemetry_sdk_language', 'telemetry_sdk_name', 'telemetry_sdk_version'], registers }).set(
      { service_name: 'unknown_service', telemetry_sdk_language: 'rust', telemetry_sdk_name: 'opentelemetry', telemetry_sdk_version: '0.31.0' },
      1,
    );
  }

  // StoreObserver
  onInsert(): void {
    this.storedAny = true;
    this.c.insertions.inc(CORE);
  }
  onEvict(reason: EvictReason, residenceS: number, stillReferenced: boolean): void {
    this.c.evictions.inc(CORE);
    if (stillReferenced) this.c.evictedReferenced.inc(CORE);
    else this.c.reclaimedBytes.inc(CORE, this.blockBytes);
    this.h.residence.observe({ reason, ...CORE }, residenceS);
  }
  onAllocFailure(): void {
    this.c.allocFailures.inc(CORE);
  }
  onSsdWrite(): void {
    this.c.ssdWriteBytes?.inc(CORE, this.blockBytes);
    this.h.ssdThroughput?.observe(CORE, this.ssdWriteBytesPerS);
  }

  /** Only tiers with blocks are recorded, as the real server does. */
  /**
   * One QueryPrefetch answer. `lookedUp`: counted in the tier counter;
   * `answered`: a `ready` answer, counted in the legacy hits/misses counters
   * and the HLL gauges (0.25.1: tier 79 blocks, HLL 74 = the 72 hits and the
   * 2 ready misses). Only tiers with blocks are recorded, as the real server does.
   */
  recordQuery(tiers: TierCounts, how: { lookedUp: boolean; answered: boolean }, missHashes: readonly string[] = []): void {
    if (how.lookedUp) {
      for (const tier of ['ram', 'rdma', 'ssd', 'miss'] as const) {
        if (tiers[tier] > 0) this.c.tiers.inc({ tier, ...CORE }, tiers[tier]);
      }
    }
    if (how.answered) {
      this.c.hits.inc(CORE, tiers.ram + tiers.ssd + tiers.rdma);
      if (tiers.miss > 0) this.c.misses.inc(CORE, tiers.miss);
      this.queriedBlocks += tiers.ram + tiers.ssd + tiers.rdma + tiers.miss;
      for (const h of missHashes) {
        if (this.missHashes.size >= MISS_HASHES_KEPT) break;
        this.missHashes.add(h);
      }
    }
  }
  recordSave(bytes: number, durationS: number): void {
    if (bytes > 0) this.c.saveBytes.inc(CORE, bytes);
    this.h.save.observe(CORE, durationS);
  }
  recordLoad(bytes: number, durationS: number, ssdBlocks: number): void {
    this.c.loadBytes.inc(CORE, bytes);
    this.h.load.observe(CORE, durationS);
    if (ssdBlocks > 0) this.c.ssdPrefetchSuccess?.inc(CORE, ssdBlocks);
  }
  recordLoadFailure(): void {
    this.c.loadFailures.inc(CORE);
  }
  recordRpc(method: string, grpcCode: number, durationS: number): void {
    const labels = { method, status: grpcCode === 0 ? 'ok' : (RPC_STATUS_TEXT[grpcCode] ?? `code ${grpcCode}`), ...RPC };
    this.c.rpcRequests.inc(labels);
    this.h.rpc.observe(labels, durationS);
  }

  async text(): Promise<string> {
    return omitEmptyFamilies(await this.registry.metrics());
  }
}
