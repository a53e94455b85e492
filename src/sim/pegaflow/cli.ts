// Command line and env → SimPegaflowOptions, accepting and rejecting what
// pegaflow-server (clap 4) accepts and rejects in the chosen dialect.
// Env: KVGATE_SIM_PEGAFLOW_DIALECT (legacy|current), KVGATE_SIM_FAULTS, KVGATE_SIM_FAULT_SEED.
import { FaultSpecError, faultSpecsFrom, parseFaultSpec } from '../faults.ts';
import { flagsFor, type Dialect, type FlagSpec } from './flags.ts';
import { logLevelFromFilter } from './log.ts';
import { DEFAULT_OPTIONS, parseMemorySize, parseSocketAddr, resolveOptions, type SimPegaflowOptions } from './options.ts';
import { clapError, helpText, versionText } from './usage.ts';

export type CliResult =
  | { kind: 'run'; options: SimPegaflowOptions; ignoredFlags: string[] }
  | { kind: 'exit'; code: 0 | 2; stdout?: string; stderr?: string };

class UsageError extends Error {}

export function dialectFromEnv(env: NodeJS.ProcessEnv): Dialect | { error: string } {
  const raw = env['KVGATE_SIM_PEGAFLOW_DIALECT'];
  if (raw === undefined || raw === '' || raw === 'current') return 'current';
  if (raw === 'legacy') return 'legacy';
  return { error: `error: KVGATE_SIM_PEGAFLOW_DIALECT must be "legacy" or "current" (got "${raw}")\n` };
}

const looksLikeFlag = (arg: string | undefined) => arg !== undefined && arg.startsWith('-') && arg !== '-';

/** Splits argv into raw values per flag; help/version short-circuit as clap does. */
function collect(argv: readonly string[], specs: readonly FlagSpec[]): Map<string, string[]> | 'help' | 'version' {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-V' || arg === '--version') return 'version';
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(clapError.unexpectedArgument(arg));
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(clapError.unexpectedArgument(`--${name}`));
    const previous = values.get(name);
    if (previous && !spec.repeat && spec.kind !== 'switch') throw new UsageError(clapError.usedMultipleTimes(spec));
    const got = previous ?? [];
    values.set(name, got);
    if (spec.kind === 'switch') {
      if (inline !== undefined) throw new UsageError(clapError.unexpectedValue(spec, inline));
      got.push('true');
    } else if (spec.kind === 'optional-bool') {
      if (inline !== undefined) got.push(inline);
      else if (argv[i + 1] === 'true' || argv[i + 1] === 'false') got.push(argv[++i]!);
      else got.push('true');
    } else if (inline !== undefined) {
      got.push(inline);
    } else {
      if (argv[i + 1] === undefined || looksLikeFlag(argv[i + 1])) throw new UsageError(clapError.missingValue(spec));
      got.push(argv[++i]!);
      // num_args = 1..: later words up to the next flag belong to this flag too.
      while (spec.repeat === 'many' && argv[i + 1] !== undefined && !looksLikeFlag(argv[i + 1])) got.push(argv[++i]!);
    }
  }
  return values;
}

type Converter<T> = (raw: string) => { value: T } | { error: string };

const RUST_INT_ERROR = (raw: string) => (raw === '' ? 'cannot parse integer from empty string' : 'invalid digit found in string');

const asUint: Converter<number> = (raw) =>
  /^\+?\d+$/.test(raw) && Number.isSafeInteger(Number(raw)) ? { value: Number(raw) } : { error: RUST_INT_ERROR(raw) };
const asInt: Converter<number> = (raw) => {
  if (!/^[+-]?\d+$/.test(raw)) return { error: RUST_INT_ERROR(raw) };
  const v = Number(raw);
  return v >= -(2 ** 31) && v < 2 ** 31 ? { value: v } : { error: 'number too large to fit in target type' };
};
const asNonNegative: Converter<number> = (raw) => {
  const v = Number(raw);
  return raw.trim() !== '' && Number.isFinite(v) && v >= 0 ? { value: v } : { error: 'expected a number >= 0' };
};

function convert<T>(spec: FlagSpec, raw: string, fn: Converter<T>): T {
  const r = fn(raw);
  if ('error' in r) throw new UsageError(clapError.invalidValue(spec, raw, r.error));
  return r.value;
}

function validateOne(spec: FlagSpec, raw: string): void {
  switch (spec.kind) {
    case 'addr':
      convert(spec, raw, (r) => (parseSocketAddr(r) ? { value: r } : { error: 'invalid socket address syntax' }));
      return;
    case 'size':
      convert(spec, raw, (r) => {
        const s = parseMemorySize(r);
        return 'error' in s ? s : { value: s.bytes };
      });
      return;
    case 'uint':
      convert(spec, raw, asUint);
      return;
    case 'int':
      convert(spec, raw, asInt);
      return;
    case 'int-list':
      for (const part of raw.split(',')) convert(spec, part, asInt);
      return;
    case 'string-list':
      if (raw.split(',').some((p) => p.trim() === '')) throw new UsageError(clapError.invalidValue(spec, raw, 'empty entry in comma-separated list'));
      return;
    case 'fraction':
      convert(spec, raw, (r) => {
        const v = Number(r);
        if (r.trim() === '' || Number.isNaN(v)) return { error: 'invalid float literal' };
        return v >= 0 && v <= 1 ? { value: v } : { error: `sample rate must be between 0.0 and 1.0, got ${r}` };
      });
      return;
    case 'seconds':
    case 'micros':
      convert(spec, raw, asNonNegative);
      return;
    case 'optional-bool':
      if (raw !== 'true' && raw !== 'false') throw new UsageError(clapError.invalidValue(spec, raw, "possible values: 'true', 'false'"));
      return;
    case 'string':
    case 'switch':
      return;
  }
}

/** Parses argv (without node and script) and env into options, or into what to print and the exit code. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  const dialect = dialectFromEnv(env);
  if (typeof dialect !== 'string') return { kind: 'exit', code: 2, stderr: dialect.error };
  const specs = flagsFor(dialect);
  const spec = (name: string) => specs.find((s) => s.name === name)!;
  try {
    const collected = collect(argv, specs);
    if (collected === 'help') return { kind: 'exit', code: 0, stdout: helpText(dialect) };
    if (collected === 'version') return { kind: 'exit', code: 0, stdout: versionText() };
    for (const [name, raws] of collected) for (const raw of raws) validateOne(spec(name), raw);

    if (dialect === 'current') {
      for (const [a, b] of [['devices', 'device'], ['http-addr', 'metrics-addr']] as const) {
        if (collected.has(a) && collected.has(b)) throw new UsageError(clapError.conflict(spec(a), spec(b)));
      }
    }
    const last = (name: string) => collected.get(name)?.at(-1);
    const size = (name: string, fallback: number) => {
      const raw = last(name);
      if (raw === undefined) return fallback;
      const r = parseMemorySize(raw);
      return 'bytes' in r ? r.bytes : fallback;
    };
    const num = (name: string, fallback: number) => (last(name) === undefined ? fallback : Number(last(name)));

    const devicesRaw = collected.get('devices') ?? collected.get('device') ?? (dialect === 'legacy' ? ['0'] : []);
    const httpRaw = last('http-addr') ?? last('metrics-addr');

    const faultFlagValues = collected.get('sim-faults') ?? [];
    const faultSpecs = faultSpecsFrom(faultFlagValues, env);
    try {
      parseFaultSpec(faultSpecs);
    } catch (err) {
      if (!(err instanceof FaultSpecError)) throw err;
      const fromEnv = env['KVGATE_SIM_FAULTS'] ? ` (faults come from KVGATE_SIM_FAULTS="${env['KVGATE_SIM_FAULTS']}" and --sim-faults)` : '';
      throw new UsageError(clapError.invalidValue(spec('sim-faults'), faultSpecs.join(','), `${err.message}${fromEnv}`));
    }
    let faultSeed = DEFAULT_OPTIONS.faultSeed;
    const seedRaw = last('sim-fault-seed') ?? env['KVGATE_SIM_FAULT_SEED'];
    if (seedRaw !== undefined && seedRaw !== '') {
      const r = asUint(seedRaw);
      if ('error' in r) throw new UsageError(clapError.invalidValue(spec('sim-fault-seed'), seedRaw, `${r.error} (flag --sim-fault-seed or env KVGATE_SIM_FAULT_SEED)`));
      faultSeed = r.value;
    }
    const blockBytes = size('sim-block-bytes', DEFAULT_OPTIONS.blockBytes);
    if (blockBytes <= 0) throw new UsageError(clapError.invalidValue(spec('sim-block-bytes'), last('sim-block-bytes')!, 'must be at least 1 byte'));

    const options = resolveOptions({
      dialect,
      grpcAddr: parseSocketAddr(last('addr') ?? '127.0.0.1:50055')!,
      httpAddr: parseSocketAddr(httpRaw ?? '0.0.0.0:9091')!,
      devices: devicesRaw.flatMap((r) => r.split(',')).map(Number),
      poolSizeBytes: size('pool-size', DEFAULT_OPTIONS.poolSizeBytes),
      enablePrometheus: dialect === 'legacy' ? true : last('enable-prometheus') !== 'false',
      ssdCachePaths: collected.get('ssd-cache-path') ?? [],
      ssdCacheCapacityBytes: size('ssd-cache-capacity', DEFAULT_OPTIONS.ssdCacheCapacityBytes),
      logLevel: logLevelFromFilter(last('log-level') ?? 'info'),
      faultSpecs,
      faultSeed,
      startupDelayS: num('sim-startup-delay-s', DEFAULT_OPTIONS.startupDelayS),
      blockBytes,
      loadUsPerBlock: num('sim-load-us-per-block', DEFAULT_OPTIONS.loadUsPerBlock),
      ssdLoadUsPerBlock: num('sim-ssd-load-us-per-block', DEFAULT_OPTIONS.ssdLoadUsPerBlock),
      ...(last('metric-hll-windows') !== undefined ? { hllWindows: last('metric-hll-windows')!.split(',').map((w) => w.trim()).filter(Boolean) } : {}),
    });
    const ignoredFlags = [...collected.keys()].filter((n) => spec(n).ignored).map((n) => `--${n}`);
    return { kind: 'run', options, ignoredFlags };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'exit', code: 2, stderr: err.message };
    throw err;
  }
}
