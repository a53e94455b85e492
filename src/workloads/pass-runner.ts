// Runs one pass: a list of requests against one server, at most `maxInflight`
// at a time, started at `requestRate` per second (Poisson arrivals from a
// seeded generator, as vLLM's benchmark does with burstiness 1; Infinity
// starts them all at once). Returns records in input order.
import { setTimeout as sleep } from 'node:timers/promises';
import { sendStreaming, type SendOptions } from './client/stream-client.ts';
import type { RequestInput, RequestRecord } from './client/types.ts';
import { seededRandom } from '../sim/faults.ts';

export interface PassOptions extends Omit<SendOptions, 'signal'> {
  maxInflight: number;
  requestRate: number;
  seed: number;
  signal?: AbortSignal;
  /** Called at most every `progressIntervalS` (and once at the end). */
  onProgress?: (p: { done: number; failed: number; total: number; elapsedS: number }) => void;
  progressIntervalS?: number;
  /** Replaceable for tests and benchmarks. */
  send?: (input: RequestInput, opts: SendOptions) => Promise<RequestRecord>;
}

export interface PassResult {
  records: RequestRecord[];
  durationS: number;
}

/** Seconds between arrivals: exponential with mean 1/rate (a Poisson process). */
export function arrivalGapsS(n: number, rate: number, seed: number): number[] {
  if (!Number.isFinite(rate)) return new Array<number>(n).fill(0);
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? 0 : -Math.log(1 - rand()) / rate));
}

export async function runPass(inputs: RequestInput[], opts: PassOptions): Promise<PassResult> {
  const send = opts.send ?? sendStreaming;
  const started = performance.now();
  const records = new Array<RequestRecord>(inputs.length);
  const gaps = arrivalGapsS(inputs.length, opts.requestRate, opts.seed);
  let done = 0;
  let failed = 0;
  let lastProgress = 0;
  const elapsed = () => (performance.now() - started) / 1000;
  const progress = (force = false) => {
    const t = performance.now();
    if (!opts.onProgress || (!force && t - lastProgress < (opts.progressIntervalS ?? 0.25) * 1000)) return;
    lastProgress = t;
    opts.onProgress({ done, failed, total: inputs.length, elapsedS: elapsed() });
  };

  let inflight = 0;
  let wake: (() => void) | undefined;
  const slotFree = () => new Promise<void>((r) => (wake = r));
  const running: Promise<void>[] = [];
  let due = 0;
  for (let i = 0; i < inputs.length; i++) {
    if (opts.signal?.aborted) break;
    due += gaps[i]!;
    const waitS = due - elapsed();
    if (waitS > 0) await sleep(waitS * 1000, undefined, { signal: opts.signal }).catch(() => undefined);
    while (inflight >= opts.maxInflight && !opts.signal?.aborted) await slotFree();
    if (opts.signal?.aborted) break;
    inflight++;
    const input = inputs[i]!;
    running.push(
      send(input, { ...opts, signal: opts.signal }).then((rec) => {
        records[i] = rec;
        inflight--;
        done++;
        if (!rec.ok) failed++;
        progress();
        const w = wake;
        wake = undefined;
        w?.();
      }),
    );
  }
  await Promise.all(running);
  progress(true);
  // Requests never sent because the pass was stopped are left out, not counted as failures.
  return { records: records.filter((r) => r !== undefined), durationS: elapsed() };
}
