// Verdicts as pure functions: figures and thresholds in, a Criterion with a
// one-line reason out. Every test's pass/fail goes through these.
import type { CacheEvidence, Criterion, RequestErrorKind, TestStatus } from '../suite/types.ts';
import type { TtftStat } from '../config/config.ts';

const fmtS = (v: number) => `${Number(v.toPrecision(3))} s`;
const fmtX = (v: number) => `${Number(v.toPrecision(3))}×`;

export function ttftCeiling(value: number | undefined, stat: TtftStat, maxS: number, what = 'TTFT'): Criterion {
  const title = `${what} (${stat}) ≤ ${maxS} s`;
  if (value === undefined) return { id: 'ttft', title, status: 'fail', reason: `${what} (${stat}) not measured: no successful request`, threshold: maxS, unit: 's' };
  const pass = value <= maxS;
  return { id: 'ttft', title, status: pass ? 'pass' : 'fail', reason: `${what} (${stat}) ${fmtS(value)} ${pass ? '≤' : '>'} ${maxS} s`, measured: value, threshold: maxS, unit: 's' };
}

export function speedup(baselineS: number | undefined, warmS: number | undefined, min: number): Criterion {
  const title = `speedup vs baseline ≥ ${min}×`;
  if (baselineS === undefined || warmS === undefined || warmS <= 0) {
    const missing = baselineS === undefined ? 'baseline TTFT' : 'connector TTFT';
    return { id: 'speedup', title, status: 'fail', reason: `speedup not measured: no ${missing}`, threshold: min, unit: '×' };
  }
  const ratio = baselineS / warmS;
  const pass = ratio >= min;
  return { id: 'speedup', title, status: pass ? 'pass' : 'fail', reason: `speedup ${fmtX(ratio)} ${pass ? '≥' : '<'} ${min}× (baseline ${fmtS(baselineS)} / connector ${fmtS(warmS)})`, measured: ratio, threshold: min, unit: '×' };
}

export function failures(failed: number, total: number, maxRate: number, byKind: Partial<Record<RequestErrorKind, number>> = {}): Criterion {
  const title = maxRate > 0 ? `failed requests ≤ ${maxRate * 100}%` : 'no failed requests';
  const kinds = Object.entries(byKind).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ');
  const rate = total ? failed / total : 0;
  if (total === 0) return { id: 'failures', title, status: 'fail', reason: 'no requests were sent', measured: 0, threshold: maxRate };
  const pass = failed === 0 || (maxRate > 0 && rate <= maxRate);
  return {
    id: 'failures',
    title,
    status: pass ? 'pass' : 'fail',
    reason: failed ? `${failed}/${total} requests failed${kinds ? ` (${kinds})` : ''}${pass ? ` (within ${maxRate * 100}%)` : ''}` : `all ${total} requests succeeded`,
    measured: rate,
    threshold: maxRate,
  };
}

/**
 * The warm pass must have been served through the connector: PegaFlow's hit
 * counter and vLLM's external-prefix-cache hits must both rise. A fast warm
 * pass without them proves nothing (vLLM's own GPU cache may have served it).
 */
export function cacheUsed(ev: CacheEvidence | undefined, passName = 'warm pass'): Criterion {
  const title = 'cache path exercised (PegaFlow and vLLM connector hits rose)';
  const warn = ev?.reset === 'unavailable' ? '; warning: GPU prefix cache could not be reset (POST /reset_prefix_cache unavailable), verdict rests on metrics' : ev?.reset === 'failed' ? `; warning: GPU prefix cache reset failed${ev.resetDetail ? ` (${ev.resetDetail})` : ''}` : '';
  if (!ev) return { id: 'cache-used', title, status: 'fail', reason: `cache path not exercised: no metrics could be read for the ${passName}` };
  const peg = ev.pegaflowHitBlocks;
  const ext = ev.vllmExternalHitTokens;
  const legacy = ev.pegaflowHitSource === 'pegaflow_cache_block_hits_total' ? ' (legacy pegaflow_cache_block_hits_total)' : '';
  if (peg === undefined && ext === undefined) return { id: 'cache-used', title, status: 'fail', reason: `cache path not exercised: neither PegaFlow nor vLLM exposed connector hit metrics during the ${passName}${warn}` };
  if (peg !== undefined && peg <= 0) {
    const asked = ev.pegaflowQueriedBlocks ? ` of ${ev.pegaflowQueriedBlocks} blocks asked` : ev.pegaflowQueriedBlocks === 0 ? ', nothing was asked of it' : '';
    return { id: 'cache-used', title, status: 'fail', reason: `cache path not exercised: PegaFlow served 0 blocks${asked} during the ${passName}${legacy}${warn}`, measured: peg };
  }
  if (ext !== undefined && ext <= 0) {
    return { id: 'cache-used', title, status: 'fail', reason: `cache path not exercised: vLLM external prefix cache hits did not rise during the ${passName}${peg !== undefined ? ` (PegaFlow reports ${peg} hit blocks)` : ''}${warn}`, measured: 0 };
  }
  const parts = [peg !== undefined ? `PegaFlow served ${peg} blocks${legacy}` : 'PegaFlow metrics unavailable', ext !== undefined ? `vLLM external hits ${ext} tokens` : 'vLLM external hit metric unavailable'];
  return { id: 'cache-used', title, status: 'pass', reason: `${parts.join('; ')}${warn}`, measured: peg ?? ext };
}

/**
 * Client TTFT includes the network and HTTP parsing; the server's histogram
 * starts at arrival. Large disagreement means one of the two clocks is not
 * measuring what we think (e.g. queueing outside the engine, a proxy).
 */
export function ttftCrossCheck(clientMeanS: number | undefined, serverMeanS: number | undefined): Criterion {
  const title = 'client TTFT agrees with the server histogram';
  if (clientMeanS === undefined || serverMeanS === undefined) return { id: 'ttft-cross-check', title, status: 'skipped', reason: 'server TTFT histogram not available' };
  const diff = Math.abs(clientMeanS - serverMeanS);
  const ok = diff <= 0.5 * Math.max(clientMeanS, serverMeanS) + 0.05;
  return {
    id: 'ttft-cross-check',
    title,
    status: ok ? 'pass' : 'inconclusive',
    reason: `client ${fmtS(clientMeanS)} vs server ${fmtS(serverMeanS)}${ok ? '' : ': they disagree by more than 50 % + 50 ms'}`,
    measured: clientMeanS,
    threshold: serverMeanS,
    unit: 's',
  };
}

/** A test's status and one-line reason from its criteria. */
export function combine(criteria: Criterion[]): { status: TestStatus; reason: string } {
  const failed = criteria.filter((c) => c.status === 'fail');
  if (failed.length) return { status: 'fail', reason: failed.map((c) => c.reason).join('; ') };
  const inconclusive = criteria.filter((c) => c.status === 'inconclusive');
  // An informational cross-check does not make a test inconclusive on its own.
  const decisive = inconclusive.filter((c) => c.id !== 'ttft-cross-check');
  if (decisive.length) return { status: 'inconclusive', reason: decisive.map((c) => c.reason).join('; ') };
  const passed = criteria.filter((c) => c.status === 'pass' && c.id !== 'ttft-cross-check');
  return { status: 'pass', reason: passed.map((c) => c.reason).join('; ') || 'all criteria met' };
}
