import t from 'tap';
import { failures } from '../../src/checks/criteria.ts';

t.test('any failure fails when no tolerance is set: "3/50 requests failed (http-status 2, stream-cut 1)"', async (t) => {
  const c = failures(3, 50, 0, { 'stream-cut': 1, 'http-status': 2 });
  t.equal(c.status, 'fail');
  t.equal(c.reason, '3/50 requests failed (http-status 2, stream-cut 1)');
  t.same([c.id, c.title, c.measured, c.threshold], ['failures', 'no failed requests', 0.06, 0]);
});

t.test('no failures passes', async (t) => {
  const c = failures(0, 50, 0);
  t.equal(c.status, 'pass');
  t.equal(c.reason, '0/50 requests failed');
});

t.test('a tolerance lets a small failure rate pass and says so; over it fails', async (t) => {
  const within = failures(2, 50, 0.05, { timeout: 2 });
  t.equal(within.status, 'pass');
  t.equal(within.reason, '2/50 requests failed (timeout 2), within the 5 % tolerance');
  t.equal(within.title, 'failed requests ≤ 5 %');
  const over = failures(3, 50, 0.05, { timeout: 2, connection: 1 });
  t.equal(over.status, 'fail');
  t.equal(over.reason, '3/50 requests failed (timeout 2, connection 1), over the 5 % tolerance');
});

t.test('kinds with equal counts follow the order of RequestErrorKind; zero counts are left out', async (t) => {
  t.equal(failures(2, 9, 0, { aborted: 1, 'invalid-chunk': 1, connection: 0 }).reason, '2/9 requests failed (invalid-chunk 1, aborted 1)');
  t.equal(failures(1, 9, 0).reason, '1/9 requests failed', 'without kinds');
});

t.test('a pass that sent nothing fails: there is nothing to judge', async (t) => {
  const c = failures(0, 0, 0);
  t.equal(c.status, 'fail');
  t.equal(c.reason, 'no requests were sent: nothing to judge');
});
