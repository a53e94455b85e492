import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, ALL_ROLES, reapStaleServers, silentObserver } from '../../src/stack/stack.ts';
import { createResultsDir } from '../../src/results/layout.ts';
import { readPidFiles } from '../../src/stack/pidfile.ts';
import { allStats, isRunning } from '../../src/stack/proc.ts';
import { httpOk } from '../../src/stack/readiness.ts';
import { checkEngineHealth } from '../../src/grpc/engine.ts';
import { simConfig, simEnv } from '../helpers/sim-config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

t.test('the sim stack starts through the normal launchers and stops leaving no process', async (t) => {
  const { env } = await simEnv();
  const cfg = simConfig('start-servers', ['start-all'], env);
  createResultsDir(cfg.results.dir, true);
  const started: string[] = [];
  const stack = await startStack(cfg, { roles: ALL_ROLES, detached: false, observer: { ...silentObserver, serverReady: (r) => started.push(r) } });
  t.teardown(() => stack.stop());
  t.same([...started].sort(), [...ALL_ROLES].sort(), 'all three became ready');
  t.ok(started.indexOf('pegaflow-server') < started.indexOf('vllm-pegaflow'), 'the connector vLLM starts once PegaFlow is ready');
  t.ok((await httpOk(`http://127.0.0.1:${cfg.ports.vllm}/health`)).ready);
  t.same(await checkEngineHealth(`127.0.0.1:${cfg.ports.pegaGrpc}`), { ok: true }, 'gRPC Engine.Health through our proto');
  t.equal(readPidFiles(cfg.results.stateDir).length, 3, 'one pid file per server');
  const logs = readFileSync(join(cfg.results.dir, 'logs', 'vllm-pegaflow.log'), 'utf8');
  t.match(logs, /kv-transfer-config|PegaKVConnector|Starting vLLM API server/, 'server output goes to its log file');
  const groups = [...stack.servers.values()].map((s) => s.proc.pgid);
  const problems = await stack.stop();
  t.same(problems, []);
  const left = allStats().filter((s) => groups.includes(s.pgid) && s.state !== 'Z');
  t.same(left, [], 'no process of any server group is left (EngineCore children included)');
  t.same(readPidFiles(cfg.results.stateDir), [], 'pid files removed');
});

t.test('a server that fails at start-up fails the start at once with its log tail; the others are stopped', async (t) => {
  const { env } = await simEnv({ VLLM_EXTRA_ARGS: '--sim-faults startup-fail' });
  const cfg = simConfig('start-servers', ['start-all'], env);
  createResultsDir(cfg.results.dir, true);
  const t0 = performance.now();
  const err = (await startStack(cfg, { roles: ALL_ROLES, detached: false }).catch((e: unknown) => e)) as Error & { logTail?: string };
  t.match(err.message, /vllm-pegaflow exited while starting \(exit code 1\)/);
  t.ok(err.logTail && err.logTail.length > 0, 'carries the log tail');
  t.ok((performance.now() - t0) / 1000 < 30, 'fails fast');
  await sleep(200);
  for (const port of [cfg.ports.baseline, cfg.ports.pegaHttp]) t.notOk((await httpOk(`http://127.0.0.1:${port}/health`)).ready, `nothing left listening on ${port}`);
});

t.test('harness killed with SIGKILL: the lifeline stops its servers, and the next start reclaims nothing', async (t) => {
  const { env } = await simEnv({ RESULTS_DIR: '' });
  env['RESULTS_DIR'] = join(env['KVGATE_STATE_DIR']!, '..', 'results');
  const harness = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/procs/start-stack-and-wait.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  harness.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300 && !out.includes('\n'); i++) await sleep(100);
  const info = JSON.parse(out.split('\n')[0]!) as { pids: { role: string; pid: number; pgid: number }[]; watchdog: number };
  t.equal(info.pids.length, 3);
  for (const p of info.pids) t.ok(isRunning(p.pid), `${p.role} running`);
  harness.kill('SIGKILL');
  const t0 = performance.now();
  let alive = info.pids;
  while (alive.length && performance.now() - t0 < 10_000) {
    await sleep(100);
    alive = alive.filter((p) => allStats().some((s) => s.pgid === p.pgid && s.state !== 'Z'));
  }
  const tookS = (performance.now() - t0) / 1000;
  t.same(alive, [], `every server group is gone (${tookS.toFixed(1)}s after the SIGKILL)`);
  t.ok(tookS <= 5, 'within 5 s');
  // The watchdog stops the groups first, then exits; give it a moment.
  for (let i = 0; i < 50 && isRunning(info.watchdog); i++) await sleep(100);
  t.notOk(isRunning(info.watchdog), 'the watchdog exits too');
  const lifelineLog = readFileSync(join(env['RESULTS_DIR']!, 'logs', 'lifeline.log'), 'utf8');
  t.match(lifelineLog, /harness gone; stopping process groups/);
  const warnings: string[] = [];
  const reaped = await reapStaleServers(simConfig('start-servers', ['start-all'], env), [], { ...silentObserver, warn: (m) => warnings.push(m) });
  t.same(reaped, [], 'nothing left for the next run to reclaim');
});
