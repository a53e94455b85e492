// A server dying in the middle of a test: the test is `error` within seconds
// (not after request timeouts), its .result carries the exit code or signal
// and the server's log tail, the remaining tests are not run, every other
// server is stopped, and the exit code is 3 (infrastructure error, per
// exitCodeFor in src/suite/runner.ts).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MID_TEST, describeProcs, killAllOf, pollFor, readOverall, readResult, readStatePidFile, readSummary, relEnv, runScript, waitAllGone } from './harness.ts';

t.test('connector vLLM killed with SIGKILL mid-test: the test is error within 5 s with the signal and log tail; the rest stops cleanly; exit 3', { timeout: 120_000 }, async (t) => {
  const e = await relEnv({ LONG_DOC_NUM_REQUESTS: '8' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  // --skip-lm-eval: long-doc, then ShareGPT, which must then not run.
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--skip-lm-eval', '--quick'], e.env);
  await run.waitForOutput(MID_TEST, 60_000);
  const vllm = readStatePidFile(e.stateDir, 'vllm-pegaflow', Number(e.env['VLLM_PORT']));
  t.ok(vllm, 'the connector vLLM has a pid file');
  if (!vllm) return;
  const t0 = performance.now();
  process.kill(-vllm.pgid, 'SIGKILL'); // its whole group: API server and EngineCore
  const errored = await pollFor(() => (readResult(e.resultsDir, 'long-doc-qa')?.status === 'error' ? (performance.now() - t0) / 1000 : undefined), 15_000);
  t.ok(errored !== undefined && errored <= 5, `long-doc-qa.result says error within 5 s of the kill (took ${errored?.toFixed(2) ?? '> 15'} s)`);
  const exit = await run.waitForExit(90_000);
  const opts = { output: run.output().slice(-3000) };
  t.same(exit, { code: 3, signal: null }, 'exit code 3: infrastructure error', opts);

  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.equal(r?.status, 'error', 'long-doc-qa.result: status error');
  t.match(r?.message ?? '', /vllm-pegaflow exited unexpectedly \(killed by SIGKILL\)/, 'the message names the server and the signal');
  t.match(r?.message ?? '', /last lines of the vllm-pegaflow log: .*Starting vLLM API server/, 'and carries the tail of its log');
  const shareGpt = readResult(e.resultsDir, 'share-gpt-multi-turn');
  t.equal(shareGpt?.status, 'error', 'the next test is not run and says so');
  t.match(shareGpt?.message ?? '', /^not run: vllm-pegaflow exited unexpectedly/, 'share-gpt-multi-turn.result: not run, and why');
  t.equal(readOverall(e.resultsDir), 'FAILED', 'overall.result is FAILED');
  t.equal(readSummary(e.resultsDir)?.exitCode, 3, 'summary.json records exit code 3');
  t.notMatch(run.output(), /did not stop within|survived SIGKILL/, 'the other servers stopped on SIGTERM, without escalation', opts);
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive afterwards: ${describeProcs(left)}`);
});

t.test('connector vLLM crashing on its own (--sim-faults crash-after=2): error within 5 s of the crash with the exit code and the log tail', { timeout: 120_000 }, async (t) => {
  const e = await relEnv({ VLLM_EXTRA_ARGS: '--sim-faults crash-after=2' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  const vllmLog = join(e.resultsDir, 'logs', 'vllm-pegaflow.log');
  const crashed = await pollFor(() => (existsSync(vllmLog) && /crash-after=2 fault: served/.test(readFileSync(vllmLog, 'utf8')) ? performance.now() : undefined), 60_000);
  t.ok(crashed, 'the server logs its crash');
  const errored = await pollFor(() => (readResult(e.resultsDir, 'long-doc-qa')?.status === 'error' ? performance.now() : undefined), 15_000);
  const tookS = crashed && errored ? (errored - crashed) / 1000 : undefined;
  t.ok(tookS !== undefined && tookS <= 5, `long-doc-qa.result says error within 5 s of the crash (took ${tookS?.toFixed(2) ?? '?'} s)`);
  const exit = await run.waitForExit(90_000);
  const opts = { output: run.output().slice(-3000) };
  t.same(exit, { code: 3, signal: null }, 'exit code 3', opts);
  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.match(r?.message ?? '', /vllm-pegaflow exited unexpectedly \(exit code 1\)/, 'the message names the server and its exit code');
  t.match(r?.message ?? '', /last lines of the vllm-pegaflow log: .*crash-after=2 fault: served 2 completion request/, 'and the log tail shows why it died');
  t.equal(readOverall(e.resultsDir), 'FAILED', 'overall.result is FAILED');
  const { left } = await waitAllGone(e.base, e.ports, 10_000);
  t.same(left, [], `no process of ours is alive afterwards: ${describeProcs(left)}`);
});
