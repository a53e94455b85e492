// Request inputs (what to send) and records (what happened): the boundary
// between datasets, the client and the analysis.
import type { RequestErrorKind } from '../../suite/types.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RequestInput {
  id: string;
  /** chat → /v1/chat/completions with messages; completions → /v1/completions with prompt. */
  endpoint: 'chat' | 'completions';
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  temperature?: number;
  seed?: number;
  /** Free-form tags carried to the record (document index, conversation, turn). */
  tags?: Record<string, string | number>;
}

export interface RequestError {
  kind: RequestErrorKind;
  message: string;
  httpStatus?: number;
}

export interface RequestRecord {
  id: string;
  endpoint: RequestInput['endpoint'];
  tags: Record<string, string | number>;
  ok: boolean;
  /** Monotonic clock (performance.now()/1000) when the request was sent. */
  sentAtS: number;
  /** Seconds from send to the first chunk carrying generated text: the TTFT. */
  ttftS: number | undefined;
  /** Seconds from send to the first SSE chunk of any kind (a role-only chunk included): what the bash suite measured. */
  firstChunkS: number | undefined;
  /** Gaps between successive chunks carrying text, seconds. */
  interTokenS: number[];
  latencyS: number;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  cachedTokens: number | undefined;
  outputText: string;
  finishReason: string | undefined;
  error: RequestError | undefined;
}
