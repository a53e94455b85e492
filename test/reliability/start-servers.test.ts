// Servers started on their own (ci/start-servers.ts) belong to nobody's run:
// interrupting a single-test script must leave them up, and stop-all is how
// they are stopped by hand.
import t from 'tap';
import { join } from 'node:path';
import { MID_TEST, describeProcs, killAllOf, listDir, processesOf, readOverall, readResult, relEnv, runScript, waitAllGone } from './harness.ts';

t.test('Ctrl-C of a single test leaves start-servers\' servers running; stop-all then stops them and leaves nothing', { timeout: 150_000 }, async (t) => {
  const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const serversEnv = { ...e.env, RESULTS_DIR: join(e.base, 'servers') };

  const start = runScript('start-servers.ts', ['start-all', '--no-baseline'], serversEnv);
  const started = await start.waitForExit(90_000);
  t.same(started, { code: 0, signal: null }, 'start-servers start-all exits 0 with the servers up', { output: start.output().slice(-3000) });
  const servers = processesOf(e.base, e.ports).filter((p) => p.cmdline.includes('sim/bin/'));
  t.ok(servers.length >= 2, `PegaFlow and the connector vLLM run on (${servers.length} server processes)`);

  const run = runScript('run-long-doc-qa.ts', ['--skip-baseline'], e.env);
  await run.waitForOutput(MID_TEST, 60_000);
  run.signalGroup('SIGINT');
  const exit = await run.waitForExit(60_000);
  t.same(exit, { code: 130, signal: null }, 'the interrupted test exits 130', { output: run.output().slice(-3000) });
  t.equal(readResult(e.resultsDir, 'long-doc-qa')?.status, 'interrupted', 'long-doc-qa.result: status interrupted');
  t.equal(readOverall(e.resultsDir), 'INTERRUPTED', 'overall.result: INTERRUPTED');
  const stillUp = processesOf(e.base, e.ports).filter((p) => p.cmdline.includes('sim/bin/'));
  t.same(stillUp.map((p) => p.pid).sort(), servers.map((p) => p.pid).sort(), 'every server start-servers started is still running');

  const status = runScript('start-servers.ts', ['status', '--no-baseline'], serversEnv);
  t.same(await status.waitForExit(30_000), { code: 0, signal: null }, 'status --no-baseline exits 0: every required server is up');
  t.match(status.output(), /pegaflow-server\s+RUNNING[\s\S]*vllm-pegaflow\s+RUNNING/, 'status reports both RUNNING');
  t.match(status.output(), /vllm-baseline\s+NOT RUNNING .*\(not required: --no-baseline\)/);
  const strict = runScript('start-servers.ts', ['status'], serversEnv);
  t.same(await strict.waitForExit(30_000), { code: 1, signal: null }, 'plain status exits 1: the baseline is down');

  const stop = runScript('start-servers.ts', ['stop-all'], serversEnv);
  const stopped = await stop.waitForExit(60_000);
  t.same(stopped, { code: 0, signal: null }, 'stop-all exits 0', { output: stop.output() });
  t.match(stop.output(), /stopped 2 server\(s\)/, 'and says how many it stopped');
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
  t.same(listDir(e.stateDir), [], 'no pid file is left');
});
