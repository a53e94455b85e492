// The sim's resolved configuration: what cli.ts produces from flags and env,
// and what tests pass to startSimPegaflow() directly.
import { isIPv4, isIPv6 } from 'node:net';
import type { Dialect } from './flags.ts';
import type { LogLevel } from './log.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface SimPegaflowOptions {
  dialect: Dialect;
  grpcAddr: HostPort;
  httpAddr: HostPort;
  /** Empty: "auto-detect" (logged only; there is no GPU). */
  devices: number[];
  poolSizeBytes: number;
  enablePrometheus: boolean;
  /** Non-empty enables the SSD tier (kept in memory; the paths are only logged). */
  ssdCachePaths: string[];
  ssdCacheCapacityBytes: number;
  logLevel: LogLevel;
  /** `--sim-faults` values and KVGATE_SIM_FAULTS, unparsed (see faults.ts). */
  faultSpecs: string[];
  faultSeed: number;
  startupDelayS: number;
  /** Bytes accounted per stored block against the pool and SSD capacities and in byte metrics. */
  blockBytes: number;
  loadUsPerBlock: number;
  ssdLoadUsPerBlock: number;
  /** How long a query lease pins its blocks when neither Load nor Release ends it. */
  leaseTtlS: number;
  /** `window` labels of the pegaflow_hll_* gauges (`--metric-hll-windows`). */
  hllWindows: string[];
}

const GIB = 1024 ** 3;

export const DEFAULT_OPTIONS: Readonly<SimPegaflowOptions> = Object.freeze({
  dialect: 'current',
  grpcAddr: { host: '127.0.0.1', port: 50055 },
  httpAddr: { host: '0.0.0.0', port: 9091 },
  devices: [],
  poolSizeBytes: 30 * GIB,
  enablePrometheus: true,
  ssdCachePaths: [],
  ssdCacheCapacityBytes: 512 * GIB,
  logLevel: 'info',
  faultSpecs: [],
  faultSeed: 0,
  startupDelayS: 0.2,
  blockBytes: 2 * 1024 * 1024,
  loadUsPerBlock: 120,
  ssdLoadUsPerBlock: 400,
  leaseTtlS: 30,
  hllWindows: ['15m', '1h', '1d'],
});

export function resolveOptions(partial: Partial<SimPegaflowOptions> = {}): SimPegaflowOptions {
  return { ...DEFAULT_OPTIONS, devices: [], ssdCachePaths: [], faultSpecs: [], hllWindows: [...DEFAULT_OPTIONS.hllWindows], ...partial };
}

/** Rust `SocketAddr` syntax: `ipv4:port` or `[ipv6]:port`; host names are rejected, as the real server rejects them. */
export function parseSocketAddr(raw: string): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined) return isIPv6(m[1]) ? { host: m[1], port } : undefined;
  const host = m[2]!;
  return isIPv4(host) ? { host, port } : undefined;
}

export function formatHostPort(addr: HostPort): string {
  return isIPv6(addr.host) ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/**
 * pegaflow-server's `parse_memory_size`: a decimal number, then an optional unit
 * (b, kb, mb, gb, tb; any case; 1024-based), truncated to whole bytes.
 * Returns the byte count or the reason it was rejected.
 */
export function parseMemorySize(raw: string): { bytes: number } | { error: string } {
  const s = raw.trim();
  const boundary = s.search(/[A-Za-z]/);
  const numPart = (boundary === -1 ? s : s.slice(0, boundary)).trim();
  const unit = (boundary === -1 ? '' : s.slice(boundary)).trim().toLowerCase();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(numPart)) return { error: `Invalid number: '${boundary === -1 ? s : s.slice(0, boundary)}'` };
  const value = Number(numPart);
  if (value < 0) return { error: 'Memory size cannot be negative' };
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) return { error: `Unknown unit: '${unit}'. Use kb, mb, gb, or tb` };
  return { bytes: Math.floor(value * mult) };
}
