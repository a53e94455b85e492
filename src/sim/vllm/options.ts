// The simulated vLLM's resolved configuration: what cli.ts produces from
// `vllm serve` flags and env, and what tests pass to startSimVllm() directly.
import { DEFAULT_LATENCY, type LatencyModel } from './scheduler.ts';

export const SIM_VLLM_VERSION = '0.33.0+kvgate.sim';

export interface KvTransferConfig {
  kv_connector?: string;
  kv_role?: string;
  kv_connector_module_path?: string;
  kv_connector_extra_config?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface SimVllmOptions {
  model: string;
  /** Names the API serves; the first one labels metrics. Defaults to [model]. */
  servedModelNames: string[];
  /** undefined: every interface (vLLM's default). */
  host: string | undefined;
  /** 0 lets the kernel pick (tests). */
  port: number;
  maxNumSeqs: number;
  maxModelLen: number;
  maxNumBatchedTokens: number;
  tensorParallelSize: number;
  blockSize: number;
  numGpuBlocks: number;
  enablePrefixCaching: boolean;
  seed: number;
  chatTemplate: string | undefined;
  kvTransferConfig: KvTransferConfig | undefined;
  enablePromptTokensDetails: boolean;
  enableLogRequests: boolean;
  disableLogStats: boolean;
  disableAccessLog: boolean;
  apiKey: string | undefined;
  /** `--sim-faults` values and KVGATE_SIM_FAULTS, unparsed (see ../faults.ts). */
  faultSpecs: string[];
  faultSeed: number;
  startupDelayS: number;
  latency: LatencyModel;
  /**
   * --sim-fixed-ttft-ms / --sim-fixed-itl-ms (benchmarks): every request's
   * first token goes out exactly ttftMs after it arrived and token j at
   * ttftMs + j × itlMs, whatever the load; the engine then runs with no
   * modelled step time. undefined: the latency model decides.
   */
  fixedLatency: { ttftMs: number; itlMs: number } | undefined;
  /** Seconds between "Engine 000: Avg prompt throughput…" lines (0: never). */
  statsIntervalS: number;
  /** Spawn the EngineCore child process (tests that need no process tree turn it off). */
  spawnEngineCore: boolean;
}

export const DEFAULT_OPTIONS: Readonly<Omit<SimVllmOptions, 'model' | 'servedModelNames'>> = Object.freeze({
  host: undefined,
  port: 8000,
  maxNumSeqs: 256,
  maxModelLen: 32768,
  maxNumBatchedTokens: 8192,
  tensorParallelSize: 1,
  blockSize: 16,
  numGpuBlocks: 8192,
  enablePrefixCaching: true,
  seed: 0,
  chatTemplate: undefined,
  kvTransferConfig: undefined,
  enablePromptTokensDetails: false,
  enableLogRequests: false,
  disableLogStats: false,
  disableAccessLog: false,
  apiKey: undefined,
  faultSpecs: [],
  faultSeed: 0,
  startupDelayS: 1.0,
  latency: DEFAULT_LATENCY,
  fixedLatency: undefined,
  statsIntervalS: 10,
  spawnEngineCore: true,
});

export function resolveOptions(partial: Partial<SimVllmOptions> & { model: string }): SimVllmOptions {
  return {
    ...DEFAULT_OPTIONS,
    latency: { ...DEFAULT_LATENCY, ...(partial.latency ?? {}) },
    faultSpecs: [],
    ...partial,
    servedModelNames: partial.servedModelNames && partial.servedModelNames.length > 0 ? partial.servedModelNames : [partial.model],
  } as SimVllmOptions;
}
