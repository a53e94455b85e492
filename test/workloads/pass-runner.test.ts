// The pass runner: concurrency limit, the arrival schedule, abort, progress,
// and 1000 streams in flight through the real client.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { arrivalOffsetsS, runPass, type PassCounts } from '../../src/workloads/pass-runner.ts';
import type { RequestInput, RequestRecord, SendFn } from '../../src/workloads/client/types.ts';

const inputs = (n: number): RequestInput[] => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, endpoint: 'completions', prompt: `p${i}`, maxTokens: 1 }));
const base = { baseUrl: 'http://unused', model: 'm', timeoutS: 10, seed: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function record(input: RequestInput, sentAtS: number, error?: RequestRecord['error']): RequestRecord {
  const now = performance.now() / 1000;
  return { id: input.id, endpoint: input.endpoint, tags: input.tags ?? {}, ok: !error, sentAtS, endedAtS: now, ttftS: error ? undefined : 0.01, firstChunkS: 0.01, interTokenS: [], latencyS: now - sentAtS, promptTokens: 1, completionTokens: 1, cachedTokens: undefined, outputText: 'x', reasoningText: '', finishReason: 'stop', error };
}

/** A fake request function: takes `delayMs(input)`, honours the abort signal, tracks concurrency and send times. */
function fake(delayMs: (input: RequestInput) => number, failIds = new Set<string>()) {
  const track = { now: 0, max: 0, sentAt: new Map<string, number>(), calls: 0 };
  const send: SendFn = async (input, opts) => {
    const sent = performance.now() / 1000;
    track.sentAt.set(input.id, sent);
    track.calls++;
    track.now++;
    track.max = Math.max(track.max, track.now);
    const aborted = await new Promise<boolean>((resolve) => {
      if (opts.signal?.aborted) return resolve(true);
      const timer = setTimeout(() => resolve(false), delayMs(input));
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    track.now--;
    if (aborted) return record(input, sent, { kind: 'aborted', message: 'aborted' });
    return record(input, sent, failIds.has(input.id) ? { kind: 'http-status', message: 'HTTP 500: x', httpStatus: 500 } : undefined);
  };
  return { send, track };
}

t.test('never more than maxInflight at once; records come back in input order though they finish out of order', async (t) => {
  const { send, track } = fake((i) => 5 + ((Number(i.id.slice(1)) * 37) % 23));
  const res = await runPass(inputs(40), { ...base, maxInflight: 3, requestRate: Infinity, send });
  t.equal(track.max, 3);
  t.same(
    res.records.map((r) => r.id),
    inputs(40).map((i) => i.id),
  );
  t.equal(res.notSent, 0);
  t.ok(res.durationS > 0);
});

t.test('requestRate Infinity sends everything at once when slots allow', async (t) => {
  const { send, track } = fake(() => 30);
  await runPass(inputs(50), { ...base, maxInflight: 100, requestRate: Infinity, send });
  t.equal(track.max, 50);
});

t.test('arrival schedule: seeded gamma gaps (Poisson at burstiness 1), ending exactly at n/rate', async (t) => {
  const a = arrivalOffsetsS(20_000, 4, { seed: 7 });
  t.same(arrivalOffsetsS(50, 4, { seed: 7 }), arrivalOffsetsS(50, 4, { seed: 7 }), 'same seed, same schedule');
  t.notSame(arrivalOffsetsS(50, 4, { seed: 7 }), arrivalOffsetsS(50, 4, { seed: 8 }), 'another seed, another schedule');
  t.ok(Math.abs(a.at(-1)! - 5000) < 1e-6, 'the last arrival is at n/rate');
  t.ok(a.every((v, i) => i === 0 || v >= a[i - 1]!), 'non-decreasing');
  t.ok(a[0]! > 0, 'the first request waits its own gap, as in vLLM');
  const cv = (offsets: number[]) => {
    const gaps = offsets.map((v, i) => v - (i ? offsets[i - 1]! : 0));
    const m = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    return Math.sqrt(gaps.reduce((x, g) => x + (g - m) ** 2, 0) / gaps.length) / m;
  };
  t.ok(Math.abs(cv(a) - 1) < 0.05, `exponential gaps: coefficient of variation ${cv(a).toFixed(3)} ≈ 1`);
  const regular = cv(arrivalOffsetsS(20_000, 4, { seed: 7, burstiness: 4 }));
  t.ok(Math.abs(regular - 0.5) < 0.05, `burstiness 4: CV ${regular.toFixed(3)} ≈ 1/√4`);
  const bursty = cv(arrivalOffsetsS(20_000, 4, { seed: 7, burstiness: 0.25 }));
  t.ok(Math.abs(bursty - 2) < 0.15, `burstiness 0.25: CV ${bursty.toFixed(3)} ≈ 1/√0.25`);
  t.ok(cv(arrivalOffsetsS(100, 4, { seed: 7, burstiness: Infinity })) < 1e-9, 'burstiness Infinity: constant gaps');
  t.same(arrivalOffsetsS(3, Infinity, { seed: 1 }), [0, 0, 0], 'infinite rate: all at once');
  t.throws(() => arrivalOffsetsS(3, 0, { seed: 1 }), /request rate must be > 0/);
  t.throws(() => arrivalOffsetsS(3, 1, { seed: 1, burstiness: 0 }), /burstiness must be > 0/);
});

t.test('no request is sent before its scheduled arrival', async (t) => {
  const { send, track } = fake(() => 1);
  const n = 8;
  const rate = 40;
  const started = performance.now() / 1000;
  const res = await runPass(inputs(n), { ...base, maxInflight: 10, requestRate: rate, seed: 3, send });
  const offsets = arrivalOffsetsS(n, rate, { seed: 3 });
  for (let i = 0; i < n; i++) {
    const at = track.sentAt.get(`r${i}`)! - started;
    t.ok(at >= offsets[i]! - 0.002, `r${i} sent at ${at.toFixed(3)} s, scheduled ${offsets[i]!.toFixed(3)} s`);
  }
  t.ok(res.durationS >= n / rate - 0.002, 'the pass lasted at least until the last arrival');
});

t.test('an abort stops sending and aborts the requests in flight', async (t) => {
  const { send, track } = fake(() => 10_000);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const res = await runPass(inputs(50), { ...base, maxInflight: 2, requestRate: Infinity, send, signal: ac.signal });
  t.equal(track.calls, 2, 'only the first two were sent');
  t.equal(res.records.length, 2);
  t.ok(res.records.every((r) => r.error?.kind === 'aborted'), 'in-flight requests were aborted');
  t.equal(res.notSent, 48);
  t.ok(res.durationS < 5, 'returned promptly');
  const slow = fake(() => 1);
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 100);
  const waiting = await runPass(inputs(10), { ...base, maxInflight: 2, requestRate: 0.01, send: slow.send, signal: ac2.signal });
  t.equal(waiting.records.length, 0, 'the first arrival (~100 s away) was never reached');
  t.equal(waiting.notSent, 10);
  t.ok(waiting.durationS < 5, 'the wait for the next arrival was cut short');
});

t.test('progress: done/failed/total/elapsedS, at most 4 reports a second plus a final one', async (t) => {
  const { send } = fake(() => 4, new Set(['r3', 'r7']));
  const seen: PassCounts[] = [];
  const res = await runPass(inputs(240), { ...base, maxInflight: 1, requestRate: Infinity, send, onProgress: (p) => seen.push(p) });
  const last = seen.at(-1)!;
  t.same({ done: last.done, failed: last.failed, total: last.total }, { done: 240, failed: 2, total: 240 }, 'the final report counts everything');
  t.same(Object.keys(last).sort(), ['done', 'elapsedS', 'failed', 'total'], 'the counters of a progress SuiteEvent');
  t.ok(seen.length >= 4, `${seen.length} reports`);
  t.ok(seen.length <= Math.floor(res.durationS / 0.25) + 2, `${seen.length} reports over ${res.durationS.toFixed(2)} s`);
  t.ok(
    seen.every((p, i) => i === 0 || (p.done >= seen[i - 1]!.done && p.elapsedS >= seen[i - 1]!.elapsedS)),
    'counts and time only grow',
  );
  for (let i = 1; i < seen.length - 1; i++) t.ok(seen[i]!.elapsedS - seen[i - 1]!.elapsedS >= 0.24, `reports ${i - 1} and ${i} at least 0.25 s apart`);
});

t.test('1000 streams in flight at once through the real client', async (t) => {
  const N = 1000;
  const waiting: ServerResponse[] = [];
  let open = 0;
  let maxOpen = 0;
  const release = () => {
    for (const res of waiting.splice(0)) {
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: 'tok', finish_reason: 'length' }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })}\n\ndata: [DONE]\n\n`);
      res.end();
    }
  };
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      res.on('close', () => open--);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: '', finish_reason: null }] })}\n\n`);
      waiting.push(res);
      // Answer only once every stream is open: a client that queued requests would never get there.
      if (waiting.length === N) release();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', N, r));
  t.teardown(() => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))));
  const safety = setTimeout(release, 20_000);
  t.teardown(() => clearTimeout(safety));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const res = await runPass(inputs(N), { ...base, baseUrl: url, timeoutS: 60, maxInflight: N, requestRate: Infinity });
  t.equal(maxOpen, N, 'every stream was open at the same time');
  const failed = res.records.filter((r) => !r.ok);
  t.equal(failed.length, 0, failed[0]?.error?.message ?? 'all ok');
  t.ok(res.records.every((r) => r.outputText === 'tok' && r.promptTokens === 3));
});
