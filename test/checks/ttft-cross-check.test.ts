import t from 'tap';
import { ttftCrossCheck } from '../../src/checks/criteria.ts';

t.test('client and server means that agree pass, naming both', async (t) => {
  const c = ttftCrossCheck(0.104, 0.095);
  t.equal(c.status, 'pass');
  t.equal(c.reason, 'client TTFT mean 0.104 s vs server 0.095 s');
  t.same([c.id, c.measured, c.threshold], ['ttft-cross-check', 0.104, 0.095]);
});

t.test('a disagreement over 50 % of the server figure + 50 ms is inconclusive, never a failure', async (t) => {
  const c = ttftCrossCheck(0.5, 0.25); // |0.5 − 0.25| = 0.25 > 0.125 + 0.05
  t.equal(c.status, 'inconclusive');
  t.equal(c.reason, 'client TTFT mean 0.5 s vs server 0.25 s: they disagree by more than 50 % + 50 ms');
  t.equal(ttftCrossCheck(0.05, 0.9).status, 'inconclusive', 'the client far below the server is suspicious too');
});

t.test('the allowance is 50 % + 50 ms, inclusive', async (t) => {
  t.equal(ttftCrossCheck(0.2, 0.1).status, 'pass', 'difference 0.1 = 0.05 + 0.05');
  t.equal(ttftCrossCheck(0.201, 0.1).status, 'inconclusive');
});

t.test('without a server histogram (or a client figure) the check is skipped', async (t) => {
  const c = ttftCrossCheck(0.1, undefined);
  t.equal(c.status, 'skipped');
  t.equal(c.reason, 'server TTFT histogram not available');
  t.equal(ttftCrossCheck(undefined, 0.1).reason, 'no client TTFT to compare (no successful request)');
});
