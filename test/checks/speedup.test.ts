import t from 'tap';
import { speedup } from '../../src/checks/criteria.ts';

t.test('a speedup under the floor fails with "speedup 1.05× < 1.2×"', async (t) => {
  const c = speedup(0.21, 0.2, 1.2);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'speedup 1.05× < 1.2×');
  t.ok(Math.abs(c.measured! - 1.05) < 1e-12);
  t.same([c.id, c.title, c.threshold, c.unit], ['speedup', 'speedup vs baseline ≥ 1.2×', 1.2, '×']);
});

t.test('a speedup at or over the floor passes', async (t) => {
  const c = speedup(0.85, 0.1, 1.2);
  t.equal(c.status, 'pass');
  t.equal(c.reason, 'speedup 8.5× ≥ 1.2×');
  t.equal(speedup(0.6, 0.5, 1.2).reason, 'speedup 1.2× ≥ 1.2×');
});

t.test('a missing baseline or connector figure fails with a reason, never NaN', async (t) => {
  const noBase = speedup(undefined, 0.1, 1.2);
  t.equal(noBase.status, 'fail');
  t.equal(noBase.reason, 'speedup not measured: no baseline TTFT (no successful baseline request)');
  t.equal(noBase.measured, undefined);
  t.equal(speedup(0.8, undefined, 1.2).reason, 'speedup not measured: no connector TTFT (no successful request)');
  t.equal(speedup(undefined, undefined, 1.2).reason, 'speedup not measured: no baseline TTFT (no successful baseline request) and no connector TTFT (no successful request)');
  t.equal(speedup(0.8, 0, 1.2).reason, 'speedup not measured: connector TTFT is 0 s');
  t.notMatch(speedup(Number.NaN, 0.1, 1.2).reason, /NaN/);
});

t.test('a ratio just under the floor is not rounded up to it', async (t) => {
  const c = speedup(1.1999, 1, 1.2);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'speedup 1.1999× < 1.2×');
});
