// lm_eval samples files: find, parse, compare per (doc_id, filter), explain.
// Never by line position: under concurrency lines may come in any order, and
// a task with two filters writes one line per doc per filter.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const SampleLine = z
  .object({
    doc_id: z.union([z.number(), z.string()]),
    filter: z.string(),
    resps: z.unknown(),
    filtered_resps: z.unknown(),
    target: z.unknown().optional(),
  })
  .passthrough();
export type Sample = z.infer<typeof SampleLine>;

export class SamplesError extends Error {}

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else out.push(p);
  }
  return out;
}

/** The one samples file lm_eval wrote for `task` under `outputDir` (it may nest folders by model and settings). */
export function findSamplesFile(outputDir: string, task: string): string {
  let files: string[];
  try {
    files = walk(outputDir);
  } catch {
    throw new SamplesError(`lm_eval output dir ${outputDir} does not exist: did lm_eval run with -s --output_path ${outputDir}?`);
  }
  const safeTask = task.replace(/\W/g, '_');
  const found = files.filter((f) => new RegExp(`/samples_${safeTask}_[^/]*\\.jsonl$`).test(f));
  if (found.length === 0) throw new SamplesError(`no samples_${safeTask}_*.jsonl under ${outputDir} (lm_eval must run with -s / --log_samples)`);
  if (found.length > 1) throw new SamplesError(`${found.length} samples files for ${task} under ${outputDir} (${found.join(', ')}); expected exactly one per run`);
  return found[0]!;
}

export function parseSamples(file: string): Sample[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Sample[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new SamplesError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = SampleLine.safeParse(json);
    if (!parsed.success) throw new SamplesError(`${file}:${i + 1}: expected an lm_eval sample with doc_id, filter, resps, filtered_resps (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
    out.push(parsed.data);
  });
  if (out.length === 0) throw new SamplesError(`${file}: no samples`);
  return out;
}

/** The model's raw text for a sample: resps is [[text]] for generate_until. */
export function responseText(s: Sample): string {
  const flat = ([] as unknown[]).concat(...(Array.isArray(s.resps) ? (s.resps as unknown[]).map((r) => (Array.isArray(r) ? r : [r])) : [s.resps]));
  return flat.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\u241e');
}

export function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export interface DocDifference {
  docId: number | string;
  filter: string;
  a: string;
  b: string;
  aFiltered: string;
  bFiltered: string;
  /** First differing character of the raw responses (-1 when only filtered_resps differ). */
  offset: number;
}

export interface SamplesComparison {
  labelA: string;
  labelB: string;
  /** Distinct documents compared. */
  docs: number;
  differences: DocDifference[];
  /** Distinct doc ids with any difference, ascending. */
  differingDocIds: (number | string)[];
  onlyInA: string[];
  onlyInB: string[];
}

const key = (s: Sample) => `${s.doc_id}\u0000${s.filter}`;

export function compareSamples(a: Sample[], b: Sample[], labelA = 'run 1', labelB = 'run 2'): SamplesComparison {
  const mapA = new Map(a.map((s) => [key(s), s]));
  const mapB = new Map(b.map((s) => [key(s), s]));
  const differences: DocDifference[] = [];
  for (const [k, sa] of mapA) {
    const sb = mapB.get(k);
    if (!sb) continue;
    const sameResps = JSON.stringify(sa.resps) === JSON.stringify(sb.resps);
    const sameFiltered = JSON.stringify(sa.filtered_resps) === JSON.stringify(sb.filtered_resps);
    if (sameResps && sameFiltered) continue;
    const ta = responseText(sa);
    const tb = responseText(sb);
    differences.push({
      docId: sa.doc_id,
      filter: sa.filter,
      a: ta,
      b: tb,
      aFiltered: JSON.stringify(sa.filtered_resps),
      bFiltered: JSON.stringify(sb.filtered_resps),
      offset: sameResps ? -1 : firstDifference(ta, tb),
    });
  }
  const ids = [...new Set(differences.map((d) => d.docId))].sort((x, y) => (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))));
  return {
    labelA,
    labelB,
    docs: new Set(a.map((s) => String(s.doc_id))).size,
    differences,
    differingDocIds: ids,
    onlyInA: [...mapA.keys()].filter((k) => !mapB.has(k)).map((k) => k.replace('\u0000', ' / ')),
    onlyInB: [...mapB.keys()].filter((k) => !mapA.has(k)).map((k) => k.replace('\u0000', ' / ')),
  };
}

export function identical(c: SamplesComparison): boolean {
  return c.differences.length === 0 && c.onlyInA.length === 0 && c.onlyInB.length === 0;
}

/** "samples differ in 2/100 docs: 17, 42" */
export function describeComparison(c: SamplesComparison, maxIds = 10): string {
  if (identical(c)) return `${c.labelA} and ${c.labelB} identical in all ${c.docs} docs`;
  const parts: string[] = [];
  if (c.differingDocIds.length) {
    const ids = c.differingDocIds.slice(0, maxIds).join(', ') + (c.differingDocIds.length > maxIds ? ', …' : '');
    parts.push(`samples differ in ${c.differingDocIds.length}/${c.docs} docs: ${ids}`);
  }
  if (c.onlyInA.length || c.onlyInB.length) parts.push(`${c.onlyInA.length + c.onlyInB.length} samples present in one run only`);
  return `${c.labelA} vs ${c.labelB}: ${parts.join('; ')}`;
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** The human-readable samples_diff.txt: each differing doc, both outputs, where they part. */
export function renderDiff(comparisons: SamplesComparison[]): string {
  const out: string[] = [];
  for (const c of comparisons) {
    if (identical(c)) continue;
    out.push(`=== ${describeComparison(c, 1000)}`, '');
    const seen = new Set<string>();
    for (const d of c.differences) {
      // One entry per doc: the raw output is the same across filters.
      const k = `${d.docId}`;
      if (seen.has(k) && d.offset >= 0) continue;
      seen.add(k);
      out.push(`--- doc ${d.docId} (filter ${d.filter})${d.offset >= 0 ? `, first difference at character ${d.offset}` : ', raw outputs equal, filtered outputs differ'}`);
      if (d.offset >= 0) {
        const from = Math.max(0, d.offset - 40);
        out.push(`  ${c.labelA}: ${JSON.stringify(clip(d.a))}`, `  ${c.labelB}: ${JSON.stringify(clip(d.b))}`);
        out.push(`  around the difference: ${JSON.stringify(d.a.slice(from, d.offset + 40))} vs ${JSON.stringify(d.b.slice(from, d.offset + 40))}`);
      }
      out.push(`  filtered: ${d.aFiltered} vs ${d.bFiltered}`, '');
    }
    for (const k of c.onlyInA) out.push(`  only in ${c.labelA}: ${k}`);
    for (const k of c.onlyInB) out.push(`  only in ${c.labelB}: ${k}`);
    out.push('');
  }
  return out.join('\n');
}

/** exact_match (or another metric) per filter, averaged over a run's samples. */
export function scoresOf(samples: Sample[], metric = 'exact_match'): Record<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const s of samples) {
    const v = (s as Record<string, unknown>)[metric];
    if (typeof v !== 'number') continue;
    const e = sums.get(s.filter) ?? { sum: 0, n: 0 };
    e.sum += v;
    e.n++;
    sums.set(s.filter, e);
  }
  return Object.fromEntries([...sums].map(([f, e]) => [`${metric},${f}`, e.sum / e.n]));
}

export type ConsistencyVerdict =
  | { status: 'pass'; reason: string }
  | { status: 'fail'; reason: string }
  | { status: 'inconclusive'; reason: string };

/**
 * Full mode: the connector must agree with itself, and with a baseline that
 * agrees with itself. A baseline that disagrees with itself means the engine
 * is not deterministic on this setup: the comparison cannot blame the connector.
 */
export function classifyConsistency(connector: SamplesComparison, baseline?: SamplesComparison, cross?: SamplesComparison): ConsistencyVerdict {
  if (!identical(connector)) return { status: 'fail', reason: describeComparison(connector) };
  if (!baseline || !cross) return { status: 'pass', reason: describeComparison(connector) };
  if (!identical(baseline)) {
    return { status: 'inconclusive', reason: `inconclusive: engine nondeterminism (${baseline.differingDocIds.length} docs differ between two baseline runs)` };
  }
  if (!identical(cross)) return { status: 'fail', reason: describeComparison(cross) };
  return { status: 'pass', reason: `${describeComparison(connector)}; connector matches baseline` };
}
