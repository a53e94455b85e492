// Process supervisor: starts each server in its own process group with
// stdout+stderr going straight to its log file (no tee in between, so the pid
// we record is the server's), waits for readiness, notices early exits, and
// stops whole groups (SIGTERM, grace period, SIGKILL, then verifies).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { allStats, descendants, groupMembers, readCmdline, readStat, type ProcStat } from './proc.ts';
import { startupHint } from './startup-hints.ts';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export interface ProcessSpec {
  /** Short role name: pegaflow, vllm, baseline, lm_eval … (names the log). */
  name: string;
  command: string;
  args: string[];
  /** Added to the harness's environment. */
  env: Record<string, string>;
  logFile: string;
  cwd?: string;
  /** First signal of a graceful stop (default SIGTERM): the one the server shuts down cleanly on. */
  stopSignal?: NodeJS.Signals;
}

export interface ManagedProcess {
  readonly spec: ProcessSpec;
  readonly pid: number;
  readonly pgid: number;
  readonly startTicks: number;
  readonly startedAt: Date;
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Set once exited. */
  exitInfo(): ExitInfo | undefined;
}

export class SpawnError extends Error {}

/** The last `n` lines of a log file ('' when it cannot be read). */
export function tailLines(file: string, n = 40): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Starts a process as the leader of a new process group, output appended to spec.logFile. */
export async function spawnInGroup(spec: ProcessSpec): Promise<ManagedProcess> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const logFd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true, // setsid(): own session and process group, so signals reach its whole tree and not ours
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  // spawn() reports a missing executable asynchronously, as an 'error' event before any 'spawn'.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : err.message;
      reject(new SpawnError(`cannot start ${spec.name}: ${spec.command}: ${hint}`));
    });
  });
  const pid = child.pid!;
  // Don't keep the harness's event loop alive just for the child; we await `exited` where we care.
  child.unref();
  const stat = readStat(pid);
  return {
    spec,
    pid,
    pgid: pid,
    startTicks: stat?.startTicks ?? -1,
    startedAt: new Date(),
    exited,
    exitInfo: () => exitInfo,
  };
}

export type ReadinessResult = { ready: true } | { ready: false; detail: string };
export type ReadinessProbe = () => Promise<ReadinessResult>;

export class ServerStartError extends Error {
  constructor(
    readonly server: string,
    readonly reason: 'exited' | 'timeout' | 'aborted',
    message: string,
    readonly logTail: string,
  ) {
    super(message);
  }
}

export interface WaitReadyOptions {
  timeoutS: number;
  /** Cap of the poll interval; polls start 100 ms apart and back off by 1.5× up to this. */
  maxIntervalS: number;
  signal?: AbortSignal;
  onPoll?: (elapsedS: number, detail: string) => void;
}

/** Poll intervals in ms: 100, 150, 225, … capped at maxIntervalS. */
export function pollIntervalsMs(maxIntervalS: number): () => number {
  let next = 100;
  const cap = Math.max(50, maxIntervalS * 1000);
  return () => {
    const now = Math.min(next, cap);
    next = Math.min(next * 1.5, cap);
    return now;
  };
}

/**
 * Waits until `probe` says ready. Fails at once (not at the timeout) when the
 * process exits meanwhile, with the last 40 lines of its log.
 */
export async function waitReady(proc: ManagedProcess, probe: ReadinessProbe, opts: WaitReadyOptions): Promise<number> {
  const started = performance.now();
  const nextInterval = pollIntervalsMs(opts.maxIntervalS);
  const name = proc.spec.name;
  let lastDetail = 'no answer yet';
  let exitedEarly: ExitInfo | undefined;
  void proc.exited.then((e) => (exitedEarly = e));
  for (;;) {
    const elapsedS = (performance.now() - started) / 1000;
    if (exitedEarly || proc.exitInfo()) {
      const e = exitedEarly ?? proc.exitInfo()!;
      const tail = tailLines(proc.spec.logFile);
      const hint = startupHint(tail);
      throw new ServerStartError(name, 'exited', `${name} exited while starting (${describeExit(e)}) after ${elapsedS.toFixed(1)}s; log: ${proc.spec.logFile}${hint ? `; hint: ${hint}` : ''}`, tail);
    }
    if (opts.signal?.aborted) throw new ServerStartError(name, 'aborted', `start of ${name} aborted`, tailLines(proc.spec.logFile));
    if (elapsedS > opts.timeoutS) {
      throw new ServerStartError(name, 'timeout', `${name} not ready after ${opts.timeoutS}s (SERVER_STARTUP_TIMEOUT); last check: ${lastDetail}; log: ${proc.spec.logFile}`, tailLines(proc.spec.logFile));
    }
    const result = await probe();
    if (result.ready) return elapsedS;
    lastDetail = result.detail;
    opts.onPoll?.(elapsedS, result.detail);
    // Wake on exit too, so a crash is reported within one poll at most.
    await Promise.race([sleep(nextInterval(), undefined, { signal: opts.signal }).catch(() => undefined), proc.exited]);
  }
}

export interface StopResult {
  /** Processes still alive after SIGKILL (should be empty; reported, never ignored). */
  survivors: ProcStat[];
  escalated: boolean;
}

/** Every live process in the group, plus descendants that moved to another group. */
export function treeOf(pgid: number, leaderPid = pgid): ProcStat[] {
  const stats = allStats();
  const byPid = new Map<number, ProcStat>();
  for (const s of groupMembers(pgid, stats)) byPid.set(s.pid, s);
  for (const s of descendants(leaderPid, stats)) byPid.set(s.pid, s);
  return [...byPid.values()];
}

function signalAll(pgid: number, members: ProcStat[], signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
  for (const m of members) {
    if (m.pgid === pgid) continue;
    try {
      process.kill(m.pid, signal);
    } catch {
      // gone
    }
  }
}

/**
 * Stops a process group and anything its leader spawned: `firstSignal`
 * (SIGTERM unless the server shuts down cleanly only on another, see
 * ProcessSpec.stopSignal), wait up to graceS, SIGKILL, then verify nothing is left. Every process seen along the
 * way is remembered (by pid and start time), because a descendant whose
 * parent exits is re-parented and can no longer be found through ancestry.
 */
export async function stopGroup(pgid: number, graceS: number, leaderPid = pgid, firstSignal: NodeJS.Signals = 'SIGTERM'): Promise<StopResult> {
  const known = new Map<number, ProcStat>();
  const refresh = (): ProcStat[] => {
    for (const s of treeOf(pgid, leaderPid)) known.set(s.pid, s);
    for (const [pid, s] of known) {
      const now = readStat(pid);
      if (!now || now.startTicks !== s.startTicks || now.state === 'Z' || now.state === 'X') known.delete(pid);
    }
    return [...known.values()];
  };
  let alive = refresh();
  if (alive.length === 0) return { survivors: [], escalated: false };
  signalAll(pgid, alive, firstSignal);
  const deadline = performance.now() + graceS * 1000;
  while (performance.now() < deadline) {
    await sleep(50);
    alive = refresh();
    if (alive.length === 0) return { survivors: [], escalated: false };
  }
  signalAll(pgid, refresh(), 'SIGKILL');
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    if (refresh().length === 0) return { survivors: [], escalated: true };
  }
  return { survivors: refresh(), escalated: true };
}

/** Immediate SIGKILL of a whole tree (second Ctrl-C). */
export function killGroupNow(pgid: number, leaderPid = pgid): void {
  signalAll(pgid, treeOf(pgid, leaderPid), 'SIGKILL');
}

/** The command line as /proc shows it, for pid-file identity checks. */
export function currentCmdline(pid: number): string[] | undefined {
  return readCmdline(pid);
}
