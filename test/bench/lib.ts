// Shared pieces of the benchmarks in test/bench/: the simulated vLLM in its
// own process (so its CPU time and memory are not the harness's), machine
// facts, figures in milliseconds, and results/bench/<name>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Table from 'cli-table3';
import { max, mean, percentile } from '../../src/analysis/stats.ts';
import { writeFileAtomic } from '../../src/results/atomic.ts';
import { httpOk } from '../../src/stack/readiness.ts';
import { freePort } from '../helpers/ports.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = join(REPO_ROOT, 'results', 'bench');
const TSX_LOADER = join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const VLLM_SIM = join(REPO_ROOT, 'src/sim/bin/vllm.ts');
export const SIM_MODEL = 'kvgate/sim-bench';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  return { nproc: availableParallelism(), cpuModel, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.nproc} CPU(s), ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}, ${m.platform}`;
}

/** Peak resident set of this process so far (VmHWM), bytes; undefined off Linux. */
export function vmHwmBytes(): number | undefined {
  try {
    const kb = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface SimServer {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts src/sim/bin/vllm.ts in its own process group (it and its EngineCore
 * child), ready when /health answers. `fixed`: --sim-fixed-ttft-ms / -itl-ms.
 */
export async function startSimVllmProcess(name: string, fixed: { ttftMs: number; itlMs: number }, extraArgs: string[] = []): Promise<SimServer> {
  const port = await freePort();
  mkdirSync(join(BENCH_DIR, 'logs'), { recursive: true });
  const logFile = join(BENCH_DIR, 'logs', `${name}-vllm.log`);
  const fd = openSync(logFile, 'w');
  const args = [
    '--import',
    TSX_LOADER,
    VLLM_SIM,
    'serve',
    SIM_MODEL,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--sim-startup-delay-s',
    '0',
    '--sim-fixed-ttft-ms',
    String(fixed.ttftMs),
    '--sim-fixed-itl-ms',
    String(fixed.itlMs),
    // Every stream admitted at once: the engine must never queue a request.
    '--max-num-seqs',
    '4096',
    '--disable-uvicorn-access-log',
    '--disable-log-stats',
    ...extraArgs,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const pid = child.pid!;
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the simulated vLLM exited during start-up (code ${child.exitCode}); see ${logFile}`);
    if ((await httpOk(`${url}/health`, 500)).ready) break;
    if (performance.now() > deadline) {
      process.kill(-pid, 'SIGKILL');
      throw new Error(`the simulated vLLM did not answer ${url}/health within 60 s; see ${logFile}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Milliseconds with `digits` decimals; '–' for no value. */
export function ms(v: number | undefined, digits = 2): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

export interface Dist {
  n: number;
  mean: number | undefined;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
}

/** Summary of values (any unit), with the project's numpy-compatible percentiles. */
export function dist(values: readonly number[]): Dist {
  return {
    n: values.length,
    mean: mean(values),
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: max(values),
  };
}

/** Writes results/bench/<name>.json atomically. */
export async function writeBenchResult(name: string, data: unknown): Promise<string> {
  const file = join(BENCH_DIR, `${name}.json`);
  await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** `--name value` flags of a bench script (numbers and lists of numbers). */
export function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

export function numberFlag(argv: readonly string[], name: string, fallback: number): number {
  const raw = flagValue(argv, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(raw)}`);
  return v;
}

export function listFlag(argv: readonly string[], name: string, fallback: number[]): number[] {
  const raw = flagValue(argv, name);
  if (raw === undefined) return fallback;
  const list = raw.split(',').map(Number);
  if (list.some((v) => !Number.isFinite(v) || v <= 0)) throw new Error(`--${name}: expected numbers > 0 separated by commas, got ${JSON.stringify(raw)}`);
  return list;
}

export function pass(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/** A plain (uncoloured) cli-table3 table, right-aligned after the first `leftCols` columns. */
export function table(head: string[], rows: (string | number)[][], leftCols = 1): string {
  const t = new Table({ head, style: { head: [], border: [] }, colAligns: head.map((_, i) => (i < leftCols ? 'left' : 'right')) });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}
