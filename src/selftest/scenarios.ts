// The self-test's scenario table: one entry per class of connector regression
// the suite must catch, plus clean runs it must pass. Each scenario runs the
// real suite (ci/run-all-tests.ts --stack sim) with faults injected into one
// simulated server, and says which verdict each test must reach.
//
// Reason patterns never hard-code thresholds, so the self-test still holds
// when a user changes MAX_PEGAFLOW_TTFT or MIN_SPEEDUP_RATIO (that is what it
// is for). Criterion expectations pin down *which* check caught the fault, not
// just that the test went red.
import type { CriterionId } from '../config/options.ts';
import type { TestId } from '../config/config.ts';
import type { CriterionStatus, TestStatus } from '../suite/types.ts';

export type SimServer = 'pegaflow' | 'vllm' | 'baseline';

export interface Expectation {
  status: TestStatus;
  /** Must match the test's one-line reason. */
  reason: RegExp;
  /** Criteria that must have this status (others are not checked). */
  criteria?: Partial<Record<CriterionId, CriterionStatus>>;
}

export interface Scenario {
  name: string;
  /** What a correct verdict here proves, one sentence (README and --list). */
  proves: string;
  /** `--sim-faults` value per simulated server. */
  faults?: Partial<Record<SimServer, string>>;
  /** Other sim flags per server (e.g. a cheaper baseline). */
  serverArgs?: Partial<Record<SimServer, readonly string[]>>;
  /** --quick: no baseline server, no speedup criterion. */
  quick: boolean;
  /** The tests run, and the verdict each must reach. */
  expect: Partial<Record<TestId, Expectation>>;
  /** Exit code of run-all-tests (0 pass, 1 a test failed, 3 infrastructure error). */
  exitCode: number;
}

export const ALL_TESTS: readonly TestId[] = ['lm-eval', 'long-doc', 'share-gpt'];

const PASS: Expectation = { status: 'pass', reason: /criteri(on|a) met/ };
const TTFT_OVER = /TTFT \(\w+\) [\d.]+ s > [\d.]+ s/;
const NOT_EXERCISED = /cache path not exercised/;

/** The clean scenario --repeat runs: every test, with the baseline, so every figure has a margin. */
export const STABILITY_SCENARIO = 'clean-full';

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'clean-quick',
    proves: 'no false alarm: a healthy connector passes all three tests (quick mode, no baseline)',
    quick: true,
    expect: { 'lm-eval': PASS, 'long-doc': PASS, 'share-gpt': PASS },
    exitCode: 0,
  },
  {
    name: 'clean-full',
    proves: 'no false alarm: a healthy connector passes all three tests, including the speedup over the baseline',
    quick: false,
    expect: { 'lm-eval': PASS, 'long-doc': PASS, 'share-gpt': PASS },
    exitCode: 0,
  },
  {
    name: 'corrupt-load',
    proves: 'KV blocks altered on their way back from PegaFlow change the outputs, and lm_eval consistency names the differing docs',
    faults: { pegaflow: 'corrupt-load' },
    quick: true,
    expect: { 'lm-eval': { status: 'fail', reason: /samples differ in \d+\/\d+ docs: \d/, criteria: { consistency: 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'slow-load',
    proves: 'loads 3× slower push the warm TTFT over the ceiling even though the cache was used',
    faults: { pegaflow: 'slow-load=3' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: TTFT_OVER, criteria: { ttft: 'fail', 'cache-used': 'pass' } } },
    exitCode: 1,
  },
  {
    name: 'drop-saves',
    proves: 'a PegaFlow that acknowledges saves but keeps nothing serves no hits: slow warm pass and no cache evidence',
    faults: { pegaflow: 'drop-saves' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: TTFT_OVER, criteria: { ttft: 'fail', 'cache-used': 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'drop-saves+ignore-reset',
    proves: 'a fast warm TTFT that came from vLLM\'s own GPU cache (reset ignored) is not taken as proof: the metrics show PegaFlow served nothing',
    faults: { pegaflow: 'drop-saves', vllm: 'ignore-reset' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: NOT_EXERCISED, criteria: { ttft: 'pass', 'cache-used': 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'no-connector',
    proves: 'a vLLM that never talks to PegaFlow (connector configured but inert) fails both TTFT tests on cache evidence',
    faults: { vllm: 'no-connector' },
    quick: true,
    expect: {
      'long-doc': { status: 'fail', reason: TTFT_OVER, criteria: { 'cache-used': 'fail' } },
      'share-gpt': { status: 'fail', reason: NOT_EXERCISED, criteria: { 'cache-used': 'fail' } },
    },
    exitCode: 1,
  },
  {
    name: 'no-reset-endpoint',
    proves: 'without POST /reset_prefix_cache (real vLLM lacking VLLM_SERVER_DEV_MODE=1) warm hits come from the GPU cache; the test says so and does not pass',
    faults: { vllm: 'no-reset-endpoint' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: /cache path not exercised.*not reset/, criteria: { 'cache-used': 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'error-rate',
    proves: '5 % of requests answered with HTTP 500 are counted and fail the test (MAX_FAILURE_RATE 0)',
    faults: { vllm: 'error-rate=0.05' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: /\d+\/\d+ requests failed \(http-status/, criteria: { failures: 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'cut-stream',
    proves: 'streams that end without [DONE] are failed requests, not short answers',
    faults: { vllm: 'cut-stream' },
    quick: true,
    expect: { 'long-doc': { status: 'fail', reason: /\d+\/\d+ requests failed \(stream-cut/, criteria: { failures: 'fail' } } },
    exitCode: 1,
  },
  {
    name: 'crash-vllm',
    proves: 'the connector vLLM dying mid-test stops the test at once with an error naming it (not a timeout, not a pass)',
    faults: { vllm: 'crash-after=12' },
    quick: true,
    expect: { 'long-doc': { status: 'error', reason: /vllm-pegaflow (exited unexpectedly|stopped answering)/ } },
    exitCode: 3,
  },
  {
    name: 'crash-pegaflow',
    proves: 'PegaFlow dying mid-test is noticed and named, though vLLM keeps answering',
    faults: { pegaflow: 'crash-after=40' },
    quick: true,
    expect: { 'long-doc': { status: 'error', reason: /pegaflow-server (exited unexpectedly|stopped answering)/ } },
    exitCode: 3,
  },
  {
    name: 'startup-fail-pegaflow',
    proves: 'a PegaFlow that cannot start fails the run in seconds, naming it and its log',
    faults: { pegaflow: 'startup-fail' },
    quick: true,
    expect: { 'long-doc': { status: 'error', reason: /pegaflow-server exited while starting.*log: / } },
    exitCode: 3,
  },
  {
    name: 'startup-fail-vllm',
    proves: 'a connector vLLM that cannot start fails the run in seconds, naming it and its log',
    faults: { vllm: 'startup-fail' },
    quick: true,
    expect: { 'long-doc': { status: 'error', reason: /vllm-pegaflow exited while starting.*log: / } },
    exitCode: 3,
  },
  {
    name: 'startup-fail-baseline',
    proves: 'a baseline vLLM that cannot start fails the run in seconds, naming it and its log',
    faults: { baseline: 'startup-fail' },
    quick: false,
    expect: { 'long-doc': { status: 'error', reason: /vllm-baseline exited while starting.*log: / } },
    exitCode: 3,
  },
  {
    name: 'baseline-faster',
    proves: 'a connector that is fast but no faster than vanilla vLLM fails on speedup',
    serverArgs: { baseline: ['--sim-prefill-us-per-token', '1'] },
    quick: false,
    expect: { 'long-doc': { status: 'fail', reason: /speedup [\d.]+× < [\d.]+×/, criteria: { speedup: 'fail' } } },
    exitCode: 1,
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** run-all-tests flags that run exactly the scenario's tests. */
export function suiteArgs(s: Scenario): string[] {
  const run = new Set(Object.keys(s.expect));
  const skip: Record<TestId, string> = { 'lm-eval': '--skip-lm-eval', 'long-doc': '--skip-long-doc', 'share-gpt': '--skip-share-gpt' };
  return [...(s.quick ? ['--quick'] : []), ...ALL_TESTS.filter((t) => !run.has(t)).map((t) => skip[t])];
}

/**
 * Workload sizes for self-test runs: small enough for a 2-core CI runner, big
 * enough that every fault shows (16 long-doc requests make a 5 % error rate
 * fire; 10k-token documents make 3× slower loads cross the TTFT ceiling).
 */
export const WORKLOAD_ENV: Readonly<Record<string, string>> = {
  LONG_DOC_NUM_REQUESTS: '8',
  LONG_DOC_REQUEST_RATE: '4',
  LONG_DOC_DOCUMENT_LENGTH: '10000',
  LM_EVAL_LIMIT: '10',
  SHARE_GPT_NUM_CONVERSATIONS: '6',
  SHARE_GPT_REQUEST_RATE: '2',
};

const EXTRA_ARGS_ENV: Record<SimServer, string> = { pegaflow: 'PEGA_EXTRA_ARGS', vllm: 'VLLM_EXTRA_ARGS', baseline: 'VLLM_BASELINE_EXTRA_ARGS' };

/** The *_EXTRA_ARGS env vars that inject the scenario's faults (and skip the simulated start-up delay). */
export function serverArgsEnv(s: Scenario): Record<string, string> {
  const env: Record<string, string> = {};
  for (const server of ['pegaflow', 'vllm', 'baseline'] as const) {
    const words = ['--sim-startup-delay-s', '0', ...(s.serverArgs?.[server] ?? [])];
    const faults = s.faults?.[server];
    if (faults) words.push('--sim-faults', faults);
    env[EXTRA_ARGS_ENV[server]] = words.join(' ');
  }
  return env;
}
