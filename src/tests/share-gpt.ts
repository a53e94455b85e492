// ShareGPT multi-turn: conversations replayed turn by turn, using the
// dataset's own assistant turns as history so both servers see identical
// prompts. Conversations run in groups of --max-active; each group is replayed
// in rounds (turn 1 of every conversation, then turn 2, …), and vLLM's GPU
// prefix cache is emptied before every later round on the server under test.
// That models a GPU cache under pressure — the situation a KV offloading
// connector exists for: turn k's history was computed during turn k−1, so on
// the connector server it must come back from PegaFlow, and on the baseline it
// must be recomputed. Verdict on turns ≥ 2.
import { ttftStats, pickStat } from '../analysis/stats.ts';
import { cacheUsed, combine, failures, speedup, ttftCeiling, ttftCrossCheck, withDisabled } from '../checks/criteria.ts';
import { loadShareGpt, selectConversations, turnRequests } from '../workloads/datasets/sharegpt.ts';
import type { RequestInput, RequestRecord } from '../workloads/client/types.ts';
import type { TestContext, TestRunner } from '../suite/context.ts';
import { KEY_METRICS, TEST_NAMES, type CacheEvidence, type Criterion, type PassRecord, type TestDetails, type TestResult, type TurnStats } from '../suite/types.ts';
import { measuredPass, passFile, type VllmServer } from './measured-pass.ts';
import { passRecord } from '../analysis/pass-record.ts';
import { sendStreaming } from '../workloads/client/stream-client.ts';
import type { ResetOutcome } from '../workloads/prefix-cache-reset.ts';

export interface TurnInput extends RequestInput {
  tags: { conversation: string; turn: number };
}

/** Inputs of every turn round, per group of at most `maxActive` conversations. */
export function buildRounds(
  conversations: { id: string; messages: { role: 'system' | 'user' | 'assistant'; content: string }[] }[],
  opts: { maxTurns: number; maxActive: number; outputLen: number },
): TurnInput[][][] {
  const groups: TurnInput[][][] = [];
  for (let g = 0; g < conversations.length; g += opts.maxActive) {
    const rounds: TurnInput[][] = [];
    for (const conv of conversations.slice(g, g + opts.maxActive)) {
      for (const { turn, messages } of turnRequests(conv, opts.maxTurns)) {
        (rounds[turn - 1] ??= []).push({
          id: `${conv.id}#${turn}`,
          endpoint: 'chat',
          messages,
          maxTokens: opts.outputLen,
          temperature: 0,
          tags: { conversation: conv.id, turn },
        });
      }
    }
    groups.push(rounds);
  }
  return groups;
}

interface ServerReplay {
  server: VllmServer;
  records: RequestRecord[];
  /** Evidence over the later-turn rounds only. */
  laterEvidence: CacheEvidence | undefined;
  durationS: number;
  worstReset: ResetOutcome | undefined;
}

const RESET_RANK: Record<ResetOutcome['outcome'], number> = { done: 0, unavailable: 1, failed: 2 };

async function replay(ctx: TestContext, server: VllmServer, groups: TurnInput[][][]): Promise<ServerReplay> {
  const c = ctx.cfg.shareGpt;
  const started = performance.now();
  const records: RequestRecord[] = [];
  let worstReset: ResetOutcome | undefined;
  let laterEvidence: CacheEvidence | undefined;
  if (c.warmup) {
    const first = groups[0]?.[0]?.[0];
    if (first) await sendStreaming({ ...first, id: 'warmup', maxTokens: 4 }, { baseUrl: ctx.endpoints[server].httpBase, model: ctx.cfg.servedModelName, timeoutS: ctx.cfg.timeouts.requestS, signal: ctx.signal });
  }
  // Counters are cumulative, so evidence for later turns = sum of per-round deltas.
  const laterDeltas: CacheEvidence[] = [];
  for (const [gi, rounds] of groups.entries()) {
    for (const [ri, inputs] of rounds.entries()) {
      const turn = ri + 1;
      const name = `${server === 'vllm-pegaflow' ? 'pegaflow' : 'baseline'}_group${gi + 1}_turn${turn}`;
      // Every round starts with an empty GPU cache (turn 1 too, so leftovers of earlier tests serve nothing).
      const { pass, records: got } = await measuredPass(ctx, {
        id: name,
        server,
        kind: 'turn',
        inputs,
        resetBefore: true,
        maxInflight: c.numClients,
        requestRate: c.requestRate * c.numClients,
        seed: c.seed + 7919 * turn + gi,
        outFile: passFile(ctx, `${server === 'vllm-pegaflow' ? 'pegaflow' : 'baseline'}/group${gi + 1}_turn${turn}`),
      });
      records.push(...got);
      const ev = pass.evidence;
      if (turn >= 2 && ev) {
        laterDeltas.push(ev);
        const outcome = { outcome: ev.reset === 'not-requested' ? 'done' : ev.reset, detail: ev.resetDetail ?? '' } as ResetOutcome;
        if (!worstReset || RESET_RANK[outcome.outcome] > RESET_RANK[worstReset.outcome]) worstReset = outcome;
      }
    }
  }
  if (laterDeltas.length) laterEvidence = sumEvidence(laterDeltas, worstReset);
  return { server, records, laterEvidence, durationS: (performance.now() - started) / 1000, worstReset };
}

function addOpt(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

export function sumEvidence(list: CacheEvidence[], reset: ResetOutcome | undefined): CacheEvidence {
  const first = list[0]!;
  const ttftCount = list.reduce((a, e) => a + (e.serverTtftCount ?? 0), 0);
  const ttftSum = list.reduce((a, e) => a + (e.serverTtftMeanS ?? 0) * (e.serverTtftCount ?? 0), 0);
  return {
    pegaflowHitBlocks: list.map((e) => e.pegaflowHitBlocks).reduce(addOpt),
    pegaflowQueriedBlocks: list.map((e) => e.pegaflowQueriedBlocks).reduce(addOpt),
    pegaflowHitSource: first.pegaflowHitSource,
    pegaflowInsertedBlocks: list.map((e) => e.pegaflowInsertedBlocks).reduce(addOpt),
    vllmExternalHitTokens: list.map((e) => e.vllmExternalHitTokens).reduce(addOpt),
    vllmExternalQueryTokens: list.map((e) => e.vllmExternalQueryTokens).reduce(addOpt),
    vllmPrefixHitTokens: list.map((e) => e.vllmPrefixHitTokens).reduce(addOpt),
    vllmPrefixQueryTokens: list.map((e) => e.vllmPrefixQueryTokens).reduce(addOpt),
    serverTtftMeanS: ttftCount ? ttftSum / ttftCount : undefined,
    serverTtftCount: ttftCount || undefined,
    reset: reset?.outcome ?? 'not-requested',
    resetDetail: reset?.detail,
  };
}

function turnTable(r: ServerReplay, maxTurns: number): TurnStats[] {
  const out: TurnStats[] = [];
  for (let turn = 1; turn <= maxTurns; turn++) {
    const recs = r.records.filter((x) => x.tags['turn'] === turn);
    if (!recs.length) continue;
    out.push({ turn, server: r.server, requests: recs.length, failed: recs.filter((x) => !x.ok).length, ttftS: ttftStats(recs.filter((x) => x.ok).map((x) => x.ttftS!)) });
  }
  return out;
}

function aggregate(r: ServerReplay, id: string, kind: PassRecord['kind'], pick: (rec: RequestRecord) => boolean, evidence: CacheEvidence | undefined): PassRecord {
  return passRecord(r.records.filter(pick), { id, server: r.server, kind, durationS: r.durationS, evidence });
}

export const runShareGpt: TestRunner = async (ctx) => {
  const startedAt = new Date().toISOString();
  const c = ctx.cfg.shareGpt;
  const stat = ctx.cfg.thresholds.ttftStat;
  const { conversations, skipped } = loadShareGpt(c.dataset);
  if (skipped) ctx.info(`${skipped} malformed conversation(s) in ${c.dataset} skipped`);
  const chosen = selectConversations(conversations, { numConversations: c.numConversations, seed: c.seed, file: c.dataset });
  const groups = buildRounds(chosen, { maxTurns: c.maxTurns, maxActive: c.maxActive, outputLen: c.outputLen });
  ctx.emit({ type: 'phase', test: ctx.test, phase: `${chosen.length} conversations, up to ${c.maxTurns} turns, ${c.numClients} clients at ${c.requestRate}/s each, ${c.maxActive} active at once` });

  const connector = await replay(ctx, 'vllm-pegaflow', groups);
  const baseline = ctx.useBaseline ? await replay(ctx, 'vllm-baseline', groups) : undefined;

  const later = (rec: RequestRecord) => Number(rec.tags['turn']) >= 2;
  const first = (rec: RequestRecord) => Number(rec.tags['turn']) === 1;
  const passes: PassRecord[] = [
    aggregate(connector, 'pegaflow_turn1', 'cold', first, undefined),
    aggregate(connector, 'pegaflow_later_turns', 'warm', later, connector.laterEvidence),
    ...(baseline ? [aggregate(baseline, 'baseline_turn1', 'baseline', first, undefined), aggregate(baseline, 'baseline_later_turns', 'baseline', later, baseline.laterEvidence)] : []),
  ];
  const all = [...connector.records, ...(baseline?.records ?? [])];
  const failed = all.filter((r) => !r.ok).length;
  const byKind: PassRecord['errorsByKind'] = {};
  for (const r of all) if (r.error) byKind[r.error.kind] = (byKind[r.error.kind] ?? 0) + 1;

  const warmPass = passes[1]!;
  const warmTtft = pickStat(warmPass.ttftS, stat);
  const baselineLater = baseline ? passes[3] : undefined;
  const baselineTtft = pickStat(baselineLater?.ttftS, stat);
  const criteria: Criterion[] = withDisabled([
    failures(failed, all.length, ctx.cfg.thresholds.maxFailureRate, byKind),
    warmPass.requests ? ttftCeiling(warmTtft, stat, c.maxTtftS, 'TTFT of turns ≥ 2') : { id: 'ttft', title: 'TTFT of turns ≥ 2', status: 'fail', reason: 'no conversation reached turn 2: raise --max-turns or use longer conversations' },
    ...(baseline ? [speedup(baselineTtft, warmTtft, c.minSpeedup)] : []),
    cacheUsed(connector.laterEvidence, 'turns ≥ 2'),
    ttftCrossCheck(warmPass.ttftS?.mean, connector.laterEvidence?.serverTtftMeanS),
  ], ctx.cfg.thresholds.disabledChecks);
  const { status, reason } = combine(criteria);
  const endedAt = new Date().toISOString();
  const turns = [...turnTable(connector, c.maxTurns), ...(baseline ? turnTable(baseline, c.maxTurns) : [])];
  const details: TestDetails = { passes, turns, warnings: skipped ? [`${skipped} malformed conversations skipped`] : [] };
  const coldTtft = pickStat(passes[0]!.ttftS, stat);
  const metrics: TestResult['metrics'] = {
    [KEY_METRICS.requests]: all.length,
    [KEY_METRICS.failedRequests]: failed,
    ...(coldTtft !== undefined ? { [KEY_METRICS.ttftColdS]: coldTtft } : {}),
    ...(warmTtft !== undefined ? { [KEY_METRICS.ttftWarmS]: warmTtft } : {}),
    ...(baselineTtft !== undefined ? { [KEY_METRICS.ttftBaselineS]: baselineTtft } : {}),
    ...(baselineTtft !== undefined && warmTtft ? { [KEY_METRICS.speedup]: baselineTtft / warmTtft } : {}),
    ...(connector.laterEvidence?.pegaflowHitBlocks !== undefined ? { [KEY_METRICS.pegaflowHitBlocks]: connector.laterEvidence.pegaflowHitBlocks } : {}),
    ...(connector.laterEvidence?.vllmExternalHitTokens !== undefined ? { vllm_external_hit_tokens: connector.laterEvidence.vllmExternalHitTokens } : {}),
    conversations: chosen.length,
    ttft_stat: stat,
  };
  return { test: ctx.test, name: TEST_NAMES[ctx.test], status, reason, startedAt, endedAt, durationS: (Date.parse(endedAt) - Date.parse(startedAt)) / 1000, criteria, metrics, details };
};
