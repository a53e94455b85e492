// pegaflow-server command lines. Two flag dialects exist: older servers take
// `--device N --metrics-addr A`, newer ones `--devices 0,1 --http-addr A`.
import type { KvgateConfig } from '../../config/config.ts';
import { notExecutable, notFound, probe } from '../../util/shell.ts';
import type { ProcessSpec } from '../supervisor.ts';

export type PegaflowDialect = 'legacy' | 'current';

/**
 * The two flags whose names changed, detected one by one: `--device` became
 * `--devices` (28 Jan 2026) and `--metrics-addr` became `--http-addr`
 * (3 Feb 2026), so builds from between those dates mix the two dialects.
 */
export interface PegaflowFlags {
  device: '--device' | '--devices';
  http: '--metrics-addr' | '--http-addr';
}

export const DIALECT_FLAGS: Record<PegaflowDialect, PegaflowFlags> = {
  legacy: { device: '--device', http: '--metrics-addr' },
  current: { device: '--devices', http: '--http-addr' },
};

/** Reads the flag names off `--help` output; undefined when the HTTP address flag is not there at all. */
export function flagsFromPegaflowHelp(help: string): PegaflowFlags | undefined {
  const http = /--http-addr\b/.test(help) ? '--http-addr' : /--metrics-addr\b/.test(help) ? '--metrics-addr' : undefined;
  if (!http) return undefined;
  const device = /--devices\b/.test(help) ? '--devices' : '--device';
  return { device, http };
}

export function describeFlags(f: PegaflowFlags): string {
  if (f.device === '--devices' && f.http === '--http-addr') return 'current (--devices, --http-addr)';
  if (f.device === '--device' && f.http === '--metrics-addr') return 'legacy (--device, --metrics-addr)';
  return `mixed (${f.device}, ${f.http})`;
}

export class LauncherError extends Error {}

/**
 * pegaflow-server shuts down cleanly only on SIGINT (tokio's ctrl_c: "Ctrl+C
 * received, shutting down" … "Server stopped"). SIGTERM has no handler there and
 * kills it at once: no drain, no "Server stopped" (seen on the real 0.25.1,
 * test/fixtures/real/pegaflow/). Through the `pegaflow-server` console script,
 * SIGINT to the group reaches the binary, and the Python wrapper exits 0.
 */
export const PEGAFLOW_STOP_SIGNAL: NodeJS.Signals = 'SIGINT';

/** Runs `<bin> --help` (bounded) unless PEGA_FLAG_DIALECT forces a dialect. */
export async function detectPegaflowFlags(bin: string, override: 'auto' | PegaflowDialect, timeoutS = 30): Promise<{ flags: PegaflowFlags; how: string }> {
  if (override !== 'auto') return { flags: DIALECT_FLAGS[override], how: 'PEGA_FLAG_DIALECT' };
  const r = await probe(bin, ['--help'], timeoutS);
  if (notFound(r)) {
    throw new LauncherError(`pegaflow-server not found: "${bin}". Install it (pip install pegaflow-llm, or pegaflow-llm-cu13 for CUDA 13), build it (cargo build --release --bin pegaflow-server), or set PEGAFLOW_BIN to its path.`);
  }
  if (notExecutable(r)) throw new LauncherError(`PEGAFLOW_BIN "${bin}" is not executable`);
  const out = r.stdout + r.stderr;
  const flags = flagsFromPegaflowHelp(out);
  if (!flags) throw new LauncherError(`cannot tell the flag dialect of ${bin} from its --help output (neither --http-addr nor --metrics-addr listed); set PEGA_FLAG_DIALECT=legacy or current`);
  return { flags, how: `${bin} --help` };
}

export function buildPegaflowCommand(cfg: KvgateConfig, flags: PegaflowFlags, logFile: string): ProcessSpec {
  const p = cfg.pegaflow;
  // The server sees only its GPU (CUDA_VISIBLE_DEVICES), so inside it that GPU is device 0,
  // which is also what the connector vLLM (same visibility) reports.
  const args = [
    '--addr', `${cfg.host}:${cfg.ports.pegaGrpc}`,
    flags.device, '0',
    '--pool-size', p.poolSize.text,
    flags.http, `${cfg.host}:${cfg.ports.pegaHttp}`,
    ...(p.ssdCachePath ? ['--ssd-cache-path', p.ssdCachePath, '--ssd-cache-capacity', p.ssdCacheCapacity.text] : []),
    ...p.extraArgs,
  ];
  return {
    name: 'pegaflow-server',
    command: p.bin,
    args,
    env: { CUDA_VISIBLE_DEVICES: String(p.device) },
    logFile,
    stopSignal: PEGAFLOW_STOP_SIGNAL,
  };
}
