// summary.json: the machine-readable record of a run, versioned and validated
// with zod on write and on read. JUnit, Markdown (GitHub/Buildkite), HTML and
// run comparisons are all rendered from this one document, so a report can be
// regenerated from summary.json alone.
//
// Numbers: JSON has no NaN/Infinity. Metrics that are not finite are written
// as strings ("Infinity", "NaN"); other measured figures that are not finite
// become null. Fields that are undefined in the run are absent in the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvironmentSchema, type Environment } from '../env/capture.ts';
import type { RunOutcome, ServerRecord } from '../suite/events.ts';
import type { CacheEvidence, Criterion, LmEvalDetails, PassRecord, TestDetails, TestResult, TtftStats, TurnStats } from '../suite/types.ts';

export const SUMMARY_SCHEMA_VERSION = 1;
export const SUMMARY_FILE = 'summary.json';

/** A measured figure: a finite number, or null when the run produced NaN/Infinity. */
const fig = z.number().nullable();
const count = z.number();
const serverName = z.enum(['vllm-pegaflow', 'vllm-baseline']);

export const TtftStatsSchema = z.object({ count, mean: fig, p50: fig, p90: fig, p99: fig, min: fig, max: fig });

export const CacheEvidenceSchema = z.object({
  pegaflowHitBlocks: fig.optional(),
  pegaflowQueriedBlocks: fig.optional(),
  pegaflowHitSource: z.enum(['pegaflow_cache_tier_block_requests_total', 'pegaflow_cache_block_hits_total', 'unavailable']),
  pegaflowInsertedBlocks: fig.optional(),
  vllmExternalHitTokens: fig.optional(),
  vllmExternalQueryTokens: fig.optional(),
  vllmPrefixHitTokens: fig.optional(),
  vllmPrefixQueryTokens: fig.optional(),
  serverTtftMeanS: fig.optional(),
  serverTtftCount: fig.optional(),
  reset: z.enum(['done', 'unavailable', 'failed', 'not-requested']),
  resetDetail: z.string().optional(),
});

const requestErrorKind = z.enum(['http-status', 'connection', 'stream-cut', 'invalid-chunk', 'timeout', 'aborted']);

export const PassRecordSchema = z.object({
  id: z.string(),
  server: serverName,
  kind: z.enum(['cold', 'warm', 'baseline', 'turn']),
  requests: count,
  failed: count,
  errorsByKind: z.partialRecord(requestErrorKind, count),
  durationS: fig,
  ttftS: TtftStatsSchema.optional(),
  ttftSamplesS: z.array(fig),
  meanInterTokenS: fig.optional(),
  promptTokens: count,
  outputTokens: count,
  evidence: CacheEvidenceSchema.optional(),
  errorExamples: z.array(z.string()),
});

export const TurnStatsSchema = z.object({ turn: count, server: serverName, ttftS: TtftStatsSchema.optional(), requests: count, failed: count });

export const LmEvalDetailsSchema = z.object({
  runs: z.array(
    z.object({
      id: z.string(),
      server: serverName,
      outputDir: z.string(),
      samplesFile: z.string().optional(),
      scores: z.record(z.string(), fig),
      durationS: fig,
    }),
  ),
  mismatches: z.array(z.object({ comparison: z.string(), docIds: z.array(z.union([z.number(), z.string()])), count, total: count })),
  diffFile: z.string().optional(),
});

export const TestDetailsSchema = z.object({
  passes: z.array(PassRecordSchema),
  turns: z.array(TurnStatsSchema).optional(),
  lmEval: LmEvalDetailsSchema.optional(),
  warnings: z.array(z.string()),
});

export const CriterionSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['pass', 'fail', 'inconclusive', 'skipped']),
  reason: z.string(),
  measured: fig.optional(),
  threshold: fig.optional(),
  unit: z.string().optional(),
});

export const TestResultSchema = z.object({
  test: z.enum(['lm-eval', 'long-doc', 'share-gpt']),
  name: z.string(),
  status: z.enum(['pass', 'fail', 'error', 'interrupted', 'inconclusive']),
  reason: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  durationS: z.number(),
  criteria: z.array(CriterionSchema),
  metrics: z.record(z.string(), z.union([z.number(), z.string()])),
  details: TestDetailsSchema.optional(),
  errorDetail: z.string().optional(),
});

export const ServerSchema = z.object({
  role: z.enum(['pegaflow-server', 'vllm-pegaflow', 'vllm-baseline']),
  commandLine: z.array(z.string()),
  logFile: z.string(),
  readyAfterS: fig.optional(),
  exit: z.object({ code: z.number().nullable(), signal: z.string().nullable() }).optional(),
});

/**
 * The resolved configuration as the run used it. Only the fields reports read
 * are checked; the rest of KvgateConfig is kept as written (new config
 * fields need no schema change here).
 */
export const ConfigSchema = z.looseObject({
  script: z.string(),
  stack: z.string(),
  repoRoot: z.string(),
  model: z.string(),
  servedModelName: z.string(),
  thresholds: z.looseObject({ maxTtftS: z.number(), minSpeedup: z.number(), ttftStat: z.string(), maxFailureRate: z.number() }),
  results: z.looseObject({ buildId: z.string(), dir: z.string() }),
  suite: z.looseObject({ quick: z.boolean(), tests: z.array(z.string()), regressionTolerance: z.number() }),
});

export const FigureDeltaSchema = z.object({
  test: z.string(),
  figure: z.string(),
  direction: z.enum(['lower-is-better', 'higher-is-better', 'neutral']),
  old: z.number(),
  new: z.number(),
  deltaAbs: z.number(),
  /** (new − old) ÷ |old|; absent when old is 0. */
  deltaRel: z.number().optional(),
  verdict: z.enum(['regression', 'improvement', 'unchanged', 'changed']),
});

export const ComparisonSchema = z.object({
  schemaVersion: z.literal(1),
  tolerance: z.number(),
  old: z.object({ dir: z.string(), runId: z.string(), startedAt: z.string(), status: z.string() }),
  new: z.object({ dir: z.string(), runId: z.string(), startedAt: z.string(), status: z.string() }),
  figures: z.array(FigureDeltaSchema),
  statusChanges: z.array(z.object({ test: z.string(), old: z.string(), new: z.string(), regression: z.boolean() })),
  onlyInOld: z.array(z.object({ test: z.string(), figure: z.string() })),
  onlyInNew: z.array(z.object({ test: z.string(), figure: z.string() })),
  /** e.g. "model differs: A vs B" — figures of different setups compare poorly. */
  notes: z.array(z.string()),
  regressions: count,
});

export const SummarySchema = z.object({
  schemaVersion: z.literal(SUMMARY_SCHEMA_VERSION),
  runId: z.string(),
  resultsDir: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  durationS: z.number(),
  status: z.enum(['PASSED', 'FAILED', 'INTERRUPTED']),
  exitCode: z.number(),
  abortReason: z.string().optional(),
  config: ConfigSchema,
  environment: EnvironmentSchema.optional(),
  tests: z.array(TestResultSchema),
  servers: z.array(ServerSchema),
  warnings: z.array(z.string()),
  comparison: ComparisonSchema.optional(),
});

export type Summary = z.infer<typeof SummarySchema>;
export type SummaryTest = z.infer<typeof TestResultSchema>;
export type SummaryPass = z.infer<typeof PassRecordSchema>;
export type SummaryCriterion = z.infer<typeof CriterionSchema>;
export type SummaryServer = z.infer<typeof ServerSchema>;
export type Comparison = z.infer<typeof ComparisonSchema>;
export type FigureDelta = z.infer<typeof FigureDeltaSchema>;

// ── The schema covers the runtime types, statically ─────────────────────────
// Every field of the suite's types must be in the schema (else zod would drop
// it from summary.json silently): tsc fails here when one is added there.
type MissingKeys<T, S extends z.ZodType> = Exclude<keyof T, keyof z.input<S>>;
type AssertNone<K extends never> = K;
export type SchemaCoverage = [
  AssertNone<MissingKeys<TestResult, typeof TestResultSchema>>,
  AssertNone<MissingKeys<Criterion, typeof CriterionSchema>>,
  AssertNone<MissingKeys<TestDetails, typeof TestDetailsSchema>>,
  AssertNone<MissingKeys<PassRecord, typeof PassRecordSchema>>,
  AssertNone<MissingKeys<CacheEvidence, typeof CacheEvidenceSchema>>,
  AssertNone<MissingKeys<TtftStats, typeof TtftStatsSchema>>,
  AssertNone<MissingKeys<TurnStats, typeof TurnStatsSchema>>,
  AssertNone<MissingKeys<LmEvalDetails, typeof LmEvalDetailsSchema>>,
  AssertNone<MissingKeys<ServerRecord, typeof ServerSchema>>,
];
// …and their values fit it (a TestResult is a valid schema input).
type Fits<T, S extends z.ZodType> = T extends z.input<S> ? true : false;
const fits: [Fits<TestResult, typeof TestResultSchema>, Fits<ServerRecord, typeof ServerSchema>] = [true, true];
void fits;

// ── Building ────────────────────────────────────────────────────────────────

/** Metrics keep their numbers; values JSON cannot hold become strings ("Infinity"). */
function jsonMetrics(metrics: Record<string, number | string>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(metrics)) out[k] = typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  return out;
}

export interface SummaryExtras {
  environment?: Environment | undefined;
  comparison?: Comparison | undefined;
  /** Added to outcome.warnings (e.g. regressions found by --compare-to). */
  extraWarnings?: string[];
}

/** The plain (JSON) form of a run; validate it with SummarySchema before trusting it. */
export function summaryData(outcome: RunOutcome, extras: SummaryExtras = {}): unknown {
  const doc = {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    runId: outcome.config.results.buildId,
    resultsDir: outcome.resultsDir,
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
    durationS: Math.max(0, (Date.parse(outcome.endedAt) - Date.parse(outcome.startedAt)) / 1000) || 0,
    status: outcome.status,
    exitCode: outcome.exitCode,
    abortReason: outcome.abortReason,
    config: outcome.config,
    environment: extras.environment,
    tests: outcome.tests.map((t) => ({ ...t, metrics: jsonMetrics(t.metrics) })),
    servers: outcome.servers,
    warnings: [...outcome.warnings, ...(extras.extraWarnings ?? [])],
    comparison: extras.comparison,
  };
  // Exactly what the file will hold: undefined dropped, NaN/Infinity → null.
  return JSON.parse(JSON.stringify(doc));
}

export class SummaryError extends Error {
  override name = 'SummaryError';
}

function describeIssue(file: string, issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
  return `${file}: invalid at ${where}: ${issue.message}`;
}

/** Validates summary data; the error names the file and the first issue. */
export function validateSummary(data: unknown, file: string): Summary {
  if (data && typeof data === 'object' && 'schemaVersion' in data && (data as { schemaVersion: unknown }).schemaVersion !== SUMMARY_SCHEMA_VERSION) {
    throw new SummaryError(
      `${file}: schemaVersion ${JSON.stringify((data as { schemaVersion: unknown }).schemaVersion)} is not supported (this kvgate reads version ${SUMMARY_SCHEMA_VERSION})`,
    );
  }
  const r = SummarySchema.safeParse(data);
  if (!r.success) {
    const n = r.error.issues.length;
    throw new SummaryError(describeIssue(file, r.error.issues[0]!) + (n > 1 ? ` (and ${n - 1} more issue${n > 2 ? 's' : ''})` : ''));
  }
  return r.data;
}

export function buildSummary(outcome: RunOutcome, extras: SummaryExtras = {}): Summary {
  return validateSummary(summaryData(outcome, extras), `${join(outcome.resultsDir, SUMMARY_FILE)} (being written)`);
}

export function serializeSummary(summary: Summary): string {
  return JSON.stringify(summary, null, 2) + '\n';
}

/** Reads `<dir>/summary.json` (or a summary.json path) and validates it. */
export function readSummary(dirOrFile: string): Summary {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, SUMMARY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SummaryError(`${file}: ${code === 'ENOENT' ? 'no such file (is this a kvgate results directory?)' : (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SummaryError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return validateSummary(data, file);
}
