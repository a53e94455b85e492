// Resolves flags + env + defaults into one plain, fully defaulted KvgateConfig.
// This is the only module that reads the environment's configuration; the
// rest of kvgate reads the object it returns.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { OPTIONS, type CriterionId, type OptionGroup, type OptionId, type ParsedOptions, type Script } from './options.ts';
import type { ParsedArgs } from './args.ts';
import type { Size } from './values.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export type Stack = 'real' | 'sim';
export type TtftStat = 'mean' | 'p50' | 'p90' | 'p99';
export type TestId = 'lm-eval' | 'long-doc' | 'share-gpt';

export interface ServerPorts {
  vllm: number;
  baseline: number;
  pegaGrpc: number;
  pegaHttp: number;
}

export interface KvgateConfig {
  script: Script;
  stack: Stack;
  repoRoot: string;
  model: string;
  servedModelName: string;
  chatTemplate: string | undefined;
  ports: ServerPorts;
  /** Address the harness uses to reach every server. */
  host: string;
  pegaflow: {
    bin: string;
    dialect: 'auto' | 'legacy' | 'current';
    poolSize: Size;
    device: number;
    ssdCachePath: string | undefined;
    ssdCacheCapacity: Size;
    extraArgs: string[];
  };
  vllm: {
    bin: string;
    maxNumSeqs: number;
    maxModelLen: number;
    tensorParallelSize: number;
    extraArgs: string[];
    baselineExtraArgs: string[];
    /** 'auto' = GPU 1 when two or more GPUs, else the connector's GPU. */
    baselineDevice: number | 'auto';
  };
  timeouts: {
    serverStartupS: number;
    healthCheckIntervalS: number;
    requestS: number;
    testS: number;
    stopS: number;
    lmEvalInstallS: number;
    lmEvalRunS: number;
  };
  thresholds: {
    maxTtftS: number;
    minSpeedup: number;
    ttftStat: TtftStat;
    maxFailureRate: number;
    /** KVGATE_INTERNAL_DISABLE_CHECKS: criteria reported as skipped (the self-test's own test uses it). */
    disabledChecks: readonly CriterionId[];
  };
  results: {
    buildId: string;
    dir: string;
    /** True when RESULTS_DIR or BUILD_ID was given: an existing dir is then an error, not a reason to pick another name. */
    explicit: boolean;
    stateDir: string;
  };
  suite: {
    quick: boolean;
    tests: TestId[];
    startBaseline: boolean;
    compareTo: string | undefined;
    regressionTolerance: number;
  };
  lmEval: {
    task: string;
    limit: number;
    concurrent: number;
    seed: number;
    includePath: string | undefined;
    bin: string | undefined;
    venvDir: string;
    allowVenv: boolean;
    skipBaseline: boolean;
  };
  longDoc: {
    numRequests: number;
    numDocuments: number;
    documentLength: number;
    outputLen: number;
    maxInflight: number;
    requestRate: number;
    seed: number;
    dataFile: string | undefined;
    maxTtftS: number;
    minSpeedup: number;
    skipBaseline: boolean;
  };
  selfTest: {
    scenarios: string[];
    list: boolean;
    /** 0: run the scenarios; N: run the clean scenario N times. */
    repeat: number;
    /** undefined: half the CPU cores. */
    jobs: number | undefined;
  };
  shareGpt: {
    numConversations: number;
    numClients: number;
    maxActive: number;
    maxTurns: number;
    requestRate: number;
    outputLen: number;
    warmup: boolean;
    dataset: string;
    seed: number;
    maxTtftS: number;
    minSpeedup: number;
    skipBaseline: boolean;
  };
}

/** One bad value: where it came from, what it was, what was expected. */
export interface ConfigProblem {
  source: string;
  value: string | undefined;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems
        .map((p) => `  ${p.source}${p.value === undefined ? '' : `=${JSON.stringify(p.value)}`}: ${p.message}`)
        .join('\n')}`,
    );
  }
}

/** Which option groups each script reads (and therefore validates and lists in --help). */
export const GROUPS_BY_SCRIPT: Record<Script, readonly OptionGroup[]> = {
  'run-all-tests': ['stack', 'servers', 'timeouts', 'thresholds', 'results', 'suite', 'lm-eval', 'long-doc', 'share-gpt'],
  'start-servers': ['stack', 'servers', 'timeouts', 'results'],
  'run-lm-eval': ['stack', 'servers', 'timeouts', 'results', 'lm-eval'],
  'run-long-doc-qa': ['stack', 'servers', 'timeouts', 'thresholds', 'results', 'long-doc'],
  'run-share-gpt': ['stack', 'servers', 'timeouts', 'thresholds', 'results', 'share-gpt'],
  'self-test': ['timeouts', 'thresholds', 'results', 'self-test'],
};

function sourceName(id: OptionId, args: ParsedArgs): string {
  const spec = OPTIONS[id];
  if (args.flags.has(id) && 'flag' in spec) return spec.flag!;
  return 'env' in spec ? spec.env! : id;
}

export function timestampBuildId(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

function rawValue(id: OptionId, script: Script, stack: string, args: ParsedArgs, env: NodeJS.ProcessEnv): string | undefined {
  const spec = OPTIONS[id] as { env?: string; default?: string; defaultFor?: Partial<Record<string, string>> };
  const fromFlag = args.flags.get(id);
  if (fromFlag !== undefined) return fromFlag;
  const fromEnv = spec.env ? env[spec.env] : undefined;
  // An empty env var means "unset" for options without a meaningful empty value, as in the bash suite.
  if (fromEnv !== undefined && (fromEnv !== '' || spec.default === '')) return fromEnv;
  return spec.defaultFor?.[script] ?? (stack === 'sim' ? spec.defaultFor?.['sim'] : undefined) ?? spec.default;
}

export interface ResolveContext {
  env: NodeJS.ProcessEnv;
  now?: Date;
  repoRoot?: string;
}

/** Parses and validates every option the script reads; throws ConfigError listing all problems. */
export function parseOptions(script: Script, args: ParsedArgs, ctx: ResolveContext): ParsedOptions {
  const groups = GROUPS_BY_SCRIPT[script];
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  const stackRaw = rawValue('stack', script, 'real', args, ctx.env) ?? 'real';
  for (const [id, spec] of Object.entries(OPTIONS) as [OptionId, (typeof OPTIONS)[OptionId]][]) {
    const relevant = groups.includes(spec.group) || args.flags.has(id);
    const raw = rawValue(id, script, stackRaw.trim(), args, ctx.env);
    if (raw === undefined) continue;
    const schema = spec.schema as z.ZodType<unknown, string>;
    const parsed = schema.safeParse(raw);
    if (parsed.success) out[id] = parsed.data;
    else if (relevant) problems.push({ source: sourceName(id, args), value: raw, message: parsed.error.issues.map((i) => i.message).join('; ') });
    // A script ignores options of groups it does not read: a bad value there falls back to the default.
    else if ('default' in spec && spec.default !== undefined) out[id] = schema.parse(spec.default);
  }
  if (problems.length) throw new ConfigError(problems);
  return out as ParsedOptions;
}

function absolute(path: string, base: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Resolves the config a script runs with. Existence checks on files happen here, before any server starts. */
export function resolveConfig(script: Script, args: ParsedArgs, ctx: ResolveContext): KvgateConfig {
  const o = parseOptions(script, args, ctx);
  const repoRoot = ctx.repoRoot ?? REPO_ROOT;
  const cwd = process.cwd();
  const problems: ConfigProblem[] = [];
  const need = (id: OptionId, what: string) => {
    if (o[id] === undefined) problems.push({ source: sourceName(id, args), value: undefined, message: `required: ${what}` });
  };
  const fileMustExist = (id: OptionId, path: string | undefined, what: string): string | undefined => {
    if (path === undefined) return undefined;
    const abs = absolute(path, cwd);
    if (!existsSync(abs) || !statSync(abs).isFile()) problems.push({ source: sourceName(id, args), value: path, message: `${what} not found (looked at ${abs})` });
    return abs;
  };

  const stack = o.stack;
  const usesServers = script !== 'self-test';
  if (usesServers && script !== 'start-servers') need('model', 'set MODEL to a model path or Hugging Face id (or use --stack sim)');
  if (script === 'start-servers' && args.positionals[0]?.startsWith('start')) need('model', 'set MODEL to a model path or Hugging Face id (or use --stack sim)');
  const model = o.model ?? '';
  // A MODEL that looks like a path must exist: vLLM would otherwise try the hub and fail minutes later.
  if (o.model && stack === 'real' && (o.model.startsWith('/') || o.model.startsWith('./') || o.model.startsWith('../')) && !existsSync(absolute(o.model, cwd))) {
    problems.push({ source: 'MODEL', value: o.model, message: `looks like a path but does not exist (looked at ${absolute(o.model, cwd)})` });
  }

  const chatTemplate = fileMustExist('chatTemplate', o.chatTemplate, 'chat template file');
  const dataFile = fileMustExist('longDocDataFile', o.longDocDataFile, 'data file');
  const shareGptDataset = GROUPS_BY_SCRIPT[script].includes('share-gpt')
    ? fileMustExist('shareGptDataset', absolute(o.shareGptDataset, o.shareGptDataset === OPTIONS.shareGptDataset.default ? repoRoot : cwd), 'ShareGPT dataset')
    : undefined;

  const ports: ServerPorts = { vllm: o.vllmPort, baseline: o.baselinePort, pegaGrpc: o.pegaPort, pegaHttp: o.pegaMetricsPort };
  const seen = new Map<number, string>();
  const portEnv: Record<keyof ServerPorts, string> = { vllm: 'VLLM_PORT', baseline: 'VLLM_BASELINE_PORT', pegaGrpc: 'PEGA_PORT', pegaHttp: 'PEGA_METRICS_PORT' };
  for (const [k, port] of Object.entries(ports) as [keyof ServerPorts, number][]) {
    const other = seen.get(port);
    if (other) problems.push({ source: portEnv[k], value: String(port), message: `same port as ${other}; each server needs its own` });
    seen.set(port, portEnv[k]);
  }

  let baselineDevice: number | 'auto' = 'auto';
  if (o.baselineDevice !== 'auto') {
    if (/^\d+$/.test(o.baselineDevice)) baselineDevice = Number(o.baselineDevice);
    else problems.push({ source: 'VLLM_BASELINE_DEVICE', value: o.baselineDevice, message: 'expected auto or a GPU index (whole number >= 0)' });
  }

  const only = [o.lmEvalOnly && 'lm-eval', o.longDocOnly && 'long-doc', o.shareGptOnly && 'share-gpt'].filter(Boolean) as TestId[];
  if (only.length > 1) problems.push({ source: '--*-only', value: undefined, message: 'choose at most one of --lm-eval-only, --long-doc-only, --share-gpt-only' });
  const skipped = new Set<TestId>([o.skipLmEval && 'lm-eval', o.skipLongDoc && 'long-doc', o.skipShareGpt && 'share-gpt'].filter(Boolean) as TestId[]);
  const tests = (only.length ? only : (['lm-eval', 'long-doc', 'share-gpt'] as TestId[])).filter((t) => !skipped.has(t));
  if (script === 'run-all-tests' && tests.length === 0) problems.push({ source: '--skip-*', value: undefined, message: 'every test is skipped; nothing to run' });

  const compareTo = o.compareTo ? absolute(o.compareTo, cwd) : undefined;
  if (compareTo && !existsSync(join(compareTo, 'summary.json'))) problems.push({ source: sourceName('compareTo', args), value: o.compareTo, message: `no summary.json in ${compareTo}` });

  if (problems.length) throw new ConfigError(problems);

  const buildId = o.buildId ?? timestampBuildId(ctx.now ?? new Date());
  const resultsDir = o.resultsDir ? absolute(o.resultsDir, cwd) : join(repoRoot, 'results', buildId);
  const binPath = (bin: string) => (bin.includes('/') ? absolute(bin, bin.startsWith('src/') ? repoRoot : cwd) : bin);
  const lmEvalTask = o.lmEvalTask;
  const lmEvalIncludePath = o.lmEvalIncludePath
    ? absolute(o.lmEvalIncludePath, cwd)
    : lmEvalTask.startsWith('kvgate_')
      ? join(repoRoot, 'datasets', 'lm_eval')
      : undefined;

  return {
    script,
    stack,
    repoRoot,
    model,
    servedModelName: o.servedModelName ?? model,
    chatTemplate,
    ports,
    host: '127.0.0.1',
    pegaflow: {
      bin: binPath(o.pegaflowBin),
      dialect: o.pegaFlagDialect,
      poolSize: o.pegaPoolSize,
      device: o.pegaDevice,
      ssdCachePath: ['', 'none'].includes(o.pegaSsdCachePath.trim().toLowerCase()) ? undefined : o.pegaSsdCachePath,
      ssdCacheCapacity: o.pegaSsdCacheCapacity,
      extraArgs: o.pegaExtraArgs,
    },
    vllm: {
      bin: binPath(o.vllmBin),
      maxNumSeqs: o.maxNumSeqs,
      maxModelLen: o.maxModelLen,
      tensorParallelSize: o.tensorParallelSize,
      extraArgs: o.vllmExtraArgs,
      baselineExtraArgs: o.baselineExtraArgs,
      baselineDevice,
    },
    timeouts: {
      serverStartupS: o.serverStartupTimeoutS,
      healthCheckIntervalS: o.healthCheckIntervalS,
      requestS: o.requestTimeoutS,
      testS: o.testTimeoutS,
      stopS: o.stopTimeoutS,
      lmEvalInstallS: o.lmEvalInstallTimeoutS,
      lmEvalRunS: o.lmEvalRunTimeoutS,
    },
    thresholds: { maxTtftS: o.maxTtftS, minSpeedup: o.minSpeedup, ttftStat: o.ttftStat, maxFailureRate: o.maxFailureRate, disabledChecks: o.disabledChecks },
    results: {
      buildId,
      dir: resultsDir,
      explicit: o.resultsDir !== undefined || o.buildId !== undefined,
      stateDir: o.stateDir ? absolute(o.stateDir, cwd) : join(repoRoot, 'results', '.state'),
    },
    suite: {
      quick: o.quick,
      tests,
      startBaseline: script === 'start-servers' ? !o.noBaseline : !o.quick,
      compareTo,
      regressionTolerance: o.regressionTolerance,
    },
    lmEval: {
      task: lmEvalTask,
      limit: o.lmEvalLimit,
      concurrent: o.lmEvalConcurrent,
      seed: o.lmEvalSeed,
      includePath: lmEvalIncludePath,
      bin: o.lmEvalBin ? absolute(o.lmEvalBin, cwd) : undefined,
      venvDir: o.lmEvalVenvDir ? absolute(o.lmEvalVenvDir, cwd) : join(repoRoot, '.venv', 'lm-eval'),
      allowVenv: !o.lmEvalNoVenv,
      skipBaseline: o.lmEvalSkipBaseline || o.quick,
    },
    longDoc: {
      numRequests: o.longDocNumRequests,
      numDocuments: o.longDocNumDocuments ?? o.longDocNumRequests,
      documentLength: o.longDocDocumentLength,
      outputLen: o.longDocOutputLen,
      maxInflight: o.longDocMaxInflight,
      requestRate: o.longDocRequestRate,
      seed: o.longDocSeed,
      dataFile,
      maxTtftS: o.longDocMaxTtftS ?? o.maxTtftS,
      minSpeedup: o.longDocMinSpeedup ?? o.minSpeedup,
      skipBaseline: o.longDocSkipBaseline || o.quick,
    },
    selfTest: { scenarios: o.selfTestScenarios, list: o.selfTestList, repeat: o.selfTestRepeat, jobs: o.selfTestJobs },
    shareGpt: {
      numConversations: o.shareGptNumConversations,
      numClients: o.shareGptNumClients,
      maxActive: o.shareGptMaxActive,
      maxTurns: o.shareGptMaxTurns,
      requestRate: o.shareGptRequestRate,
      outputLen: o.shareGptOutputLen,
      warmup: o.shareGptWarmup,
      dataset: shareGptDataset ?? join(repoRoot, OPTIONS.shareGptDataset.default),
      seed: o.shareGptSeed,
      maxTtftS: o.shareGptMaxTtftS ?? o.maxTtftS,
      minSpeedup: o.shareGptMinSpeedup ?? o.minSpeedup,
      skipBaseline: o.shareGptSkipBaseline || o.quick,
    },
  };
}
