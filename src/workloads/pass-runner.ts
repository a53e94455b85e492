// Runs one pass: a list of request inputs against one server, at most
// `maxInflight` at a time, arriving at `requestRate` per second. Measures,
// never judges; returns the records in input order.
//
// Arrivals follow vLLM's `bench serve` (vllm/benchmarks/serve.py, get_request):
// gaps drawn from a gamma distribution with shape = burstiness and mean
// 1/rate (burstiness 1, the default: exponential gaps, a Poisson process;
// < 1 burstier, > 1 more regular, Infinity: constant 1/rate), summed into
// offsets from the start of the pass, then scaled so the last arrival lands
// exactly at n/rate (vLLM does this so the pass length does not drift with the
// seed). Draws come from a seeded generator, so a seed gives the same schedule
// on every run. requestRate = Infinity: every request arrives at once.
// A request that arrives while `maxInflight` are running waits for a free slot
// (first come, first served, as behind vLLM's semaphore); the schedule is
// absolute, so waiting requests go out back to back once slots free up. TTFT
// is measured from the actual send, not from the scheduled arrival.
import type { PassProgress } from '../suite/events.ts';
import { sendStreaming } from './client/stream-client.ts';
import type { RequestInput, RequestRecord, SendFn, SendOptions } from './client/types.ts';

/** The counters of a `progress` SuiteEvent; the caller adds test, pass and server. */
export type PassCounts = Pick<PassProgress, 'done' | 'failed' | 'total' | 'elapsedS'>;

export interface PassOptions extends Omit<SendOptions, 'signal'> {
  maxInflight: number;
  /** Requests per second; Infinity: all at once. */
  requestRate: number;
  /** Gamma shape of the arrival gaps (vLLM's --burstiness); default 1 (Poisson). */
  burstiness?: number;
  /** Seeds the arrival schedule. */
  seed: number;
  /** Stops sending new requests and aborts those in flight. */
  signal?: AbortSignal;
  /** At most one call per `progressIntervalS` (default 0.25 s: ≤ 4/s) while requests finish, plus a last call at the end. */
  onProgress?: (p: PassCounts) => void;
  progressIntervalS?: number;
  /** Replaces the streaming client (tests, benchmarks). */
  send?: SendFn;
}

export interface PassResult {
  /** Records of the requests sent, in input order (all of them unless the pass was aborted). */
  records: RequestRecord[];
  /** Inputs never sent because the signal aborted the pass first. */
  notSent: number;
  /** From the start of the pass to the end of its last request, seconds. */
  durationS: number;
}

export const DEFAULT_PROGRESS_INTERVAL_S = 0.25;

/** mulberry32: small, fast, good enough for arrival times; [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function standardNormal(rand: () => number): number {
  // Box–Muller; 1 − u keeps the log argument in (0, 1].
  const u = 1 - rand();
  const v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A gamma(shape, scale = 1) draw (Marsaglia–Tsang; shape < 1 through the boost u^(1/shape)). */
export function gammaDraw(shape: number, rand: () => number): number {
  if (shape < 1) return gammaDraw(shape + 1, rand) * Math.pow(1 - rand(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rand();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Arrival time of each request, seconds from the start of the pass: cumulative
 * gamma gaps (shape = burstiness, mean 1/rate), scaled so the last one is n/rate.
 */
export function arrivalOffsetsS(n: number, requestRate: number, opts: { seed: number; burstiness?: number }): number[] {
  if (n <= 0) return [];
  if (!(requestRate > 0)) throw new Error(`request rate must be > 0 requests/s or Infinity, got ${requestRate}`);
  if (requestRate === Infinity) return new Array<number>(n).fill(0);
  const burstiness = opts.burstiness ?? 1;
  if (!(burstiness > 0)) throw new Error(`burstiness must be > 0, got ${burstiness}`);
  const out = new Array<number>(n);
  const rand = seededRandom(opts.seed);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += burstiness === Infinity ? 1 / requestRate : gammaDraw(burstiness, rand) / (requestRate * burstiness);
    out[i] = t;
  }
  const scale = n / requestRate / t;
  for (let i = 0; i < n; i++) out[i] = out[i]! * scale;
  return out;
}

export async function runPass(inputs: readonly RequestInput[], opts: PassOptions): Promise<PassResult> {
  if (!(opts.maxInflight >= 1)) throw new Error(`maxInflight must be ≥ 1, got ${opts.maxInflight}`);
  const send = opts.send ?? sendStreaming;
  const signal = opts.signal;
  const total = inputs.length;
  const offsets = arrivalOffsetsS(total, opts.requestRate, { seed: opts.seed, burstiness: opts.burstiness });
  const sendOpts: SendOptions = { baseUrl: opts.baseUrl, model: opts.model, timeoutS: opts.timeoutS, signal, dispatcher: opts.dispatcher };
  const records = new Array<RequestRecord | undefined>(total);
  const started = performance.now();
  const elapsedS = (): number => (performance.now() - started) / 1000;

  // Progress: leading call, then at most one per interval; a change inside the interval is reported at its end.
  let done = 0;
  let failed = 0;
  const intervalMs = (opts.progressIntervalS ?? DEFAULT_PROGRESS_INTERVAL_S) * 1000;
  let lastReport = -Infinity;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const report = (): void => {
    pending = undefined;
    lastReport = performance.now();
    opts.onProgress?.({ done, failed, total, elapsedS: elapsedS() });
  };
  const progress = (): void => {
    if (!opts.onProgress || pending) return;
    const wait = lastReport + intervalMs - performance.now();
    if (wait <= 0) report();
    else pending = setTimeout(report, wait);
  };

  // The sending loop is the only waiter: for the next arrival (cut short only by
  // an abort), or for a request to finish (a free slot, or the end of the pass).
  let inflight = 0;
  let wake: (() => void) | undefined;
  let cancelSleep: (() => void) | undefined;
  const wakeUp = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = (): void => {
    cancelSleep?.();
    wakeUp();
  };
  const sleepUntil = (offsetS: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const ms = offsetS * 1000 - (performance.now() - started);
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        cancelSleep = undefined;
        resolve();
      }, ms);
      cancelSleep = () => {
        cancelSleep = undefined;
        clearTimeout(t);
        resolve();
      };
    });
  const nextEvent = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));
  signal?.addEventListener('abort', onAbort);

  let sentCount = 0;
  try {
    for (let i = 0; i < total; i++) {
      if (signal?.aborted) break;
      await sleepUntil(offsets[i]!);
      while (inflight >= opts.maxInflight && !signal?.aborted) await nextEvent();
      if (signal?.aborted) break;
      inflight++;
      sentCount++;
      const index = i;
      void send(inputs[index]!, sendOpts).then(
        (rec) => {
          records[index] = rec;
          inflight--;
          done++;
          if (!rec.ok) failed++;
          progress();
          wakeUp();
        },
        (err: unknown) => {
          // A SendFn must not reject; if one does, record it rather than lose the request.
          records[index] = failedRecord(inputs[index]!, err);
          inflight--;
          done++;
          failed++;
          progress();
          wakeUp();
        },
      );
    }
    while (inflight > 0) await nextEvent();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    cancelSleep?.();
    if (pending) clearTimeout(pending);
  }
  const durationS = elapsedS();
  if (opts.onProgress) opts.onProgress({ done, failed, total, elapsedS: durationS });
  const out: RequestRecord[] = [];
  for (const r of records) if (r) out.push(r);
  return { records: out, notSent: total - sentCount, durationS };
}

function failedRecord(input: RequestInput, err: unknown): RequestRecord {
  const t = performance.now() / 1000;
  return {
    id: input.id,
    endpoint: input.endpoint,
    tags: input.tags ?? {},
    ok: false,
    sentAtS: t,
    endedAtS: t,
    ttftS: undefined,
    firstChunkS: undefined,
    interTokenS: [],
    latencyS: 0,
    promptTokens: undefined,
    completionTokens: undefined,
    cachedTokens: undefined,
    outputText: '',
    reasoningText: '',
    finishReason: undefined,
    error: { kind: 'connection', message: `the request function threw: ${(err as Error)?.message ?? String(err)}` },
  };
}
