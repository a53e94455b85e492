// Helpers for the reliability tests: run the real ci/*.ts entry points as
// child processes (own process group, as a terminal or CI runner would), send
// them real signals, read the results dir, and scan the process table for
// anything of ours still alive.
//
// "Ours" means: a process whose environment or command line carries the
// test's private base dir (every process the harness starts inherits
// RESULTS_DIR and KVGATE_STATE_DIR), or whose command line names one of the
// test's private ports. Processes the test starts on purpose as bystanders
// (a foreign port holder, a `sleep`) get an environment without the base dir
// and are excluded by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { allStats, readCmdline, readStat } from '../../src/stack/proc.ts';
import { parseResultFile, type ParsedResultFile } from '../../src/results/result-file.ts';
import { simEnv } from '../helpers/sim-config.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'test', 'reliability', 'fixtures');

export interface RelEnv {
  /** Private temp dir: results/, state/ and anything else the test writes. */
  base: string;
  /** Env vars for the scripts (ports, dirs, tiny workload). */
  env: Record<string, string>;
  ports: number[];
  resultsDir: string;
  stateDir: string;
}

/** A tiny long-doc workload on a private sim stack: seconds per run. */
export async function relEnv(extra: Record<string, string> = {}): Promise<RelEnv> {
  const { env, base } = await simEnv({
    LONG_DOC_NUM_REQUESTS: '4',
    LONG_DOC_DOCUMENT_LENGTH: '2000',
    LONG_DOC_OUTPUT_LEN: '4',
    // Loose thresholds: these tests judge what happens around a run, not the cache's speed on a loaded machine.
    MAX_PEGAFLOW_TTFT: '60',
    MIN_SPEEDUP_RATIO: '0.001',
    ...extra,
  });
  const ports = ['VLLM_PORT', 'VLLM_BASELINE_PORT', 'PEGA_PORT', 'PEGA_METRICS_PORT'].map((k) => Number(env[k]));
  return { base, env, ports, resultsDir: env['RESULTS_DIR']!, stateDir: env['KVGATE_STATE_DIR']! };
}

/** process.env without tap's loader and bookkeeping (children of the harness would inherit them). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k === 'TAP' || k.startsWith('TAP_') || k.startsWith('_TAPJS_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Script {
  readonly pid: number;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  readonly exited: Promise<Exit>;
  exitInfo(): Exit | undefined;
  /** Resolves once the output matches; rejects (with the output so far) on exit or after timeoutMs. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
  /** Resolves with the exit; after timeoutMs kills the group and rejects (a hang is a failure). */
  waitForExit(timeoutMs: number): Promise<Exit>;
  /** Sends a signal to the script's process group (as Ctrl-C in a terminal or a CI runner does). */
  signalGroup(signal: NodeJS.Signals): void;
}

/** Runs ci/<name> (e.g. run-all-tests.ts) as the leader of a new process group. */
export function runScript(name: string, args: string[], env: Record<string, string>): Script {
  const child = spawn(join(ROOT, 'ci', name), args, { cwd: ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let exit: Exit | undefined;
  // 'close' (not 'exit'): all output has been read by then.
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve((exit = { code, signal }))));
  const pid = child.pid!;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // group gone
    }
  };
  return {
    pid,
    output: () => out,
    exited,
    exitInfo: () => exit,
    signalGroup,
    async waitForOutput(re, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (!re.test(out)) {
        if (exit) throw new Error(`ci/${name} exited (${JSON.stringify(exit)}) before printing ${re}; output:\n${out}`);
        if (performance.now() > deadline) throw new Error(`ci/${name} did not print ${re} within ${timeoutMs} ms; output:\n${out}`);
        await sleep(25);
      }
    },
    async waitForExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const r = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (r === 'timeout') {
        signalGroup('SIGKILL');
        throw new Error(`ci/${name} still running after ${timeoutMs} ms (killed); output:\n${out}`);
      }
      return r;
    },
  };
}

export interface OurProcess {
  pid: number;
  pgid: number;
  cmdline: string;
}

function readEnviron(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

/** Live processes of this test: environment or command line mentions `base`, or the command line one of `ports`. */
export function processesOf(base: string, ports: number[], exclude: Iterable<number> = []): OurProcess[] {
  const skip = new Set([process.pid, ...exclude]);
  const portRe = ports.length ? new RegExp(`(?:--port[ =]|:)(?:${ports.join('|')})\\b`) : undefined;
  const found: OurProcess[] = [];
  for (const s of allStats()) {
    if (skip.has(s.pid) || s.state === 'Z' || s.state === 'X') continue;
    const cmdline = (readCmdline(s.pid) ?? []).join(' ');
    if (cmdline.includes(base) || readEnviron(s.pid).includes(base) || (portRe && portRe.test(cmdline))) {
      found.push({ pid: s.pid, pgid: s.pgid, cmdline: cmdline.slice(0, 160) });
    }
  }
  return found;
}

/** Polls until none of our processes is alive; returns what is left at the deadline (empty: all gone) and how long it took. */
export async function waitAllGone(base: string, ports: number[], timeoutMs: number, exclude: Iterable<number> = []): Promise<{ left: OurProcess[]; tookS: number }> {
  const t0 = performance.now();
  let left = processesOf(base, ports, exclude);
  while (left.length && performance.now() - t0 < timeoutMs) {
    await sleep(50);
    left = processesOf(base, ports, exclude);
  }
  return { left, tookS: (performance.now() - t0) / 1000 };
}

/** Teardown: SIGKILL every process (and its group) of this test that is still alive. Never our own group. */
export function killAllOf(base: string, ports: number[], exclude: Iterable<number> = []): OurProcess[] {
  const ownGroup = readStat(process.pid)?.pgid;
  const left = processesOf(base, ports, exclude);
  for (const p of left) {
    if (p.pgid !== ownGroup && p.pgid > 1) {
      try {
        process.kill(-p.pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return left;
}

export function describeProcs(procs: OurProcess[]): string {
  return procs.map((p) => `pid ${p.pid} (group ${p.pgid}): ${p.cmdline}`).join('\n') || 'none';
}

/** Polls `check` every 50 ms until it returns a value other than undefined; undefined at the deadline. */
export async function pollFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) return undefined;
    await sleep(50);
  }
}

export function readResult(resultsDir: string, testName: string): ParsedResultFile | undefined {
  const file = join(resultsDir, `${testName}.result`);
  if (!existsSync(file)) return undefined;
  try {
    return parseResultFile(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // written atomically, so this is a read race at most
  }
}

export function readOverall(resultsDir: string): string | undefined {
  try {
    return readFileSync(join(resultsDir, 'overall.result'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface SummaryHead {
  status: string;
  exitCode: number;
  tests: { name: string; status: string; reason: string }[];
}

export function readSummary(resultsDir: string): SummaryHead | undefined {
  try {
    return JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as SummaryHead;
  } catch {
    return undefined;
  }
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export interface PidFileOnDisk {
  pid: number;
  pgid: number;
}

/** The pid file the harness wrote for a server (state dir), once it exists. */
export function readStatePidFile(stateDir: string, role: string, port: number): PidFileOnDisk | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, `${role}-${port}.json`), 'utf8')) as PidFileOnDisk;
  } catch {
    return undefined;
  }
}

/** Every process group of a server (leader pid from its pid file) that still has a live member. */
export function groupAlive(pgid: number): boolean {
  return allStats().some((s) => s.pgid === pgid && s.state !== 'Z' && s.state !== 'X');
}

/** The first line a fixture prints on stdout (e.g. "listening <port>"); rejects if it exits first. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onExit = (code: number | null) => reject(new Error(`fixture exited (${code}) before printing a line; printed: ${out}`));
    child.once('exit', onExit);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        child.off('exit', onExit);
        resolve(out.split('\n')[0]!);
      }
    });
  });
}

/** The line pass 1 starts with: the test is running and requests are in flight. */
export const MID_TEST = /long-doc: pegaflow_pass1 on vllm-pegaflow \(\d+ requests\)/;
