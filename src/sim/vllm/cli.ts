// `vllm …` command line, parsed the way vLLM's argparse-based parser does:
// `vllm --version`, `vllm serve <model> [flags]`, `--flag value` and
// `--flag=value`, underscores in flag names read as dashes, unambiguous
// prefixes of long flags, `--no-X` for boolean flags that have it, help with
// `-h`/`--help`/`--help=all`. Errors print the usage line and
// `vllm serve: error: …` on stderr and exit 2, as argparse does; among them
// `unrecognized arguments: --disable-log-requests` (removed in vLLM 0.12).
import { FaultSpecError, FAULTS, faultSpecsFrom, parseFaultSpec } from '../faults.ts';
import { DEFAULT_OPTIONS, SIM_VLLM_VERSION, type KvTransferConfig, type SimVllmOptions } from './options.ts';
import { DEFAULT_LATENCY } from './scheduler.ts';

type Kind = 'str' | 'int' | 'float' | 'store_true' | 'bool_optional' | 'json' | 'append' | 'nargs+';

interface FlagSpec {
  names: string[];
  dest: string;
  kind: Kind;
  metavar?: string;
  defaultText: string;
  help: string;
  group: string;
  /** Accepted for compatibility; no effect in the sim. */
  ignored?: boolean;
}

const GROUPS: Record<string, string> = {
  Frontend: 'Arguments for the OpenAI-compatible frontend server.',
  ModelConfig: 'Configuration for the model.',
  CacheConfig: 'Configuration for the KV cache.',
  ParallelConfig: 'Configuration for the distributed execution.',
  SchedulerConfig: 'Scheduler configuration.',
  ObservabilityConfig: 'Configuration for observability - metrics and tracing.',
  KVTransferConfig: 'Configuration for distributed KV cache transfer.',
  Simulation: 'kvgate simulator only: faults and the latency model (not in real vLLM).',
};

const f = (names: string[], dest: string, kind: Kind, group: string, defaultText: string, help: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({
  names,
  dest,
  kind,
  group,
  defaultText,
  help,
  ...extra,
});

const L = DEFAULT_LATENCY;
export const FLAGS: FlagSpec[] = [
  f(['--host'], 'host', 'str', 'Frontend', 'None', 'Host name to listen on (default: all interfaces).'),
  f(['--port'], 'port', 'int', 'Frontend', '8000', 'Port number.'),
  f(['--api-key'], 'apiKey', 'str', 'Frontend', 'None', 'If set, clients must send this key in the Authorization header (Bearer).'),
  f(['--chat-template'], 'chatTemplate', 'str', 'Frontend', 'None', 'Chat template file or inline template (accepted; the sim uses its fixed ChatML template).'),
  f(['--enable-prompt-tokens-details'], 'enablePromptTokensDetails', 'store_true', 'Frontend', 'False', 'Add prompt_tokens_details.cached_tokens to usage.'),
  f(['--enable-log-requests'], 'enableLogRequests', 'store_true', 'Frontend', 'False', 'Log every request received.'),
  f(['--disable-uvicorn-access-log'], 'disableAccessLog', 'store_true', 'Frontend', 'False', 'Do not log one line per HTTP request.'),
  f(['--uvicorn-log-level'], 'uvicornLogLevel', 'str', 'Frontend', 'info', 'Log level for uvicorn.', { ignored: true }),
  f(['--disable-fastapi-docs'], 'disableFastapiDocs', 'store_true', 'Frontend', 'False', 'Disable the OpenAPI docs routes.', { ignored: true }),
  f(['--root-path'], 'rootPath', 'str', 'Frontend', 'None', 'FastAPI root_path behind a proxy.', { ignored: true }),
  f(['--model'], 'modelFlag', 'str', 'ModelConfig', 'None', 'Model name or path (prefer the positional model_tag).'),
  f(['--served-model-name'], 'servedModelName', 'nargs+', 'ModelConfig', 'None', 'Model name(s) used in the API; the first one labels metrics.', { metavar: 'SERVED_MODEL_NAME [SERVED_MODEL_NAME ...]' }),
  f(['--max-model-len'], 'maxModelLen', 'int', 'ModelConfig', String(DEFAULT_OPTIONS.maxModelLen), 'Model context length (prompt plus output).'),
  f(['--seed'], 'seed', 'int', 'ModelConfig', '0', 'Random seed for sampled requests that carry no seed.'),
  f(['--dtype'], 'dtype', 'str', 'ModelConfig', 'auto', 'Data type for weights and activations.', { ignored: true }),
  f(['--trust-remote-code'], 'trustRemoteCode', 'store_true', 'ModelConfig', 'False', 'Trust remote code from Hugging Face.', { ignored: true }),
  f(['--tokenizer'], 'tokenizer', 'str', 'ModelConfig', 'None', 'Tokenizer name or path.', { ignored: true }),
  f(['--revision'], 'revision', 'str', 'ModelConfig', 'None', 'Model revision.', { ignored: true }),
  f(['--enforce-eager'], 'enforceEager', 'store_true', 'ModelConfig', 'False', 'Disable CUDA graphs.', { ignored: true }),
  f(['--generation-config'], 'generationConfig', 'str', 'ModelConfig', 'auto', 'Where to read default sampling parameters from.', { ignored: true }),
  f(['--block-size'], 'blockSize', 'int', 'CacheConfig', String(DEFAULT_OPTIONS.blockSize), 'Tokens per KV cache block.'),
  f(['--gpu-memory-utilization'], 'gpuMemoryUtilization', 'float', 'CacheConfig', '0.9', 'Fraction of GPU memory for the model and KV cache.', { ignored: true }),
  f(['--num-gpu-blocks-override'], 'numGpuBlocks', 'int', 'CacheConfig', `None (sim: ${DEFAULT_OPTIONS.numGpuBlocks})`, 'Number of KV cache blocks.'),
  f(['--enable-prefix-caching', '--no-enable-prefix-caching'], 'enablePrefixCaching', 'bool_optional', 'CacheConfig', 'True', 'Automatic prefix caching of KV blocks.'),
  f(['--kv-cache-dtype'], 'kvCacheDtype', 'str', 'CacheConfig', 'auto', 'Data type of the KV cache.', { ignored: true }),
  f(['--swap-space'], 'swapSpace', 'float', 'CacheConfig', '4', 'CPU swap space per GPU (GiB).', { ignored: true }),
  f(['--tensor-parallel-size', '-tp'], 'tensorParallelSize', 'int', 'ParallelConfig', '1', 'Number of tensor parallel ranks (the sim runs one rank and registers tp_size 1).', { ignored: true }),
  f(['--pipeline-parallel-size', '-pp'], 'pipelineParallelSize', 'int', 'ParallelConfig', '1', 'Number of pipeline stages.', { ignored: true }),
  f(['--max-num-seqs'], 'maxNumSeqs', 'int', 'SchedulerConfig', String(DEFAULT_OPTIONS.maxNumSeqs), 'Most sequences in one iteration.'),
  f(['--max-num-batched-tokens'], 'maxNumBatchedTokens', 'int', 'SchedulerConfig', String(DEFAULT_OPTIONS.maxNumBatchedTokens), 'Most tokens in one iteration (chunked prefill budget).'),
  f(['--enable-chunked-prefill', '--no-enable-chunked-prefill'], 'enableChunkedPrefill', 'bool_optional', 'SchedulerConfig', 'True', 'Chunked prefill (always on in the sim).', { ignored: true }),
  f(['--disable-log-stats'], 'disableLogStats', 'store_true', 'ObservabilityConfig', 'False', 'Do not log throughput statistics periodically.'),
  f(['--kv-transfer-config'], 'kvTransferConfig', 'json', 'KVTransferConfig', 'None', 'KV connector configuration as JSON; the sim implements PegaKVConnector.'),
  f(['--sim-faults'], 'simFaults', 'append', 'Simulation', 'none (env KVGATE_SIM_FAULTS)', `Faults, name[=value], comma-separated, repeatable: ${Object.keys(FAULTS).filter((n) => FAULTS[n as keyof typeof FAULTS].server !== 'pegaflow').join(', ')}.`, { metavar: 'LIST' }),
  f(['--sim-fault-seed'], 'simFaultSeed', 'int', 'Simulation', '0 (env KVGATE_SIM_FAULT_SEED)', 'Seed of the draws of fraction-valued faults.'),
  f(['--sim-startup-delay-s'], 'simStartupDelayS', 'float', 'Simulation', String(DEFAULT_OPTIONS.startupDelayS), 'Seconds of "model loading" before the port opens.'),
  f(['--sim-step-overhead-ms'], 'simStepOverheadMs', 'float', 'Simulation', String(L.stepOverheadMs), 'Fixed cost of every engine step.'),
  f(['--sim-prefill-us-per-token'], 'simPrefillUsPerToken', 'float', 'Simulation', String(L.prefillUsPerToken), 'Prefill cost per uncached prompt token.'),
  f(['--sim-decode-us-per-seq'], 'simDecodeUsPerSeq', 'float', 'Simulation', String(L.decodeUsPerSeq), 'Decode cost per decoding sequence in a step.'),
  f(['--sim-decode-base-ms'], 'simDecodeBaseMs', 'float', 'Simulation', String(L.decodeBaseMs), 'Cost of a step that decodes at least one sequence.'),
  f(['--sim-fixed-ttft-ms'], 'simFixedTtftMs', 'float', 'Simulation', 'None', 'Benchmarks: every first token goes out exactly this long after its request arrived (chat: the role-only chunk at once); replaces the latency model.'),
  f(['--sim-fixed-itl-ms'], 'simFixedItlMs', 'float', 'Simulation', '0', 'With --sim-fixed-ttft-ms: time between tokens of a stream.'),
];

export const USAGE = 'usage: vllm serve [model_tag] [options]';
const TOP_USAGE = 'usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...';
const SUBCOMMANDS = ['chat', 'complete', 'serve', 'bench', 'collect-env', 'run-batch'];

export type CliResult =
  | { kind: 'exit'; code: number; stdout?: string; stderr?: string }
  | { kind: 'serve'; options: SimVllmOptions; ignoredFlags: string[]; warnings: string[] };

const usageError = (message: string): CliResult => ({ kind: 'exit', code: 2, stderr: `${USAGE}\nvllm serve: error: ${message}\n` });

function flagText(spec: FlagSpec): string {
  const metavar = spec.metavar ?? spec.names[0]!.replace(/^-+/, '').replace(/-/g, '_').toUpperCase();
  if (spec.kind === 'store_true') return spec.names.join(', ');
  if (spec.kind === 'bool_optional') return `${spec.names[0]}, ${spec.names[1]}`;
  return spec.names.map((n) => `${n} ${metavar}`).join(', ');
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}

/** argparse-style help listing every flag, grouped like vLLM's `--help=all`. */
export function serveHelp(): string {
  const col = 24;
  const entry = (left: string, help: string) => {
    const body = wrap(help, 78 - col, ' '.repeat(col)).join('\n');
    return left.length <= col - 4 ? `  ${left.padEnd(col - 2)}${body}` : `  ${left}\n${' '.repeat(col)}${body}`;
  };
  const out = [
    USAGE,
    '',
    'Launch a local OpenAI-compatible API server to serve LLM completions via HTTP.',
    `(kvgate's simulated vLLM ${SIM_VLLM_VERSION}: no GPU, a deterministic stand-in model.)`,
    '',
    'positional arguments:',
    entry('model_tag', 'The model tag to serve (a name, or a path that must exist when it starts with / or ./).'),
    '',
    'options:',
    entry('-h, --help', 'show this help message and exit (--help=all lists every group, as here)'),
  ];
  for (const [group, description] of Object.entries(GROUPS)) {
    out.push('', `${group}:`, `  ${description}`, '');
    for (const spec of FLAGS.filter((s) => s.group === group)) {
      out.push(entry(flagText(spec), `${spec.help}${spec.ignored ? ' [accepted, no effect in the sim]' : ''} (default: ${spec.defaultText})`));
    }
  }
  out.push('', 'Exit codes: 0 stopped by SIGTERM/SIGINT, 1 start-up failed or the engine died, 2 bad arguments.', '');
  return out.join('\n');
}

function topHelp(): string {
  return [
    TOP_USAGE,
    '',
    "vLLM CLI (kvgate's simulated vLLM: only `serve` is implemented)",
    '',
    'positional arguments:',
    '  {chat,complete,serve,bench,collect-env,run-batch}',
    '    serve               Launch a local OpenAI-compatible API server to serve LLM completions via HTTP.',
    '',
    'options:',
    '  -h, --help            show this help message and exit',
    '  -v, --version         show program\'s version number and exit',
    '',
  ].join('\n');
}

interface Lookup {
  spec: FlagSpec;
  negated: boolean;
}

function exactIndex(): Map<string, Lookup> {
  const m = new Map<string, Lookup>();
  for (const spec of FLAGS) {
    spec.names.forEach((n, i) => m.set(n, { spec, negated: spec.kind === 'bool_optional' && i === 1 }));
  }
  return m;
}

/** Resolves a flag name: exact, else an unambiguous prefix of a long flag (argparse's allow_abbrev). */
function resolveFlag(index: Map<string, Lookup>, name: string): Lookup | { ambiguous: string[] } | undefined {
  const exact = index.get(name);
  if (exact) return exact;
  if (!name.startsWith('--') || name.length < 3) return undefined;
  const matches = [...index.keys()].filter((k) => k.startsWith('--') && k.startsWith(name));
  if (matches.length === 1) return index.get(matches[0]!);
  if (matches.length > 1) return { ambiguous: matches };
  return undefined;
}

/** vLLM reads `--max_num_seqs` as `--max-num-seqs`: underscores in the flag name become dashes. */
function normalizeName(arg: string): string {
  return arg.startsWith('--') ? arg.replace(/_/g, '-') : arg;
}

type Values = Record<string, unknown>;

function parseValue(spec: FlagSpec, display: string, raw: string): { value: unknown } | { error: string } {
  switch (spec.kind) {
    case 'int':
      if (!/^[-+]?\d+$/.test(raw.trim())) return { error: `argument ${display}: invalid int value: '${raw}'` };
      return { value: Number(raw) };
    case 'float': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) return { error: `argument ${display}: invalid float value: '${raw}'` };
      return { value: v };
    }
    case 'json':
      try {
        return { value: JSON.parse(raw) as unknown };
      } catch {
        return { error: `argument ${display}: invalid loads value: '${raw}'` };
      }
    default:
      return { value: raw };
  }
}

/** Parses the arguments after `serve`. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  const index = exactIndex();
  const values: Values = {};
  const positionals: string[] = [];
  const unrecognized: string[] = [];
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help' || arg.startsWith('--help=')) return { kind: 'exit', code: 0, stdout: serveHelp() };
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = normalizeName(eq >= 0 ? arg.slice(0, eq) : arg);
    const found = resolveFlag(index, name);
    if (found === undefined) {
      unrecognized.push(arg);
      continue;
    }
    if ('ambiguous' in found) {
      return usageError(`ambiguous option: ${name} could match ${found.ambiguous.join(', ')}`);
    }
    const { spec, negated } = found;
    const display = spec.names.join('/');
    given.add(spec.dest);
    if (spec.kind === 'store_true' || spec.kind === 'bool_optional') {
      if (eq >= 0) return usageError(`argument ${display}: ignored explicit argument '${arg.slice(eq + 1)}'`);
      values[spec.dest] = !negated;
      continue;
    }
    if (spec.kind === 'nargs+') {
      const list: string[] = eq >= 0 ? [arg.slice(eq + 1)] : [];
      while (eq < 0 && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) list.push(argv[++i]!);
      if (list.length === 0) return usageError(`argument ${display}: expected at least one argument`);
      values[spec.dest] = list;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // argparse takes a following token as the value unless it looks like a flag (negative numbers excepted).
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next) && next !== '-')) return usageError(`argument ${display}: expected one argument`);
      raw = next;
      i++;
    }
    const parsed = parseValue(spec, display, raw);
    if ('error' in parsed) return usageError(parsed.error);
    if (spec.kind === 'append') values[spec.dest] = [...((values[spec.dest] as string[] | undefined) ?? []), raw];
    else values[spec.dest] = parsed.value;
  }
  const warnings: string[] = [];
  let model = positionals.shift();
  if (values['modelFlag'] !== undefined) {
    warnings.push('With `vllm serve`, you should provide the model as a positional argument or in a config file instead of via the `--model` option.');
    if (model !== undefined) positionals.unshift(model);
    model = String(values['modelFlag']);
  }
  unrecognized.push(...positionals);
  if (unrecognized.length > 0) return usageError(`unrecognized arguments: ${unrecognized.join(' ')}`);
  if (model === undefined) model = 'Qwen/Qwen3-0.6B'; // vLLM's default model when none is given

  for (const [dest, min] of [
    ['port', 0],
    ['maxNumSeqs', 1],
    ['maxModelLen', 1],
    ['maxNumBatchedTokens', 1],
    ['tensorParallelSize', 1],
    ['blockSize', 1],
    ['numGpuBlocks', 1],
  ] as const) {
    const v = values[dest];
    if (typeof v === 'number' && v < min) {
      const spec = FLAGS.find((s) => s.dest === dest)!;
      return usageError(`argument ${spec.names[0]}: must be >= ${min} (got ${v})`);
    }
  }
  for (const dest of ['simFixedTtftMs', 'simFixedItlMs'] as const) {
    const v = values[dest];
    if (typeof v === 'number' && v < 0) return usageError(`argument ${FLAGS.find((s) => s.dest === dest)!.names[0]}: must be >= 0 (got ${v})`);
  }
  if (values['simFixedItlMs'] !== undefined && values['simFixedTtftMs'] === undefined) {
    return usageError('argument --sim-fixed-itl-ms: only with --sim-fixed-ttft-ms');
  }
  const kvt = values['kvTransferConfig'];
  if (kvt !== undefined && (kvt === null || typeof kvt !== 'object' || Array.isArray(kvt))) {
    return usageError(`argument --kv-transfer-config: expected a JSON object (got ${JSON.stringify(kvt)})`);
  }

  let faultSpecs: string[];
  try {
    faultSpecs = faultSpecsFrom((values['simFaults'] as string[] | undefined) ?? [], env);
    parseFaultSpec(faultSpecs);
  } catch (err) {
    if (err instanceof FaultSpecError) return usageError(`argument --sim-faults (or env KVGATE_SIM_FAULTS): ${err.message}`);
    throw err;
  }
  let faultSeed = 0;
  if (values['simFaultSeed'] !== undefined) faultSeed = values['simFaultSeed'] as number;
  else if (env['KVGATE_SIM_FAULT_SEED']) {
    const s = env['KVGATE_SIM_FAULT_SEED'];
    if (!/^\d+$/.test(s)) return usageError(`env KVGATE_SIM_FAULT_SEED: invalid int value: '${s}'`);
    faultSeed = Number(s);
  }

  const num = (dest: string, fallback: number) => (values[dest] as number | undefined) ?? fallback;
  const flag = (dest: string) => values[dest] === true;
  const options: SimVllmOptions = {
    ...DEFAULT_OPTIONS,
    model,
    servedModelNames: (values['servedModelName'] as string[] | undefined) ?? [model],
    host: values['host'] as string | undefined,
    port: num('port', DEFAULT_OPTIONS.port),
    maxNumSeqs: num('maxNumSeqs', DEFAULT_OPTIONS.maxNumSeqs),
    maxModelLen: num('maxModelLen', DEFAULT_OPTIONS.maxModelLen),
    maxNumBatchedTokens: num('maxNumBatchedTokens', DEFAULT_OPTIONS.maxNumBatchedTokens),
    tensorParallelSize: num('tensorParallelSize', 1),
    blockSize: num('blockSize', DEFAULT_OPTIONS.blockSize),
    numGpuBlocks: num('numGpuBlocks', DEFAULT_OPTIONS.numGpuBlocks),
    enablePrefixCaching: values['enablePrefixCaching'] === undefined ? true : values['enablePrefixCaching'] === true,
    seed: num('seed', 0),
    chatTemplate: values['chatTemplate'] as string | undefined,
    kvTransferConfig: kvt as KvTransferConfig | undefined,
    enablePromptTokensDetails: flag('enablePromptTokensDetails'),
    enableLogRequests: flag('enableLogRequests'),
    disableLogStats: flag('disableLogStats'),
    disableAccessLog: flag('disableAccessLog'),
    apiKey: (values['apiKey'] as string | undefined) ?? (env['VLLM_API_KEY'] || undefined),
    faultSpecs,
    faultSeed,
    startupDelayS: num('simStartupDelayS', DEFAULT_OPTIONS.startupDelayS),
    latency: {
      stepOverheadMs: num('simStepOverheadMs', DEFAULT_LATENCY.stepOverheadMs),
      prefillUsPerToken: num('simPrefillUsPerToken', DEFAULT_LATENCY.prefillUsPerToken),
      decodeUsPerSeq: num('simDecodeUsPerSeq', DEFAULT_LATENCY.decodeUsPerSeq),
      decodeBaseMs: num('simDecodeBaseMs', DEFAULT_LATENCY.decodeBaseMs),
    },
    fixedLatency: values['simFixedTtftMs'] === undefined ? undefined : { ttftMs: num('simFixedTtftMs', 0), itlMs: num('simFixedItlMs', 0) },
  };
  const ignoredFlags = FLAGS.filter((s) => s.ignored && given.has(s.dest)).map((s) => s.names[0]!);
  return { kind: 'serve', options, ignoredFlags, warnings };
}

/** Parses a whole `vllm …` command line. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') return { kind: 'exit', code: 0, stdout: `${SIM_VLLM_VERSION}\n` };
  if (first === undefined || first === '-h' || first === '--help') return { kind: 'exit', code: 0, stdout: topHelp() };
  if (first === 'serve') return parseServeArgs(rest, env);
  if (SUBCOMMANDS.includes(first)) {
    return { kind: 'exit', code: 2, stderr: `${TOP_USAGE}\nvllm: error: the simulated vLLM implements only "serve" (got "${first}")\n` };
  }
  if (first.startsWith('-')) return { kind: 'exit', code: 2, stderr: `${TOP_USAGE}\nvllm: error: unrecognized arguments: ${argv.join(' ')}\n` };
  const choices = SUBCOMMANDS.map((s) => `'${s}'`).join(', ');
  return { kind: 'exit', code: 2, stderr: `${TOP_USAGE}\nvllm: error: argument subparser: invalid choice: '${first}' (choose from ${choices})\n` };
}
