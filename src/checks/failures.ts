// Failed requests: any failure fails the test unless a tolerance is set
// (MAX_FAILURE_RATE). The bash suite dropped failures silently.
import type { Criterion, RequestErrorKind } from '../suite/types.ts';
import { fmtPercent } from './format.ts';

const KIND_ORDER: readonly RequestErrorKind[] = ['http-status', 'connection', 'stream-cut', 'invalid-chunk', 'timeout', 'aborted'];

/** "http-status 2, stream-cut 1": most frequent first. */
export function describeKinds(byKind: Partial<Record<RequestErrorKind, number>>): string {
  return (Object.entries(byKind) as [RequestErrorKind, number | undefined][])
    .filter(([, n]) => (n ?? 0) > 0)
    .sort(([a, x], [b, y]) => y! - x! || KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/**
 * "0/50 requests failed" passes; "3/50 requests failed (http-status 2, stream-cut 1)"
 * fails when maxRate is 0; with a tolerance the reason says whether the rate is
 * within or over it.
 */
export function failures(failed: number, total: number, maxRate: number, byKind: Partial<Record<RequestErrorKind, number>> = {}): Criterion {
  const title = maxRate > 0 ? `failed requests ≤ ${fmtPercent(maxRate)}` : 'no failed requests';
  const base = { id: 'failures', title, threshold: maxRate };
  if (total <= 0) return { ...base, status: 'fail', reason: 'no requests were sent: nothing to judge', measured: 0 };
  const rate = failed / total;
  const kinds = describeKinds(byKind);
  const counted = `${failed}/${total} requests failed${failed > 0 && kinds ? ` (${kinds})` : ''}`;
  if (failed <= 0) return { ...base, status: 'pass', reason: counted, measured: 0 };
  if (maxRate <= 0) return { ...base, status: 'fail', reason: counted, measured: rate };
  const pass = rate <= maxRate;
  return { ...base, status: pass ? 'pass' : 'fail', reason: `${counted}, ${pass ? 'within' : 'over'} the ${fmtPercent(maxRate)} tolerance`, measured: rate };
}
