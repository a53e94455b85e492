// The vocabulary shared by tests, the suite runner and reporters.
import type { TestId } from '../config/config.ts';

/**
 * pass / fail: the test ran against healthy servers and met / missed its criteria.
 * error: the test could not be judged (a server died, a phase timed out, a tool was missing).
 * interrupted: stopped by SIGINT/SIGTERM before it finished.
 * inconclusive: ran, but the evidence cannot blame or clear the connector (e.g. the engine itself is nondeterministic).
 */
export type TestStatus = 'pass' | 'fail' | 'error' | 'interrupted' | 'inconclusive';
export type OverallStatus = 'PASSED' | 'FAILED' | 'INTERRUPTED';

/** Names used in `.result` files and summaries, as the bash suite named them. */
export const TEST_NAMES: Record<TestId, string> = {
  'lm-eval': 'lm-eval-consistency',
  'long-doc': 'long-doc-qa',
  'share-gpt': 'share-gpt-multi-turn',
};

/** Directory of each test's artefacts inside the results dir. */
export const TEST_DIRS: Record<TestId, string> = {
  'lm-eval': 'lm_eval',
  'long-doc': 'long_doc_qa',
  'share-gpt': 'share_gpt',
};

export type CriterionStatus = 'pass' | 'fail' | 'inconclusive' | 'skipped';

/** One verdict criterion (e.g. "warm TTFT ≤ 0.22 s") with its one-line reason. */
export interface Criterion {
  id: string;
  title: string;
  status: CriterionStatus;
  reason: string;
  /** The measured value and the threshold, when the criterion compares numbers. */
  measured?: number;
  threshold?: number;
  unit?: string;
}

export interface TestResult {
  test: TestId;
  name: string;
  status: TestStatus;
  /** One line: why this status ("TTFT 0.31 s > 0.22 s", "3/50 requests failed", …). */
  reason: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  criteria: Criterion[];
  /** Key figures, written as `metric.<name>: <value>` lines; units in the names. */
  metrics: Record<string, number | string>;
  /** Passes, statistics and evidence, saved in the per-test JSON and summary.json. */
  details?: TestDetails;
  /** Present with status error: the log tail of a dead server, the phase that timed out, … */
  errorDetail?: string;
}

export function worstStatus(statuses: TestStatus[]): OverallStatus {
  if (statuses.includes('interrupted')) return 'INTERRUPTED';
  // inconclusive is not a pass: the run proved nothing about that test.
  return statuses.every((s) => s === 'pass') ? 'PASSED' : 'FAILED';
}

/**
 * Metric keys shared by tests so reporters can put figures side by side.
 * Tests may add others; these are the ones the summary table shows.
 */
export const KEY_METRICS = {
  ttftColdS: 'ttft_cold_s',
  ttftWarmS: 'ttft_warm_s',
  ttftBaselineS: 'ttft_baseline_s',
  speedup: 'speedup',
  pegaflowHitBlocks: 'pegaflow_hit_blocks',
  requests: 'requests',
  failedRequests: 'failed_requests',
} as const;

/** Ways a single request can fail, counted separately (a failure is a finding, never retried). */
export type RequestErrorKind =
  | 'http-status' // non-2xx answer
  | 'connection' // refused / reset / closed before an answer
  | 'stream-cut' // stream ended before `data: [DONE]`
  | 'invalid-chunk' // a `data:` line that is not valid JSON, or an error object in the stream
  | 'timeout' // REQUEST_TIMEOUT exceeded
  | 'aborted'; // the test was stopped (interrupt, dead server)

export interface TtftStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** Cache-path evidence for one pass: metric deltas (after − before) scraped from the servers. */
export interface CacheEvidence {
  /** PegaFlow blocks served from a cache tier (ram+ssd+rdma), and blocks asked for. */
  pegaflowHitBlocks: number | undefined;
  pegaflowQueriedBlocks: number | undefined;
  /** Which PegaFlow counter the hits came from: the tier counter, or the legacy hit counter of older servers. */
  pegaflowHitSource: 'pegaflow_cache_tier_block_requests_total' | 'pegaflow_cache_block_hits_total' | 'unavailable';
  pegaflowInsertedBlocks: number | undefined;
  /** vLLM tokens found through the KV connector / in its own GPU prefix cache, and tokens queried. */
  vllmExternalHitTokens: number | undefined;
  vllmExternalQueryTokens: number | undefined;
  vllmPrefixHitTokens: number | undefined;
  vllmPrefixQueryTokens: number | undefined;
  /** Mean TTFT the server itself measured over the pass (histogram sum/count delta), for the cross-check. */
  serverTtftMeanS: number | undefined;
  serverTtftCount: number | undefined;
  /** What happened to the GPU prefix-cache reset before this pass. */
  reset: 'done' | 'unavailable' | 'failed' | 'not-requested';
  resetDetail?: string;
}

/** One pass of requests against one server. */
export interface PassRecord {
  id: string; // e.g. pegaflow_pass1, pegaflow_pass2, baseline, turn_1
  server: 'vllm-pegaflow' | 'vllm-baseline';
  /** Role of the pass in the verdict. */
  kind: 'cold' | 'warm' | 'baseline' | 'turn';
  requests: number;
  failed: number;
  errorsByKind: Partial<Record<RequestErrorKind, number>>;
  durationS: number;
  ttftS: TtftStats | undefined;
  /** Client TTFTs of successful requests, seconds (for distributions in reports). */
  ttftSamplesS: number[];
  meanInterTokenS: number | undefined;
  promptTokens: number;
  outputTokens: number;
  evidence: CacheEvidence | undefined;
  /** First few error messages, for the person reading the report. */
  errorExamples: string[];
}

/** ShareGPT: TTFT of each turn index, per server. */
export interface TurnStats {
  turn: number;
  server: 'vllm-pegaflow' | 'vllm-baseline';
  ttftS: TtftStats | undefined;
  requests: number;
  failed: number;
}

/** lm_eval consistency specifics. */
export interface LmEvalDetails {
  runs: { id: string; server: 'vllm-pegaflow' | 'vllm-baseline'; outputDir: string; samplesFile: string | undefined; scores: Record<string, number>; durationS: number }[];
  /** Documents whose outputs differ, per comparison ("connector run1 vs run2", …). */
  mismatches: { comparison: string; docIds: (number | string)[]; count: number; total: number }[];
  diffFile: string | undefined;
}

/** The `details` of every TestResult. */
export interface TestDetails {
  passes: PassRecord[];
  turns?: TurnStats[];
  lmEval?: LmEvalDetails;
  warnings: string[];
}
