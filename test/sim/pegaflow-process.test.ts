// The executable as a child process: exit codes and lifecycle.
import { connect } from 'node:net';
import t from 'tap';
import { createEngineClient } from '../../src/grpc/engine.ts';
import { freePorts } from '../helpers/ports.ts';
import { exitWithin, hashOf, kvFile, registerRequest, saveRequest, spawnSim, waitForHealth } from './pegaflow-helpers.ts';

async function addrs(startupDelayS = 0) {
  const [grpcPort, httpPort] = await freePorts(2);
  return {
    args: ['--addr', `127.0.0.1:${grpcPort}`, '--http-addr', `127.0.0.1:${httpPort}`, '--pool-size', '64mb', '--sim-startup-delay-s', String(startupDelayS)],
    grpc: `127.0.0.1:${grpcPort}`,
    http: `http://127.0.0.1:${httpPort}`,
    httpPort: httpPort!,
    grpcPort: grpcPort!,
  };
}

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

t.test('SIGTERM stops the server promptly with exit code 0', async (t) => {
  const a = await addrs();
  const child = spawnSim(t, a.args);
  await waitForHealth(a.http, child);
  t.match(child.stdout(), /INFO pegaflow_server: gRPC server \(pegaflow.Engine\) listening on 127\.0\.0\.1:\d+/, 'startup is logged with the resolved addresses');
  t.match(child.stdout(), /Pinned memory pool: 0\.06 GiB \(67108864 bytes\)/);
  const sent = performance.now();
  child.proc.kill('SIGTERM');
  const { code } = await exitWithin(child, 5_000);
  t.equal(code, 0);
  t.ok(performance.now() - sent < 3_000, 'exits well within the harness stop timeout');
  t.equal(await portOpen(a.httpPort), false, 'HTTP port closed');
});

t.test('SIGINT stops the server with exit code 0 too', async (t) => {
  const a = await addrs();
  const child = spawnSim(t, a.args);
  await waitForHealth(a.http, child);
  child.proc.kill('SIGINT');
  t.equal((await exitWithin(child, 5_000)).code, 0);
});

t.test('the Shutdown RPC answers ok, then the process exits 0', async (t) => {
  const a = await addrs();
  const child = spawnSim(t, a.args);
  await waitForHealth(a.http, child);
  const client = createEngineClient(a.grpc);
  t.teardown(() => client.close());
  t.equal((await client.call('Shutdown', {})).status?.ok, true);
  t.equal((await exitWithin(child, 5_000)).code, 0);
});

t.test('crash-after=N makes the process exit 1 after N RPCs other than Health, saying why', async (t) => {
  const a = await addrs();
  const child = spawnSim(t, [...a.args, '--sim-faults', 'crash-after=2']);
  await waitForHealth(a.http, child);
  const client = createEngineClient(a.grpc, 3_000);
  t.teardown(() => client.close());
  for (let i = 0; i < 3; i++) t.equal((await client.call('Health', {})).status?.ok, true, 'Health does not count');
  const path = kvFile(t, 4);
  t.equal((await client.call('RegisterContextBatch', registerRequest('i', path, 4))).status?.ok, true, 'RPC 1 answered');
  t.equal((await client.call('Save', saveRequest('i', [0], [hashOf('a')]))).status?.ok, true, 'RPC 2 answered');
  const { code } = await exitWithin(child, 5_000);
  t.equal(code, 1);
  t.match(child.stdout(), /ERROR pegaflow_server: crash-after=2 fault/);
});

t.test('crash-after read from KVGATE_SIM_FAULTS works the same', async (t) => {
  const a = await addrs();
  const child = spawnSim(t, a.args, { KVGATE_SIM_FAULTS: 'crash-after=0' });
  await waitForHealth(a.http, child);
  const client = createEngineClient(a.grpc, 3_000);
  t.teardown(() => client.close());
  await t.rejects(client.call('UnregisterContext', { instanceId: 'x' }), 'the first counted RPC gets no answer');
  t.equal((await exitWithin(child, 5_000)).code, 1);
});

t.test('startup-fail logs an error and exits 1 before any port opens', async (t) => {
  const a = await addrs(0.5);
  const child = spawnSim(t, [...a.args, '--sim-faults', 'startup-fail']);
  const { code } = await exitWithin(child, 20_000);
  t.equal(code, 1);
  t.match(child.stdout(), /ERROR pegaflow_server: startup-fail fault/);
  t.notMatch(child.stdout(), /listening on/);
});

t.test('the ports open only after --sim-startup-delay-s', async (t) => {
  const a = await addrs(3);
  const child = spawnSim(t, a.args);
  // Wait for the start-up log (node and tsx start first), then check the ports are still closed.
  const deadline = performance.now() + 20_000;
  while (!/Simulation: /.test(child.stdout()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(child.stdout(), /startup_delay_s=3/);
  t.equal(await portOpen(a.httpPort), false, 'HTTP closed during the delay');
  t.equal(await portOpen(a.grpcPort), false, 'gRPC closed during the delay');
  await waitForHealth(a.http, child);
  t.equal(await portOpen(a.grpcPort), true);
});

t.test('a port in use makes start-up fail with exit code 1 and a message naming the flag', async (t) => {
  const a = await addrs();
  const first = spawnSim(t, a.args);
  await waitForHealth(a.http, first);
  const second = spawnSim(t, a.args);
  t.equal((await exitWithin(second, 20_000)).code, 1);
  t.match(second.stdout(), /cannot listen for HTTP on 127\.0\.0\.1:\d+ \(--http-addr\/--metrics-addr\)/);
});
