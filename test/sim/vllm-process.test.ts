// The executable's process lifecycle: the EngineCore child, signals, exit codes,
// start-up delay, start-up failures.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/ports.ts';
import { alive, engineCorePid, exitWithin, MODEL, spawnVllm, startVllm, waitFor, waitForHealth } from './vllm-helpers.ts';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

t.test('an EngineCore child process runs while serving and is gone after SIGTERM; exit 0 within a second', async (t) => {
  const srv = await startVllm(t);
  const pid = engineCorePid(srv.child.stdout());
  t.ok(pid, 'the start-up log names the EngineCore pid');
  await waitFor(() => alive(pid!) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('VLLM::EngineCore'), 5_000, 'the EngineCore process title');
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`PPid:\\s+${srv.child.proc.pid}\\b`), 'a child of the API server');
  t.match(srv.child.stdout(), /\(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[api_server\.py:\d+\] Starting vLLM API server 0 on http:\/\/127\.0\.0\.1:\d+/, 'vLLM-style start-up line');
  t.match(srv.child.stdout(), /\(EngineCore_DP0 pid=\d+\) INFO .*Initializing a V1 LLM engine/, 'the child logs as EngineCore_DP0');
  const sent = performance.now();
  srv.child.proc.kill('SIGTERM');
  const { code } = await exitWithin(srv.child, 5_000);
  t.equal(code, 0);
  t.ok(performance.now() - sent < 1_000, `graceful stop under 1 s (took ${(performance.now() - sent).toFixed(0)} ms)`);
  t.notOk(alive(pid!), 'the EngineCore child is gone');
  t.equal(await portOpen(srv.port), false, 'port closed');
});

t.test('SIGINT stops it too, and the KV memory file is deleted', async (t) => {
  const srv = await startVllm(t);
  const files = readdirSync(tmpdir()).filter((f) => f.startsWith(`kvgate-sim-kv-vllm-sim-${srv.child.proc.pid}-`));
  t.equal(files.length, 1, 'the KV memory file exists while serving');
  srv.child.proc.kill('SIGINT');
  t.equal((await exitWithin(srv.child, 5_000)).code, 0);
  t.notOk(existsSync(join(tmpdir(), files[0]!)), 'deleted on exit');
});

t.test('SIGKILL of the API server leaves the EngineCore behind; a process-group kill removes it', async (t) => {
  const srv = await startVllm(t, [], {}, { detached: true });
  const pid = engineCorePid(srv.child.stdout())!;
  srv.child.proc.kill('SIGKILL');
  await exitWithin(srv.child, 5_000);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(alive(pid), 'the orphaned EngineCore survives its parent, like a real one');
  process.kill(-srv.child.proc.pid!, 'SIGKILL');
  await waitFor(() => !alive(pid), 5_000, 'the EngineCore to die');
  t.pass('killed with the process group');
});

t.test('the port opens only after --sim-startup-delay-s ("model loading")', async (t) => {
  const port = await freePort();
  const child = spawnVllm(t, ['serve', MODEL, '--host', '127.0.0.1', '--port', String(port), '--sim-startup-delay-s', '1.2']);
  await new Promise((r) => setTimeout(r, 600));
  t.equal(await portOpen(port), false, 'closed while loading');
  await waitForHealth(`http://127.0.0.1:${port}`, child);
  t.pass('healthy after the delay');
});

t.test('SIGTERM while loading stops the EngineCore child too', async (t) => {
  const port = await freePort();
  const child = spawnVllm(t, ['serve', MODEL, '--port', String(port), '--sim-startup-delay-s', '30']);
  await waitFor(() => engineCorePid(child.stdout()) !== undefined, 10_000, 'the EngineCore start');
  const pid = engineCorePid(child.stdout())!;
  child.proc.kill('SIGTERM');
  t.equal((await exitWithin(child, 5_000)).code, 0);
  t.notOk(alive(pid), 'no EngineCore left behind');
});

t.test('startup-fail fault: logs an error and exits 1 before the port opens', async (t) => {
  const port = await freePort();
  const child = spawnVllm(t, ['serve', MODEL, '--port', String(port), '--sim-startup-delay-s', '0'], { KVGATE_SIM_FAULTS: 'startup-fail' });
  const { code } = await exitWithin(child, 10_000);
  t.equal(code, 1);
  t.match(child.stdout(), /ERROR .*startup-fail fault/);
  t.equal(await portOpen(port), false);
});

t.test('a local model path that does not exist: exit 1 with vLLM\'s error', async (t) => {
  const child = spawnVllm(t, ['serve', '/nonexistent/kvgate/model', '--port', String(await freePort()), '--sim-startup-delay-s', '0']);
  t.equal((await exitWithin(child, 10_000)).code, 1);
  t.match(child.stdout(), /Invalid repository ID or local directory specified: '\/nonexistent\/kvgate\/model'/);
  const ok = await startVllm(t, ['--served-model-name', 'local'], {});
  t.ok(ok, 'a model name that is not a path needs nothing on disk');
  const dir = spawnVllm(t, ['serve', './', '--port', String(await freePort()), '--sim-startup-delay-s', '0']);
  await waitFor(() => /Starting vLLM API server/.test(dir.stdout()), 10_000, 'an existing local path to be served');
  t.pass('an existing local path is fine');
});

t.test('an unsupported kv_connector: exit 1 with the connector named', async (t) => {
  const child = spawnVllm(t, ['serve', MODEL, '--port', String(await freePort()), '--sim-startup-delay-s', '0', '--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}']);
  t.equal((await exitWithin(child, 10_000)).code, 1);
  t.match(child.stdout(), /Unsupported connector type: LMCacheConnectorV1/);
});
