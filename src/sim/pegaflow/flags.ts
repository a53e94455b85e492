// The flags of pegaflow-server in its two dialects, plus the sim's own. One
// table feeds the parser (cli.ts), `--help` (usage.ts) and the README.
//
// Dialects, as read in the PegaFlow repository's history:
// - legacy (until late Jan 2026): `--device N` (single), `--metrics-addr`, one `--ssd-cache-path`,
//   `--disable-lfu-admission`; no `--http-addr`, `--devices`, `--enable-prometheus`.
// - current (v0.23.x to 0.25.1, checked against the real 0.25.1 --help in
//   test/fixtures/real/pegaflow/help.txt): `--devices 0,1`, `--http-addr`, `--enable-prometheus`, repeatable
//   `--ssd-cache-path`, and the tuning flags below. The sim also accepts the two legacy
//   flags kvgate may pass (`--device`, `--metrics-addr`) without listing them.

export type Dialect = 'current' | 'legacy';

export type FlagKind =
  | 'addr' // ip:port (Rust SocketAddr: no host names)
  | 'size' // parse_memory_size: number + b/kb/mb/gb/tb, 1024-based
  | 'string'
  | 'uint' // Rust usize/u64
  | 'int' // Rust i32
  | 'int-list' // comma-separated i32 (value_delimiter)
  | 'string-list' // comma-separated strings
  | 'fraction' // f64 in [0, 1]
  | 'seconds' // non-negative decimal (sim)
  | 'micros' // non-negative decimal (sim)
  | 'switch' // clap SetTrue: no value
  | 'optional-bool'; // `--flag`, `--flag true|false`, `--flag=true|false`

export interface FlagSpec {
  /** Long name without the leading dashes. */
  name: string;
  kind: FlagKind;
  /** Placeholder in usage, clap-style (`ADDR`); absent for switches. */
  valueName?: string;
  /** May be given more than once (clap Append, or num_args 1.. which also takes several values per occurrence). */
  repeat?: 'append' | 'many';
  defaultText?: string;
  help: string;
  /** Accepted but not listed in --help. */
  hidden?: boolean;
  /** Accepted for compatibility; the sim ignores the value. */
  ignored?: boolean;
  heading?: 'Simulation';
}

const value = (name: string, kind: FlagKind, help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  name,
  kind,
  valueName: name.toUpperCase().replace(/-/g, '_'),
  help,
  ...extra,
});
const ignoredValue = (name: string, kind: FlagKind, help: string, defaultText?: string): FlagSpec =>
  value(name, kind, help, { ignored: true, ...(defaultText !== undefined ? { defaultText } : {}) });
const ignoredSwitch = (name: string, help: string): FlagSpec => ({ name, kind: 'switch', help, ignored: true });

const SIM_FLAGS: FlagSpec[] = [
  value('sim-faults', 'string', 'Faults to inject, comma-separated name[=value] (see src/sim/pegaflow/README.md); env KVGATE_SIM_FAULTS', { valueName: 'LIST', repeat: 'append', heading: 'Simulation' }),
  value('sim-fault-seed', 'uint', 'Seed for faults that fire for a fraction of calls; env KVGATE_SIM_FAULT_SEED', { valueName: 'N', defaultText: '0', heading: 'Simulation' }),
  value('sim-startup-delay-s', 'seconds', 'Seconds before the HTTP and gRPC ports open (stands for CUDA and pool initialisation)', { valueName: 'SECONDS', defaultText: '0.2', heading: 'Simulation' }),
  value('sim-block-bytes', 'size', 'Bytes accounted per stored block against --pool-size (a 16-token block of a 7-14B model)', { valueName: 'SIZE', defaultText: '2mb', heading: 'Simulation' }),
  value('sim-load-us-per-block', 'micros', 'Modelled host-to-GPU transfer time per block served from RAM, in microseconds', { valueName: 'MICROS', defaultText: '120', heading: 'Simulation' }),
  value('sim-ssd-load-us-per-block', 'micros', 'Modelled transfer time per block served from the SSD tier, in microseconds', { valueName: 'MICROS', defaultText: '400', heading: 'Simulation' }),
];

const COMMON_HEAD: FlagSpec[] = [value('addr', 'addr', 'gRPC listen address, ip:port', { defaultText: '127.0.0.1:50055' })];

export const CURRENT_FLAGS: readonly FlagSpec[] = [
  ...COMMON_HEAD,
  value('devices', 'int-list', 'GPU ids to initialise, comma-separated; all visible GPUs when absent (the sim has none and only logs them)', { repeat: 'append' }),
  value('device', 'int', 'Older spelling of --devices with a single id', { hidden: true }),
  value('pool-size', 'size', 'Pinned host memory pool for KV blocks, e.g. 500mb, 30gb, 1.5tb', { defaultText: '30gb' }),
  ignoredValue('hint-value-size', 'size', 'Typical value size, a tuning hint'),
  ignoredSwitch('use-hugepages', 'Back the pool with huge pages'),
  ignoredSwitch('enable-lfu-admission', 'Admit blocks with TinyLFU instead of plain LRU'),
  ignoredSwitch('disable-numa-affinity', 'Use one pool instead of one per NUMA node'),
  value('http-addr', 'addr', 'HTTP listen address for /health, /metrics, /instances and the cleanup endpoints', { defaultText: '0.0.0.0:9091' }),
  value('metrics-addr', 'addr', 'Older spelling of --http-addr', { hidden: true }),
  value('enable-prometheus', 'optional-bool', 'Serve Prometheus text at /metrics', { valueName: 'BOOL', defaultText: 'true' }),
  ignoredValue('metrics-otel-endpoint', 'string', 'OTLP gRPC endpoint for metrics export'),
  ignoredValue('metrics-period-secs', 'uint', 'OTLP export period in seconds', '10'),
  value('log-level', 'string', 'Log filter: trace, debug, info, warn or error', { defaultText: 'info' }),
  value('ssd-cache-path', 'string', 'Enable the SSD tier; one or more cache paths (repeatable)', { repeat: 'many' }),
  value('ssd-cache-capacity', 'size', 'SSD tier capacity', { defaultText: '512gb' }),
  ignoredValue('ssd-cache-shards', 'uint', 'SSD cache file shards per path', '1'),
  ignoredValue('ssd-write-queue-depth', 'uint', 'Pending SSD write batches', '8'),
  ignoredValue('ssd-prefetch-queue-depth', 'uint', 'Pending SSD prefetch batches', '2'),
  ignoredValue('ssd-write-inflight', 'uint', 'Concurrent SSD block writes', '2'),
  ignoredValue('ssd-prefetch-inflight', 'uint', 'Concurrent SSD block reads', '16'),
  ignoredValue('max-prefetch-blocks', 'uint', 'Blocks allowed in the prefetching state', '800'),
  ignoredValue('trace-sample-rate', 'fraction', 'Trace sampling rate, 0.0 to 1.0', '1'),
  ignoredValue('pool-shards', 'uint', 'Independent sub-pools of the pinned pool', '1'),
  ignoredSwitch('blockwise-alloc', 'Allocate each block separately'),
  { ...value('nics', 'string-list', 'RDMA NIC names for inter-node transfer', { repeat: 'many' }), ignored: true },
  ignoredValue('qps-per-peer', 'uint', 'RC queue pairs per NIC pair'),
  ignoredValue('metaserver-addr', 'string', 'MetaServer address for cross-node block registration'),
  ignoredValue('metaserver-queue-depth', 'uint', 'MetaServer command queue depth'),
  value('metric-hll-windows', 'string', 'HLL sliding-window list for hit-rate estimation; each becomes a `window` label of the pegaflow_hll_* gauges', { defaultText: '15m,1h,1d' }),
  ignoredValue('metric-hll-bucket-bits', 'uint', 'HLL bucket index bits', '16'),
  ignoredValue('transfer-lock-timeout-secs', 'uint', 'Cross-node transfer lock timeout in seconds', '120'),
  // Decode backup (0.25.x).
  ignoredValue('backup-reclaimable-percent', 'uint', 'Decode backup: share of the RAM cache, in percent, kept as reclaimable blocks', '10'),
  ignoredValue('backup-max-candidates', 'uint', 'Decode backup: most candidate blocks one heartbeat reports', '16384'),
  ignoredValue('backup-pull-max-bytes', 'size', 'Decode backup: most bytes one pulled plan copies', '256mb'),
  ignoredValue('backup-max-bandwidth', 'string', 'Decode backup: copy bandwidth limit per second (0 is unlimited)', '2gb'),
  ...SIM_FLAGS,
];

export const LEGACY_FLAGS: readonly FlagSpec[] = [
  ...COMMON_HEAD,
  value('device', 'int', 'GPU id for server-managed contexts (the sim has none and only logs it)', { defaultText: '0' }),
  value('pool-size', 'size', 'Pinned host memory pool for KV blocks, e.g. 500mb, 30gb, 1.5tb', { defaultText: '30gb' }),
  ignoredValue('hint-value-size', 'size', 'Typical value size, a tuning hint'),
  ignoredSwitch('use-hugepages', 'Back the pool with huge pages'),
  ignoredSwitch('disable-lfu-admission', 'Insert with plain LRU instead of TinyLFU'),
  value('metrics-addr', 'addr', 'HTTP listen address for Prometheus metrics (and, in the sim, the other endpoints)', { defaultText: '0.0.0.0:9091' }),
  ignoredValue('metrics-otel-endpoint', 'string', 'OTLP gRPC endpoint for metrics export'),
  ignoredValue('metrics-period-secs', 'uint', 'OTLP export period in seconds', '5'),
  value('log-level', 'string', 'Log filter: trace, debug, info, warn or error', { defaultText: 'info' }),
  value('ssd-cache-path', 'string', 'Enable the SSD tier at this cache path'),
  value('ssd-cache-capacity', 'size', 'SSD tier capacity', { defaultText: '512gb' }),
  ignoredValue('ssd-write-queue-depth', 'uint', 'Pending SSD write batches', '8'),
  ignoredValue('ssd-prefetch-queue-depth', 'uint', 'Pending SSD prefetch batches', '2'),
  ignoredValue('ssd-write-inflight', 'uint', 'Concurrent SSD block writes', '2'),
  ignoredValue('ssd-prefetch-inflight', 'uint', 'Concurrent SSD block reads', '16'),
  ignoredValue('max-prefetch-blocks', 'uint', 'Blocks allowed in the prefetching state', '800'),
  ...SIM_FLAGS,
];

export function flagsFor(dialect: Dialect): readonly FlagSpec[] {
  return dialect === 'legacy' ? LEGACY_FLAGS : CURRENT_FLAGS;
}

/** `--name <VALUE>` as clap prints it in errors and usage. */
export function flagDisplay(spec: FlagSpec): string {
  if (spec.kind === 'switch') return `--${spec.name}`;
  if (spec.kind === 'optional-bool') return `--${spec.name} [<${spec.valueName}>]`;
  return `--${spec.name} <${spec.valueName}>${spec.repeat === 'many' ? '...' : ''}`;
}
