// Proof that the measured pass went through the KV connector: PegaFlow's hit
// counter and vLLM's external-prefix-cache hits must both have risen during
// it. A fast warm pass proves nothing on its own (vLLM's GPU prefix cache can
// serve it with the connector broken), so this fails whatever TTFT says.
import type { CacheEvidence, Criterion } from '../suite/types.ts';

const TITLE = 'cache path exercised (PegaFlow and vLLM connector hits rose)';

function resetWarning(ev: CacheEvidence): string {
  if (ev.reset === 'unavailable') return '; warning: GPU prefix cache not reset (POST /reset_prefix_cache unavailable, needs VLLM_SERVER_DEV_MODE=1), judged on metrics alone';
  if (ev.reset === 'failed') return '; warning: GPU prefix cache reset failed, judged on metrics alone';
  return '';
}

/**
 * Decided by PegaFlow's hit blocks (ram+ssd+rdma, or the legacy hit counter),
 * and by vLLM's external hit tokens; when PegaFlow's counters are unavailable,
 * by vLLM's alone. Reasons of failures start with "cache path not exercised".
 */
export function cacheUsed(ev: CacheEvidence | undefined, passName = 'warm pass'): Criterion {
  const base = { id: 'cache-used', title: TITLE, threshold: 0 };
  if (!ev) return { ...base, status: 'fail', reason: `cache path not exercised: no metrics were scraped for the ${passName}` };
  const warn = resetWarning(ev);
  const peg = ev.pegaflowHitBlocks;
  const ext = ev.vllmExternalHitTokens;
  const legacy = ev.pegaflowHitSource === 'pegaflow_cache_block_hits_total' ? ' (legacy pegaflow_cache_block_hits_total)' : '';

  if (ev.pegaflowHitSource !== 'unavailable' && peg !== undefined) {
    if (peg <= 0) {
      const asked =
        ev.pegaflowQueriedBlocks === undefined ? '' : ev.pegaflowQueriedBlocks > 0 ? ` (0 of ${ev.pegaflowQueriedBlocks} blocks asked were hits)` : ' (PegaFlow was asked for no blocks)';
      return { ...base, status: 'fail', reason: `cache path not exercised: PegaFlow hits did not rise during the ${passName}${asked}${legacy}${warn}`, measured: peg, unit: 'blocks' };
    }
    const served = `PegaFlow served ${peg}${ev.pegaflowQueriedBlocks !== undefined ? `/${ev.pegaflowQueriedBlocks}` : ''} blocks${legacy}`;
    if (ext !== undefined && ext <= 0) {
      return { ...base, status: 'fail', reason: `cache path not exercised: vLLM external prefix-cache hits did not rise during the ${passName} although ${served}${warn}`, measured: ext, unit: 'tokens' };
    }
    const vllm = ext !== undefined ? `vLLM external prefix-cache hits +${ext} tokens` : 'vLLM external prefix-cache counter unavailable';
    return { ...base, status: 'pass', reason: `${served}, ${vllm}${warn}`, measured: peg, unit: 'blocks' };
  }

  if (ext === undefined) {
    return { ...base, status: 'fail', reason: `cache path not exercised: neither PegaFlow's hit counters nor vLLM's external prefix-cache counter could be read for the ${passName}${warn}` };
  }
  if (ext <= 0) {
    return { ...base, status: 'fail', reason: `cache path not exercised: vLLM external prefix-cache hits did not rise during the ${passName} (PegaFlow hit counters unavailable)${warn}`, measured: ext, unit: 'tokens' };
  }
  return { ...base, status: 'pass', reason: `vLLM external prefix-cache hits +${ext} tokens (PegaFlow hit counters unavailable)${warn}`, measured: ext, unit: 'tokens' };
}
