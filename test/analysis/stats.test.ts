// Statistics against values computed by hand with numpy's default percentile
// definition (method "linear": h = q/100·(n−1), interpolate between the
// neighbours of h), the one `vllm bench serve` reports.
import t, { type Test } from 'tap';
import { max, mean, min, percentile, pickStat, ttftStats } from '../../src/analysis/stats.ts';

const close = (t: Tap, got: number | undefined, want: number, what: string) => t.ok(got !== undefined && Math.abs(got - want) < 1e-12, `${what}: ${got} ≈ ${want}`);
type Tap = Test;

// Sorted: 0.12 0.15 0.18 0.22 0.25 0.31 0.9 (n = 7)
const XS = [0.31, 0.12, 0.25, 0.18, 0.9, 0.22, 0.15];

t.test('percentiles interpolate linearly between neighbours, as numpy.percentile does by default', async (t) => {
  close(t, percentile(XS, 50), 0.22, 'p50: h = 3, the middle value');
  close(t, percentile(XS, 90), 0.546, 'p90: h = 5.4 → 0.31 + 0.4 × (0.9 − 0.31)');
  close(t, percentile(XS, 99), 0.8646, 'p99: h = 5.94 → 0.31 + 0.94 × 0.59');
  close(t, percentile(XS, 25), 0.165, 'p25: h = 1.5 → halfway between 0.15 and 0.18');
  close(t, percentile(XS, 0), 0.12, 'p0 is the minimum');
  close(t, percentile(XS, 100), 0.9, 'p100 is the maximum');
  close(t, percentile([1, 2, 3, 4], 50), 2.5, 'even count: p50 between the two middle values');
  close(t, percentile([1, 2, 3, 4], 90), 3.7, '[1,2,3,4] p90: h = 2.7');
  close(t, percentile([1, 2, 3, 4], 99), 3.97, '[1,2,3,4] p99: h = 2.97');
  t.equal(percentile([7], 99), 7, 'one value is every percentile');
  t.equal(percentile([], 50), undefined, 'no values, no percentile');
  t.throws(() => percentile(XS, 101), /within \[0, 100\]/);
});

t.test('values are sorted numerically, not as strings', async (t) => {
  // A lexicographic sort would put 10 before 9 and make p50 = 10.
  t.equal(percentile([10, 9, 100, 2, 1], 50), 9);
});

t.test('mean, min and max; empty input gives undefined', async (t) => {
  close(t, mean(XS), 2.13 / 7, 'mean = 2.13 / 7');
  t.equal(min(XS), 0.12);
  t.equal(max(XS), 0.9);
  t.equal(mean([]), undefined);
  t.equal(min([]), undefined);
  t.equal(max([]), undefined);
});

t.test('ttftStats summarises a TTFT sample; pickStat returns the statistic a threshold applies to', async (t) => {
  const s = ttftStats(XS)!;
  t.equal(s.count, 7);
  close(t, s.mean, 2.13 / 7, 'mean');
  close(t, s.p50, 0.22, 'p50');
  close(t, s.p90, 0.546, 'p90');
  close(t, s.p99, 0.8646, 'p99');
  t.equal(s.min, 0.12);
  t.equal(s.max, 0.9);
  t.equal(pickStat(s, 'mean'), s.mean);
  t.equal(pickStat(s, 'p90'), s.p90);
  t.equal(pickStat(undefined, 'mean'), undefined, 'no stats, no figure');
  t.equal(ttftStats([]), undefined);
  t.same(XS, [0.31, 0.12, 0.25, 0.18, 0.9, 0.22, 0.15], 'the input is not reordered');
});

t.test('large samples are handled without recursion or spread limits', async (t) => {
  const big = Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 300_000);
  const s = ttftStats(big)!;
  t.equal(s.min, 0);
  t.equal(s.max, 299_999);
  close(t, s.p50, 149_999.5, 'p50 of 0…299999');
});
