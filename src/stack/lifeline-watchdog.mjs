// Lifeline watchdog: one per harness process, started in its own session so a
// signal to the harness's group does not reach it. It reads commands on stdin
// from the harness; when stdin closes (the harness exited, was killed with
// SIGKILL, or the OOM killer took it) it stops every group still guarded.
// Plain JavaScript so it starts in milliseconds without a TypeScript loader.
//
// stdin lines:  guard <pgid>   |   release <pgid>
// argv:         <graceSeconds> [reportFile]
import { readFileSync, appendFileSync, readdirSync } from 'node:fs';

const graceS = Number(process.argv[2] ?? '10');
const reportFile = process.argv[3];
const guarded = new Set(); // process groups to stop if the harness dies

function log(line) {
  const text = `${new Date().toISOString()} lifeline[${process.pid}] ${line}\n`;
  if (reportFile) {
    try { appendFileSync(reportFile, text); } catch { /* nowhere left to report */ }
  }
}

function groupAlive(pgid) {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  return pids.some((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X';
    } catch { return false; }
  });
}

function signalGroup(pgid, signal) {
  try { process.kill(-pgid, signal); return true; } catch { return false; }
}

async function stopAll() {
  const groups = [...guarded].filter(groupAlive);
  if (groups.length === 0) process.exit(0);
  log(`harness gone; stopping process groups ${groups.join(', ')} (SIGTERM, then SIGKILL after ${graceS}s)`);
  for (const g of groups) signalGroup(g, 'SIGTERM');
  const deadline = Date.now() + graceS * 1000;
  while (Date.now() < deadline && groups.some(groupAlive)) await new Promise((r) => setTimeout(r, 100));
  for (const g of groups.filter(groupAlive)) {
    log(`group ${g} still alive after ${graceS}s: SIGKILL`);
    signalGroup(g, 'SIGKILL');
  }
  log('done');
  process.exit(0);
}

for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM', 'SIGPIPE']) process.on(sig, () => {});

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const [cmd, pgidText] = buffered.slice(0, nl).trim().split(/\s+/);
    buffered = buffered.slice(nl + 1);
    const pgid = Number(pgidText);
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (cmd === 'guard') guarded.add(pgid);
    else if (cmd === 'release') guarded.delete(pgid);
  }
});
process.stdin.on('end', stopAll);
process.stdin.on('error', stopAll);
