// One pass's request records (and its cache evidence) → the PassRecord that
// reporters and verdicts read. Pure.
import type { CacheEvidence, PassRecord, RequestErrorKind } from '../suite/types.ts';
import type { RequestRecord } from '../workloads/client/types.ts';
import { mean, ttftStats } from './stats.ts';

export const MAX_ERROR_EXAMPLES = 5;

export interface PassMeta {
  id: string;
  server: PassRecord['server'];
  kind: PassRecord['kind'];
  durationS: number;
  evidence: CacheEvidence | undefined;
}

/** Failures by kind, in the order RequestErrorKind lists them. */
export function errorsByKind(records: readonly RequestRecord[]): Partial<Record<RequestErrorKind, number>> {
  const out: Partial<Record<RequestErrorKind, number>> = {};
  for (const r of records) if (r.error) out[r.error.kind] = (out[r.error.kind] ?? 0) + 1;
  return out;
}

/** Up to `max` "<id>: <message>" lines: the first failure of each kind first, then further ones in order. */
export function errorExamples(records: readonly RequestRecord[], max = MAX_ERROR_EXAMPLES): string[] {
  const failed = records.filter((r) => r.error);
  const picked = new Set<RequestRecord>();
  const kinds = new Set<RequestErrorKind>();
  for (const r of failed) {
    if (picked.size >= max) break;
    if (!kinds.has(r.error!.kind)) {
      kinds.add(r.error!.kind);
      picked.add(r);
    }
  }
  for (const r of failed) {
    if (picked.size >= max) break;
    picked.add(r);
  }
  return failed.filter((r) => picked.has(r)).map((r) => `${r.id}: ${r.error!.message}`);
}

export function passRecord(records: readonly RequestRecord[], meta: PassMeta): PassRecord {
  const ok = records.filter((r) => r.ok && r.ttftS !== undefined);
  const ttfts = ok.map((r) => r.ttftS!);
  const gaps: number[] = [];
  for (const r of ok) for (const g of r.interTokenS) gaps.push(g);
  let promptTokens = 0;
  let outputTokens = 0;
  for (const r of ok) {
    promptTokens += r.promptTokens ?? 0;
    outputTokens += r.completionTokens ?? 0;
  }
  return {
    id: meta.id,
    server: meta.server,
    kind: meta.kind,
    requests: records.length,
    failed: records.length - ok.length,
    errorsByKind: errorsByKind(records),
    durationS: meta.durationS,
    ttftS: ttftStats(ttfts),
    ttftSamplesS: ttfts,
    meanInterTokenS: mean(gaps),
    promptTokens,
    outputTokens,
    evidence: meta.evidence,
    errorExamples: errorExamples(records),
  };
}

const f3 = (v: number): string => v.toFixed(3);

/** "28/30 ok, 2 failed, TTFT mean 0.104 s (p50 0.101, p90 0.121), PegaFlow hits 624/624 blocks, external hits 9984 tokens": printed at the end of a pass. */
export function describePass(p: PassRecord): string {
  const t = p.ttftS;
  const ttft = t ? `TTFT mean ${f3(t.mean)} s (p50 ${f3(t.p50)}, p90 ${f3(t.p90)})` : 'no TTFT (no successful request)';
  const fails = p.failed ? `, ${p.failed} failed` : '';
  const ev = p.evidence;
  const hits = ev?.pegaflowHitBlocks !== undefined ? `, PegaFlow hits ${ev.pegaflowHitBlocks}/${ev.pegaflowQueriedBlocks ?? '?'} blocks` : '';
  const ext = ev?.vllmExternalHitTokens !== undefined ? `, external hits ${ev.vllmExternalHitTokens} tokens` : '';
  return `${p.requests - p.failed}/${p.requests} ok${fails}, ${ttft}${hits}${ext}`;
}
