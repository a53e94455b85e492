// Running short helper commands (probes, version queries) with zx: bounded,
// never throwing, with "not found" / "not executable" told apart.
import { $ } from 'zx';

export interface ShellResult {
  ok: boolean;
  /** 127: not found, 126: not executable (bash's codes); null when killed by the timeout. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export async function probe(command: string, args: string[], timeoutS = 30, env?: Record<string, string>): Promise<ShellResult> {
  const r = await $({ nothrow: true, quiet: true, timeout: `${timeoutS}s`, env: { ...process.env, ...env } })`${command} ${args}`;
  return { ok: r.exitCode === 0, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: r.exitCode === null && r.signal !== null };
}

export function notFound(r: ShellResult): boolean {
  return r.exitCode === 127;
}

export function notExecutable(r: ShellResult): boolean {
  return r.exitCode === 126;
}
