// A hung server: healthy on /health and /metrics, but its completions never
// finish. The single-test script (ci/run-long-doc-qa.ts) runs against servers
// that are already up, found through the same env vars (VLLM_PORT,
// PEGA_METRICS_PORT), so a plain fixture server can stand in for both.
// Requests must end at REQUEST_TIMEOUT and be counted as timeouts, and a test
// that cannot finish must end at TEST_TIMEOUT: never a hang.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '../../src/stack/proc.ts';
import { FIXTURES, cleanEnv, firstLine, describeProcs, killAllOf, readOverall, readResult, relEnv, runScript, waitAllGone, type RelEnv } from './harness.ts';

interface PassFile {
  pass: { requests: number; failed: number; errorsByKind: Record<string, number> };
  records: { ok: boolean; error?: { kind: string; message: string } }[];
}

/** Starts the hung server on VLLM_PORT and PEGA_METRICS_PORT; resolves once both are bound. */
async function startHungServer(t: Test, e: RelEnv, mode: 'silent' | 'mid-stream'): Promise<number> {
  const ports = [e.env['VLLM_PORT'], e.env['PEGA_METRICS_PORT']].join(',');
  const child = spawn(process.execPath, [join(FIXTURES, 'hung-server.mjs')], { env: cleanEnv({ PORTS: ports, HANG_MODE: mode }), detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid!;
  t.teardown(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  t.equal(await firstLine(child), `listening ${ports}`, 'the hung server answers /health on the vLLM and PegaFlow ports');
  return pid;
}

const where = { silent: 'waiting for the response headers', 'mid-stream': 'mid-stream after 1 chunk\\(s\\)' } as const;

for (const mode of ['silent', 'mid-stream'] as const) {
  t.test(`completions that never ${mode === 'silent' ? 'answer' : 'finish (one token, then silence)'}: every request ends at REQUEST_TIMEOUT as a timeout error and the test fails naming it`, { timeout: 90_000 }, async (t) => {
    const e = await relEnv({ REQUEST_TIMEOUT: '2', LONG_DOC_NUM_REQUESTS: '2', LONG_DOC_REQUEST_RATE: '100' });
    t.teardown(() => void killAllOf(e.base, e.ports));
    const server = await startHungServer(t, e, mode);
    const run = runScript('run-long-doc-qa.ts', ['--skip-baseline'], e.env);
    const exit = await run.waitForExit(60_000); // two passes of 2 s each; a hang fails here
    const opts = { output: run.output().slice(-3000) };
    t.same(exit, { code: 1, signal: null }, 'exit code 1: the test failed', opts);
    const r = readResult(e.resultsDir, 'long-doc-qa');
    t.equal(r?.status, 'fail', 'long-doc-qa.result: status fail');
    t.match(r?.message ?? '', /^4\/4 requests failed \(timeout 4\)/, 'the message counts the requests as timeouts');
    t.equal(r?.metrics['failed_requests'], '4', 'metric.failed_requests: 4');
    t.equal(readOverall(e.resultsDir), 'FAILED', 'overall.result: FAILED');
    for (const pass of ['pegaflow_pass1', 'pegaflow_pass2']) {
      const p = JSON.parse(readFileSync(join(e.resultsDir, 'long_doc_qa', `${pass}.json`), 'utf8')) as PassFile;
      t.same(p.pass.errorsByKind, { timeout: 2 }, `${pass}: both requests counted as timeouts`);
      for (const rec of p.records) {
        t.match(rec.error?.message ?? '', new RegExp(`request timed out after 2 s \\(REQUEST_TIMEOUT\\) ${where[mode]}: POST http://127\\.0\\.0\\.1:\\d+/v1/completions`), `${pass}: the record says which timeout, when and where`);
      }
    }
    t.ok(isRunning(server), 'the server, not ours, is left running');
    const { left } = await waitAllGone(e.base, e.ports, 5_000, [server]);
    t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
  });
}

t.test('a test that cannot finish within TEST_TIMEOUT (requests would wait 300 s) ends with error naming TEST_TIMEOUT; exit 3', { timeout: 90_000 }, async (t) => {
  const e = await relEnv({ REQUEST_TIMEOUT: '300', TEST_TIMEOUT: '3', LONG_DOC_NUM_REQUESTS: '2', LONG_DOC_REQUEST_RATE: '100' });
  t.teardown(() => void killAllOf(e.base, e.ports));
  const server = await startHungServer(t, e, 'silent');
  const run = runScript('run-long-doc-qa.ts', ['--skip-baseline'], e.env);
  const exit = await run.waitForExit(60_000);
  const opts = { output: run.output().slice(-3000) };
  t.same(exit, { code: 3, signal: null }, 'exit code 3: the test could not be judged', opts);
  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.equal(r?.status, 'error', 'long-doc-qa.result: status error');
  t.match(r?.message ?? '', /timed out: test long-doc-qa \(TEST_TIMEOUT\) exceeded 3s/, 'the message names TEST_TIMEOUT and its value');
  t.equal(readOverall(e.resultsDir), 'FAILED', 'overall.result: FAILED');
  t.ok(isRunning(server), 'the server, not ours, is left running');
  const { left } = await waitAllGone(e.base, e.ports, 5_000, [server]);
  t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
});
