// GPU inventory from `nvidia-smi -L`, used to place the baseline server.
import { notFound, probe } from '../../util/shell.ts';

export interface GpuInventory {
  count: number;
  names: string[];
  /** Why the count is 0 when nvidia-smi could not be run. */
  problem?: string;
}

export function parseNvidiaSmiList(out: string): string[] {
  return out.split('\n').filter((l) => /^GPU \d+:/.test(l.trim())).map((l) => l.trim());
}

export async function listGpus(bin = 'nvidia-smi'): Promise<GpuInventory> {
  const r = await probe(bin, ['-L'], 20);
  if (r.ok) {
    const names = parseNvidiaSmiList(r.stdout);
    return { count: names.length, names };
  }
  return {
    count: 0,
    names: [],
    problem: notFound(r) ? 'nvidia-smi not found (install the NVIDIA driver utilities, or use --stack sim)' : `nvidia-smi -L failed: ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
  };
}

export interface Placement {
  device: number;
  warning?: string;
}

/** Baseline on GPU 1 when there are two or more GPUs, else on the connector's GPU (with a warning). */
export function placeBaseline(connectorDevice: number, tensorParallelSize: number, gpuCount: number, override: number | 'auto'): Placement {
  if (override !== 'auto') return { device: override };
  const next = connectorDevice + tensorParallelSize;
  if (gpuCount >= next + tensorParallelSize) return { device: next };
  if (gpuCount >= 2 && tensorParallelSize === 1) return { device: connectorDevice === 0 ? 1 : 0 };
  return {
    device: connectorDevice,
    warning: `only ${gpuCount} GPU(s) visible: the baseline vLLM shares GPU ${connectorDevice} with the connector vLLM; lower --gpu-memory-utilization through VLLM_EXTRA_ARGS/VLLM_BASELINE_EXTRA_ARGS if they do not fit`,
  };
}
