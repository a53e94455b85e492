// Summary statistics, pure. Percentiles are numpy's default (method
// "linear", type 7 of Hyndman & Fan): for q in [0, 100] over n sorted values,
// position h = (q/100)·(n−1), result = v[⌊h⌋] + (h−⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋]),
// computed the way numpy's _lerp does (from the upper neighbour when the
// fraction is ≥ 0.5), so figures match `vllm bench serve`'s np.percentile.
import type { TtftStats } from '../suite/types.ts';
import type { TtftStat } from '../config/config.ts';

export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

export function min(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let m = Infinity;
  for (const v of values) if (v < m) m = v;
  return m;
}

export function max(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** Ascending copy (numeric, not lexicographic). */
export function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Percentile of already sorted values (see the header); q in [0, 100]. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${q}`);
  const h = (q / 100) * (n - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** numpy.percentile(values, q) with the default linear method; undefined for no values. */
export function percentile(values: readonly number[], q: number): number | undefined {
  return percentileOfSorted(sortedCopy(values), q);
}

export function ttftStats(values: readonly number[]): TtftStats | undefined {
  if (values.length === 0) return undefined;
  const sorted = sortedCopy(values);
  return {
    count: values.length,
    mean: mean(values)!,
    p50: percentileOfSorted(sorted, 50)!,
    p90: percentileOfSorted(sorted, 90)!,
    p99: percentileOfSorted(sorted, 99)!,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** The statistic a threshold applies to (TTFT_STAT); undefined when there are no stats. */
export function pickStat(stats: TtftStats | undefined, stat: TtftStat): number | undefined {
  return stats?.[stat];
}
