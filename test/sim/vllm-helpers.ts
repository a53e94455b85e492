// Shared pieces of the simulated vLLM tests: the executable as a child
// process, HTTP and SSE clients that read the wire like a real client, and
// /metrics parsing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { freePort } from '../helpers/ports.ts';

export const VLLM_BIN = fileURLToPath(new URL('../../src/sim/bin/vllm.ts', import.meta.url));
export const MODEL = 'kvgate/sim-qwen3-8b';

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `vllm.ts <args>`; SIGKILLed (with its process group when detached) at teardown if still alive. */
export function spawnVllm(t: Test, args: string[], env: NodeJS.ProcessEnv = {}, opts: { detached?: boolean } = {}): Child {
  const proc = spawn(VLLM_BIN, args, {
    env: { ...process.env, KVGATE_SIM_FAULTS: '', KVGATE_SIM_FAULT_SEED: '', VLLM_SERVER_DEV_MODE: '', PEGAFLOW_HOST: '', PEGAFLOW_PORT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    // SIGTERM first, so the server cleans up (KV memory file, EngineCore); SIGKILL what is left.
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([exit, new Promise((r) => setTimeout(r, 2_000))]);
    }
    if (opts.detached && proc.pid) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
    } else if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    const pid = engineCorePid(out);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/** The EngineCore child's pid, from the API server's start-up log. */
export function engineCorePid(stdout: string): number | undefined {
  const m = /Started EngineCore_DP0 process \(pid=(\d+)\)/.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Polls GET /health until 200; throws with the child's output if it exits first or after `timeoutMs`. */
export async function waitForHealth(url: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`vllm exited with ${child.proc.exitCode} before it was healthy:\n${child.stdout()}\n${child.stderr()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no healthy /health at ${url} within ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`);
}

export function exitWithin(child: Child, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return Promise.race([
    child.exit,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`)), timeoutMs).unref()),
  ]);
}

export interface Server {
  child: Child;
  url: string;
  port: number;
}

/** Starts the executable on a free port with no start-up delay and waits until it is healthy. */
export async function startVllm(t: Test, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, opts: { detached?: boolean } = {}): Promise<Server> {
  const port = await freePort();
  const child = spawnVllm(t, ['serve', MODEL, '--host', '127.0.0.1', '--port', String(port), '--sim-startup-delay-s', '0', ...extraArgs], env, opts);
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, child);
  return { child, url, port };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export interface SseResult {
  status: number;
  contentType: string | null;
  /** Every `data:` payload in order; `[DONE]` as the string. */
  events: (Record<string, unknown> | '[DONE]')[];
  raw: string;
  /** The connection ended with an error (e.g. dropped mid-stream). */
  aborted: boolean;
}

/** POSTs a streaming request and reads the whole SSE body. */
export async function postSse(url: string, body: unknown): Promise<SseResult> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...(body as object), stream: true }) });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
    // An error before streaming began: a plain JSON error body.
    const raw = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type'), events: [], raw, aborted: false };
  }
  let raw = '';
  let aborted = false;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) raw += decoder.decode(chunk, { stream: true });
  } catch {
    aborted = true;
  }
  const events: SseResult['events'] = [];
  for (const block of raw.split('\n\n')) {
    const line = block.trim();
    if (!line) continue;
    if (!line.startsWith('data: ')) throw new Error(`not an SSE data line: ${JSON.stringify(line)}`);
    const payload = line.slice('data: '.length);
    events.push(payload === '[DONE]' ? '[DONE]' : (JSON.parse(payload) as Record<string, unknown>));
  }
  return { status: res.status, contentType: res.headers.get('content-type'), events, raw, aborted };
}

// parse-prometheus-text-format ships no types; this is the part of its output the tests read.
interface PromSample {
  labels?: Record<string, string>;
  value?: string;
}
export interface PromFamily {
  name: string;
  type: string;
  help: string;
  metrics: PromSample[];
}
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

export async function scrape(url: string): Promise<PromFamily[] & { text: string }> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  return Object.assign(parsePrometheusTextFormat(text), { text });
}

/** Sum of a counter or gauge over the series whose labels include `labels`; undefined when the family is absent. */
export function metric(families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = families.find((f) => f.name === name);
  if (!fam) return undefined;
  let total = 0;
  for (const s of fam.metrics) {
    if (!Object.entries(labels).every(([k, v]) => s.labels?.[k] === v)) continue;
    total += Number(s.value ?? 0);
  }
  return total;
}

/** `_count` of a histogram, from the raw text (the parser drops it for labelled histograms). */
export function histogramCount(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** A long document of about `tokens` tokens of the simulated tokenizer (deterministic in `seed`). */
export function longDocument(seed: number, words: number): string {
  const vocab = 'the cache block holds keys and values for every layer of the model while pages move between host and device memory'.split(' ');
  let x = seed >>> 0;
  const out: string[] = [`Document ${seed}.`];
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(vocab[x % vocab.length]!);
  }
  return out.join(' ');
}
