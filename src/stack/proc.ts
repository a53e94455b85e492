// Reading the process table from /proc (Linux). A pid alone is not an
// identity: pids are reused. (pid, start time in clock ticks since boot) is,
// and that pair is what pid files record and check before signalling.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot at which the process started (field 22 of /proc/<pid>/stat). */
  startTicks: number;
  /** Single-letter state; Z = zombie (exited, not yet reaped). */
  state: string;
  comm: string;
}

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3].
  return {
    pid,
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    startTicks: Number(rest[19]),
    comm,
  };
}

export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, all) => s !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

export function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (s) out.push(s);
  }
  return out;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number, stats = allStats()): ProcStat[] {
  return stats.filter((s) => s.pgid === pgid && s.state !== 'Z' && s.state !== 'X');
}

/** Live descendants of pid (children, grandchildren, …), whatever their group. */
export function descendants(pid: number, stats = allStats()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = byParent.get(s.ppid) ?? [];
    list.push(s);
    byParent.set(s.ppid, list);
  }
  const out: ProcStat[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      if (child.state !== 'Z' && child.state !== 'X') out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** pids of processes holding a socket with this inode open (readable ones only: our own processes, or all as root). */
export function pidsHoldingSocket(inode: number): number[] {
  const target = `socket:[${inode}]`;
  const pids: number[] = [];
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) {
          pids.push(pid);
          break;
        }
      } catch {
        // fd closed while we looked
      }
    }
  }
  return pids;
}

/** Inodes of TCP sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
export function listeningSocketInodes(port: number): number[] {
  const inodes: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = parseInt(cols[1]!.split(':').pop()!, 16);
      const listening = cols[3] === '0A';
      if (listening && localPort === port) inodes.push(Number(cols[9]));
    }
  }
  return inodes;
}

export function describeProcess(pid: number): string {
  const cmd = readCmdline(pid);
  return cmd && cmd.length ? `pid ${pid} (${cmd.join(' ').slice(0, 200)})` : `pid ${pid}`;
}
