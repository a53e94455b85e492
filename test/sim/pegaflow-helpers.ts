// Shared pieces of the simulated PegaFlow tests: KV files, an in-process
// server with a client, the executable as a child process, /metrics parsing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { createEngineClient, type EngineClient } from '../../src/grpc/engine.ts';
import { createMemoryLogger } from '../../src/sim/pegaflow/log.ts';
import type { SimPegaflowOptions } from '../../src/sim/pegaflow/options.ts';
import { startSimPegaflow, type SimPegaflowHandle } from '../../src/sim/pegaflow/server.ts';

export const BIN = fileURLToPath(new URL('../../src/sim/bin/pegaflow-server.ts', import.meta.url));
export const LAYER = 'sim.kv';
export const B = 32;

/** A temp dir removed at teardown. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvgate-pegaflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A KV file of `numBlocks` blocks; block i is filled with byte (i + 1). */
export function kvFile(t: Test, numBlocks: number, blockBytes = B): string {
  const path = join(tempDir(t), 'kv.bin');
  const buf = Buffer.alloc(numBlocks * blockBytes);
  for (let i = 0; i < numBlocks; i++) buf.fill((i + 1) & 0xff, i * blockBytes, (i + 1) * blockBytes);
  writeFileSync(path, buf);
  return path;
}

export const hashOf = (s: string) => Buffer.from(`hash:${s}`);

export interface InProcess {
  server: SimPegaflowHandle;
  client: EngineClient;
  lines: string[];
}

export async function startInProcess(t: Test, overrides: Partial<SimPegaflowOptions> = {}): Promise<InProcess> {
  const logger = createMemoryLogger('debug');
  const server = await startSimPegaflow(
    { grpcAddr: { host: '127.0.0.1', port: 0 }, httpAddr: { host: '127.0.0.1', port: 0 }, startupDelayS: 0, ...overrides },
    { logger },
  );
  const client = createEngineClient(server.grpcAddress, 5_000);
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { server, client, lines: logger.lines };
}

export function registerRequest(instanceId: string, path: string, numBlocks: number, extra: { namespace?: string; tpRank?: number; tpSize?: number; worldSize?: number } = {}) {
  return {
    instanceId,
    namespace: extra.namespace ?? 'ns',
    tpRank: extra.tpRank ?? 0,
    tpSize: extra.tpSize ?? 1,
    worldSize: extra.worldSize ?? 1,
    deviceId: 0,
    layerNames: [LAYER],
    wrapperBytes: [Buffer.from(path, 'utf8')],
    numBlocks: [numBlocks],
    bytesPerBlock: [B],
  };
}

export function saveRequest(instanceId: string, blockIds: number[], hashes: Buffer[]) {
  return { instanceId, tpRank: 0, deviceId: 0, saves: [{ layerName: LAYER, blockIds, blockHashes: hashes }] };
}

export function loadRequest(instanceId: string, lease: Buffer, targets: (number | undefined)[]) {
  return {
    instanceId,
    tpRank: 0,
    deviceId: 0,
    loadStateShm: '',
    groups: [{ layerNames: [LAYER] }],
    loads: [{ lease, blockIdsByGroup: [{ targets: targets.map((id) => (id === undefined ? {} : { blockId: id })) }] }],
  };
}

// parse-prometheus-text-format ships no types; this is the part of its output the tests read.
interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  count?: string;
  sum?: string;
}
export interface PromFamily {
  name: string;
  type: string;
  metrics: PromSample[];
}
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

export type Scrape = PromFamily[] & { text: string };

export async function scrape(httpUrl: string): Promise<Scrape> {
  const res = await fetch(`${httpUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  return Object.assign(parsePrometheusTextFormat(text), { text });
}

/** Sum of a counter or gauge over the series whose labels include `labels`; 0 when absent. */
export function metric(families: PromFamily[], name: string, labels: Record<string, string> = {}): number {
  const fam = families.find((f) => f.name === name);
  if (!fam) return 0;
  let total = 0;
  for (const s of fam.metrics) {
    if (!Object.entries(labels).every(([k, v]) => s.labels?.[k] === v)) continue;
    total += Number(s.value ?? 0);
  }
  return total;
}

/**
 * Observations of a histogram, read from the raw text: parse-prometheus-text-format
 * 1.1.1 drops `_count`, `_sum` and the labels of histogram series that carry
 * labels besides `le` (every OTel-exported series carries otel_scope_name).
 */
export function histogramCount(scraped: Scrape, name: string): number {
  let total = 0;
  for (const line of scraped.text.split('\n')) {
    const m = new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the executable; killed at teardown if still alive. */
export function spawnSim(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(BIN, args, { env: { ...process.env, KVGATE_SIM_FAULTS: '', KVGATE_SIM_PEGAFLOW_DIALECT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/** Polls GET /health until 200; throws with the child's output after `timeoutMs`. */
export async function waitForHealth(httpUrl: string, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`server exited with ${child.proc.exitCode} before it was healthy:\n${child.stdout()}\n${child.stderr()}`);
    try {
      const res = await fetch(`${httpUrl}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no healthy /health at ${httpUrl} within ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`);
}

/** Resolves with the exit, or rejects after `timeoutMs`. */
export function exitWithin(child: Child, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return Promise.race([
    child.exit,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`)), timeoutMs).unref()),
  ]);
}
