// Processes that are not ours: a foreign server on one of our ports, and a
// stale pid file whose pid now belongs to an unrelated process. The harness
// must name the first and stop before starting anything, and never signal
// either of them.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PidFileSchema, type PidFile } from '../../src/stack/pidfile.ts';
import { isRunning, readStat } from '../../src/stack/proc.ts';
import { FIXTURES, ROOT, cleanEnv, firstLine, describeProcs, killAllOf, listDir, readOverall, readResult, relEnv, runScript, waitAllGone } from './harness.ts';

/** Starts a bystander in its own process group (so a wrong group kill would hit it), without our env. */
async function bystander(t: Test, command: string, args: string[], env: Record<string, string> = {}): Promise<ChildProcess & { pid: number }> {
  const child = spawn(command, args, { env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  await once(child, 'spawn');
  const pid = child.pid!;
  t.teardown(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  return Object.assign(child, { pid });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

for (const envVar of ['VLLM_PORT', 'PEGA_METRICS_PORT'] as const) {
  t.test(`a foreign process on ${envVar}: the run fails before starting any server, naming the port, ${envVar} and the holder; the holder survives`, { timeout: 60_000 }, async (t) => {
    const e = await relEnv();
    t.teardown(() => void killAllOf(e.base, e.ports));
    const port = Number(e.env[envVar]);
    const holder = await bystander(t, process.execPath, [join(FIXTURES, 'port-holder.mjs')], { PORT: String(port) });
    t.equal(await firstLine(holder), `listening ${port}`, `the foreign server holds ${port}`);

    const t0 = performance.now();
    const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
    const exit = await run.waitForExit(60_000);
    const tookS = (performance.now() - t0) / 1000;
    const out = run.output();
    t.same(exit, { code: 3, signal: null }, `exit code 3 (infrastructure), after ${tookS.toFixed(1)} s`, { output: out.slice(-3000) });
    const holderRe = new RegExp(`port ${port} for [\\w()\\s-]+ is already in use by pid ${holder.pid} \\(\\S*node [^)]*port-holder\\.mjs\\); stop it or choose another port with ${envVar}`);
    t.match(out, holderRe, 'the message names the port, the holder\'s pid and command, and the env var');
    const r = readResult(e.resultsDir, 'long-doc-qa');
    t.equal(r?.status, 'error', 'long-doc-qa.result: status error');
    t.match(r?.message ?? '', holderRe, 'with the same message');
    t.equal(readOverall(e.resultsDir), 'FAILED', 'overall.result: FAILED');
    t.notMatch(out, /starting (pegaflow-server|vllm)/, 'no server was started');
    const logs = listDir(join(e.resultsDir, 'logs'));
    t.same(logs.filter((l) => l !== 'lifeline.log'), [], `no server log was created (logs/: ${logs.join(', ')})`);
    t.same(listDir(e.stateDir), [], 'no pid file was written');
    t.ok(isRunning(holder.pid), 'the foreign process is still running');
    t.ok(await portAnswers(port), 'and still answers on its port');
    const { left } = await waitAllGone(e.base, e.ports, 5_000, [holder.pid]);
    t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
  });
}

t.test('stale pid files whose pids now belong to unrelated processes: those processes survive and the run proceeds', { timeout: 120_000 }, async (t) => {
  const e = await relEnv();
  t.teardown(() => void killAllOf(e.base, e.ports));
  // Two unrelated `sleep`s, each the leader of its own group: a wrong kill of the recorded pgid would hit them.
  const sleepA = await bystander(t, 'sleep', ['300']);
  const sleepB = await bystander(t, 'sleep', ['300']);
  // A harness that is gone: a process that ran and exited.
  const gone = spawn('true');
  await once(gone, 'exit');
  const ticks = (pid: number) => readStat(pid)?.startTicks ?? 0;
  const vllmPort = Number(e.env['VLLM_PORT']);
  const pegaPort = Number(e.env['PEGA_PORT']);
  const oldDir = join(e.base, 'old-results');
  const record = (name: string, pid: number, startTicks: number, ports: number[], cmdline: string[]): PidFile =>
    PidFileSchema.parse({
      version: 1,
      name,
      pid,
      pgid: pid,
      startTicks,
      cmdline,
      command: cmdline[0],
      args: cmdline.slice(1),
      ports,
      logFile: join(oldDir, 'logs', `${name}.log`),
      resultsDir: oldDir,
      startedAt: new Date(Date.now() - 3_600_000).toISOString(),
      owner: { pid: gone.pid!, startTicks: 1, detached: false },
    });
  const vllmCmd = [process.execPath, join(ROOT, 'src/sim/bin/vllm.ts'), 'serve', 'kvgate/sim-qwen3-8b', '--port', String(vllmPort)];
  const pegaCmd = [process.execPath, join(ROOT, 'src/sim/bin/pegaflow-server.ts'), '--addr', `127.0.0.1:${pegaPort}`];
  mkdirSync(e.stateDir, { recursive: true });
  // A: the pid was reused by a later process (different start time).
  writeFileSync(join(e.stateDir, `vllm-pegaflow-${vllmPort}.json`), JSON.stringify(record('vllm-pegaflow', sleepA.pid, ticks(sleepA.pid) + 1000, [vllmPort], vllmCmd), null, 2) + '\n');
  // B: same start time (as if recorded at the same tick) but a different command line.
  writeFileSync(join(e.stateDir, `pegaflow-server-${pegaPort}.json`), JSON.stringify(record('pegaflow-server', sleepB.pid, ticks(sleepB.pid), [pegaPort], pegaCmd), null, 2) + '\n');

  const run = runScript('run-all-tests.ts', ['--stack', 'sim', '--long-doc-only', '--quick'], e.env);
  const exit = await run.waitForExit(90_000);
  const out = run.output();
  const opts = { output: out.slice(-4000) };
  t.ok(isRunning(sleepA.pid), 'the process now holding the reused pid (other start time) is alive');
  t.ok(isRunning(sleepB.pid), 'the process now holding the reused pid (other command line) is alive');
  t.match(out, new RegExp(`pid file \\S+vllm-pegaflow-${vllmPort}\\.json is stale and its pid now belongs to another process \\(pid ${sleepA.pid} now started at tick \\d+, ours at \\d+\\); leaving that process alone`), 'warns about the reused pid (start time)', opts);
  t.match(out, new RegExp(`pid file \\S+pegaflow-server-${pegaPort}\\.json is stale and its pid now belongs to another process \\(pid ${sleepB.pid} now runs sleep 300\\); leaving that process alone`), 'warns about the reused pid (command line)', opts);
  t.notMatch(out, /stopping stale kvgate server/, 'stops nothing', opts);
  t.ok(exit.code === 0 || exit.code === 1, `the run proceeds to a verdict (exit ${exit.code})`, opts);
  const r = readResult(e.resultsDir, 'long-doc-qa');
  t.ok(r && r.status !== 'error' && r.status !== 'interrupted', `long-doc-qa ran and was judged (${r?.status}: ${r?.message})`);
  t.equal(r?.metrics['failed_requests'], '0', 'every request was served');
  t.same(listDir(e.stateDir), [], 'the stale pid files were removed, and the run cleaned up its own');
  const { left } = await waitAllGone(e.base, e.ports, 10_000, [sleepA.pid, sleepB.pid]);
  t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
});
