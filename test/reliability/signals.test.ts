// Ctrl-C and CI cancellation in the middle of a test, through the real entry
// point (ci/run-all-tests.ts on the sim stack), with real signals sent to the
// harness's process group, as a terminal or a CI runner sends them.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MID_TEST,
  describeProcs,
  groupAlive,
  killAllOf,
  listDir,
  pollFor,
  readOverall,
  readResult,
  readStatePidFile,
  readSummary,
  relEnv,
  runScript,
  waitAllGone,
  type RelEnv,
} from './harness.ts';

const RUN_TIMEOUT_MS = 90_000;

/** Checks shared by every interrupted run: exit code, .result, overall.result, summary.json, logs, process table. */
async function checkInterrupted(t: Test, e: RelEnv, exit: { code: number | null; signal: NodeJS.Signals | null }, signal: 'SIGINT' | 'SIGTERM', output: string) {
  const code = signal === 'SIGINT' ? 130 : 143;
  t.same(exit, { code, signal: null }, `exits with ${code}`, { output: output.slice(-3000) });
  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.equal(r?.status, 'interrupted', 'the running test\'s .result says status: interrupted');
  t.match(r?.message ?? '', new RegExp(`interrupted by ${signal}`), 'and names the signal');
  t.equal(readOverall(e.resultsDir), 'INTERRUPTED', 'overall.result is INTERRUPTED');
  const summary = readSummary(e.resultsDir);
  t.ok(summary, 'summary.json exists and parses');
  t.equal(summary?.status, 'INTERRUPTED', 'summary.json: status INTERRUPTED');
  t.equal(summary?.exitCode, code, `summary.json: exitCode ${code}`);
  t.ok(existsSync(join(e.resultsDir, 'kvgate.log')), 'kvgate.log (console transcript) exists');
  const logs = listDir(join(e.resultsDir, 'logs'));
  for (const l of ['pegaflow-server.log', 'vllm-pegaflow.log', 'lifeline.log']) t.ok(logs.includes(l), `logs/${l} exists`);
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive afterwards: ${describeProcs(left)}`);
  t.same(listDir(e.stateDir).filter((f) => f.endsWith('.json')), [], 'the pid files of the stopped servers are removed');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} in the middle of a test: exit ${signal === 'SIGINT' ? 130 : 143}, the test is interrupted, results and logs are written, no server is left`, { timeout: 120_000 }, async (t) => {
    // Eight requests a pass at 2/s: pass 1 runs for ~4 s, so the signal lands while requests are in flight.
    const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8' });
    t.teardown(() => void killAllOf(e.base, e.ports));
    const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
    await run.waitForOutput(MID_TEST, 60_000);
    run.signalGroup(signal);
    const exit = await run.waitForExit(RUN_TIMEOUT_MS);
    t.match(run.output(), new RegExp(`${signal} received: stopping servers`), 'says what it is doing');
    await checkInterrupted(t, e, exit, signal, run.output());
  });
}

t.test('a second SIGINT kills the servers at once instead of waiting out STOP_TIMEOUT', { timeout: 120_000 }, async (t) => {
  // STOP_TIMEOUT=60: after the first SIGINT a server that does not stop would be waited for a minute.
  const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8', STOP_TIMEOUT: '60' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  await run.waitForOutput(MID_TEST, 60_000);
  const vllm = readStatePidFile(e.stateDir, 'vllm-pegaflow', Number(e.env['VLLM_PORT']));
  t.ok(vllm, 'the connector vLLM has a pid file');
  if (!vllm) return;
  // A stopped process cannot act on SIGTERM: the graceful stop of this group hangs for the full grace period.
  process.kill(-vllm.pgid, 'SIGSTOP');
  run.signalGroup('SIGINT');
  await run.waitForOutput(/SIGINT received/, 30_000);
  // Still stopping gracefully (waiting on the frozen server) a moment later.
  await sleep(1_000);
  t.equal(run.exitInfo(), undefined, 'after the first SIGINT the harness waits for the frozen server (STOP_TIMEOUT)');
  t.ok(groupAlive(vllm.pgid), 'the frozen server is still there');

  const t0 = performance.now();
  run.signalGroup('SIGINT');
  const exit = await run.waitForExit(RUN_TIMEOUT_MS);
  const exitedAfterS = (performance.now() - t0) / 1000;
  const gone = await pollFor(() => (groupAlive(vllm.pgid) ? undefined : (performance.now() - t0) / 1000), 10_000);
  t.ok(exitedAfterS <= 5, `the harness exits within 5 s of the second SIGINT (took ${exitedAfterS.toFixed(2)} s, STOP_TIMEOUT is 60 s)`);
  t.ok(gone !== undefined && gone <= 5, `the frozen server's group is killed within 5 s of the second SIGINT (took ${gone?.toFixed(2) ?? '> 10'} s)`);
  t.same(exit, { code: 130, signal: null }, 'exits with 130');
  t.equal(readResult(e.resultsDir, 'long-doc-qa')?.status, 'interrupted', 'the .result says status: interrupted');
  t.equal(readOverall(e.resultsDir), 'INTERRUPTED', 'overall.result is INTERRUPTED');
  t.ok(readSummary(e.resultsDir), 'summary.json is written on the kill-at-once path too');
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive afterwards: ${describeProcs(left)}`);
});

t.test('a second SIGINT during server start-up also kills the servers at once', { timeout: 120_000 }, async (t) => {
  const e = await relEnv({ STOP_TIMEOUT: '60' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  // PegaFlow is ready once the connector vLLM starts; freezing it keeps the vLLM (which registers with it) from ever getting ready.
  await run.waitForOutput(/starting vllm-pegaflow/, 60_000);
  const pf = readStatePidFile(e.stateDir, 'pegaflow-server', Number(e.env['PEGA_PORT']));
  t.ok(pf, 'PegaFlow has a pid file');
  if (!pf) return;
  process.kill(-pf.pgid, 'SIGSTOP');
  run.signalGroup('SIGINT');
  await run.waitForOutput(/SIGINT received/, 30_000);
  await sleep(1_000);
  t.notMatch(run.output(), /── long-doc-qa ──/, 'still starting servers: no test began');
  t.equal(run.exitInfo(), undefined, 'after the first SIGINT the harness waits for the frozen PegaFlow (STOP_TIMEOUT)');
  t.ok(groupAlive(pf.pgid), 'the frozen PegaFlow is still there');

  const t0 = performance.now();
  run.signalGroup('SIGINT');
  const exit = await run.waitForExit(RUN_TIMEOUT_MS);
  const exitedAfterS = (performance.now() - t0) / 1000;
  const gone = await pollFor(() => (groupAlive(pf.pgid) ? undefined : (performance.now() - t0) / 1000), 10_000);
  t.ok(exitedAfterS <= 5, `the harness exits within 5 s of the second SIGINT (took ${exitedAfterS.toFixed(2)} s)`);
  t.ok(gone !== undefined && gone <= 5, `the frozen PegaFlow's group is killed within 5 s of the second SIGINT (took ${gone?.toFixed(2) ?? '> 10'} s, STOP_TIMEOUT is 60 s)`);
  t.same(exit, { code: 130, signal: null }, 'exits with 130');
  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.equal(r?.status, 'interrupted', 'the .result says status: interrupted');
  t.match(r?.message ?? '', /not run: interrupted by SIGINT/, 'and that the test never ran');
  t.equal(readOverall(e.resultsDir), 'INTERRUPTED', 'overall.result is INTERRUPTED');
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive afterwards: ${describeProcs(left)}`);
});
