import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnInGroup, stopGroup, waitReady, ServerStartError, treeOf, pollIntervalsMs, SpawnError } from '../../src/stack/supervisor.ts';
import { httpProbe } from '../../src/stack/readiness.ts';
import { isRunning } from '../../src/stack/proc.ts';
import { freePort } from '../helpers/ports.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/procs/forking-server.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kvgate-sup-'));

function spec(name: string, env: Record<string, string>) {
  return { name, command: process.execPath, args: [FIXTURE], env, logFile: join(tmp, `${name}.log`) };
}

t.test('readiness: waits until /health answers 200, polling fast at first', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('slow-ready', { PORT: String(port), READY_AFTER_MS: '700' }));
  t.teardown(() => stopGroup(proc.pgid, 2));
  const polls: number[] = [];
  const elapsed = await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), {
    timeoutS: 20,
    maxIntervalS: 1,
    onPoll: (s) => polls.push(s),
  });
  t.ok(elapsed >= 0.7, `ready only after the server says so (${elapsed.toFixed(2)}s)`);
  t.ok(polls.length >= 3, `polled several times before ready (${polls.length})`);
});

t.test('poll intervals start at 100 ms and back off to the cap', async (t) => {
  const next = pollIntervalsMs(1);
  const seq = Array.from({ length: 10 }, next);
  t.equal(seq[0], 100);
  t.ok(seq.slice(0, 3).every((ms) => ms <= 250), `first polls <= 250 ms apart: ${seq.slice(0, 3)}`);
  t.equal(Math.max(...seq), 1000, 'capped at HEALTH_CHECK_INTERVAL');
});

t.test('a process that exits while starting fails the start at once, with the last 40 log lines', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('early-exit', { PORT: String(port), READY_AFTER_MS: '60000', EXIT_AFTER_MS: '300', EXIT_CODE: '7', LOG_LINES: '60' }));
  const started = performance.now();
  const err = await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 60, maxIntervalS: 5 }).catch((e: unknown) => e);
  const took = (performance.now() - started) / 1000;
  t.ok(err instanceof ServerStartError, 'rejects with ServerStartError');
  const e = err as ServerStartError;
  t.equal(e.reason, 'exited');
  t.match(e.message, /exit code 7/);
  t.ok(took < 10, `noticed the exit long before the 60 s timeout (${took.toFixed(1)}s)`);
  const lines = e.logTail.split('\n');
  t.equal(lines.length, 40, 'exactly the last 40 lines');
  t.equal(lines.at(-1), 'fixture: fatal error, exiting', 'ends with the last thing the server said');
  t.notOk(e.logTail.includes('fixture log line 1\n'), 'older lines are cut');
  t.notMatch(e.message, /hint:/, 'no hint for last words nobody knows');
});

t.test('a known cause of death in the log tail adds its hint to the start failure', async (t) => {
  const logFile = join(tmp, 'port-taken.log');
  const proc = await spawnInGroup({ name: 'port-taken', command: 'sh', args: ['-c', 'echo "OSError: [Errno 98] Address already in use"; exit 1'], env: {}, logFile });
  const err = await waitReady(proc, async () => ({ ready: false, detail: 'no answer' }), { timeoutS: 60, maxIntervalS: 1 }).catch((e: unknown) => e);
  t.ok(err instanceof ServerStartError);
  t.match((err as Error).message, /port-taken exited while starting \(exit code 1\).*; hint: a port it needs is taken: .*VLLM_PORT/);
});

t.test('a server that never gets ready fails at the startup timeout, naming it', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('never-ready', { PORT: String(port), READY_AFTER_MS: '600000' }));
  t.teardown(() => stopGroup(proc.pgid, 2));
  const err = (await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 1, maxIntervalS: 0.2 }).catch((e: unknown) => e)) as ServerStartError;
  t.equal(err.reason, 'timeout');
  t.match(err.message, /not ready after 1s \(SERVER_STARTUP_TIMEOUT\)/);
  t.match(err.message, /answered 503/, 'says what the last check saw');
});

t.test('stop leaves no process of the group alive, grandchild included', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('forker', { PORT: String(port), GRANDCHILD: '1' }));
  await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 20, maxIntervalS: 0.2 });
  await sleep(200);
  const before = treeOf(proc.pgid);
  t.ok(before.length >= 2, `server and grandchild in the group (${before.map((p) => p.pid)})`);
  const res = await stopGroup(proc.pgid, 1);
  t.same(res.survivors, [], 'nothing survives');
  t.ok(res.escalated, 'the grandchild ignores SIGTERM, so the stop escalated to SIGKILL');
  for (const p of before) t.notOk(isRunning(p.pid), `pid ${p.pid} is gone`);
});

t.test('stop also finds a descendant that moved to its own session', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('setsid-forker', { PORT: String(port), GRANDCHILD_SETSID: '1' }));
  await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 20, maxIntervalS: 0.2 });
  await sleep(200);
  const log = readFileSync(proc.spec.logFile, 'utf8');
  const gpid = Number(/grandchild pid (\d+)/.exec(log)?.[1]);
  t.ok(gpid > 0 && isRunning(gpid), 'grandchild running in another session');
  const res = await stopGroup(proc.pgid, 1);
  t.same(res.survivors, []);
  t.notOk(isRunning(gpid), 'found through ancestry and stopped');
});

t.test('SIGTERM is enough for a well-behaved server (no escalation)', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('polite', { PORT: String(port) }));
  await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 20, maxIntervalS: 0.2 });
  const res = await stopGroup(proc.pgid, 5);
  t.notOk(res.escalated);
  const exit = await proc.exited;
  t.equal(exit.code, 0);
});

t.test('a server that stops cleanly only on SIGINT (as pegaflow-server) needs no escalation when SIGINT is its stop signal', async (t) => {
  const port = await freePort();
  const proc = await spawnInGroup(spec('sigint-only', { PORT: String(port), IGNORE_SIGTERM: '1' }));
  await waitReady(proc, httpProbe(`http://127.0.0.1:${port}/health`), { timeoutS: 20, maxIntervalS: 0.2 });
  const res = await stopGroup(proc.pgid, 5, proc.pid, 'SIGINT');
  t.notOk(res.escalated, 'stopped by SIGINT within the grace period');
  t.same(res.survivors, []);
  t.equal((await proc.exited).signal, 'SIGINT');
});

t.test('a missing executable is reported by name', async (t) => {
  const err = await spawnInGroup({ name: 'ghost', command: '/nonexistent/vllm', args: [], env: {}, logFile: join(tmp, 'ghost.log') }).catch((e: unknown) => e);
  t.ok(err instanceof SpawnError);
  t.match((err as Error).message, /cannot start ghost: \/nonexistent\/vllm: not found/);
});
