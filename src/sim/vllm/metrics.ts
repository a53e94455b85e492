// GET /metrics: the Prometheus series a vLLM V1 server exposes, with vLLM's
// names, help texts, label names (model_name, engine) and histogram buckets
// (vllm/v1/metrics/loggers.py). Own registry, no process metrics. Counters are
// registered with their `_total` suffix, as prometheus_client prints them.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const ITERATION_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, … up to `max`. */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

/** FinishReason strings of vLLM's V1 engine. */
export const FINISH_REASONS = ['stop', 'length', 'abort', 'error'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export interface RequestTimings {
  /** Seconds. */
  e2eS: number;
  queueS: number;
  prefillS: number;
  decodeS: number;
  inferenceS: number;
  /** Mean time per output token after the first, seconds (0 for one token). */
  tpotS: number;
}

export class VllmMetrics {
  readonly registry = new Registry();
  private readonly labels: { model_name: string; engine: string };
  private readonly running: Gauge;
  private readonly waiting: Gauge;
  private readonly kvUsage: Gauge;
  private readonly prefixQueries: Counter;
  private readonly prefixHits: Counter;
  private readonly externalQueries: Counter;
  private readonly externalHits: Counter;
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly preemptions: Counter;
  private readonly success: Counter;
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly tpot: Histogram;
  private readonly e2e: Histogram;
  private readonly queue: Histogram;
  private readonly inference: Histogram;
  private readonly prefill: Histogram;
  private readonly decode: Histogram;
  private readonly promptTokensRequest: Histogram;
  private readonly generationTokensRequest: Histogram;
  private readonly maxTokensRequest: Histogram;
  private readonly iterationTokens: Histogram;

  constructor(opts: { modelName: string; maxModelLen: number; cacheConfigInfo: Record<string, string> }) {
    const registers = [this.registry];
    const labelNames = ['model_name', 'engine'];
    this.labels = { model_name: opts.modelName, engine: '0' };
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string, extra: string[] = []) => new Counter({ name, help, labelNames: [...labelNames, ...extra], registers });
    const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, labelNames, buckets, registers });

    this.running = gauge('vllm:num_requests_running', 'Number of requests in model execution batches.');
    this.waiting = gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.');
    this.kvUsage = gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.');
    this.prefixQueries = counter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.');
    this.prefixHits = counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.');
    this.externalQueries = counter(
      'vllm:external_prefix_cache_queries_total',
      'External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.',
    );
    this.externalHits = counter(
      'vllm:external_prefix_cache_hits_total',
      'External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.',
    );
    this.preemptions = counter('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.');
    this.promptTokens = counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = counter('vllm:generation_tokens_total', 'Number of generation tokens processed.');
    this.success = counter('vllm:request_success_total', 'Count of successfully processed requests.', ['finished_reason']);
    this.promptTokensRequest = histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', buckets125(opts.maxModelLen));
    this.generationTokensRequest = histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', buckets125(opts.maxModelLen));
    this.iterationTokens = histogram('vllm:iteration_tokens_total', 'Histogram of number of tokens per engine_step.', ITERATION_TOKEN_BUCKETS);
    this.maxTokensRequest = histogram('vllm:request_params_max_tokens', 'Histogram of the max_tokens request parameter.', buckets125(opts.maxModelLen));
    this.ttft = histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
    this.itl = histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
    this.tpot = histogram('vllm:request_time_per_output_token_seconds', 'Histogram of time_per_output_token_seconds per request.', ITL_BUCKETS);
    this.e2e = histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS);
    this.queue = histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY_BUCKETS);
    this.inference = histogram('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', REQUEST_LATENCY_BUCKETS);
    this.prefill = histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY_BUCKETS);
    this.decode = histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY_BUCKETS);

    const info = new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: [...Object.keys(opts.cacheConfigInfo), 'engine'],
      registers,
    });
    info.set({ ...opts.cacheConfigInfo, engine: '0' }, 1);

    // Series exist from the start with value 0, as vLLM creates them per engine at start-up.
    for (const m of [this.running, this.waiting, this.kvUsage]) m.set(this.labels, 0);
    for (const c of [this.prefixQueries, this.prefixHits, this.externalQueries, this.externalHits, this.preemptions, this.promptTokens, this.generationTokens]) c.inc(this.labels, 0);
    for (const reason of FINISH_REASONS) this.success.inc({ ...this.labels, finished_reason: reason }, 0);
    for (const h of [this.promptTokensRequest, this.generationTokensRequest, this.iterationTokens, this.maxTokensRequest, this.ttft, this.itl, this.tpot, this.e2e, this.queue, this.inference, this.prefill, this.decode]) h.zero(this.labels);
  }

  setScheduler(running: number, waiting: number, kvUsage: number): void {
    this.running.set(this.labels, running);
    this.waiting.set(this.labels, waiting);
    this.kvUsage.set(this.labels, kvUsage);
  }

  /** GPU prefix cache lookup of one request, in tokens. */
  prefixCache(queriedTokens: number, hitTokens: number): void {
    this.prefixQueries.inc(this.labels, queriedTokens);
    this.prefixHits.inc(this.labels, hitTokens);
  }

  /** KV connector lookup of one request, in tokens (vLLM counts the whole prompt as queried). */
  externalPrefixCache(queriedTokens: number, hitTokens: number): void {
    this.externalQueries.inc(this.labels, queriedTokens);
    this.externalHits.inc(this.labels, hitTokens);
  }

  /** One engine step: tokens scheduled (prefill chunks + decodes) and tokens generated. */
  step(scheduledTokens: number, generatedTokens: number): void {
    if (generatedTokens > 0) this.generationTokens.inc(this.labels, generatedTokens);
    if (scheduledTokens > 0) this.iterationTokens.observe(this.labels, scheduledTokens);
  }

  /** A request's first token: vLLM counts its whole prompt (cached tokens included) in prompt_tokens then. */
  firstToken(ttftS: number, promptTokens: number): void {
    this.ttft.observe(this.labels, ttftS);
    this.promptTokens.inc(this.labels, promptTokens);
  }

  interToken(seconds: number): void {
    this.itl.observe(this.labels, seconds);
  }

  finished(reason: FinishReason, promptTokens: number, generationTokens: number, maxTokens: number, t: RequestTimings | undefined): void {
    this.success.inc({ ...this.labels, finished_reason: reason }, 1);
    this.promptTokensRequest.observe(this.labels, promptTokens);
    this.generationTokensRequest.observe(this.labels, generationTokens);
    this.maxTokensRequest.observe(this.labels, maxTokens);
    if (!t) return;
    this.e2e.observe(this.labels, t.e2eS);
    this.queue.observe(this.labels, t.queueS);
    this.prefill.observe(this.labels, t.prefillS);
    this.decode.observe(this.labels, t.decodeS);
    this.inference.observe(this.labels, t.inferenceS);
    if (generationTokens > 1) this.tpot.observe(this.labels, t.tpotS);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
