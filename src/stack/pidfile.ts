// Pid files: who we started, how to recognise it again, and who owns it.
// A pid file is trusted only when pid, start time and command line all still
// match, so a reused pid is never signalled.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../results/atomic.ts';
import { isRunning, readCmdline, readStat } from './proc.ts';
import type { ManagedProcess } from './supervisor.ts';

export const PidFileSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  pid: z.number().int(),
  pgid: z.number().int(),
  startTicks: z.number().int(),
  /** Command line as /proc/<pid>/cmdline showed it just after start. */
  cmdline: z.array(z.string()),
  command: z.string(),
  args: z.array(z.string()),
  ports: z.array(z.number().int()),
  logFile: z.string(),
  resultsDir: z.string(),
  startedAt: z.string(),
  /** The harness that started it; 'detached' servers (start-servers) outlive their starter on purpose. */
  owner: z.object({ pid: z.number().int(), startTicks: z.number().int(), detached: z.boolean() }),
  /** First signal of a graceful stop (ProcessSpec.stopSignal); absent in older files: SIGTERM. */
  stopSignal: z.string().regex(/^SIG[A-Z0-9]+$/).optional(),
});
export type PidFile = z.infer<typeof PidFileSchema>;

export function pidFileName(name: string, port: number): string {
  return `${name}-${port}.json`;
}

/** The signal that starts a graceful stop of the recorded server. */
export function stopSignalOf(p: PidFile): NodeJS.Signals {
  return (p.stopSignal ?? 'SIGTERM') as NodeJS.Signals;
}

export function describePidFile(p: PidFile): string {
  return `${p.name} (pid ${p.pid}, port ${p.ports.join('/')}, started ${p.startedAt})`;
}

export async function writePidFile(stateDir: string, proc: ManagedProcess, meta: { ports: number[]; resultsDir: string; detached: boolean }): Promise<PidFile> {
  const self = readStat(process.pid);
  const record: PidFile = {
    version: 1,
    name: proc.spec.name,
    pid: proc.pid,
    pgid: proc.pgid,
    startTicks: proc.startTicks,
    cmdline: readCmdline(proc.pid) ?? [proc.spec.command, ...proc.spec.args],
    command: proc.spec.command,
    args: proc.spec.args,
    ports: meta.ports,
    logFile: proc.spec.logFile,
    resultsDir: meta.resultsDir,
    startedAt: proc.startedAt.toISOString(),
    owner: { pid: process.pid, startTicks: self?.startTicks ?? -1, detached: meta.detached },
    ...(proc.spec.stopSignal ? { stopSignal: proc.spec.stopSignal } : {}),
  };
  const body = JSON.stringify(record, null, 2) + '\n';
  await writeFileAtomic(join(stateDir, pidFileName(record.name, record.ports[0] ?? 0)), body);
  await writeFileAtomic(join(meta.resultsDir, 'pids', `${record.name}.json`), body);
  return record;
}

export interface PidFileEntry {
  path: string;
  record: PidFile | undefined;
  /** Why the file could not be read, when record is undefined. */
  error?: string;
}

export function readPidFiles(stateDir: string): PidFileEntry[] {
  let names: string[];
  try {
    names = readdirSync(stateDir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((n) => {
    const path = join(stateDir, n);
    try {
      const parsed = PidFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
      return parsed.success ? { path, record: parsed.data } : { path, record: undefined, error: parsed.error.issues[0]?.message ?? 'invalid' };
    } catch (err) {
      return { path, record: undefined, error: (err as Error).message };
    }
  });
}

export type Liveness =
  | { state: 'running' }
  | { state: 'gone' }
  /** The pid is alive but is some other process now: never signal it. */
  | { state: 'pid-reused'; detail: string };

/** Is the process this file describes still the one running under its pid? */
export function checkLiveness(p: PidFile): Liveness {
  const stat = readStat(p.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return { state: 'gone' };
  if (stat.startTicks !== p.startTicks) return { state: 'pid-reused', detail: `pid ${p.pid} now started at tick ${stat.startTicks}, ours at ${p.startTicks}` };
  const cmd = readCmdline(p.pid) ?? [];
  if (cmd.join('\0') !== p.cmdline.join('\0')) return { state: 'pid-reused', detail: `pid ${p.pid} now runs ${cmd.join(' ').slice(0, 120)}` };
  return { state: 'running' };
}

/** The harness that started the server is still running (so the server is not stale). */
export function ownerAlive(p: PidFile): boolean {
  if (!isRunning(p.owner.pid)) return false;
  return readStat(p.owner.pid)?.startTicks === p.owner.startTicks;
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}
