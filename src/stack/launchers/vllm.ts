// `vllm serve` command lines for the connector server and the baseline.
// Flags are limited to ones every vLLM since 0.6 accepts; optional ones are
// added only when the installed version's --help lists them (the bash suite
// hard-coded --disable-log-requests, which vLLM 0.12 removed).
import type { KvgateConfig } from '../../config/config.ts';
import { notExecutable, notFound, probe } from '../../util/shell.ts';
import type { ProcessSpec } from '../supervisor.ts';
import { LauncherError } from './pegaflow.ts';

export type VllmRole = 'vllm-pegaflow' | 'vllm-baseline';

/** Optional flags kvgate adds when the installed vLLM accepts them, and why. */
export const OPTIONAL_VLLM_FLAGS = {
  // usage.prompt_tokens_details.cached_tokens: a per-request cross-check of cache hits.
  '--enable-prompt-tokens-details': true,
} as const;

export interface VllmCapabilities {
  /** Flags the installed `vllm serve` lists in its help. */
  flags: Set<string>;
  version: string | undefined;
}

export function flagsFromHelp(help: string): Set<string> {
  return new Set(help.match(/--[a-z0-9][a-z0-9-]*/g) ?? []);
}

/** Asks the installed vLLM what it accepts (`serve --help=all`, falling back to `serve --help`). */
export async function probeVllm(bin: string, timeoutS = 120): Promise<VllmCapabilities> {
  const attempt = async (args: string[]) => {
    const r = await probe(bin, args, timeoutS);
    if (notFound(r)) throw new LauncherError(`vllm not found: "${bin}". Install vLLM (pip install vllm) or set VLLM_BIN to its path.`);
    if (notExecutable(r)) throw new LauncherError(`VLLM_BIN "${bin}" is not executable`);
    return { ok: r.ok, out: r.stdout + r.stderr };
  };
  // Concurrently: each one imports vLLM (seconds on a real install).
  const [full, version] = await Promise.all([attempt(['serve', '--help=all']), attempt(['--version'])]);
  const help = full.ok && full.out.includes('--port') ? full : await attempt(['serve', '--help']);
  return { flags: flagsFromHelp(help.out), version: version.ok ? version.out.trim().split('\n').pop() : undefined };
}

export function kvTransferConfig(cfg: KvgateConfig): string {
  return JSON.stringify({
    kv_connector: 'PegaKVConnector',
    kv_role: 'kv_both',
    kv_connector_module_path: 'pegaflow.connector',
    kv_connector_extra_config: { 'pegaflow.host': `http://${cfg.host}`, 'pegaflow.port': cfg.ports.pegaGrpc },
  });
}

/** CUDA_VISIBLE_DEVICES for a server whose first GPU is `first` (tensor parallel takes consecutive GPUs). */
export function visibleDevices(first: number, tensorParallelSize: number): string {
  return Array.from({ length: tensorParallelSize }, (_, i) => first + i).join(',');
}

export function buildVllmCommand(cfg: KvgateConfig, role: VllmRole, device: number, caps: VllmCapabilities, logFile: string): ProcessSpec {
  const v = cfg.vllm;
  const port = role === 'vllm-pegaflow' ? cfg.ports.vllm : cfg.ports.baseline;
  const optional = Object.keys(OPTIONAL_VLLM_FLAGS).filter((f) => caps.flags.has(f));
  const args = [
    'serve', cfg.model,
    '--served-model-name', cfg.servedModelName,
    '--trust-remote-code',
    '--host', cfg.host,
    '--port', String(port),
    '--max-num-seqs', String(v.maxNumSeqs),
    '--max-model-len', String(v.maxModelLen),
    '--tensor-parallel-size', String(v.tensorParallelSize),
    ...(cfg.chatTemplate ? ['--chat-template', cfg.chatTemplate] : []),
    ...optional,
    ...(role === 'vllm-pegaflow' ? ['--kv-transfer-config', kvTransferConfig(cfg)] : []),
    ...(role === 'vllm-pegaflow' ? v.extraArgs : v.baselineExtraArgs),
  ];
  return {
    name: role,
    command: v.bin,
    args,
    env: {
      CUDA_VISIBLE_DEVICES: visibleDevices(device, v.tensorParallelSize),
      // Enables POST /reset_prefix_cache, which kvgate calls between passes so warm hits must come through the connector.
      VLLM_SERVER_DEV_MODE: '1',
    },
    logFile,
  };
}
