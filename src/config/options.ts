// Every env var and flag kvgate reads, in one table: where it comes from, its
// default, its help line and the zod schema that parses it. Usage text,
// validation and the README's tables all derive from this table.
import type { z } from 'zod';
import { v } from './values.ts';

/** Every verdict criterion's id (src/checks/, src/tests/). */
export const CRITERION_IDS = ['failures', 'ttft', 'speedup', 'cache-used', 'ttft-cross-check', 'consistency', 'lm-eval-ran', 'baseline', 'warmup'] as const;
export type CriterionId = (typeof CRITERION_IDS)[number];

export const SCRIPTS = [
  'run-all-tests',
  'start-servers',
  'run-lm-eval',
  'run-long-doc-qa',
  'run-share-gpt',
  'self-test',
] as const;
export type Script = (typeof SCRIPTS)[number];

const TEST_SCRIPTS = ['run-lm-eval', 'run-long-doc-qa', 'run-share-gpt'] as const;
/** Scripts that start or talk to servers (all but the self-test, which always runs the simulated stack). */
const SERVER_SCRIPTS: readonly Script[] = SCRIPTS.filter((s) => s !== 'self-test');

export type OptionGroup = 'stack' | 'servers' | 'timeouts' | 'thresholds' | 'results' | 'suite' | 'lm-eval' | 'long-doc' | 'share-gpt' | 'self-test';

export interface OptionSpec {
  /** Env var that sets it (read by every script). */
  env?: string;
  /** Long flag (`--name`), accepted by `scripts`. */
  flag?: string;
  /** Other spellings of the flag (e.g. the bash suite's name). */
  aliases?: readonly string[];
  /** A switch takes no value: present means true. */
  switch?: boolean;
  scripts?: readonly Script[];
  /** Raw default, parsed like user input; per-script overrides for the full suite's smaller workloads. */
  default?: string;
  defaultFor?: Partial<Record<Script | 'sim', string>>;
  /** Shown instead of the raw default where the default is derived (e.g. "MODEL"). */
  defaultHelp?: string;
  help: string;
  group: OptionGroup;
  schema: z.ZodType<unknown, string>;
}

const sw = { switch: true, default: 'false', schema: v.bool() } as const;

export const OPTIONS = {
  // ── stack ────────────────────────────────────────────────────────────────
  stack: { env: 'STACK', flag: '--stack', scripts: SERVER_SCRIPTS, default: 'real', group: 'stack', schema: v.oneOf(['real', 'sim'] as const), help: 'real: start vllm and pegaflow-server; sim: the simulated stack in src/sim (no GPU needed)' },
  model: { env: 'MODEL', group: 'stack', defaultFor: { sim: 'kvgate/sim-qwen3-8b' }, defaultHelp: 'required (sim: kvgate/sim-qwen3-8b)', schema: v.string('a model path or Hugging Face id'), help: 'model path or Hugging Face id' },
  servedModelName: { env: 'SERVED_MODEL_NAME', group: 'stack', defaultHelp: 'MODEL', schema: v.string(), help: 'model name served by the API' },
  chatTemplate: { env: 'CHAT_TEMPLATE', group: 'stack', defaultHelp: 'none', schema: v.string('a chat template file path'), help: 'chat template file passed to vllm --chat-template' },
  vllmBin: { env: 'VLLM_BIN', group: 'stack', default: 'vllm', defaultFor: { sim: 'src/sim/bin/vllm.ts' }, schema: v.string(), help: 'vLLM executable' },
  pegaflowBin: { env: 'PEGAFLOW_BIN', group: 'stack', default: 'pegaflow-server', defaultFor: { sim: 'src/sim/bin/pegaflow-server.ts' }, schema: v.string(), help: 'PegaFlow server executable' },
  pegaFlagDialect: { env: 'PEGA_FLAG_DIALECT', group: 'stack', default: 'auto', schema: v.oneOf(['auto', 'legacy', 'current'] as const), help: 'pegaflow-server flag names: legacy (--device/--metrics-addr), current (--devices/--http-addr), auto (read --help)' },

  // ── servers ──────────────────────────────────────────────────────────────
  vllmPort: { env: 'VLLM_PORT', group: 'servers', default: '8000', schema: v.port(), help: 'vLLM with the PegaFlow connector' },
  baselinePort: { env: 'VLLM_BASELINE_PORT', group: 'servers', default: '9000', schema: v.port(), help: 'vanilla vLLM (baseline)' },
  pegaPort: { env: 'PEGA_PORT', group: 'servers', default: '50055', schema: v.port(), help: 'PegaFlow gRPC' },
  pegaMetricsPort: { env: 'PEGA_METRICS_PORT', group: 'servers', default: '9091', schema: v.port(), help: 'PegaFlow HTTP (health, metrics)' },
  pegaPoolSize: { env: 'PEGA_POOL_SIZE', group: 'servers', default: '50gb', schema: v.size(), help: 'PegaFlow pinned host memory pool' },
  pegaDevice: { env: 'PEGA_DEVICE', group: 'servers', default: '0', schema: v.int(0, 1023, 'a GPU index (whole number >= 0)'), help: 'GPU for PegaFlow and the connector vLLM' },
  baselineDevice: { env: 'VLLM_BASELINE_DEVICE', group: 'servers', default: 'auto', schema: v.string(), help: 'GPU for the baseline vLLM; auto: GPU 1 when nvidia-smi lists two or more, else PEGA_DEVICE (with a warning)' },
  pegaSsdCachePath: { env: 'PEGA_SSD_CACHE_PATH', group: 'servers', default: '/tmp/pegaflow_ci_ssd_cache', schema: v.string(), help: 'PegaFlow SSD tier file ("none" disables the tier)' },
  pegaSsdCacheCapacity: { env: 'PEGA_SSD_CACHE_CAPACITY', group: 'servers', default: '100gb', schema: v.size(), help: 'PegaFlow SSD tier size' },
  maxNumSeqs: { env: 'MAX_NUM_SEQS', group: 'servers', default: '8', schema: v.int(1, 65536), help: 'vllm --max-num-seqs' },
  maxModelLen: { env: 'MAX_MODEL_LEN', group: 'servers', default: '32768', schema: v.int(16, 10_000_000), help: 'vllm --max-model-len' },
  tensorParallelSize: { env: 'TENSOR_PARALLEL_SIZE', group: 'servers', default: '1', schema: v.int(1, 64), help: 'vllm --tensor-parallel-size' },
  vllmExtraArgs: { env: 'VLLM_EXTRA_ARGS', group: 'servers', default: '', schema: v.shellWords(), help: 'extra arguments for the connector vLLM (shell words)' },
  baselineExtraArgs: { env: 'VLLM_BASELINE_EXTRA_ARGS', group: 'servers', default: '', schema: v.shellWords(), help: 'extra arguments for the baseline vLLM (shell words)' },
  pegaExtraArgs: { env: 'PEGA_EXTRA_ARGS', group: 'servers', default: '', schema: v.shellWords(), help: 'extra arguments for pegaflow-server (shell words)' },
  noBaseline: { flag: '--no-baseline', scripts: ['start-servers'], group: 'servers', ...sw, help: 'start-all without the baseline vLLM' },

  // ── timeouts ─────────────────────────────────────────────────────────────
  serverStartupTimeoutS: { env: 'SERVER_STARTUP_TIMEOUT', group: 'timeouts', default: '600', schema: v.durationS(), help: 'per server, until it is ready' },
  healthCheckIntervalS: { env: 'HEALTH_CHECK_INTERVAL', group: 'timeouts', default: '1', schema: v.durationS(), help: 'longest pause between readiness polls (first polls are 100 ms apart, backing off to this)' },
  requestTimeoutS: { env: 'REQUEST_TIMEOUT', group: 'timeouts', default: '300', schema: v.durationS(), help: 'per HTTP request to a server' },
  testTimeoutS: { env: 'TEST_TIMEOUT', group: 'timeouts', default: '3600', schema: v.durationS(), help: 'per test (lm_eval, long-doc QA, ShareGPT)' },
  stopTimeoutS: { env: 'STOP_TIMEOUT', group: 'timeouts', default: '30', schema: v.durationS(), help: 'grace period between the stop signal (SIGTERM; SIGINT for pegaflow-server) and SIGKILL when stopping a server' },
  lmEvalInstallTimeoutS: { env: 'LM_EVAL_INSTALL_TIMEOUT', group: 'timeouts', default: '900', schema: v.durationS(), help: 'creating the lm_eval venv and installing lm-eval' },
  lmEvalRunTimeoutS: { env: 'LM_EVAL_RUN_TIMEOUT', group: 'timeouts', default: '1800', schema: v.durationS(), help: 'each lm_eval run' },

  // ── thresholds ───────────────────────────────────────────────────────────
  maxTtftS: { env: 'MAX_PEGAFLOW_TTFT', group: 'thresholds', default: '0.22', schema: v.positive('seconds, a number > 0 (e.g. 0.22)'), help: 'TTFT ceiling for warm connector requests, seconds' },
  minSpeedup: { env: 'MIN_SPEEDUP_RATIO', group: 'thresholds', default: '1.2', schema: v.positive('a ratio > 0 (e.g. 1.2)'), help: 'floor for baseline TTFT ÷ connector TTFT' },
  ttftStat: { env: 'TTFT_STAT', flag: '--ttft-stat', scripts: ['run-long-doc-qa', 'run-share-gpt'], group: 'thresholds', default: 'mean', schema: v.oneOf(['mean', 'p50', 'p90', 'p99'] as const), help: 'statistic of TTFT that verdicts compare' },
  disabledChecks: { env: 'KVGATE_INTERNAL_DISABLE_CHECKS', group: 'thresholds', default: '', schema: v.listOf(CRITERION_IDS), help: 'internal, for testing the self-test: verdict criteria to switch off (reported as skipped), e.g. cache-used' },
  maxFailureRate: { env: 'MAX_FAILURE_RATE', flag: '--max-failure-rate', scripts: ['run-long-doc-qa', 'run-share-gpt'], group: 'thresholds', default: '0', schema: v.fraction(), help: 'fraction of failed requests tolerated before a test fails' },

  // ── results ──────────────────────────────────────────────────────────────
  buildId: { env: 'BUILD_ID', group: 'results', defaultHelp: 'timestamp YYYYmmdd-HHMMSS', schema: v.string(), help: 'run id; names the results dir' },
  resultsDir: { env: 'RESULTS_DIR', group: 'results', defaultHelp: '<repo>/results/<BUILD_ID>', schema: v.string(), help: 'where results, logs and reports go (never overwritten)' },
  stateDir: { env: 'KVGATE_STATE_DIR', group: 'results', defaultHelp: '<repo>/results/.state', schema: v.string(), help: 'pid files of running servers (start-servers, stale-server reaping)' },

  // ── suite (run-all-tests) ────────────────────────────────────────────────
  quick: { flag: '--quick', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'no baseline server; tests skip their baseline comparison' },
  lmEvalOnly: { flag: '--lm-eval-only', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'run only the lm_eval consistency test' },
  longDocOnly: { flag: '--long-doc-only', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'run only the long-document QA test' },
  shareGptOnly: { flag: '--share-gpt-only', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'run only the ShareGPT multi-turn test' },
  skipLmEval: { flag: '--skip-lm-eval', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'skip the lm_eval consistency test' },
  skipLongDoc: { flag: '--skip-long-doc', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'skip the long-document QA test' },
  skipShareGpt: { flag: '--skip-share-gpt', scripts: ['run-all-tests'], group: 'suite', ...sw, help: 'skip the ShareGPT multi-turn test' },
  compareTo: { env: 'COMPARE_TO', flag: '--compare-to', scripts: ['run-all-tests'], group: 'suite', defaultHelp: 'none', schema: v.string('a results directory'), help: 'earlier results dir to compare figures with (flags regressions)' },
  regressionTolerance: { env: 'REGRESSION_TOLERANCE', group: 'suite', default: '0.1', schema: v.fraction(), help: 'relative change in a figure counted as a regression by --compare-to' },

  // ── lm_eval consistency ──────────────────────────────────────────────────
  lmEvalTask: { env: 'LM_EVAL_TASK', flag: '--task', scripts: ['run-lm-eval'], group: 'lm-eval', default: 'gsm8k', defaultFor: { sim: 'kvgate_gsm8k_mini' }, schema: v.string(), help: 'lm_eval task' },
  lmEvalLimit: { env: 'LM_EVAL_LIMIT', flag: '--limit', scripts: ['run-lm-eval'], group: 'lm-eval', default: '100', defaultFor: { 'run-all-tests': '50' }, schema: v.int(1), help: 'documents per lm_eval run' },
  lmEvalConcurrent: { env: 'LM_EVAL_CONCURRENT', flag: '--concurrent', scripts: ['run-lm-eval'], group: 'lm-eval', default: '10', schema: v.int(1, 1024), help: 'lm_eval num_concurrent' },
  lmEvalSeed: { env: 'LM_EVAL_SEED', flag: '--seed', scripts: ['run-lm-eval'], group: 'lm-eval', default: '0', schema: v.int(0), help: 'lm_eval --seed' },
  lmEvalIncludePath: { env: 'LM_EVAL_INCLUDE_PATH', flag: '--include-path', scripts: ['run-lm-eval'], group: 'lm-eval', defaultHelp: 'datasets/lm_eval for kvgate_* tasks, else none', schema: v.string(), help: 'extra lm_eval task directory (--include_path)' },
  lmEvalBin: { env: 'LM_EVAL_BIN', group: 'lm-eval', defaultHelp: 'lm_eval on PATH, else a venv', schema: v.string(), help: 'lm_eval executable' },
  lmEvalVenvDir: { env: 'LM_EVAL_VENV', group: 'lm-eval', defaultHelp: '<repo>/.venv/lm-eval', schema: v.string(), help: 'venv created for lm-eval when it is not installed' },
  lmEvalNoVenv: { env: 'LM_EVAL_NO_VENV', flag: '--no-venv', scripts: ['run-lm-eval', 'run-all-tests'], group: 'lm-eval', ...sw, help: 'never create a venv: fail if lm_eval is not installed' },
  lmEvalSkipBaseline: { flag: '--skip-baseline', scripts: ['run-lm-eval'], group: 'lm-eval', ...sw, help: 'skip the connector-vs-baseline comparison' },

  // ── long-document QA ─────────────────────────────────────────────────────
  longDocNumRequests: { env: 'LONG_DOC_NUM_REQUESTS', flag: '--num-requests', scripts: ['run-long-doc-qa'], group: 'long-doc', default: '50', defaultFor: { 'run-all-tests': '30' }, schema: v.int(1), help: 'requests per pass' },
  longDocNumDocuments: { env: 'LONG_DOC_NUM_DOCUMENTS', flag: '--num-documents', scripts: ['run-long-doc-qa'], group: 'long-doc', defaultHelp: 'num-requests', schema: v.int(1), help: 'distinct documents; request i uses document i mod this (repeats within a pass hit the GPU cache)' },
  longDocDocumentLength: { env: 'LONG_DOC_DOCUMENT_LENGTH', flag: '--document-length', scripts: ['run-long-doc-qa'], group: 'long-doc', default: '10000', schema: v.int(16), help: 'document length in tokens' },
  longDocOutputLen: { env: 'LONG_DOC_OUTPUT_LEN', flag: '--output-len', scripts: ['run-long-doc-qa'], group: 'long-doc', default: '128', schema: v.int(1), help: 'max_tokens per request' },
  longDocMaxInflight: { env: 'LONG_DOC_MAX_INFLIGHT', flag: '--max-inflight', aliases: ['--max-concurrency'], scripts: ['run-long-doc-qa'], group: 'long-doc', default: '10', schema: v.int(1), help: 'requests in flight at once' },
  longDocRequestRate: { env: 'LONG_DOC_REQUEST_RATE', flag: '--request-rate', scripts: ['run-long-doc-qa'], group: 'long-doc', default: '2', schema: v.positive('requests per second, a number > 0'), help: 'requests started per second' },
  longDocSeed: { env: 'LONG_DOC_SEED', flag: '--seed', scripts: ['run-long-doc-qa'], group: 'long-doc', default: '0', schema: v.int(0), help: 'seed of the generated documents' },
  longDocDataFile: { env: 'DATA_FILE', flag: '--data-file', scripts: ['run-long-doc-qa'], group: 'long-doc', defaultHelp: 'generated documents', schema: v.string('a JSON file of prompts'), help: 'your own prompts: a JSON array of strings or of {"prompt": ...}' },
  longDocMaxTtftS: { env: 'LONG_DOC_MAX_TTFT', flag: '--max-ttft', scripts: ['run-long-doc-qa'], group: 'long-doc', defaultHelp: 'MAX_PEGAFLOW_TTFT', schema: v.positive('seconds, a number > 0'), help: 'TTFT ceiling for this test' },
  longDocMinSpeedup: { env: 'LONG_DOC_MIN_SPEEDUP', flag: '--min-speedup', scripts: ['run-long-doc-qa'], group: 'long-doc', defaultHelp: 'MIN_SPEEDUP_RATIO', schema: v.positive('a ratio > 0'), help: 'speedup floor for this test' },
  longDocSkipBaseline: { flag: '--skip-baseline', scripts: ['run-long-doc-qa'], group: 'long-doc', ...sw, help: 'no baseline pass, no speedup criterion' },

  // ── ShareGPT multi-turn ──────────────────────────────────────────────────
  shareGptNumConversations: { env: 'SHARE_GPT_NUM_CONVERSATIONS', flag: '--num-conversations', scripts: ['run-share-gpt'], group: 'share-gpt', default: '50', defaultFor: { 'run-all-tests': '20' }, schema: v.int(1), help: 'conversations replayed' },
  shareGptNumClients: { env: 'SHARE_GPT_NUM_CLIENTS', flag: '--num-clients', scripts: ['run-share-gpt'], group: 'share-gpt', default: '2', schema: v.int(1), help: 'concurrent clients' },
  shareGptMaxActive: { env: 'SHARE_GPT_MAX_ACTIVE', flag: '--max-active', scripts: ['run-share-gpt'], group: 'share-gpt', default: '10', schema: v.int(1), help: 'conversations in progress at once' },
  shareGptMaxTurns: { env: 'SHARE_GPT_MAX_TURNS', flag: '--max-turns', scripts: ['run-share-gpt'], group: 'share-gpt', default: '5', defaultFor: { 'run-all-tests': '3' }, schema: v.int(1), help: 'user turns replayed per conversation' },
  shareGptRequestRate: { env: 'SHARE_GPT_REQUEST_RATE', flag: '--request-rate', scripts: ['run-share-gpt'], group: 'share-gpt', default: '0.5', schema: v.positive('requests per second per client, a number > 0'), help: 'requests per second, per client' },
  shareGptOutputLen: { env: 'SHARE_GPT_OUTPUT_LEN', flag: '--output-len', scripts: ['run-share-gpt'], group: 'share-gpt', default: '64', schema: v.int(1), help: 'max_tokens per turn' },
  shareGptWarmup: { env: 'SHARE_GPT_WARMUP', flag: '--warmup', scripts: ['run-share-gpt'], group: 'share-gpt', ...sw, help: 'send one unmeasured request to each server first' },
  shareGptDataset: { env: 'SHARE_GPT_DATASET', flag: '--dataset', scripts: ['run-share-gpt'], group: 'share-gpt', default: 'datasets/sharegpt/sharegpt_sample.json', schema: v.string('a ShareGPT JSON file'), help: 'ShareGPT JSON (raw conversations or OpenAI messages form)' },
  shareGptSeed: { env: 'SHARE_GPT_SEED', flag: '--seed', scripts: ['run-share-gpt'], group: 'share-gpt', default: '0', schema: v.int(0), help: 'seed for choosing conversations' },
  shareGptMaxTtftS: { env: 'SHARE_GPT_MAX_TTFT', flag: '--max-ttft', scripts: ['run-share-gpt'], group: 'share-gpt', defaultHelp: 'MAX_PEGAFLOW_TTFT', schema: v.positive('seconds, a number > 0'), help: 'TTFT ceiling for turns 2 and later' },
  shareGptMinSpeedup: { env: 'SHARE_GPT_MIN_SPEEDUP', flag: '--min-speedup', scripts: ['run-share-gpt'], group: 'share-gpt', defaultHelp: 'MIN_SPEEDUP_RATIO', schema: v.positive('a ratio > 0'), help: 'speedup floor for this test' },
  shareGptSkipBaseline: { flag: '--skip-baseline', scripts: ['run-share-gpt'], group: 'share-gpt', ...sw, help: 'no baseline replay, no speedup criterion' },

  // ── self-test ────────────────────────────────────────────────────────────
  selfTestScenarios: { env: 'SELF_TEST_SCENARIOS', flag: '--scenario', scripts: ['self-test'], group: 'self-test', default: '', schema: v.names(), help: 'scenarios to run, comma-separated (also as arguments); empty: all (see --list)' },
  selfTestList: { flag: '--list', scripts: ['self-test'], group: 'self-test', ...sw, help: 'list the scenarios and what each proves, then exit' },
  selfTestRepeat: { env: 'SELF_TEST_REPEAT', flag: '--repeat', scripts: ['self-test'], group: 'self-test', default: '0', schema: v.int(0, 1000), help: 'clean-run stability: run the clean scenario N times and report false failures and each figure\'s margin to its threshold' },
  selfTestJobs: { env: 'SELF_TEST_JOBS', flag: '--jobs', scripts: ['self-test'], group: 'self-test', defaultHelp: 'half the CPU cores, at least 1', schema: v.int(1, 64), help: 'scenarios run at once (each starts its own three servers on free ports)' },
} as const satisfies Record<string, OptionSpec>;

export type OptionId = keyof typeof OPTIONS;

type HasDefault<S> = S extends { default: string } ? true : false;
/** Parsed options: options with a plain default are always set; others may be absent. */
export type ParsedOptions = {
  [K in OptionId]: HasDefault<(typeof OPTIONS)[K]> extends true
    ? z.output<(typeof OPTIONS)[K]['schema']>
    : z.output<(typeof OPTIONS)[K]['schema']> | undefined;
};

export const TEST_SCRIPT_NAMES = TEST_SCRIPTS;
