// Run history: two summaries → per-figure deltas and regressions. Pure.
//
// Figures are each test's numeric metrics plus its count of failed criteria,
// matched by test name and metric name. Direction decides what "worse" means:
// TTFT, latency, durations, failures, errors and mismatches going up is worse;
// speedup, cache hits, throughput and scores going down is worse; anything
// else (e.g. request counts) is reported but never a regression. A change is
// a regression when it goes the worse way by more than the tolerance
// (relative to the old value; from 0, any worse change counts).
import type { Comparison, FigureDelta, Summary, SummaryTest } from './summary.ts';

export const DEFAULT_TOLERANCE = 0.1;
export const FAILED_CRITERIA = 'failed_criteria';

export type Direction = FigureDelta['direction'];

export function figureDirection(name: string): Direction {
  const n = name.toLowerCase();
  if (/speedup|throughput|hit|score|accuracy|exact_match/.test(n)) return 'higher-is-better';
  if (/fail|error|mismatch/.test(n)) return 'lower-is-better';
  if (/ttft|latency|itl|tpot|duration|(^|_)(s|ms)$/.test(n)) return 'lower-is-better';
  return 'neutral';
}

/** The numeric figures of one test, by name. */
export function testFigures(t: SummaryTest): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(t.metrics)) if (typeof v === 'number' && Number.isFinite(v)) out.set(k, v);
  if (t.criteria.length) out.set(FAILED_CRITERIA, t.criteria.filter((c) => c.status === 'fail').length);
  return out;
}

const EPS = 1e-9;

export function compareFigure(test: string, figure: string, oldV: number, newV: number, tolerance: number): FigureDelta {
  const direction = figureDirection(figure);
  const deltaAbs = newV - oldV;
  const d: FigureDelta = { test, figure, direction, old: oldV, new: newV, deltaAbs, verdict: 'unchanged' };
  if (oldV !== 0) d.deltaRel = deltaAbs / Math.abs(oldV);
  if (deltaAbs === 0) return d;
  if (direction === 'neutral') return { ...d, verdict: 'changed' };
  const beyond = d.deltaRel === undefined ? true : Math.abs(d.deltaRel) > tolerance + EPS;
  if (!beyond) return d;
  const worse = direction === 'lower-is-better' ? deltaAbs > 0 : deltaAbs < 0;
  return { ...d, verdict: worse ? 'regression' : 'improvement' };
}

const STATUS_RANK: Record<string, number> = { pass: 0, inconclusive: 1, fail: 2, interrupted: 2, error: 2 };

export interface CompareOptions {
  tolerance?: number;
  oldDir?: string;
  newDir?: string;
}

/** What differs in the setups of the two runs (figures of different setups compare poorly). */
function setupNotes(a: Summary, b: Summary): string[] {
  const notes: string[] = [];
  const pairs: [string, unknown, unknown][] = [
    ['stack', a.config.stack, b.config.stack],
    ['model', a.config.model, b.config.model],
    ['quick mode', a.config.suite.quick, b.config.suite.quick],
    ['TTFT statistic', a.config.thresholds.ttftStat, b.config.thresholds.ttftStat],
    ['vLLM version', a.environment?.tools['vllm']?.version, b.environment?.tools['vllm']?.version],
    ['PegaFlow version', a.environment?.tools['pegaflow-server']?.version, b.environment?.tools['pegaflow-server']?.version],
    ['GPU', a.environment?.gpus[0]?.name, b.environment?.gpus[0]?.name],
  ];
  for (const [what, x, y] of pairs) {
    if (x !== undefined && y !== undefined && x !== y) notes.push(`${what} differs: ${String(x)} (old) vs ${String(y)} (new)`);
  }
  if (a.status === 'INTERRUPTED') notes.push('the old run was interrupted; its figures may be partial');
  if (b.status === 'INTERRUPTED') notes.push('the new run was interrupted; its figures may be partial');
  return notes;
}

export function compareSummaries(oldRun: Summary, newRun: Summary, opts: CompareOptions = {}): Comparison {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const figures: FigureDelta[] = [];
  const onlyInOld: Comparison['onlyInOld'] = [];
  const onlyInNew: Comparison['onlyInNew'] = [];
  const statusChanges: Comparison['statusChanges'] = [];
  const oldTests = new Map(oldRun.tests.map((t) => [t.name, t]));
  const newTests = new Map(newRun.tests.map((t) => [t.name, t]));

  for (const [name, nt] of newTests) {
    const ot = oldTests.get(name);
    const nf = testFigures(nt);
    if (!ot) {
      for (const f of nf.keys()) onlyInNew.push({ test: name, figure: f });
      continue;
    }
    if (ot.status !== nt.status) {
      statusChanges.push({ test: name, old: ot.status, new: nt.status, regression: (STATUS_RANK[nt.status] ?? 2) > (STATUS_RANK[ot.status] ?? 2) });
    }
    const of = testFigures(ot);
    for (const [f, v] of nf) {
      const o = of.get(f);
      if (o === undefined) onlyInNew.push({ test: name, figure: f });
      else figures.push(compareFigure(name, f, o, v, tolerance));
    }
    for (const f of of.keys()) if (!nf.has(f)) onlyInOld.push({ test: name, figure: f });
  }
  for (const [name, ot] of oldTests) {
    if (newTests.has(name)) continue;
    for (const f of testFigures(ot).keys()) onlyInOld.push({ test: name, figure: f });
  }
  const regressions = figures.filter((f) => f.verdict === 'regression').length + statusChanges.filter((s) => s.regression).length;
  return {
    schemaVersion: 1,
    tolerance,
    old: { dir: opts.oldDir ?? oldRun.resultsDir, runId: oldRun.runId, startedAt: oldRun.startedAt, status: oldRun.status },
    new: { dir: opts.newDir ?? newRun.resultsDir, runId: newRun.runId, startedAt: newRun.startedAt, status: newRun.status },
    figures,
    statusChanges,
    onlyInOld,
    onlyInNew,
    notes: setupNotes(oldRun, newRun),
    regressions,
  };
}

function pct(rel: number | undefined): string {
  if (rel === undefined) return 'from 0';
  const p = rel * 100;
  return `${p > 0 ? '+' : ''}${Math.abs(p) >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** One line per regression, for warnings and annotations. */
export function regressionLines(c: Comparison): string[] {
  return [
    ...c.statusChanges.filter((s) => s.regression).map((s) => `${s.test}: status ${s.old} → ${s.new} (vs run ${c.old.runId})`),
    ...c.figures
      .filter((f) => f.verdict === 'regression')
      .map((f) => `${f.test}: ${f.figure} ${fmt(f.old)} → ${fmt(f.new)} (${pct(f.deltaRel)}, ${f.direction}, tolerance ${Math.round(c.tolerance * 100)}%, vs run ${c.old.runId})`),
  ];
}

export function changeText(f: FigureDelta): string {
  return f.deltaAbs === 0 ? '0' : pct(f.deltaRel);
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
export { fmt as fmtFigure };
