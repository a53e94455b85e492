// A resolved sim-stack config with free ports and private results/state dirs,
// so tests can run side by side without touching each other or the defaults.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../src/config/args.ts';
import { resolveConfig, type KvgateConfig } from '../../src/config/config.ts';
import type { Script } from '../../src/config/options.ts';
import { freePorts } from './ports.ts';

export interface SimEnv {
  env: Record<string, string>;
  base: string;
}

/** Env vars for a private sim stack: ports, dirs, fast start-up. */
export async function simEnv(extra: Record<string, string> = {}): Promise<SimEnv> {
  const base = mkdtempSync(join(tmpdir(), 'kvgate-simtest-'));
  const [vllm, baseline, pega, pegaHttp] = await freePorts(4);
  return {
    base,
    env: {
      STACK: 'sim',
      VLLM_PORT: String(vllm),
      VLLM_BASELINE_PORT: String(baseline),
      PEGA_PORT: String(pega),
      PEGA_METRICS_PORT: String(pegaHttp),
      RESULTS_DIR: join(base, 'results'),
      KVGATE_STATE_DIR: join(base, 'state'),
      PEGA_SSD_CACHE_PATH: 'none',
      STOP_TIMEOUT: '5',
      ...extra,
    },
  };
}

export function simConfig(script: Script, argv: string[], env: Record<string, string>): KvgateConfig {
  return resolveConfig(script, parseArgs(script, argv, { maxPositionals: 1 }), { env: { ...process.env, ...env } });
}
