// Request records of a pass → PassRecord: failures counted by kind, TTFT over
// successful requests only, a few error examples (one of each kind first).
import t from 'tap';
import { describePass, errorExamples, passRecord } from '../../src/analysis/pass-record.ts';
import type { RequestErrorKind } from '../../src/suite/types.ts';
import type { RequestRecord } from '../../src/workloads/client/types.ts';

function rec(id: string, ttftS: number | undefined, error?: RequestErrorKind, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id,
    endpoint: 'completions',
    tags: {},
    ok: error === undefined && ttftS !== undefined,
    sentAtS: 1,
    endedAtS: 2,
    ttftS,
    firstChunkS: ttftS,
    interTokenS: error ? [] : [0.01, 0.03],
    latencyS: 1,
    promptTokens: 100,
    completionTokens: 8,
    cachedTokens: undefined,
    outputText: 'x',
    reasoningText: '',
    finishReason: error ? undefined : 'length',
    error: error ? { kind: error, message: `${error} happened` } : undefined,
    ...extra,
  };
}

t.test('failures are counted by kind and TTFT statistics cover successful requests only', async (t) => {
  const records = [
    rec('a', 0.1),
    rec('b', 0.3),
    rec('c', undefined, 'http-status'),
    rec('d', 0.05, 'stream-cut'), // a TTFT was seen, then the stream broke: not a success
    rec('e', undefined, 'http-status'),
    rec('f', 0.2),
  ];
  const p = passRecord(records, { id: 'pegaflow_pass2', server: 'vllm-pegaflow', kind: 'warm', durationS: 3.5, evidence: undefined });
  t.equal(p.requests, 6);
  t.equal(p.failed, 3);
  t.same(p.errorsByKind, { 'http-status': 2, 'stream-cut': 1 });
  t.same(p.ttftSamplesS, [0.1, 0.3, 0.2], 'in input order, successes only');
  t.equal(p.ttftS!.count, 3);
  t.ok(Math.abs(p.ttftS!.mean - 0.2) < 1e-12);
  t.equal(p.ttftS!.p50, 0.2);
  t.ok(Math.abs(p.meanInterTokenS! - 0.02) < 1e-12, 'mean over every gap of the successful requests');
  t.equal(p.promptTokens, 300);
  t.equal(p.outputTokens, 24);
  t.equal(p.durationS, 3.5);
  t.same([p.id, p.server, p.kind], ['pegaflow_pass2', 'vllm-pegaflow', 'warm']);
  t.same(p.errorExamples, ['c: http-status happened', 'd: stream-cut happened', 'e: http-status happened']);
});

t.test('error examples: at most five, the first of each kind before repeats', async (t) => {
  const many = [...Array.from({ length: 8 }, (_, i) => rec(`h${i}`, undefined, 'http-status')), rec('x', undefined, 'timeout'), rec('y', undefined, 'connection')];
  const ex = errorExamples(many);
  t.equal(ex.length, 5);
  t.ok(ex.includes('x: timeout happened') && ex.includes('y: connection happened'), 'rarer kinds are not crowded out');
  t.same(ex, ['h0: http-status happened', 'h1: http-status happened', 'h2: http-status happened', 'x: timeout happened', 'y: connection happened'], 'listed in input order');
});

t.test('a pass where everything failed has no TTFT statistics and says so', async (t) => {
  const p = passRecord([rec('a', undefined, 'timeout')], { id: 'baseline', server: 'vllm-baseline', kind: 'baseline', durationS: 1, evidence: undefined });
  t.equal(p.ttftS, undefined);
  t.same(p.ttftSamplesS, []);
  t.equal(p.meanInterTokenS, undefined);
  t.match(describePass(p), /^0\/1 ok, 1 failed, no TTFT \(no successful request\)$/);
  const ok = passRecord([rec('a', 0.1234)], { id: 'p', server: 'vllm-pegaflow', kind: 'cold', durationS: 1, evidence: undefined });
  t.equal(describePass(ok), '1/1 ok, TTFT mean 0.123 s (p50 0.123, p90 0.123)');
});
