// Scraping and reading Prometheus text. Parsing is done by
// parse-prometheus-text-format, with one workaround: for histogram and summary
// families whose series carry labels besides `le` (vLLM's model_name/engine,
// PegaFlow's otel_scope_name), version 1.1.1 merges every series into one and
// drops _sum, _count and the labels. We re-type those families as untyped
// before parsing, so `<name>_bucket`, `<name>_sum` and `<name>_count` come out
// as separate families with their labels, and read histograms from those.
import parse, { type PromFamily } from 'parse-prometheus-text-format';
import { request } from 'undici';

export interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface MetricSnapshot {
  /** Series by family name as exposed (counters keep their `_total`). */
  families: Map<string, Series[]>;
  scrapedAtS: number;
}

export function retypeHistograms(text: string): string {
  return text.replace(/^# TYPE (\S+) (histogram|summary)\s*$/gm, '# TYPE $1 untyped');
}

export function parseMetrics(text: string): MetricSnapshot {
  const families = new Map<string, Series[]>();
  for (const fam of parse(retypeHistograms(text)) as PromFamily[]) {
    const series: Series[] = [];
    for (const m of fam.metrics) {
      if (m.value === undefined) continue;
      series.push({ labels: m.labels ?? {}, value: Number(m.value) });
    }
    families.set(fam.name, [...(families.get(fam.name) ?? []), ...series]);
  }
  return { families, scrapedAtS: performance.now() / 1000 };
}

function matches(labels: Record<string, string>, filter: Record<string, string | readonly string[]> | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([k, want]) => (typeof want === 'string' ? labels[k] === want : want.includes(labels[k] ?? '')));
}

/** Names a counter may be exposed under: with and without `_total`. */
function candidates(name: string): string[] {
  return name.endsWith('_total') ? [name, name.slice(0, -6)] : [name, `${name}_total`];
}

/** Sum of a counter or gauge over the series matching `filter`; undefined when the family is absent. */
export function sumOf(snap: MetricSnapshot | undefined, name: string, filter?: Record<string, string | readonly string[]>): number | undefined {
  if (!snap) return undefined;
  for (const n of candidates(name)) {
    const series = snap.families.get(n);
    if (series) return series.filter((s) => matches(s.labels, filter)).reduce((a, s) => a + s.value, 0);
  }
  return undefined;
}

export function hasFamily(snap: MetricSnapshot | undefined, name: string): boolean {
  return !!snap && candidates(name).some((n) => snap.families.has(n));
}

/** A histogram's sum and count, added over its label sets. */
export function histogramOf(snap: MetricSnapshot | undefined, name: string, filter?: Record<string, string>): { sum: number; count: number } | undefined {
  const sum = sumOf(snap, `${name}_sum`, filter);
  const count = sumOf(snap, `${name}_count`, filter);
  if (sum === undefined || count === undefined) return undefined;
  return { sum, count };
}

export type ScrapeResult = { ok: true; snapshot: MetricSnapshot; text: string } | { ok: false; error: string };

export async function scrapeMetrics(url: string, timeoutMs = 5_000): Promise<ScrapeResult> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, error: `GET ${url} answered ${res.statusCode}` };
    return { ok: true, snapshot: parseMetrics(text), text };
  } catch (err) {
    return { ok: false, error: `GET ${url}: ${(err as Error).message}` };
  }
}

/** Scrapes several servers at once; a failed scrape is recorded as undefined, never thrown. */
export async function scrapeAll<K extends string>(urls: Record<K, string>): Promise<{ snapshots: Partial<Record<K, MetricSnapshot>>; errors: string[] }> {
  const entries = Object.entries(urls) as [K, string][];
  const results = await Promise.all(entries.map(async ([k, url]) => [k, await scrapeMetrics(url)] as const));
  const snapshots: Partial<Record<K, MetricSnapshot>> = {};
  const errors: string[] = [];
  for (const [k, r] of results) {
    if (r.ok) snapshots[k] = r.snapshot;
    else errors.push(r.error);
  }
  return { snapshots, errors };
}
