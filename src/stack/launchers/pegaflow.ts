// pegaflow-server command lines. Two flag dialects exist: older servers take
// `--device N --metrics-addr A`, newer ones `--devices 0,1 --http-addr A`.
import type { KvgateConfig } from '../../config/config.ts';
import { notExecutable, notFound, probe } from '../../util/shell.ts';
import type { ProcessSpec } from '../supervisor.ts';

export type PegaflowDialect = 'legacy' | 'current';

/** Reads the dialect off `--help` output; undefined when neither marker flag is there. */
export function dialectFromHelp(help: string): PegaflowDialect | undefined {
  const current = /--http-addr\b/.test(help) || /--devices\b/.test(help);
  const legacy = /--metrics-addr\b/.test(help) || /--device\b(?!s)/.test(help);
  if (current) return 'current';
  if (legacy) return 'legacy';
  return undefined;
}

export class LauncherError extends Error {}

/** Runs `<bin> --help` (bounded) unless PEGA_FLAG_DIALECT forces a dialect. */
export async function detectPegaflowDialect(bin: string, override: 'auto' | PegaflowDialect, timeoutS = 30): Promise<{ dialect: PegaflowDialect; how: string }> {
  if (override !== 'auto') return { dialect: override, how: 'PEGA_FLAG_DIALECT' };
  const r = await probe(bin, ['--help'], timeoutS);
  if (notFound(r)) {
    throw new LauncherError(`pegaflow-server not found: "${bin}". Install it (pip install pegaflow-llm, or pegaflow-llm-cu13 for CUDA 13), build it (cargo build --release --bin pegaflow-server), or set PEGAFLOW_BIN to its path.`);
  }
  if (notExecutable(r)) throw new LauncherError(`PEGAFLOW_BIN "${bin}" is not executable`);
  const out = r.stdout + r.stderr;
  const dialect = dialectFromHelp(out);
  if (!dialect) throw new LauncherError(`cannot tell the flag dialect of ${bin} from its --help output; set PEGA_FLAG_DIALECT=legacy or current`);
  return { dialect, how: `${bin} --help` };
}

export function buildPegaflowCommand(cfg: KvgateConfig, dialect: PegaflowDialect, logFile: string): ProcessSpec {
  const p = cfg.pegaflow;
  // The server sees only its GPU (CUDA_VISIBLE_DEVICES), so inside it that GPU is device 0,
  // which is also what the connector vLLM (same visibility) reports.
  const args = [
    '--addr', `${cfg.host}:${cfg.ports.pegaGrpc}`,
    ...(dialect === 'legacy' ? ['--device', '0'] : ['--devices', '0']),
    '--pool-size', p.poolSize.text,
    ...(dialect === 'legacy' ? ['--metrics-addr'] : ['--http-addr']), `${cfg.host}:${cfg.ports.pegaHttp}`,
    ...(p.ssdCachePath ? ['--ssd-cache-path', p.ssdCachePath, '--ssd-cache-capacity', p.ssdCacheCapacity.text] : []),
    ...p.extraArgs,
  ];
  return {
    name: 'pegaflow-server',
    command: p.bin,
    args,
    env: { CUDA_VISIBLE_DEVICES: String(p.device) },
    logFile,
  };
}
