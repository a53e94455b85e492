// Scraping and reading Prometheus text exposition (vLLM's and PegaFlow's
// /metrics). Parsing goes through parse-prometheus-text-format, with two
// workarounds for version 1.1.1:
//
// 1. Histograms and summaries whose series carry labels besides `le` /
//    `quantile` (vLLM: model_name, engine; PegaFlow's OTel exporter:
//    otel_scope_name) come out of its flattenMetrics as ONE object per family,
//    with _sum, _count and every label dropped. So before parsing, every
//    `# TYPE <name> histogram|summary` line is rewritten to `untyped`: then
//    `<name>_bucket`, `<name>_sum` and `<name>_count` each become a family of
//    their own with labels intact, and histograms are rebuilt here from them.
// 2. A text that does not end with a newline loses its last sample (the parser
//    closes the family before storing the last line's sample); a newline is
//    appended.
//
// Values `+Inf`, `-Inf` and `NaN` are read as numbers (Number() would not).
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { request, type Dispatcher } from 'undici';
import type { ServerEndpoint, ServerRole } from '../stack/stack.ts';

/** Label name → wanted value, or any of several values. */
export type LabelFilter = Readonly<Record<string, string | readonly string[]>>;

export interface Sample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface HistogramSeries {
  /** The series' labels, without `le`. */
  labels: Readonly<Record<string, string>>;
  sum: number;
  count: number;
  /** Cumulative bucket counts by upper bound, ascending (`+Inf` last). */
  buckets: { le: number; count: number }[];
}

export interface MetricSnapshot {
  /** Samples by family name as exposed: counters keep `_total`; histograms appear as `<name>_bucket`, `<name>_sum`, `<name>_count`. A family declared by HELP/TYPE without samples is present with []. */
  families: ReadonlyMap<string, readonly Sample[]>;
  /** Declared type of each family with a `# TYPE` line (lower case), histograms and summaries as declared. */
  types: ReadonlyMap<string, string>;
  /** Monotonic clock (performance.now()/1000) when the text was read. */
  scrapedAtS: number;
}

const TYPE_LINE = /^#[ \t]+TYPE[ \t]+(\S+)[ \t]+(\S+)[ \t]*\r?$/gm;

/** Rewrites `# TYPE x histogram|summary` to `# TYPE x untyped` (workaround 1). */
export function retypeHistograms(text: string): string {
  return text.replace(TYPE_LINE, (line, name: string, type: string) => (/^(histogram|summary)$/i.test(type) ? `# TYPE ${name} untyped` : line));
}

export function parseValue(v: string | undefined): number {
  if (v === undefined) return NaN;
  switch (v) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return Number(v);
  }
}

/** Parses exposition text; throws (the parser's InvalidLineError) on a malformed line. */
export function parseMetrics(text: string, scrapedAtS = performance.now() / 1000): MetricSnapshot {
  const types = new Map<string, string>();
  for (const m of text.matchAll(TYPE_LINE)) types.set(m[1]!, m[2]!.toLowerCase());
  const prepared = retypeHistograms(text.endsWith('\n') ? text : `${text}\n`);
  const families = new Map<string, Sample[]>();
  for (const fam of parsePrometheusTextFormat(prepared)) {
    let list = families.get(fam.name);
    if (!list) families.set(fam.name, (list = []));
    for (const m of fam.metrics) {
      if (m.value === undefined) continue;
      list.push({ labels: m.labels ?? {}, value: parseValue(m.value) });
    }
  }
  return { families, types, scrapedAtS };
}

export function labelKey(labels: Readonly<Record<string, string>>, omit?: string): string {
  const keys = Object.keys(labels).filter((k) => k !== omit);
  keys.sort();
  let out = '';
  for (const k of keys) out += `${k}=${JSON.stringify(labels[k])},`;
  return out;
}

export function matchesFilter(labels: Readonly<Record<string, string>>, filter: LabelFilter | undefined): boolean {
  if (!filter) return true;
  for (const k in filter) {
    const want = filter[k]!;
    const have = labels[k];
    if (have === undefined) return false;
    if (typeof want === 'string' ? have !== want : !want.includes(have)) return false;
  }
  return true;
}

/** Names a counter may be exposed under: as asked first, then with / without `_total`. */
export function nameCandidates(name: string): [string, string] {
  return name.endsWith('_total') ? [name, name.slice(0, -'_total'.length)] : [name, `${name}_total`];
}

/** The family's samples under `name` or its `_total` twin; undefined when neither is exposed. */
export function seriesOf(snap: MetricSnapshot | undefined, name: string): readonly Sample[] | undefined {
  if (!snap) return undefined;
  for (const n of nameCandidates(name)) {
    const s = snap.families.get(n);
    if (s) return s;
  }
  return undefined;
}

/** Whether the family (or a histogram of that name) is exposed, with or without samples. */
export function hasFamily(snap: MetricSnapshot | undefined, name: string): boolean {
  return seriesOf(snap, name) !== undefined || (snap?.families.has(`${name}_count`) ?? false);
}

/** Sum of a counter, gauge or untyped family over the series matching `filter`; 0 when none match; undefined when the family is not exposed. */
export function sumOf(snap: MetricSnapshot | undefined, name: string, filter?: LabelFilter): number | undefined {
  const series = seriesOf(snap, name);
  if (!series) return undefined;
  let sum = 0;
  for (const s of series) if (matchesFilter(s.labels, filter)) sum += s.value;
  return sum;
}

/** A histogram (or summary: no buckets) rebuilt from its `_bucket`, `_sum`, `_count` families, one entry per label set; undefined when not exposed. */
export function histogramSeries(snap: MetricSnapshot | undefined, name: string, filter?: LabelFilter): HistogramSeries[] | undefined {
  if (!snap) return undefined;
  const sums = snap.families.get(`${name}_sum`);
  const counts = snap.families.get(`${name}_count`);
  const buckets = snap.families.get(`${name}_bucket`);
  if (!sums && !counts && !buckets) return undefined;
  const byKey = new Map<string, HistogramSeries>();
  const entry = (labels: Readonly<Record<string, string>>): HistogramSeries => {
    const key = labelKey(labels, 'le');
    let h = byKey.get(key);
    if (!h) {
      const own: Record<string, string> = {};
      for (const k in labels) if (k !== 'le') own[k] = labels[k]!;
      byKey.set(key, (h = { labels: own, sum: 0, count: 0, buckets: [] }));
    }
    return h;
  };
  for (const s of sums ?? []) if (matchesFilter(s.labels, filter)) entry(s.labels).sum += s.value;
  for (const s of counts ?? []) if (matchesFilter(s.labels, filter)) entry(s.labels).count += s.value;
  for (const s of buckets ?? []) {
    if (!matchesFilter(s.labels, filter) || s.labels['le'] === undefined) continue;
    entry(s.labels).buckets.push({ le: parseValue(s.labels['le']), count: s.value });
  }
  const out = [...byKey.values()];
  for (const h of out) h.buckets.sort((a, b) => a.le - b.le);
  return out;
}

/** A histogram's sum and count added over its label sets (those matching `filter`); undefined when not exposed. */
export function histogramOf(snap: MetricSnapshot | undefined, name: string, filter?: LabelFilter): { sum: number; count: number; series: number } | undefined {
  const series = histogramSeries(snap, name, filter);
  if (!series) return undefined;
  let sum = 0;
  let count = 0;
  for (const h of series) {
    sum += h.sum;
    count += h.count;
  }
  return { sum, count, series: series.length };
}

export type ScrapeResult = { ok: true; url: string; snapshot: MetricSnapshot; text: string } | { ok: false; url: string; error: string };

export interface ScrapeOptions {
  /** Whole scrape, seconds (default 5). */
  timeoutS?: number;
  dispatcher?: Dispatcher;
}

/** GET a /metrics URL and parse it; never throws: failures come back as `{ok: false, error}`. */
export async function scrapeMetrics(url: string, opts: ScrapeOptions = {}): Promise<ScrapeResult> {
  const timeoutMs = (opts.timeoutS ?? 5) * 1000;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      dispatcher: opts.dispatcher,
    });
    text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, url, error: `GET ${url} answered ${res.statusCode}, expected 200: ${text.trim().slice(0, 200) || '(empty body)'}` };
  } catch (err) {
    const e = err as Error;
    const what = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs / 1000} s` : e.message;
    return { ok: false, url, error: `GET ${url} failed: ${what}` };
  }
  try {
    return { ok: true, url, snapshot: parseMetrics(text), text };
  } catch (err) {
    return { ok: false, url, error: `GET ${url}: the answer is not Prometheus text: ${(err as Error).message}` };
  }
}

export interface SnapshotSet {
  snapshots: Partial<Record<ServerRole, MetricSnapshot>>;
  /** One line per failed scrape (what, where, why); those roles have no snapshot. */
  errors: Partial<Record<ServerRole, string>>;
}

/** Scrapes every endpoint's /metrics concurrently (PegaFlow and the vLLMs); a failed scrape is recorded, not thrown. */
export async function snapshotAll(endpoints: readonly ServerEndpoint[] | Partial<Record<ServerRole, ServerEndpoint>>, opts: ScrapeOptions = {}): Promise<SnapshotSet> {
  const list = Array.isArray(endpoints) ? (endpoints as readonly ServerEndpoint[]) : (Object.values(endpoints) as ServerEndpoint[]);
  const results = await Promise.all(list.map(async (ep) => [ep.role, await scrapeMetrics(ep.metricsUrl, opts)] as const));
  const set: SnapshotSet = { snapshots: {}, errors: {} };
  for (const [role, r] of results) {
    if (r.ok) set.snapshots[role] = r.snapshot;
    else set.errors[role] = `${role} metrics: ${r.error}`;
  }
  return set;
}

/** Scrapes named URLs concurrently; failures are listed, never thrown. (Older form of snapshotAll, keyed by caller-chosen names.) */
export async function scrapeAll<K extends string>(urls: Record<K, string>, opts: ScrapeOptions = {}): Promise<{ snapshots: Partial<Record<K, MetricSnapshot>>; errors: string[] }> {
  const entries = Object.entries(urls) as [K, string][];
  const results = await Promise.all(entries.map(async ([k, url]) => [k, await scrapeMetrics(url, opts)] as const));
  const snapshots: Partial<Record<K, MetricSnapshot>> = {};
  const errors: string[] = [];
  for (const [k, r] of results) {
    if (r.ok) snapshots[k] = r.snapshot;
    else errors.push(r.error);
  }
  return { snapshots, errors };
}
