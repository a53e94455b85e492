import t from 'tap';
import { combine, withDisabled } from '../../src/checks/criteria.ts';
import type { Criterion } from '../../src/suite/types.ts';

const c = (id: string, status: Criterion['status'], reason = `${id} ${status}`): Criterion => ({ id, title: id, status, reason });

t.test('all criteria met: pass with a short count', async (t) => {
  t.same(combine([c('failures', 'pass'), c('ttft', 'pass'), c('speedup', 'pass'), c('cache-used', 'pass')]), { status: 'pass', reason: 'all 4 criteria met' });
  t.same(combine([c('ttft', 'pass'), c('ttft-cross-check', 'skipped')]), { status: 'pass', reason: 'the only criterion met (1 skipped)' });
});

t.test('a failure fails the test with the first failing criterion\'s reason', async (t) => {
  const r = combine([c('failures', 'pass'), c('ttft', 'fail', 'TTFT (mean) 0.31 s > 0.22 s'), c('cache-used', 'fail', 'cache path not exercised: …'), c('x', 'inconclusive')]);
  t.same(r, { status: 'fail', reason: 'TTFT (mean) 0.31 s > 0.22 s' });
});

t.test('only inconclusive criteria short of passing: inconclusive, with that reason', async (t) => {
  const r = combine([c('ttft', 'pass'), c('ttft-cross-check', 'inconclusive', 'client TTFT mean 0.5 s vs server 0.25 s: they disagree by more than 50 % + 50 ms')]);
  t.equal(r.status, 'inconclusive');
  t.match(r.reason, /^client TTFT mean 0\.5 s vs server 0\.25 s/);
});

t.test('nothing judged is not a pass', async (t) => {
  t.same(combine([]), { status: 'inconclusive', reason: 'no criteria to judge' });
  t.same(combine([c('a', 'skipped')]), { status: 'inconclusive', reason: '1 criterion skipped: nothing was judged' });
});

t.test('a disabled criterion is kept as skipped, saying what it would have been, and no longer decides', async (t) => {
  const judged = withDisabled([c('ttft', 'pass'), c('cache-used', 'fail', 'cache path not exercised: none')], ['cache-used']);
  t.equal(judged[1]!.status, 'skipped');
  t.match(judged[1]!.reason, /disabled by KVGATE_INTERNAL_DISABLE_CHECKS \(would have been fail: cache path not exercised/);
  t.same(combine(judged), { status: 'pass', reason: 'the only criterion met (1 skipped)' });
  t.same(withDisabled([c('ttft', 'fail')], []), [c('ttft', 'fail')], 'nothing disabled: unchanged');
});
