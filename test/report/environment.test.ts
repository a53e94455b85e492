import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { captureEnvironment, EnvironmentSchema, parseNvidiaSmi, readEnvironment, resolveLmEval, runToolProbe, shebangInterpreter, type ProbeFn } from '../../src/env/capture.ts';
import { EnvironmentReporter } from '../../src/report/environment.ts';
import { EnvironmentCapture } from '../../src/report/source.ts';
import { drive, fakeProbe } from './fixtures/drive.ts';
import { makeConfig, passingFixture } from './fixtures/outcomes.ts';

t.test('nvidia-smi CSV lines become GPUs', async (t) => {
  t.same(parseNvidiaSmi('NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\nNVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\n'), [
    { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotal: '81559 MiB', driverVersion: '550.54.15' },
    { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryTotal: '81559 MiB', driverVersion: '550.54.15' },
  ]);
  t.same(parseNvidiaSmi(''), []);
});

t.test('a probe tells ok, absent, failed and timeout apart and never throws', async (t) => {
  const ok = await runToolProbe(async () => ({ ok: true, exitCode: 0, stdout: '\nvllm 0.12.0\n', stderr: '', timedOut: false }), 'vllm', ['--version'], 5);
  t.same({ status: ok.status, version: ok.version, command: ok.command }, { status: 'ok', version: 'vllm 0.12.0', command: ['vllm', '--version'] });
  const absent = await runToolProbe(async () => ({ ok: false, exitCode: 127, stdout: '', stderr: 'bash: vllm: command not found\n', timedOut: false }), 'vllm', [], 5);
  t.equal(absent.status, 'absent');
  t.match(absent.detail, /command not found/);
  const failed = await runToolProbe(async () => ({ ok: false, exitCode: 2, stdout: '', stderr: 'error: unexpected argument --version\n', timedOut: false }), 'x', [], 5);
  t.same([failed.status, failed.detail], ['failed', 'exit 2: error: unexpected argument --version']);
  const slow = await runToolProbe(async () => ({ ok: false, exitCode: null, stdout: '', stderr: '', timedOut: true }), 'x', [], 5);
  t.equal(slow.status, 'timeout');
  const thrown = await runToolProbe(async () => {
    throw new Error('spawn EACCES');
  }, 'x', [], 5);
  t.same([thrown.status, thrown.detail], ['absent', 'spawn EACCES']);
});

t.test('capture with real probes: missing binaries are recorded as absent, never fatal', async (t) => {
  const { cfg } = makeConfig([], { VLLM_BIN: '/nonexistent/vllm', PEGAFLOW_BIN: '/nonexistent/pegaflow-server', LM_EVAL_BIN: '/nonexistent/lm_eval' });
  const t0 = performance.now();
  const env = await captureEnvironment(cfg, { timeoutS: 10 });
  t.ok(performance.now() - t0 < 15000, 'bounded');
  t.ok(EnvironmentSchema.safeParse({ ...env, servers: [] }).success, 'fits the schema');
  t.equal(env.tools['vllm']?.status, 'absent');
  t.same(env.tools['vllm']?.command, ['/nonexistent/vllm', '--version'], 'the binary the run uses, from the config');
  t.equal(env.tools['pegaflow-server']?.status, 'absent');
  t.not(env.tools['lm_eval']?.status, 'ok');
  t.equal(env.node.version, process.version);
  t.equal(env.harness.version, '9.9.9-test', 'version from package.json of the repo root');
  t.equal(env.harness.gitSha, undefined, 'not a git checkout: no sha');
  t.ok(env.os.cpus > 0);
});

t.test('the sim pegaflow-server answers --version through the same probe', async (t) => {
  const { cfg } = makeConfig(['--stack', 'sim'], { PEGAFLOW_BIN: join(process.cwd(), 'src/sim/bin/pegaflow-server.ts') });
  const env = await captureEnvironment(cfg, { timeoutS: 20 });
  t.equal(env.tools['pegaflow-server']?.status, 'ok');
  t.equal(env.tools['pegaflow-server']?.version, 'pega-engine-server 0.25.1-kvgate-sim');
});

t.test('the real pegaflow-server (KVGATE_REAL_PEGAFLOW) answers --version through the same probe', { skip: process.env['KVGATE_REAL_PEGAFLOW'] ? false : 'KVGATE_REAL_PEGAFLOW not set' }, async (t) => {
  const { cfg } = makeConfig([], { PEGAFLOW_BIN: process.env['KVGATE_REAL_PEGAFLOW']! });
  const env = await captureEnvironment(cfg, { timeoutS: 20 });
  t.equal(env.tools['pegaflow-server']?.status, 'ok');
  t.match(env.tools['pegaflow-server']?.version, /^pega-engine-server \d+\.\d+\.\d+$/);
});

t.test('probes run concurrently: total time is about the slowest, not the sum', async (t) => {
  const { cfg } = makeConfig();
  let inFlight = 0;
  let maxInFlight = 0;
  const slowProbe: ProbeFn = async (c, a, s) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 200));
    inFlight--;
    return fakeProbe(c, a, s);
  };
  const t0 = performance.now();
  const env = await captureEnvironment(cfg, { probe: slowProbe });
  const took = performance.now() - t0;
  t.ok(maxInFlight >= 6, `probes overlapped (${maxInFlight} at once)`);
  t.ok(took < 1000, `took ${took.toFixed(0)} ms for 7 probes of 200 ms`);
  t.same(env.gpus.map((g) => g.name), ['NVIDIA H100 80GB HBM3']);
  t.equal(env.tools['nvidia-smi']?.version, '1 GPU(s), driver 550.54.15');
  t.equal(env.harness.gitSha, '0123456789abcdef0123456789abcdef01234567');
  t.equal(env.harness.gitDirty, false);
});

t.test('lm_eval: found through LM_EVAL_BIN / PATH / venv; its version read through the interpreter of its script', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvgate-lm-'));
  mkdirSync(join(dir, 'bin'));
  const script = join(dir, 'bin', 'lm_eval');
  writeFileSync(script, '#!/opt/venv/bin/python3\nimport sys\n');
  chmodSync(script, 0o755);
  t.equal(shebangInterpreter(script), '/opt/venv/bin/python3');
  const { cfg } = makeConfig([], { LM_EVAL_VENV: dir });
  t.equal(resolveLmEval(cfg, '/nonexistent'), script, 'the venv’s lm_eval when none is on PATH');
  t.equal(resolveLmEval(cfg, join(dir, 'bin')), script, 'on PATH');
  const calls: string[][] = [];
  const probe: ProbeFn = async (c, a, s) => {
    calls.push([c, ...a]);
    return c === '/opt/venv/bin/python3' ? { ok: true, exitCode: 0, stdout: 'lm_eval 0.4.9\n', stderr: '', timedOut: false } : fakeProbe(c, a, s);
  };
  const env = await captureEnvironment(cfg, { probe, pathEnv: '/nonexistent' });
  t.equal(env.tools['lm_eval']?.version, 'lm_eval 0.4.9');
  t.ok(calls.some((c) => c[0] === '/opt/venv/bin/python3' && c[1] === '-c'));
});

t.test('env.json is written at the end with the exact server command lines, and reads back', async (t) => {
  const f = passingFixture();
  const capture = new EnvironmentCapture({ probe: fakeProbe });
  t.same(await drive([new EnvironmentReporter(capture)], f.outcome), []);
  const env = readEnvironment(f.dir);
  t.same(
    env.servers.map((s) => s.commandLine),
    f.outcome.servers.map((s) => s.commandLine),
  );
  t.equal(JSON.parse(readFileSync(join(f.dir, 'env.json'), 'utf8')).schemaVersion, 1);
  writeFileSync(join(f.dir, 'env.json'), JSON.stringify({ ...env, gpus: 'many' }));
  t.throws(() => readEnvironment(f.dir), { message: /env\.json: invalid at gpus/ });
});
