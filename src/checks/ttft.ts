// TTFT criteria: the ceiling a statistic must stay under, and the informational
// cross-check of the client's figure against the server's own histogram.
import type { Criterion } from '../suite/types.ts';
import type { TtftStat } from '../config/config.ts';
import { fmtAgainst, fmtNum, fmtThreshold } from './format.ts';

/** "TTFT (mean) 0.104 s ≤ 0.22 s" passes, "TTFT (mean) 0.31 s > 0.22 s" fails; no figure fails. */
export function ttftCeiling(valueS: number | undefined, stat: TtftStat, maxS: number, label = 'TTFT'): Criterion {
  const title = `${label} (${stat}) ≤ ${fmtThreshold(maxS)} s`;
  const base = { id: 'ttft', title, threshold: maxS, unit: 's' };
  if (valueS === undefined || !Number.isFinite(valueS)) {
    return { ...base, status: 'fail', reason: `${label} (${stat}) not measured: no successful request` };
  }
  const pass = valueS <= maxS;
  return { ...base, status: pass ? 'pass' : 'fail', reason: `${label} (${stat}) ${fmtAgainst(valueS, maxS)} s ${pass ? '≤' : '>'} ${fmtThreshold(maxS)} s`, measured: valueS };
}

/** Disagreement allowed between client and server mean TTFT: 50 % of the server's figure plus 50 ms. */
export const CROSS_CHECK_REL = 0.5;
export const CROSS_CHECK_ABS_S = 0.05;

/**
 * The client's mean TTFT against the mean of vLLM's own
 * vllm:time_to_first_token_seconds histogram over the same pass. The client's
 * figure also holds the network, HTTP and request parsing, so it is normally a
 * little higher. Informational: it never fails a test; when the two disagree by
 * more than 50 % of the server's figure + 50 ms it is inconclusive (one of the
 * clocks is not measuring what we think: a proxy, client overload, other
 * traffic on the server), and without a server figure it is skipped.
 */
export function ttftCrossCheck(clientMeanS: number | undefined, serverMeanS: number | undefined): Criterion {
  const title = "client TTFT agrees with the server's histogram";
  const base = { id: 'ttft-cross-check', title, unit: 's' };
  if (clientMeanS === undefined || !Number.isFinite(clientMeanS)) return { ...base, status: 'skipped', reason: 'no client TTFT to compare (no successful request)' };
  if (serverMeanS === undefined || !Number.isFinite(serverMeanS)) return { ...base, status: 'skipped', reason: 'server TTFT histogram not available' };
  const agree = Math.abs(clientMeanS - serverMeanS) <= CROSS_CHECK_REL * serverMeanS + CROSS_CHECK_ABS_S;
  const figures = `client TTFT mean ${fmtNum(clientMeanS)} s vs server ${fmtNum(serverMeanS)} s`;
  return {
    ...base,
    status: agree ? 'pass' : 'inconclusive',
    reason: agree ? figures : `${figures}: they disagree by more than 50 % + 50 ms`,
    measured: clientMeanS,
    threshold: serverMeanS,
  };
}
