// Speedup of the connector over the baseline: baseline TTFT / connector TTFT,
// both the same statistic (TTFT_STAT) of comparable passes.
import type { Criterion } from '../suite/types.ts';
import { fmtAgainst, fmtNum, fmtThreshold } from './format.ts';

/** "speedup 1.62× ≥ 1.2×" passes, "speedup 1.05× < 1.2×" fails; a missing figure fails with the reason, never NaN. */
export function speedup(baselineTtftS: number | undefined, warmTtftS: number | undefined, min: number): Criterion {
  const base = { id: 'speedup', title: `speedup vs baseline ≥ ${fmtThreshold(min)}×`, threshold: min, unit: '×' };
  const missing: string[] = [];
  if (baselineTtftS === undefined || !Number.isFinite(baselineTtftS)) missing.push('baseline TTFT (no successful baseline request)');
  if (warmTtftS === undefined || !Number.isFinite(warmTtftS)) missing.push('connector TTFT (no successful request)');
  if (missing.length) return { ...base, status: 'fail', reason: `speedup not measured: no ${missing.join(' and no ')}` };
  if (warmTtftS! <= 0) return { ...base, status: 'fail', reason: `speedup not measured: connector TTFT is ${fmtNum(warmTtftS!)} s` };
  const ratio = baselineTtftS! / warmTtftS!;
  const pass = ratio >= min;
  return { ...base, status: pass ? 'pass' : 'fail', reason: `speedup ${fmtAgainst(ratio, min)}× ${pass ? '≥' : '<'} ${fmtThreshold(min)}×`, measured: ratio };
}
