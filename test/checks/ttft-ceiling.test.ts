import t from 'tap';
import { ttftCeiling } from '../../src/checks/criteria.ts';

t.test('TTFT under the ceiling passes with "TTFT (mean) 0.104 s ≤ 0.22 s"', async (t) => {
  const c = ttftCeiling(0.1041, 'mean', 0.22);
  t.equal(c.status, 'pass');
  t.equal(c.reason, 'TTFT (mean) 0.104 s ≤ 0.22 s');
  t.same([c.id, c.title, c.measured, c.threshold, c.unit], ['ttft', 'TTFT (mean) ≤ 0.22 s', 0.1041, 0.22, 's']);
});

t.test('TTFT over the ceiling fails with "TTFT (mean) 0.31 s > 0.22 s"', async (t) => {
  const c = ttftCeiling(0.31, 'mean', 0.22);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'TTFT (mean) 0.31 s > 0.22 s');
});

t.test('exactly at the ceiling passes', async (t) => {
  t.equal(ttftCeiling(0.22, 'p90', 0.22).reason, 'TTFT (p90) 0.22 s ≤ 0.22 s');
  t.equal(ttftCeiling(0.22, 'p90', 0.22).status, 'pass');
});

t.test('a value just over the ceiling gets the digits that show it is over', async (t) => {
  const c = ttftCeiling(0.2204, 'p99', 0.22);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'TTFT (p99) 0.2204 s > 0.22 s');
});

t.test('no TTFT (no successful request) fails and says why', async (t) => {
  const c = ttftCeiling(undefined, 'mean', 0.22);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'TTFT (mean) not measured: no successful request');
  t.equal(c.measured, undefined);
  t.equal(ttftCeiling(Number.NaN, 'mean', 0.22).status, 'fail', 'NaN is not a measurement');
});

t.test('a label names which TTFT is judged', async (t) => {
  t.equal(ttftCeiling(0.5, 'mean', 0.22, 'warm TTFT').reason, 'warm TTFT (mean) 0.5 s > 0.22 s');
});
