// Port preflight: before any server starts, every port it will bind must be
// free. A port held by something else fails at once, naming the port, the env
// var that sets it, and the holder when /proc lets us see it.
import { createServer } from 'node:net';
import { listeningSocketInodes, pidsHoldingSocket, readCmdline, readStat } from './proc.ts';

export interface PortClaim {
  port: number;
  /** Env var that sets the port, for the error message. */
  envVar: string;
  server: string;
}

export interface PortHolder {
  pid: number;
  pgid: number | undefined;
  cmdline: string;
}

export type PortStatus = { port: number; free: true } | { port: number; free: false; holders: PortHolder[] };

/** Tries to bind the port on all interfaces: the test the server itself will face. */
export function canBind(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function portHolders(port: number): PortHolder[] {
  const pids = new Set<number>();
  for (const inode of listeningSocketInodes(port)) for (const pid of pidsHoldingSocket(inode)) pids.add(pid);
  return [...pids].map((pid) => ({
    pid,
    pgid: readStat(pid)?.pgid,
    cmdline: (readCmdline(pid) ?? []).join(' ').slice(0, 200) || '(unreadable)',
  }));
}

export async function checkPort(port: number): Promise<PortStatus> {
  if (await canBind(port)) return { port, free: true };
  return { port, free: false, holders: portHolders(port) };
}

export function describeBusyPort(claim: PortClaim, status: Extract<PortStatus, { free: false }>): string {
  const who = status.holders.length
    ? status.holders.map((h) => `pid ${h.pid} (${h.cmdline})`).join(', ')
    : 'a process this user cannot see';
  return `port ${claim.port} for ${claim.server} is already in use by ${who}; stop it or choose another port with ${claim.envVar}`;
}
