// Summary statistics, pure. Percentiles use linear interpolation between
// closest ranks (numpy's default, which vLLM's benchmarks use), so figures
// compare with theirs.
import type { TtftStats } from '../suite/types.ts';
import type { TtftStat } from '../config/config.ts';

export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** q in [0, 100]; sorted ascending input is not required. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function ttftStats(values: readonly number[]): TtftStats | undefined {
  if (values.length === 0) return undefined;
  return {
    count: values.length,
    mean: mean(values)!,
    p50: percentile(values, 50)!,
    p90: percentile(values, 90)!,
    p99: percentile(values, 99)!,
    min: values.reduce((a, b) => Math.min(a, b)),
    max: values.reduce((a, b) => Math.max(a, b)),
  };
}

export function pickStat(stats: TtftStats | undefined, stat: TtftStat): number | undefined {
  return stats?.[stat];
}
