// The harness itself killed with SIGKILL in the middle of a test (OOM killer,
// CI runner timeout): nothing of ours may outlive it, and the next run must
// start cleanly, reclaiming (and saying so) whatever was left behind.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from '../../src/stack/proc.ts';
import { MID_TEST, describeProcs, killAllOf, listDir, processesOf, readResult, relEnv, runScript, waitAllGone, type RelEnv } from './harness.ts';

const pidFiles = (e: RelEnv) => listDir(e.stateDir).filter((f) => f.endsWith('.json'));

/** A second run on the same ports and state dir, into a new results dir. */
async function nextRun(e: RelEnv) {
  const resultsDir = join(e.base, 'results-next');
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], { ...e.env, RESULTS_DIR: resultsDir });
  const exit = await run.waitForExit(90_000);
  return { exit, output: run.output(), result: readResult(resultsDir, 'long-doc-qa') };
}

t.test('harness killed with SIGKILL mid-test: the lifeline stops every server within 5 s; the next run has nothing to reclaim', { timeout: 180_000 }, async (t) => {
  // STOP_TIMEOUT bounds the lifeline's grace before SIGKILL: 2 s keeps the worst case inside the 5 s requirement.
  const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8', STOP_TIMEOUT: '2' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  await run.waitForOutput(MID_TEST, 60_000);
  const before = processesOf(e.base, e.ports, [run.pid]);
  t.ok(before.some((p) => p.cmdline.includes('lifeline-watchdog')), 'a lifeline watchdog runs beside the harness');
  t.ok(before.filter((p) => p.cmdline.includes('sim/bin/')).length >= 2, `the servers run (${before.length} processes of ours besides the harness)`);

  process.kill(run.pid, 'SIGKILL');
  const exit = await run.waitForExit(10_000);
  t.same(exit, { code: null, signal: 'SIGKILL' }, 'the harness died of SIGKILL');
  const { left, tookS } = await waitAllGone(e.base, e.ports, 15_000);
  t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
  t.ok(left.length === 0 && tookS <= 5, `all gone within 5 s of the SIGKILL (took ${tookS.toFixed(2)} s)`);
  const lifelineLog = readFileSync(join(e.resultsDir, 'logs', 'lifeline.log'), 'utf8');
  t.match(lifelineLog, /harness gone; stopping process groups/, 'logs/lifeline.log says what the watchdog stopped');
  t.equal(readResult(e.resultsDir, 'long-doc-qa'), undefined, 'a SIGKILLed harness writes no .result (nothing can run after SIGKILL)');
  t.ok(pidFiles(e).length > 0, 'its pid files are left in KVGATE_STATE_DIR');

  const next = await nextRun(e);
  t.notMatch(next.output, /stale kvgate server|reclaimed \d+ stale/, 'the next run finds nothing to reclaim', { output: next.output.slice(-3000) });
  t.ok(next.exit.code === 0 || next.exit.code === 1, `the next run completes (exit ${next.exit.code})`, { output: next.output.slice(-3000) });
  t.ok(next.result && next.result.status !== 'error' && next.result.status !== 'interrupted', `its test ran and was judged (${next.result?.status}: ${next.result?.message})`);
  t.same(pidFiles(e), [], 'the stale pid files are gone afterwards');
  const after = await waitAllGone(e.base, e.ports, 10_000);
  t.same(after.left, [], `no process of ours is alive after the next run: ${describeProcs(after.left)}`);
});

t.test('harness and its lifeline both killed: the servers are orphaned, and the next run reclaims them and says so', { timeout: 180_000 }, async (t) => {
  const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8', STOP_TIMEOUT: '2' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  await run.waitForOutput(MID_TEST, 60_000);
  const watchdog = processesOf(e.base, e.ports, [run.pid]).find((p) => p.cmdline.includes('lifeline-watchdog'));
  t.ok(watchdog, 'found the lifeline watchdog');
  if (!watchdog) return;
  process.kill(watchdog.pid, 'SIGKILL');
  process.kill(run.pid, 'SIGKILL');
  await run.waitForExit(10_000);
  await sleep(1_000);
  const orphans = processesOf(e.base, e.ports).filter((p) => p.cmdline.includes('sim/bin/'));
  t.ok(orphans.length >= 2, `with no lifeline the servers outlive the harness (${orphans.length} server processes)`);

  const next = await nextRun(e);
  const opts = { output: next.output.slice(-4000) };
  t.match(next.output, /stopping stale kvgate server pegaflow-server \(pid \d+, port [\d/]+, started [^)]+\): its harness \(pid \d+\) is gone/, 'names the stale PegaFlow it stops and why', opts);
  t.match(next.output, /stopping stale kvgate server vllm-pegaflow \(pid \d+, port \d+, started [^)]+\): its harness \(pid \d+\) is gone/, 'names the stale vLLM it stops and why', opts);
  t.match(next.output, /reclaimed 2 stale server\(s\) before starting/, 'and counts them', opts);
  for (const o of orphans) t.notOk(isRunning(o.pid), `orphan pid ${o.pid} is gone`);
  t.ok(next.exit.code === 0 || next.exit.code === 1, `the next run then completes (exit ${next.exit.code})`, opts);
  t.ok(next.result && next.result.status !== 'error' && next.result.status !== 'interrupted', `its test ran and was judged (${next.result?.status}: ${next.result?.message})`);
  t.same(pidFiles(e), [], 'no pid file is left');
  const after = await waitAllGone(e.base, e.ports, 10_000);
  t.same(after.left, [], `no process of ours is alive after the next run: ${describeProcs(after.left)}`);
});
