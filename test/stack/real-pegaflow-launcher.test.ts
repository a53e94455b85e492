// kvgate's PegaFlow launcher against the real pegaflow-server 0.25.1: its
// --help (captured, test/fixtures/real/pegaflow/) for dialect detection and
// for every flag kvgate passes; its start-up failure without a GPU for the
// hint. With KVGATE_REAL_PEGAFLOW (the console script from the PyPI wheel,
// installed by .ci/run) the same checks run against the live binary, and
// start-servers is run against it on this GPU-less machine: the start must
// fail fast, name the exit code, keep the log, give the hint, leave nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseArgs } from '../../src/config/args.ts';
import { resolveConfig } from '../../src/config/config.ts';
import { buildPegaflowCommand, DIALECT_FLAGS, detectPegaflowFlags, flagsFromPegaflowHelp, PEGAFLOW_STOP_SIGNAL } from '../../src/stack/launchers/pegaflow.ts';
import { allStats, readCmdline } from '../../src/stack/proc.ts';
import { startupHint } from '../../src/stack/startup-hints.ts';
import { freePorts } from '../helpers/ports.ts';
import { realPegaflowFlags, realPegaflowText } from '../helpers/real-pegaflow.ts';

const REAL_BIN = process.env['KVGATE_REAL_PEGAFLOW'];
const START_SERVERS = new URL('../../ci/start-servers.ts', import.meta.url).pathname;

function kvgateArgs(env: Record<string, string> = {}): string[] {
  const cfg = resolveConfig('start-servers', parseArgs('start-servers', []), { env: { MODEL: 'Qwen/Qwen3-8B', ...env }, repoRoot: process.cwd() });
  return buildPegaflowCommand(cfg, DIALECT_FLAGS.current, '/r/l.log').args;
}

t.test('the real 0.25.1 --help is read as the current dialect', async (t) => {
  t.same(flagsFromPegaflowHelp(realPegaflowText('help.txt')), DIALECT_FLAGS.current);
});

t.test('every flag kvgate passes is one the real 0.25.1 lists, with a value where it takes one', async (t) => {
  const real = realPegaflowFlags();
  t.equal(real.size, 36, "every line of the real --help that starts a flag (grep -cE '^\\s+(-\\w, )?--[a-z]' help.txt), --help and --version included");
  const args = kvgateArgs({ PEGA_EXTRA_ARGS: '' });
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const f = real.get(a.slice(2));
    t.ok(f, `${a} is a real flag`);
    if (f?.takesValue) t.notOk(args[i + 1]?.startsWith('--'), `${a} is given a value`);
  }
});

t.test('the real server stops cleanly on SIGINT only: kvgate stops it with SIGINT', async (t) => {
  t.equal(PEGAFLOW_STOP_SIGNAL, 'SIGINT');
  const runs = realPegaflowText('signals.jsonl').trim().split('\n').map((l) => JSON.parse(l) as { run: string; signal: string; exit: number | string; log_tail: string[]; left: number[] });
  const console_ = (signal: string) => runs.find((r) => r.run === 'console script' && r.signal === signal)!;
  t.equal(console_('SIGINT').exit, 0);
  t.ok(console_('SIGINT').log_tail.some((l) => /Server stopped/.test(l)), 'SIGINT: the server logs its own shutdown');
  t.equal(console_('SIGTERM').exit, 'signal SIGTERM', 'SIGTERM: killed by the signal');
  t.notOk(console_('SIGTERM').log_tail.some((l) => /shutting down|Server stopped/.test(l)), 'SIGTERM: no shutdown in the log');
  t.ok(runs.every((r) => r.left.length === 0), 'no process of the group left in any run');
});

t.test('start-up failure hints, from real servers\' last words', async (t) => {
  t.match(startupHint(realPegaflowText('start-without-gpu.log')), /no NVIDIA driver \(libcuda\).*--stack sim/, 'pegaflow-server 0.25.1 on a machine without a driver');
  t.match(startupHint('vllm: error: unrecognized arguments: --disable-log-requests\n'), /VLLM_EXTRA_ARGS.*--disable-log-requests was removed/);
  t.match(startupHint("error: unexpected argument '--bogus' found\n\nUsage: pegaflow-server-py [OPTIONS]\n"), /PEGA_EXTRA_ARGS/);
  t.match(startupHint('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'), /out of memory/);
  t.match(startupHint('OSError: [Errno 98] Address already in use'), /VLLM_PORT/);
  t.match(startupHint('RuntimeError: Found no NVIDIA driver on your system.'), /no GPU is visible.*PEGA_DEVICE/);
  t.equal(startupHint(realPegaflowText('server.log')), undefined, 'a healthy log gives no hint');
});

const ourServers = () => allStats().filter((s) => s.state !== 'Z' && (readCmdline(s.pid) ?? []).some((a) => a === REAL_BIN || /pegaflow-server-py/.test(a)));

t.test('live: the installed real pegaflow-server', { skip: REAL_BIN ? false : 'KVGATE_REAL_PEGAFLOW not set (.ci/run installs pegaflow-llm-cu13 from PyPI)' }, async (t) => {
  const bin = REAL_BIN!;
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  t.match(version, /^pega-engine-server \d+\.\d+\.\d+/);
  t.equal(execFileSync(bin, ['--help'], { encoding: 'utf8' }), realPegaflowText('help.txt'), '--help is the captured one (same version)');
  const detected = await detectPegaflowFlags(bin, 'auto', 30);
  t.same(detected.flags, DIALECT_FLAGS.current, `detected from ${detected.how}`);

  const hasDriver = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libcuda.so"']).status === 0;
  t.test('start-servers start-pega without a GPU fails fast with the exit code, the log tail and the hint', { skip: hasDriver ? 'an NVIDIA driver is installed here' : false }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kvgate-real-pega-'));
    const [grpcPort, httpPort] = (await freePorts(2)) as [number, number];
    const env: NodeJS.ProcessEnv = { ...process.env, MODEL: 'Qwen/Qwen3-8B', PEGAFLOW_BIN: bin, RESULTS_DIR: join(dir, 'results'), KVGATE_STATE_DIR: join(dir, 'state'), PEGA_SSD_CACHE_PATH: join(dir, 'ssd'), PEGA_POOL_SIZE: '64mb', PEGA_PORT: String(grpcPort), PEGA_METRICS_PORT: String(httpPort), NO_COLOR: '1' };
    delete env['CI'];
    const r = spawnSync(START_SERVERS, ['start-pega'], { env, encoding: 'utf8', timeout: 120_000 });
    const out = r.stdout + r.stderr;
    t.not(r.status, 0, `start-servers failed (exit ${r.status})`);
    t.match(out, /pegaflow-server exited while starting \(exit code 101\)/);
    t.match(out, /hint: no NVIDIA driver \(libcuda\)/);
    t.match(out, /Unable to dynamically load the "cuda" shared library/, 'the log tail is shown');
    const log = join(dir, 'results', 'logs', 'pegaflow-server.log');
    t.ok(existsSync(log), 'the server log is kept');
    t.match(readFileSync(log, 'utf8'), /Starting pega-engine-server v\d/);
    t.same(existsSync(join(dir, 'state')) ? readdirSync(join(dir, 'state')) : [], [], 'no pid file left in the state dir');
    t.same(ourServers(), [], 'no pegaflow process left');
  });
});
