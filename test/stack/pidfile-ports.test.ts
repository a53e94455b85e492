import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from '../../src/config/args.ts';
import { resolveConfig } from '../../src/config/config.ts';
import { checkLiveness, readPidFiles, writePidFile, type PidFile } from '../../src/stack/pidfile.ts';
import { checkPort, describeBusyPort } from '../../src/stack/ports.ts';
import { isRunning, readCmdline, readStat } from '../../src/stack/proc.ts';
import { preflightPorts, reapStaleServers, silentObserver, StackError } from '../../src/stack/stack.ts';
import { spawnInGroup, stopGroup } from '../../src/stack/supervisor.ts';
import { freePort } from '../helpers/ports.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/procs/forking-server.mjs', import.meta.url));

function cfgWith(stateDir: string, env: Record<string, string> = {}) {
  return resolveConfig('run-all-tests', parseArgs('run-all-tests', []), {
    env: { MODEL: 'm', SHARE_GPT_DATASET: 'package.json', KVGATE_STATE_DIR: stateDir, STOP_TIMEOUT: '2', ...env },
    repoRoot: process.cwd(),
  });
}

t.test('a pid file identifies its process by pid, start time and command line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvgate-pid-'));
  const port = await freePort();
  const proc = await spawnInGroup({ name: 'vllm-pegaflow', command: process.execPath, args: [FIXTURE], env: { PORT: String(port) }, logFile: join(dir, 'l.log') });
  t.teardown(() => stopGroup(proc.pgid, 1));
  const rec = await writePidFile(join(dir, 'state'), proc, { ports: [port], resultsDir: dir, detached: true });
  t.same(checkLiveness(rec), { state: 'running' });
  t.equal(readPidFiles(join(dir, 'state')).length, 1);
  t.same(readdirSync(join(dir, 'pids')), ['vllm-pegaflow.json'], 'a copy goes to the results dir');
  t.equal(checkLiveness({ ...rec, startTicks: rec.startTicks - 1 }).state, 'pid-reused', 'a different start time means another process');
  t.equal(checkLiveness({ ...rec, cmdline: ['something', 'else'] }).state, 'pid-reused');
  await stopGroup(proc.pgid, 1);
  t.equal(checkLiveness(rec).state, 'gone');
});

t.test('a stale pid file whose pid now belongs to an unrelated process: that process survives', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'kvgate-state-'));
  // An unrelated long-running process that happens to have "our" pid.
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => bystander.kill('SIGKILL'));
  await sleep(100);
  const stat = readStat(bystander.pid!)!;
  const fake: PidFile = {
    version: 1,
    name: 'vllm-pegaflow',
    pid: bystander.pid!,
    pgid: stat.pgid,
    startTicks: stat.startTicks - 100, // our server started earlier; this pid was reused since
    cmdline: ['vllm', 'serve', 'm'],
    command: 'vllm',
    args: ['serve', 'm'],
    ports: [8000],
    logFile: '/x.log',
    resultsDir: '/x',
    startedAt: new Date().toISOString(),
    owner: { pid: 999999, startTicks: 1, detached: false },
  };
  writeFileSync(join(state, 'vllm-pegaflow-8000.json'), JSON.stringify(fake));
  const warnings: string[] = [];
  const reaped = await reapStaleServers(cfgWith(state), [8000], { ...silentObserver, warn: (m) => warnings.push(m) });
  t.same(reaped, [], 'nothing reaped');
  t.ok(isRunning(bystander.pid!), 'the unrelated process is still running');
  t.match(warnings.join('\n'), /now belongs to another process .* leaving that process alone/);
  t.same(readPidFiles(state), [], 'the stale file is removed');
});

t.test('a server whose harness died is reaped at the next start, and said so', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'kvgate-state-'));
  const port = await freePort();
  const proc = await spawnInGroup({ name: 'pegaflow-server', command: process.execPath, args: [FIXTURE], env: { PORT: String(port), GRANDCHILD: '1' }, logFile: join(state, 'l.log') });
  await sleep(300);
  const rec = await writePidFile(state, proc, { ports: [port], resultsDir: state, detached: false });
  // Pretend the owner is a harness that has since died.
  writeFileSync(join(state, `pegaflow-server-${port}.json`), JSON.stringify({ ...rec, owner: { pid: 999999, startTicks: 1, detached: false } }));
  const warnings: string[] = [];
  const reaped = await reapStaleServers(cfgWith(state), [], { ...silentObserver, warn: (m) => warnings.push(m) });
  t.equal(reaped.length, 1);
  t.match(warnings.join(), /stopping stale kvgate server pegaflow-server .*its harness \(pid 999999\) is gone/);
  t.notOk(isRunning(proc.pid));
  t.same(readPidFiles(state), []);
});

t.test('a server owned by a live harness on another port is left alone', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'kvgate-state-'));
  const port = await freePort();
  const proc = await spawnInGroup({ name: 'vllm-baseline', command: process.execPath, args: [FIXTURE], env: { PORT: String(port) }, logFile: join(state, 'l.log') });
  t.teardown(() => stopGroup(proc.pgid, 1));
  await sleep(300);
  await writePidFile(state, proc, { ports: [port], resultsDir: state, detached: false }); // owner = this test process, alive
  const reaped = await reapStaleServers(cfgWith(state), [port + 1], silentObserver);
  t.same(reaped, []);
  t.ok(isRunning(proc.pid));
  t.same(readCmdline(proc.pid)?.slice(-1), [FIXTURE]);
});

t.test('a port held by a foreign process fails the preflight naming port, env var and holder', async (t) => {
  const port = await freePort();
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(()=>{},1000)`], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  for (let i = 0; i < 50 && (await checkPort(port)).free; i++) await sleep(50);
  const status = await checkPort(port);
  t.notOk(status.free);
  if (status.free) return;
  t.equal(status.holders[0]?.pid, holder.pid, 'the holder is found through /proc');
  const msg = describeBusyPort({ port, envVar: 'VLLM_PORT', server: 'vllm-pegaflow' }, status);
  t.match(msg, new RegExp(`port ${port} for vllm-pegaflow is already in use by pid ${holder.pid} \\(.*node -e`));
  t.match(msg, /choose another port with VLLM_PORT/);
  const err = await preflightPorts([{ port, envVar: 'VLLM_PORT', server: 'vllm-pegaflow' }]).catch((e: unknown) => e);
  t.ok(err instanceof StackError);
  t.ok((await checkPort(await freePort())).free, 'a free port passes');
});
