import t from 'tap';
import { parseCli } from '../../src/sim/pegaflow/cli.ts';
import { parseMemorySize, parseSocketAddr } from '../../src/sim/pegaflow/options.ts';
import { exitWithin, spawnSim } from './pegaflow-helpers.ts';

const GIB = 1024 ** 3;
const LEGACY = { KVGATE_SIM_PEGAFLOW_DIALECT: 'legacy' };

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = parseCli(argv, env);
  if (r.kind !== 'run') throw new Error(`expected options, got exit ${r.code}: ${r.stderr ?? r.stdout}`);
  return r;
}
function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = parseCli(argv, env);
  if (r.kind !== 'exit' || r.code !== 2) throw new Error(`expected a usage error for ${argv.join(' ')}`);
  return r.stderr ?? '';
}

t.test('sizes parse like parse_memory_size: units b/kb/mb/gb/tb, 1024-based, decimals, any case', async (t) => {
  t.same(parseMemorySize('1024'), { bytes: 1024 });
  t.same(parseMemorySize('1gb'), { bytes: GIB });
  t.same(parseMemorySize('1.5gb'), { bytes: Math.floor(1.5 * GIB) });
  t.same(parseMemorySize('500MB'), { bytes: 500 * 1024 ** 2 });
  t.same(parseMemorySize(' 2 tb '), { bytes: 2 * 1024 ** 4 });
  t.same(parseMemorySize('64b'), { bytes: 64 });
  t.match(parseMemorySize(''), { error: /Invalid number/ });
  t.match(parseMemorySize('abc'), { error: /Invalid number/ });
  t.match(parseMemorySize('-10gb'), { error: /negative/ });
  t.match(parseMemorySize('10xb'), { error: /Unknown unit: 'xb'/ });
});

t.test('addresses are ip:port as Rust SocketAddr takes them; host names are refused', async (t) => {
  t.same(parseSocketAddr('127.0.0.1:50055'), { host: '127.0.0.1', port: 50055 });
  t.same(parseSocketAddr('[::1]:9091'), { host: '::1', port: 9091 });
  t.equal(parseSocketAddr('localhost:50055'), undefined);
  t.equal(parseSocketAddr('127.0.0.1'), undefined);
  t.equal(parseSocketAddr('127.0.0.1:70000'), undefined);
  t.match(usageError(['--addr', 'localhost:1']), /^error: invalid value 'localhost:1' for '--addr <ADDR>': invalid socket address syntax/);
});

t.test('the current dialect resolves every flag kvgate passes, with defaults for the rest', async (t) => {
  const { options, ignoredFlags } = run([
    '--addr', '127.0.0.1:6000',
    '--devices', '0,1',
    '--pool-size', '1.5gb',
    '--http-addr=127.0.0.1:6001',
    '--ssd-cache-path', '/ssd/a', '/ssd/b',
    '--ssd-cache-path', '/ssd/c',
    '--ssd-cache-capacity', '2tb',
    '--log-level', 'debug,pegaflow_core=trace',
    '--use-hugepages',
    '--pool-shards', '4',
    '--sim-block-bytes', '1mb',
    '--sim-load-us-per-block', '50',
    '--sim-ssd-load-us-per-block=250.5',
    '--sim-startup-delay-s', '0',
  ]);
  t.same(options.grpcAddr, { host: '127.0.0.1', port: 6000 });
  t.same(options.httpAddr, { host: '127.0.0.1', port: 6001 });
  t.same(options.devices, [0, 1]);
  t.equal(options.poolSizeBytes, Math.floor(1.5 * GIB));
  t.same(options.ssdCachePaths, ['/ssd/a', '/ssd/b', '/ssd/c']);
  t.equal(options.ssdCacheCapacityBytes, 2 * 1024 ** 4);
  t.equal(options.logLevel, 'debug');
  t.equal(options.blockBytes, 1024 ** 2);
  t.equal(options.loadUsPerBlock, 50);
  t.equal(options.ssdLoadUsPerBlock, 250.5);
  t.equal(options.startupDelayS, 0);
  t.equal(options.enablePrometheus, true);
  t.same(ignoredFlags, ['--use-hugepages', '--pool-shards']);

  const d = run([]).options;
  t.same(d.grpcAddr, { host: '127.0.0.1', port: 50055 });
  t.same(d.httpAddr, { host: '0.0.0.0', port: 9091 });
  t.equal(d.poolSizeBytes, 30 * GIB);
  t.equal(d.ssdCacheCapacityBytes, 512 * GIB);
  t.equal(d.blockBytes, 2 * 1024 ** 2);
  t.equal(d.startupDelayS, 0.2);
  t.equal(d.loadUsPerBlock, 120);
  t.equal(d.ssdLoadUsPerBlock, 400);
});

t.test('--enable-prometheus takes true/false as a separate or inline value, or none', async (t) => {
  t.equal(run(['--enable-prometheus']).options.enablePrometheus, true);
  t.equal(run(['--enable-prometheus', 'false']).options.enablePrometheus, false);
  t.equal(run(['--enable-prometheus=false']).options.enablePrometheus, false);
  t.equal(run(['--enable-prometheus', 'true', '--addr', '127.0.0.1:1']).options.enablePrometheus, true);
  t.match(usageError(['--enable-prometheus=maybe']), /invalid value 'maybe' for '--enable-prometheus/);
});

t.test('the current dialect also takes the older --device and --metrics-addr, but not together with their newer forms', async (t) => {
  const { options } = run(['--device', '3', '--metrics-addr', '127.0.0.1:7000']);
  t.same(options.devices, [3]);
  t.same(options.httpAddr, { host: '127.0.0.1', port: 7000 });
  t.match(usageError(['--http-addr', '127.0.0.1:1', '--metrics-addr', '127.0.0.1:2']), /cannot be used with/);
  t.match(usageError(['--devices', '0', '--device', '1']), /cannot be used with/);
});

t.test('argument errors read like clap and exit 2', async (t) => {
  t.match(usageError(['--bogus']), /^error: unexpected argument '--bogus' found\n\nUsage: pegaflow-server \[OPTIONS\]\n\nFor more information, try '--help'\.\n$/);
  t.match(usageError(['stray']), /^error: unexpected argument 'stray' found/);
  t.match(usageError(['--addr']), /^error: a value is required for '--addr <ADDR>' but none was supplied/);
  t.match(usageError(['--addr', '--pool-size', '1gb']), /a value is required for '--addr <ADDR>'/);
  t.match(usageError(['--pool-size', 'lots']), /^error: invalid value 'lots' for '--pool-size <POOL_SIZE>': Invalid number/);
  t.match(usageError(['--devices', '0,x']), /invalid value 'x' for '--devices <DEVICES>': invalid digit found in string/);
  t.match(usageError(['--addr', '127.0.0.1:1', '--addr', '127.0.0.1:2']), /the argument '--addr <ADDR>' cannot be used multiple times/);
  t.match(usageError(['--use-hugepages=yes']), /unexpected value 'yes' for '--use-hugepages' found/);
  t.match(usageError(['--trace-sample-rate', '2']), /sample rate must be between 0.0 and 1.0/);
});

t.test('faults come from --sim-faults and KVGATE_SIM_FAULTS; a bad one is a usage error naming both', async (t) => {
  const { options } = run(['--sim-faults', 'slow-load=2', '--sim-faults', 'drop-saves', '--sim-fault-seed', '9'], { KVGATE_SIM_FAULTS: 'corrupt-load=0.5' });
  t.same(options.faultSpecs, ['corrupt-load=0.5', 'slow-load=2', 'drop-saves']);
  t.equal(options.faultSeed, 9);
  t.equal(run([], { KVGATE_SIM_FAULT_SEED: '4' }).options.faultSeed, 4);
  t.match(usageError(['--sim-faults', 'explode']), /unknown fault "explode"/);
  t.match(usageError([], { KVGATE_SIM_FAULTS: 'slow-load=-1' }), /KVGATE_SIM_FAULTS/);
  t.match(usageError([], { KVGATE_SIM_FAULT_SEED: 'x' }), /KVGATE_SIM_FAULT_SEED/);
});

t.test('the legacy dialect takes --device/--metrics-addr and rejects the newer-only flags', async (t) => {
  const { options } = run(['--device', '2', '--metrics-addr', '127.0.0.1:7100', '--ssd-cache-path', '/ssd'], LEGACY);
  t.same(options.devices, [2]);
  t.same(options.httpAddr, { host: '127.0.0.1', port: 7100 });
  t.equal(options.dialect, 'legacy');
  t.same(run([], LEGACY).options.devices, [0], '--device defaults to 0');
  for (const flag of ['--http-addr', '--devices', '--enable-prometheus', '--pool-shards']) {
    t.match(usageError([flag, '1'], LEGACY), new RegExp(`^error: unexpected argument '${flag}' found`));
  }
  t.match(usageError(['--ssd-cache-path', '/a', '/b'], LEGACY), /unexpected argument '\/b' found/, 'one SSD path only');
  t.match(usageError([], { KVGATE_SIM_PEGAFLOW_DIALECT: 'ancient' }), /KVGATE_SIM_PEGAFLOW_DIALECT/);
});

// The executable, as kvgate's launcher runs it.

t.test('--help lists the newer flags and the Simulation section; --version names the sim', async (t) => {
  const help = spawnSim(t, ['--help']);
  t.equal((await exitWithin(help, 20_000)).code, 0);
  const text = help.stdout();
  t.match(text, /Usage: pegaflow-server \[OPTIONS\]/);
  for (const flag of ['--addr', '--devices', '--pool-size', '--http-addr', '--enable-prometheus', '--ssd-cache-path', '--ssd-cache-capacity', '--log-level']) t.match(text, flag);
  t.notMatch(text, /--metrics-addr/, 'the older spelling is accepted but not listed');
  t.notMatch(text, /--device\b(?!s)/);
  t.match(text, /\nSimulation:\n/);
  for (const flag of ['--sim-faults', '--sim-fault-seed', '--sim-startup-delay-s', '--sim-block-bytes', '--sim-load-us-per-block', '--sim-ssd-load-us-per-block']) t.match(text, flag);

  const version = spawnSim(t, ['--version']);
  t.equal((await exitWithin(version, 20_000)).code, 0);
  t.equal(version.stdout(), 'pega-engine-server 0.25.1-kvgate-sim\n');
});

t.test('an unknown flag makes the executable exit 2 with a clap-style message on stderr', async (t) => {
  const child = spawnSim(t, ['--no-such-flag', 'x']);
  t.equal((await exitWithin(child, 20_000)).code, 2);
  t.match(child.stderr(), /^error: unexpected argument '--no-such-flag' found/);
  t.equal(child.stdout(), '');
});

t.test('with KVGATE_SIM_PEGAFLOW_DIALECT=legacy the executable shows the older flags and rejects --http-addr', async (t) => {
  const help = spawnSim(t, ['--help'], LEGACY);
  t.equal((await exitWithin(help, 20_000)).code, 0);
  t.match(help.stdout(), /--metrics-addr <METRICS_ADDR>/);
  t.match(help.stdout(), /--device <DEVICE>/);
  t.notMatch(help.stdout(), /--http-addr|--devices/);

  const rejected = spawnSim(t, ['--http-addr', '127.0.0.1:9091'], LEGACY);
  t.equal((await exitWithin(rejected, 20_000)).code, 2);
  t.match(rejected.stderr(), /^error: unexpected argument '--http-addr' found/);
});
