import t from 'tap';
import { cacheUsed } from '../../src/checks/criteria.ts';
import type { CacheEvidence } from '../../src/suite/types.ts';

const ev = (over: Partial<CacheEvidence> = {}): CacheEvidence => ({
  pegaflowHitBlocks: 624,
  pegaflowQueriedBlocks: 624,
  pegaflowHitSource: 'pegaflow_cache_tier_block_requests_total',
  pegaflowInsertedBlocks: 0,
  vllmExternalHitTokens: 9984,
  vllmExternalQueryTokens: 10_000,
  vllmPrefixHitTokens: 0,
  vllmPrefixQueryTokens: 10_000,
  serverTtftMeanS: 0.1,
  serverTtftCount: 30,
  reset: 'done',
  ...over,
});

t.test('PegaFlow hits and vLLM external hits both rose: pass, naming the numbers', async (t) => {
  const c = cacheUsed(ev());
  t.equal(c.status, 'pass');
  t.equal(c.reason, 'PegaFlow served 624/624 blocks, vLLM external prefix-cache hits +9984 tokens');
  t.same([c.id, c.measured, c.unit], ['cache-used', 624, 'blocks']);
});

t.test('warm pass without PegaFlow hits fails with "cache path not exercised", however fast it was', async (t) => {
  const c = cacheUsed(ev({ pegaflowHitBlocks: 0, vllmExternalHitTokens: 0, serverTtftMeanS: 0.01 }));
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'cache path not exercised: PegaFlow hits did not rise during the warm pass (0 of 624 blocks asked were hits)');
  t.equal(cacheUsed(ev({ pegaflowHitBlocks: 0, pegaflowQueriedBlocks: 0 })).reason, 'cache path not exercised: PegaFlow hits did not rise during the warm pass (PegaFlow was asked for no blocks)');
});

t.test('PegaFlow hits without vLLM external hits fail, saying which one did not rise', async (t) => {
  const c = cacheUsed(ev({ vllmExternalHitTokens: 0 }));
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'cache path not exercised: vLLM external prefix-cache hits did not rise during the warm pass although PegaFlow served 624/624 blocks');
});

t.test('legacy hit counter: decided the same way, and the reason says which counter', async (t) => {
  const src = { pegaflowHitSource: 'pegaflow_cache_block_hits_total' } as const;
  t.equal(cacheUsed(ev(src)).reason, 'PegaFlow served 624/624 blocks (legacy pegaflow_cache_block_hits_total), vLLM external prefix-cache hits +9984 tokens');
  t.equal(cacheUsed(ev({ ...src, pegaflowHitBlocks: 0, pegaflowQueriedBlocks: undefined })).reason, 'cache path not exercised: PegaFlow hits did not rise during the warm pass (legacy pegaflow_cache_block_hits_total)');
});

t.test('PegaFlow metrics unavailable: decided by vLLM external hits', async (t) => {
  const un = { pegaflowHitSource: 'unavailable', pegaflowHitBlocks: undefined, pegaflowQueriedBlocks: undefined } as const;
  const pass = cacheUsed(ev(un));
  t.equal(pass.status, 'pass');
  t.equal(pass.reason, 'vLLM external prefix-cache hits +9984 tokens (PegaFlow hit counters unavailable)');
  const fail = cacheUsed(ev({ ...un, vllmExternalHitTokens: 0 }));
  t.equal(fail.status, 'fail');
  t.equal(fail.reason, 'cache path not exercised: vLLM external prefix-cache hits did not rise during the warm pass (PegaFlow hit counters unavailable)');
  const none = cacheUsed(ev({ ...un, vllmExternalHitTokens: undefined }));
  t.equal(none.status, 'fail');
  t.equal(none.reason, "cache path not exercised: neither PegaFlow's hit counters nor vLLM's external prefix-cache counter could be read for the warm pass");
});

t.test('PegaFlow hits with no vLLM external counter exposed still pass, noting it', async (t) => {
  t.equal(cacheUsed(ev({ vllmExternalHitTokens: undefined })).reason, 'PegaFlow served 624/624 blocks, vLLM external prefix-cache counter unavailable');
});

t.test('GPU-cache reset unavailable: still decided by the metrics, with a warning', async (t) => {
  const pass = cacheUsed(ev({ reset: 'unavailable', resetDetail: '404' }));
  t.equal(pass.status, 'pass');
  t.equal(pass.reason, 'PegaFlow served 624/624 blocks, vLLM external prefix-cache hits +9984 tokens; warning: GPU prefix cache not reset (POST /reset_prefix_cache unavailable, needs VLLM_SERVER_DEV_MODE=1), judged on metrics alone');
  const fail = cacheUsed(ev({ reset: 'unavailable', pegaflowHitBlocks: 0 }));
  t.equal(fail.status, 'fail');
  t.match(fail.reason, /^cache path not exercised: PegaFlow hits did not rise .*; warning: GPU prefix cache not reset/);
  t.match(cacheUsed(ev({ reset: 'failed' })).reason, /; warning: GPU prefix cache reset failed, judged on metrics alone$/);
});

t.test('no evidence at all fails', async (t) => {
  const c = cacheUsed(undefined, 'turns ≥ 2');
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'cache path not exercised: no metrics were scraped for the turns ≥ 2');
});
