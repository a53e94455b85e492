// The HTTP agent every streaming request goes through. Sized for benchmarks
// that hold ~1000 streams open at once against one server:
// - no per-origin connection limit (one socket per in-flight stream; queueing
//   inside the client would add to the measured TTFT);
// - no pipelining (a stream holds its socket until it ends);
// - idle sockets are kept for 4 s, below uvicorn's 5 s keep-alive timeout, so
//   a POST is never written to a socket the server is closing (undici does not
//   retry non-idempotent requests: that would show up as a connection error).
import { Agent, type Dispatcher } from 'undici';

export const KEEP_ALIVE_TIMEOUT_MS = 4_000;
export const CONNECT_TIMEOUT_MS = 10_000;

let shared: Agent | undefined;

export function createStreamingAgent(): Agent {
  return new Agent({
    connections: null,
    pipelining: 1,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connect: { timeout: CONNECT_TIMEOUT_MS },
  });
}

/** The process-wide agent (created on first use). */
export function defaultDispatcher(): Dispatcher {
  shared ??= createStreamingAgent();
  return shared;
}

/** Closes the shared agent's idle sockets (tests and short-lived CLIs); a later request makes a new one. */
export async function closeDefaultDispatcher(): Promise<void> {
  const a = shared;
  shared = undefined;
  await a?.close();
}
