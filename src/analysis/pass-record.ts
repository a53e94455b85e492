// Records of one pass → the PassRecord reporters and verdicts read. Pure.
import type { CacheEvidence, PassRecord, RequestErrorKind } from '../suite/types.ts';
import type { RequestRecord } from '../workloads/client/types.ts';
import { mean, ttftStats } from './stats.ts';

export interface PassMeta {
  id: string;
  server: PassRecord['server'];
  kind: PassRecord['kind'];
  durationS: number;
  evidence: CacheEvidence | undefined;
}

export function passRecord(records: readonly RequestRecord[], meta: PassMeta): PassRecord {
  const ok = records.filter((r) => r.ok);
  const ttfts = ok.map((r) => r.ttftS!).filter((v) => v !== undefined);
  const errorsByKind: Partial<Record<RequestErrorKind, number>> = {};
  const examples: string[] = [];
  for (const r of records) {
    if (!r.error) continue;
    errorsByKind[r.error.kind] = (errorsByKind[r.error.kind] ?? 0) + 1;
    if (examples.length < 5) examples.push(`${r.id}: ${r.error.message}`);
  }
  const gaps = ok.flatMap((r) => r.interTokenS);
  return {
    id: meta.id,
    server: meta.server,
    kind: meta.kind,
    requests: records.length,
    failed: records.length - ok.length,
    errorsByKind,
    durationS: meta.durationS,
    ttftS: ttftStats(ttfts),
    ttftSamplesS: ttfts,
    meanInterTokenS: mean(gaps),
    promptTokens: ok.reduce((a, r) => a + (r.promptTokens ?? 0), 0),
    outputTokens: ok.reduce((a, r) => a + (r.completionTokens ?? 0), 0),
    evidence: meta.evidence,
    errorExamples: examples,
  };
}

/** "12 ok, TTFT mean 0.104 s (p90 0.121 s)": the one-liner printed at the end of a pass. */
export function describePass(p: PassRecord): string {
  const t = p.ttftS;
  const ttft = t ? `TTFT mean ${t.mean.toFixed(3)} s (p50 ${t.p50.toFixed(3)}, p90 ${t.p90.toFixed(3)})` : 'no TTFT (no successful request)';
  const fails = p.failed ? `, ${p.failed} failed` : '';
  const ev = p.evidence;
  const hits = ev?.pegaflowHitBlocks !== undefined ? `, PegaFlow hits ${ev.pegaflowHitBlocks}/${ev.pegaflowQueriedBlocks ?? '?'} blocks` : '';
  const ext = ev?.vllmExternalHitTokens !== undefined ? `, external hits ${ev.vllmExternalHitTokens} tokens` : '';
  return `${p.requests - p.failed}/${p.requests} ok${fails}, ${ttft}${hits}${ext}`;
}
