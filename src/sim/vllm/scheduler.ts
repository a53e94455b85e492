// The engine loop: continuous batching with chunked prefill, the GPU prefix
// cache, the KV connector, and real sleeps for the modelled step time.
//
// Each step takes the running sequences (at most --max-num-seqs, counting those
// waiting on a connector load) and a token budget (--max-num-batched-tokens):
// one token for every decoding sequence, then prefill chunks in arrival order,
// then newly admitted requests. A step lasts
//
//   step_overhead_ms + prefill_tokens × prefill_us_per_token
//     + (decoding sequences > 0 ? decode_base_ms + decoding sequences × decode_us_per_seq : 0)
//
// measured on the monotonic clock from the step's start; the work of the step
// (hashing, KV memory reads/writes) happens inside that time, and tokens are
// emitted when it ends. Lateness of one step is credited to the next, so timer
// granularity does not accumulate.
//
// Admission: GPU prefix-cache lookup over the full blocks within the first
// (prompt length − 1) tokens (vLLM always recomputes the last prompt token),
// then blocks for the rest of the prompt. With the connector, the request then
// waits off the step loop for QueryPrefetch + Load + Release of the blocks after
// the GPU hit, and joins the running batch once they are in KV memory.
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { PegaConnector } from './connector.ts';
import { ApiError, badRequest, internalError } from './errors.ts';
import type { KvMemoryFile } from './kv-memory.ts';
import type { Logger } from './log.ts';
import type { FinishReason, VllmMetrics } from './metrics.ts';
import { blockHashes, Generator, kvDigest, kvRoot } from './model.ts';
import { OutputProcessor, type Finish } from './output-processor.ts';
import { BlockPool } from './prefix-cache.ts';

export interface LatencyModel {
  stepOverheadMs: number;
  prefillUsPerToken: number;
  decodeUsPerSeq: number;
  decodeBaseMs: number;
}

export const DEFAULT_LATENCY: Readonly<LatencyModel> = Object.freeze({ stepOverheadMs: 4, prefillUsPerToken: 80, decodeUsPerSeq: 200, decodeBaseMs: 8 });

/** Modelled duration of one step, in milliseconds. */
export function stepMs(latency: LatencyModel, prefillTokens: number, decodingSeqs: number): number {
  return (
    latency.stepOverheadMs +
    (prefillTokens * latency.prefillUsPerToken) / 1000 +
    (decodingSeqs > 0 ? latency.decodeBaseMs + (decodingSeqs * latency.decodeUsPerSeq) / 1000 : 0)
  );
}

/** How the scheduler uses the KV connector. */
export type ConnectorMode =
  /** No --kv-transfer-config. */
  | 'none'
  /** Query, load and save through PegaFlow. */
  | 'active'
  /** no-connector fault: configured and registered, never used (queries still counted, as vLLM counts them). */
  | 'idle';

export interface SchedulerConfig {
  model: string;
  blockSize: number;
  numBlocks: number;
  enablePrefixCaching: boolean;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  latency: LatencyModel;
  /** Server --seed: sampled requests without a seed draw from seed + a counter. */
  seed: number;
}

export interface TokenEvent {
  delta: string;
  tokenId: number;
  /** 0-based index of the token in the sequence. */
  index: number;
  /** Set on the sequence's last token. */
  finish?: Finish;
}

export interface FinishedRequest {
  finishReason: 'stop' | 'length';
  stopReason: string | null;
  text: string;
  tokenIds: number[];
  promptTokens: number;
  /** Prompt tokens whose KV came from the GPU prefix cache or the connector. */
  cachedTokens: number;
}

export interface RequestSink {
  onToken(ev: TokenEvent): void;
  /** After the last token, once the connector's Save of this request is done. */
  onFinish(result: FinishedRequest): void;
  /** The request failed (connector RPC, KV capacity, shutdown); no onFinish follows. */
  onError(err: ApiError): void;
}

export interface SubmitRequest {
  requestId: string;
  promptTokens: number[];
  maxTokens: number;
  temperature: number;
  seed?: number;
  stop: string[];
  ignoreEos: boolean;
  includeStopStr: boolean;
  /** performance.now() when the HTTP request arrived. */
  arrivalMs: number;
  sink: RequestSink;
}

type SeqState = 'waiting' | 'loading' | 'prefill' | 'decode' | 'done';

class Seq {
  state: SeqState = 'waiting';
  blocks: number[] = [];
  /** Prompt tokens whose KV is in KV memory. */
  computed = 0;
  gpuHitBlocks = 0;
  extHitBlocks = 0;
  lastDigest: Buffer | undefined;
  gen: Generator | undefined;
  readonly output: OutputProcessor;
  saving: Promise<void> | undefined;
  saveError: ApiError | undefined;
  aborted = false;
  finish: Finish | undefined;
  scheduledMs: number | undefined;
  firstTokenMs: number | undefined;
  lastTokenMs: number | undefined;
  readonly hashes: Buffer[];
  readonly fullBlocks: number;
  /** Full blocks a cache may serve: those within the first promptLen − 1 tokens. */
  readonly cacheableBlocks: number;

  constructor(
    readonly req: SubmitRequest,
    readonly seed: number,
    model: string,
    readonly blockSize: number,
  ) {
    this.output = new OutputProcessor(req.stop, req.maxTokens, req.ignoreEos, req.includeStopStr);
    this.hashes = blockHashes(model, req.promptTokens, blockSize);
    this.fullBlocks = this.hashes.length;
    this.cacheableBlocks = Math.floor(Math.max(0, this.promptLen - 1) / blockSize);
  }

  get id(): string {
    return this.req.requestId;
  }
  get promptLen(): number {
    return this.req.promptTokens.length;
  }
  get cachedTokens(): number {
    return (this.gpuHitBlocks + this.extHitBlocks) * this.blockSize;
  }
}

interface Produced {
  seq: Seq;
  tokenId: number;
}

interface StepPlan {
  decodes: Seq[];
  prefills: { seq: Seq; tokens: number }[];
}

export interface SchedulerDeps {
  config: SchedulerConfig;
  kv: KvMemoryFile;
  metrics: VllmMetrics;
  logger: Logger;
  connector?: PegaConnector;
  connectorMode: ConnectorMode;
}

export class Scheduler {
  readonly pool: BlockPool;
  private readonly cfg: SchedulerConfig;
  private readonly waiting: Seq[] = [];
  private readonly loading = new Set<Seq>();
  private readonly ready: Seq[] = [];
  private readonly running: Seq[] = [];
  private readonly byId = new Map<string, Seq>();
  private wakeup: (() => void) | undefined;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private seedCounter = 0;
  private lateMs = 0;
  private warnedNoSlot = false;
  /** Totals for the periodic stats line. */
  readonly totals = { promptTokens: 0, generationTokens: 0, prefixQueries: 0, prefixHits: 0, externalQueries: 0, externalHits: 0 };

  constructor(private readonly deps: SchedulerDeps) {
    this.cfg = deps.config;
    this.pool = new BlockPool(this.cfg.numBlocks, this.cfg.enablePrefixCaching);
  }

  start(): void {
    this.loopDone ??= this.loop().catch((err: unknown) => {
      this.deps.logger.error('core.py:890', `EngineCore loop failed: ${(err as Error).stack ?? String(err)}`);
      this.failAll(internalError(`engine loop failed: ${(err as Error).message}`));
    });
  }

  get numRunning(): number {
    return this.running.length;
  }

  /** Waiting in the queue or on a connector load (vLLM keeps those in its waiting queue). */
  get numWaiting(): number {
    return this.waiting.length + this.loading.size + this.ready.length;
  }

  /** Requests that still hold blocks or will (not yet finished and freed). */
  get numActive(): number {
    return this.byId.size;
  }

  submit(req: SubmitRequest): { abort(): void } {
    if (this.stopped) throw internalError('the engine is shutting down');
    if (this.byId.has(req.requestId)) throw badRequest(`request id ${req.requestId} is already running`);
    const seed = req.seed ?? this.cfg.seed + this.seedCounter++;
    const seq = new Seq(req, seed, this.cfg.model, this.cfg.blockSize);
    this.byId.set(seq.id, seq);
    this.waiting.push(seq);
    this.updateGauges();
    this.wake();
    return { abort: () => this.abort(seq) };
  }

  /** Empties the GPU prefix cache; false (nothing changed) while requests hold blocks. */
  resetPrefixCache(): boolean {
    return this.pool.reset();
  }

  private wake(): void {
    const w = this.wakeup;
    this.wakeup = undefined;
    w?.();
  }

  private abort(seq: Seq): void {
    if (seq.aborted || seq.state === 'done') return;
    seq.aborted = true;
    const i = this.waiting.indexOf(seq);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      seq.state = 'done';
      this.byId.delete(seq.id);
      this.deps.metrics.finished('abort', seq.promptLen, 0, seq.req.maxTokens, undefined);
      this.updateGauges();
    }
    // Running: dropped at the next step. Loading: dropped when the load returns.
    this.wake();
  }

  private hasWork(): boolean {
    return this.running.length > 0 || this.ready.length > 0 || (this.waiting.length > 0 && this.running.length + this.loading.size < this.cfg.maxNumSeqs);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.hasWork()) {
        await new Promise<void>((r) => (this.wakeup = r));
        continue;
      }
      const t0 = performance.now();
      const plan = this.buildStep(t0);
      if (plan.decodes.length === 0 && plan.prefills.length === 0) {
        // Nothing runnable (waiting for blocks or loads): sleep until something changes.
        if (!this.stopped && this.ready.length === 0) await new Promise<void>((r) => (this.wakeup = r));
        continue;
      }
      const prefillTokens = plan.prefills.reduce((n, p) => n + p.tokens, 0);
      const ms = stepMs(this.cfg.latency, prefillTokens, plan.decodes.length);
      const produced = this.compute(plan);
      const credit = Math.min(this.lateMs, ms / 2);
      const target = t0 + ms - credit;
      // A zero-length step (fixed-latency mode) still yields, so a long batch cannot starve I/O and timers.
      await (ms > 0 ? sleepUntil(target) : yieldToLoop());
      const end = performance.now();
      this.lateMs = this.lateMs - credit + Math.max(0, end - target);
      if (this.stopped) return;
      this.deps.metrics.step(prefillTokens + plan.decodes.length, produced.length);
      this.emit(produced, end);
      this.updateGauges();
    }
  }

  private buildStep(now: number): StepPlan {
    const plan: StepPlan = { decodes: [], prefills: [] };
    // Drop aborted sequences; bring in those whose load finished.
    for (let i = this.running.length - 1; i >= 0; i--) {
      const seq = this.running[i]!;
      if (seq.aborted) {
        this.running.splice(i, 1);
        void this.finalize(seq, 'abort');
      }
    }
    for (const seq of this.ready.splice(0)) {
      if (seq.aborted) {
        void this.finalize(seq, 'abort');
        continue;
      }
      this.beginPrefill(seq, now);
    }
    let budget = this.cfg.maxNumBatchedTokens;
    for (const seq of this.running) {
      if (seq.state === 'decode' && budget > 0) {
        plan.decodes.push(seq);
        budget--;
      }
    }
    for (const seq of this.running) {
      if (seq.state !== 'prefill' || budget <= 0) continue;
      const tokens = Math.min(seq.promptLen - seq.computed, budget);
      plan.prefills.push({ seq, tokens });
      budget -= tokens;
    }
    // Admit waiting requests, first come first served, while sequences and blocks allow.
    while (this.waiting.length > 0 && this.running.length + this.loading.size < this.cfg.maxNumSeqs) {
      const seq = this.waiting[0]!;
      const admitted = this.admit(seq, now);
      if (admitted === 'blocked') break;
      this.waiting.shift();
      if (admitted === 'failed' || seq.state !== 'prefill' || budget <= 0) continue;
      const tokens = Math.min(seq.promptLen - seq.computed, budget);
      plan.prefills.push({ seq, tokens });
      budget -= tokens;
    }
    return plan;
  }

  /** GPU cache lookup and block allocation; starts a connector load or the prefill. */
  private admit(seq: Seq, now: number): 'blocked' | 'failed' | 'admitted' {
    const bs = this.cfg.blockSize;
    const hits = this.pool.lookup(seq.hashes, seq.cacheableBlocks);
    const needBlocks = Math.max(1, Math.ceil(seq.promptLen / bs));
    const newBlocks = needBlocks - hits.length;
    if (!this.pool.canAllocate(newBlocks, hits)) {
      if (needBlocks > this.pool.numBlocks) {
        seq.state = 'done';
        this.byId.delete(seq.id);
        this.deps.metrics.finished('error', seq.promptLen, 0, seq.req.maxTokens, undefined);
        seq.req.sink.onError(
          badRequest(`the prompt needs ${needBlocks} KV blocks of ${bs} tokens but the KV cache has ${this.pool.numBlocks} (--num-gpu-blocks-override)`),
        );
        return 'failed';
      }
      return 'blocked';
    }
    this.pool.touch(hits);
    seq.blocks = [...hits, ...this.pool.allocate(newBlocks)!];
    seq.gpuHitBlocks = hits.length;
    seq.computed = hits.length * bs;
    if (this.cfg.enablePrefixCaching) {
      this.deps.metrics.prefixCache(seq.promptLen, hits.length * bs);
      this.totals.prefixQueries += seq.promptLen;
      this.totals.prefixHits += hits.length * bs;
    }
    if (this.deps.connectorMode === 'active' && this.deps.connector && seq.cacheableBlocks > hits.length) {
      seq.state = 'loading';
      this.loading.add(seq);
      void this.load(seq);
      return 'admitted';
    }
    if (this.deps.connectorMode !== 'none') this.countExternal(seq.promptLen, 0);
    this.beginPrefill(seq, now);
    return 'admitted';
  }

  private countExternal(queried: number, hits: number): void {
    this.deps.metrics.externalPrefixCache(queried, hits);
    this.totals.externalQueries += queried;
    this.totals.externalHits += hits;
  }

  private beginPrefill(seq: Seq, now: number): void {
    seq.state = 'prefill';
    seq.scheduledMs = now;
    const done = seq.computed / this.cfg.blockSize;
    seq.lastDigest = done > 0 ? this.deps.kv.read([seq.blocks[done - 1]!])[0]! : kvRoot(this.cfg.model);
    this.running.push(seq);
  }

  /** QueryPrefetch → Load → Release for the blocks after the GPU hit; off the step loop. */
  private async load(seq: Seq): Promise<void> {
    const connector = this.deps.connector!;
    const first = seq.gpuHitBlocks;
    const ask = seq.hashes.slice(first, seq.cacheableBlocks);
    try {
      const { hitBlocks, lease } = await connector.queryPrefetch(seq.id, ask);
      const hits = Math.min(hitBlocks, ask.length);
      if (hits > 0) {
        const targets = seq.blocks.slice(first, first + hits);
        if (seq.aborted || this.stopped) {
          await connector.release(seq.id, lease).catch(() => {});
        } else {
          try {
            await connector.load(seq.id, lease, targets);
          } catch (err) {
            await connector.release(seq.id, lease).catch(() => {});
            throw err;
          }
          await connector.release(seq.id, lease);
          for (let i = 0; i < hits; i++) this.pool.cacheBlock(targets[i]!, seq.hashes[first + i]!);
          seq.extHitBlocks = hits;
          seq.computed += hits * this.cfg.blockSize;
        }
      }
      this.countExternal(seq.promptLen, seq.extHitBlocks * this.cfg.blockSize);
    } catch (err) {
      this.loading.delete(seq);
      const msg = `KV connector failed for request ${seq.id}: ${(err as Error).message}`;
      this.deps.logger.error('pegaflow_connector.py:340', msg);
      void this.finalize(seq, 'error', internalError(msg));
      this.wake();
      return;
    }
    this.loading.delete(seq);
    if (this.stopped) return;
    this.ready.push(seq);
    this.wake();
  }

  /** The step's work: KV digests of completed blocks, first tokens of finished prefills, decode tokens. */
  private compute(plan: StepPlan): Produced[] {
    const bs = this.cfg.blockSize;
    const produced: Produced[] = [];
    const writeIds: number[] = [];
    const writeDigests: Buffer[] = [];
    const prefilled: Seq[] = [];
    for (const { seq, tokens } of plan.prefills) {
      const to = seq.computed + tokens;
      const firstBlock = Math.floor(seq.computed / bs);
      const endBlock = Math.floor(to / bs);
      const toks = seq.req.promptTokens;
      for (let b = firstBlock; b < endBlock; b++) {
        const digest = kvDigest(seq.lastDigest!, toks, b * bs, (b + 1) * bs);
        seq.lastDigest = digest;
        writeIds.push(seq.blocks[b]!);
        writeDigests.push(digest);
        this.pool.cacheBlock(seq.blocks[b]!, seq.hashes[b]!);
      }
      seq.computed = to;
      if (seq.computed === seq.promptLen) prefilled.push(seq);
    }
    if (writeIds.length > 0) this.deps.kv.write(writeIds, writeDigests);
    for (const seq of prefilled) {
      // The answer depends on the prompt's KV as it is in KV memory now.
      const digests = this.deps.kv.read(seq.blocks.slice(0, seq.fullBlocks));
      const tail = seq.req.promptTokens.slice(seq.fullBlocks * bs);
      seq.gen = new Generator(this.cfg.model, digests, tail, { temperature: seq.req.temperature, seed: seq.seed, ignoreEos: seq.req.ignoreEos });
      produced.push({ seq, tokenId: seq.gen.next() });
    }
    for (const seq of plan.decodes) {
      this.ensureSlot(seq);
      produced.push({ seq, tokenId: seq.gen!.next() });
    }
    return produced;
  }

  /** A decoding sequence takes one more block when its tokens outgrow its blocks. */
  private ensureSlot(seq: Seq): void {
    const tokens = seq.promptLen + seq.output.tokenIds.length + 1;
    if (tokens <= seq.blocks.length * this.cfg.blockSize) return;
    const more = this.pool.allocate(1);
    if (more) seq.blocks.push(more[0]!);
    else if (!this.warnedNoSlot) {
      this.warnedNoSlot = true;
      this.deps.logger.warn('scheduler.py:512', 'KV cache is full: decoding continues without a new block (the simulator does not preempt)');
    }
  }

  private emit(produced: Produced[], now: number): void {
    for (const { seq, tokenId } of produced) {
      if (seq.aborted || seq.state === 'done') continue;
      const first = seq.firstTokenMs === undefined;
      if (first) {
        seq.firstTokenMs = now;
        seq.state = 'decode';
        this.deps.metrics.firstToken((now - seq.req.arrivalMs) / 1000, seq.promptLen);
        this.totals.promptTokens += seq.promptLen;
        this.startSave(seq);
      } else {
        this.deps.metrics.interToken((now - seq.lastTokenMs!) / 1000);
      }
      seq.lastTokenMs = now;
      this.totals.generationTokens++;
      const index = seq.output.tokenIds.length;
      const out = seq.output.push(tokenId);
      seq.req.sink.onToken({ delta: out.delta, tokenId, index, ...(out.finish ? { finish: out.finish } : {}) });
      if (out.finish) {
        seq.finish = out.finish;
        this.running.splice(this.running.indexOf(seq), 1);
        void this.finalize(seq, out.finish.reason);
      }
    }
  }

  /** Save of the blocks this request computed (not the GPU hits, not the loaded ones), right after its first token. */
  private startSave(seq: Seq): void {
    if (this.deps.connectorMode !== 'active' || !this.deps.connector) return;
    const from = seq.gpuHitBlocks + seq.extHitBlocks;
    if (from >= seq.fullBlocks) return;
    const ids = seq.blocks.slice(from, seq.fullBlocks);
    const hashes = seq.hashes.slice(from, seq.fullBlocks);
    seq.saving = this.deps.connector.save(seq.id, ids, hashes).catch((err: unknown) => {
      const msg = `KV connector failed for request ${seq.id}: ${(err as Error).message}`;
      this.deps.logger.error('pegaflow_connector.py:401', msg);
      seq.saveError = internalError(msg);
    });
  }

  /** Ends a sequence: waits for its Save, frees its blocks, records metrics, tells the sink. */
  private async finalize(seq: Seq, reason: FinishReason, error?: ApiError): Promise<void> {
    seq.state = 'done';
    try {
      if (seq.saving) await seq.saving;
    } finally {
      if (seq.blocks.length > 0) this.pool.freeBlocks(seq.blocks);
      seq.blocks = [];
      this.byId.delete(seq.id);
      this.updateGauges();
      this.wake();
    }
    const failure = error ?? seq.saveError;
    const generated = seq.output.tokenIds.length;
    const now = performance.now();
    const s = (ms: number) => Math.max(0, ms) / 1000;
    const timings =
      seq.scheduledMs !== undefined && seq.firstTokenMs !== undefined
        ? {
            e2eS: s(now - seq.req.arrivalMs),
            queueS: s(seq.scheduledMs - seq.req.arrivalMs),
            prefillS: s(seq.firstTokenMs - seq.scheduledMs),
            decodeS: s(seq.lastTokenMs! - seq.firstTokenMs),
            inferenceS: s(seq.lastTokenMs! - seq.scheduledMs),
            tpotS: generated > 1 ? s(seq.lastTokenMs! - seq.firstTokenMs) / (generated - 1) : 0,
          }
        : undefined;
    this.deps.metrics.finished(failure ? 'error' : reason, seq.promptLen, generated, seq.req.maxTokens, timings);
    if (failure) {
      seq.req.sink.onError(failure);
      return;
    }
    if (reason === 'abort') return;
    const last = seq.output;
    seq.req.sink.onFinish({
      finishReason: seq.finish?.reason ?? 'stop',
      stopReason: seq.finish?.stopReason ?? null,
      text: last.text,
      tokenIds: [...last.tokenIds],
      promptTokens: seq.promptLen,
      cachedTokens: seq.cachedTokens,
    });
  }

  private updateGauges(): void {
    this.deps.metrics.setScheduler(this.numRunning, this.numWaiting, this.pool.usage());
  }

  private failAll(err: ApiError): void {
    for (const seq of [...this.byId.values()]) {
      if (seq.state === 'done') continue;
      seq.state = 'done';
      seq.req.sink.onError(err);
    }
  }

  /** Stops the loop; every unfinished request gets `reason` as an error. */
  async stop(reason = 'the server is shutting down'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    this.failAll(new ApiError(503, 'ServiceUnavailableError', reason));
    this.waiting.length = 0;
    this.running.length = 0;
    this.ready.length = 0;
    await this.loopDone;
  }
}

/** Sleeps until performance.now() reaches `targetMs`: a timer for the bulk, then yields to the event loop for the last millisecond. */
export async function sleepUntil(targetMs: number): Promise<void> {
  for (;;) {
    const left = targetMs - performance.now();
    if (left <= 0) return;
    if (left > 1.5) await sleep(left - 1);
    else await yieldToLoop();
  }
}
