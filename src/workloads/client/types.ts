// Request inputs (what to send) and records (what happened): the boundary
// between datasets, the streaming client, the pass runner and the analysis.
import type { RequestErrorKind } from '../../suite/types.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RequestInput {
  id: string;
  /** chat → POST /v1/chat/completions with `messages`; completions → POST /v1/completions with `prompt`. */
  endpoint: 'chat' | 'completions';
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  /** Default 0 (greedy). */
  temperature?: number;
  seed?: number;
  /** Free-form tags carried to the record (document index, conversation, turn). */
  tags?: Record<string, string | number>;
}

export interface RequestError {
  kind: RequestErrorKind;
  /** What failed, in words; for http-status it starts with "HTTP <status>: " and carries the server's message. */
  message: string;
  httpStatus?: number;
}

/** One request's measurements. Times are monotonic (performance.now()) in seconds; durations are from `sentAtS`. */
export interface RequestRecord {
  id: string;
  endpoint: RequestInput['endpoint'];
  tags: Record<string, string | number>;
  /** Completed with `data: [DONE]`, without an error, with a measured TTFT. */
  ok: boolean;
  /** When the request was handed to the HTTP client (monotonic clock, seconds). */
  sentAtS: number;
  /** When the record was closed: stream end, error, timeout or abort (monotonic clock, seconds). */
  endedAtS: number;
  /**
   * Seconds from send to the first chunk carrying generated text: chat `delta.content`
   * or `delta.reasoning` (`reasoning_content` in older vLLM), completions `choices[0].text`.
   * When a whole answer is empty (the first token was EOS or a special token), the chunk
   * that finishes the choice. Undefined when no such chunk arrived.
   */
  ttftS: number | undefined;
  /** Seconds from send to the first SSE event of any kind (a role-only chunk included): what the bash suite measured. */
  firstChunkS: number | undefined;
  /** Gaps between successive chunks carrying generated text, seconds. */
  interTokenS: number[];
  /** endedAtS − sentAtS. */
  latencyS: number;
  /** From the usage chunk (`stream_options.include_usage`). */
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  /** `usage.prompt_tokens_details.cached_tokens` (vLLM with --enable-prompt-tokens-details). */
  cachedTokens: number | undefined;
  /** Generated answer text (chat `content`, completions `text`), without reasoning. */
  outputText: string;
  /** Chat reasoning text (`delta.reasoning` / `reasoning_content`), '' when the model has none. */
  reasoningText: string;
  finishReason: string | undefined;
  error: RequestError | undefined;
}

/** Sends one request and resolves with its record; never rejects for request failures. */
export type SendFn = (input: RequestInput, opts: SendOptions) => Promise<RequestRecord>;

export interface SendOptions {
  /** http://host:port of the vLLM server, no trailing slash. */
  baseUrl: string;
  /** The served model name sent as `model`. */
  model: string;
  /** Whole-request limit (REQUEST_TIMEOUT), seconds. */
  timeoutS: number;
  /** Aborts the request; the record's error is then `aborted`. */
  signal?: AbortSignal;
  /** undici dispatcher; default: the shared high-concurrency agent. */
  dispatcher?: import('undici').Dispatcher;
}
