// Checks kvgate against a REAL pegaflow-server (issue 9): starts it with
// kvgate's own launcher (flag dialect from --help, port preflight, readiness
// probes, supervisor stop, all through startStack), then exercises what kvgate
// relies on, one ✔/✘ line per check, and keeps what it saw as artifacts.
//
// Runs on the GPU machine (the real server needs CUDA), bundled so that it
// needs node alone there (see test/fixtures/real/pegaflow/SOURCE.md):
//   node .gpu-bundle/gpu/pegaflow-real.mjs --bin /path/to/pegaflow-server --out DIR
// PEGAFLOW_BIN stands in for --bin. The KV traffic that makes the cache
// counters move comes from test/gpu/pegaflow_traffic.py (torch + the pegaflow
// package); --traffic-cmd replaces it ({grpc} and {http} are filled in).
// Exit code: 0 when every check passed, 1 otherwise, 2 on bad usage.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { cacheEvidence, counterDelta, PEGAFLOW_INSERTIONS, PEGAFLOW_LEGACY_HITS, PEGAFLOW_LEGACY_MISSES, PEGAFLOW_TIER_REQUESTS } from '../../src/analysis/evidence.ts';
import { scrapeMetrics, seriesOf, type MetricSnapshot } from '../../src/analysis/prometheus.ts';
import { parseArgs } from '../../src/config/args.ts';
import { REPO_ROOT, resolveConfig } from '../../src/config/config.ts';
import { createEngineClient, ENGINE_PROTO_PATH, type EngineClient, type QueryResponse } from '../../src/grpc/engine.ts';
import { freePorts } from '../../src/stack/free-port.ts';
import { describeFlags, detectPegaflowFlags, PEGAFLOW_STOP_SIGNAL } from '../../src/stack/launchers/pegaflow.ts';
import { checkPort } from '../../src/stack/ports.ts';
import { allStats, readCmdline } from '../../src/stack/proc.ts';
import { endpointsFor, startStack, type StackHandle, type StackObserver } from '../../src/stack/stack.ts';
import { tailLines, treeOf } from '../../src/stack/supervisor.ts';
import { probe } from '../../src/util/shell.ts';

/**
 * The metric families kvgate reads, with the type it expects. `required`
 * ones must be there after traffic; the others are fallbacks for older
 * servers and are only reported.
 */
export const EVIDENCE_METRICS: readonly { name: string; type: 'counter' | 'gauge'; role: string; required: boolean }[] = [
  { name: PEGAFLOW_TIER_REQUESTS, type: 'counter', role: 'hits/queried (preferred)', required: true },
  { name: PEGAFLOW_INSERTIONS, type: 'counter', role: 'inserted blocks', required: true },
  { name: 'pegaflow_pool_used_bytes', type: 'gauge', role: 'pool in use', required: true },
  { name: 'pegaflow_pool_capacity_bytes', type: 'gauge', role: 'pool size', required: true },
  { name: PEGAFLOW_LEGACY_HITS, type: 'counter', role: 'hits (fallback)', required: false },
  { name: PEGAFLOW_LEGACY_MISSES, type: 'counter', role: 'queried (fallback)', required: false },
];

/** The declared type of a family, looked up under the name and its `_total` twin. */
export function declaredType(snap: MetricSnapshot, name: string): string | undefined {
  return snap.types.get(name) ?? snap.types.get(name.endsWith('_total') ? name.slice(0, -6) : `${name}_total`);
}

interface Args {
  bin: string;
  out: string;
  trafficCmd: string;
  keep: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: pegaflow-real [--bin PATH] --out DIR [--traffic-cmd CMD]   (PEGAFLOW_BIN may give the binary)\n`);
  process.exit(2);
}

function parseCli(argv: string[]): Args {
  let bin = process.env['PEGAFLOW_BIN'] ?? '';
  let out = '';
  let trafficCmd = `${process.env['PYTHON'] ?? 'python3'} ${join(REPO_ROOT, 'test/gpu/pegaflow_traffic.py')} --endpoint http://{grpc} --http {http} --blocks 32 --hold`;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--bin') bin = val();
    else if (a === '--out') out = val();
    else if (a === '--traffic-cmd') trafficCmd = val();
    else if (a === '--keep-temp') keep = true;
    else if (!a.startsWith('-') && !bin) bin = a;
    else usage(`unknown argument ${a}`);
  }
  if (!bin) usage('no pegaflow-server given (--bin or PEGAFLOW_BIN)');
  if (!out) usage('--out is required');
  return { bin: bin.includes('/') ? resolve(bin) : bin, out: resolve(out), trafficCmd, keep };
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function main(): Promise<number> {
  const args = parseCli(process.argv.slice(2));
  mkdirSync(args.out, { recursive: true });
  const checks: Check[] = [];
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const check = (name: string, ok: boolean, detail = ''): boolean => {
    checks.push({ name, ok, detail });
    say(`${ok ? '✔' : '✘'} ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  };
  const note = (line: string) => say(`  · ${line}`);
  const save = (file: string, text: string) => writeFileSync(join(args.out, file), text);
  const oneLine = (s: string, max = 240) => s.replace(/\s+/g, ' ').trim().slice(0, max);

  say(`pegaflow-real: ${args.bin} on ${new Date().toISOString()}`);
  if (!existsSync(ENGINE_PROTO_PATH)) {
    check('proto found', false, `${ENGINE_PROTO_PATH} does not exist (the bundle must sit two folders below the repo root)`);
    return finish();
  }

  // --version and --help, as kvgate's probes run them.
  const version = await probe(args.bin, ['--version'], 60);
  const versionText = (version.stdout + version.stderr).trim();
  save('version.txt', `${versionText}\n`);
  check('--version captured', version.ok && versionText.length > 0, `exit ${version.exitCode}: ${oneLine(versionText, 120)}`);
  const help = await probe(args.bin, ['--help'], 60);
  const helpText = help.stdout + help.stderr;
  save('help.txt', helpText);
  check('--help captured', help.ok && /--addr\b/.test(helpText), `exit ${help.exitCode}, ${helpText.split('\n').length} lines`);

  // Dialect, as startStack will detect it.
  try {
    const d = await detectPegaflowFlags(args.bin, 'auto', 60);
    check('flag dialect detected', true, `${describeFlags(d.flags)}, from ${d.how}`);
  } catch (err) {
    check('flag dialect detected', false, (err as Error).message);
  }

  // Everything else through a real start.
  const work = mkdtempSync(join(tmpdir(), 'kvgate-pegaflow-real-'));
  const [grpcPort, httpPort] = (await freePorts(2)) as [number, number];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PEGAFLOW_BIN: args.bin,
    PEGA_FLAG_DIALECT: 'auto',
    PEGA_PORT: String(grpcPort),
    PEGA_METRICS_PORT: String(httpPort),
    PEGA_POOL_SIZE: process.env['PEGA_POOL_SIZE'] ?? '2gb',
    PEGA_SSD_CACHE_PATH: join(work, 'ssd-cache'),
    PEGA_SSD_CACHE_CAPACITY: '1gb',
    PEGA_DEVICE: process.env['PEGA_DEVICE'] ?? '0',
    RESULTS_DIR: join(work, 'results'),
    KVGATE_STATE_DIR: join(work, 'state'),
    SERVER_STARTUP_TIMEOUT: '180',
    STOP_TIMEOUT: '20',
  };
  const configFor = (extra: NodeJS.ProcessEnv) => resolveConfig('start-servers', parseArgs('start-servers', []), { env: { ...env, ...extra }, repoRoot: REPO_ROOT });
  let cfg = configFor({});
  const ep = endpointsFor(cfg)['pegaflow-server'];
  const strays = () =>
    allStats().filter((s) => s.pid !== process.pid && (readCmdline(s.pid) ?? []).some((a) => /pegaflow-server/.test(a)) && s.state !== 'Z');
  const before = strays();
  if (before.length) note(`pegaflow-server processes already running before the start: ${before.map((s) => s.pid).join(', ')}`);

  const observer: StackObserver = {
    info: (m) => note(m),
    warn: (m) => note(`warning: ${m}`),
    serverStarting: (_role, cmd) => note(`starting: ${cmd.join(' ')}`),
    serverReady: () => {},
    serverExited: (_role, exit) => note(`server exited unexpectedly: ${exit.signal ?? `code ${exit.code}`}`),
  };
  let stack: StackHandle | undefined;
  const start = async (what: string): Promise<boolean> => {
    const t0 = performance.now();
    try {
      stack = await startStack(cfg, { roles: ['pegaflow-server'], detached: false, observer });
      return check(`started by kvgate launcher (${what}); readiness (HTTP /health + gRPC Health) passed`, true, `${((performance.now() - t0) / 1000).toFixed(1)} s, ports gRPC ${grpcPort}, HTTP ${httpPort}`);
    } catch (err) {
      const e = err as Error & { logTail?: string };
      check(`started by kvgate launcher (${what}); readiness (HTTP /health + gRPC Health) passed`, false, oneLine(e.message, 400));
      if (e.logTail) note(`server log tail:\n${e.logTail.replace(/^/gm, '      ')}`);
      return false;
    }
  };
  // kvgate's default set-up has the SSD tier on; without it is the fallback, so that one failure does not hide the rest.
  if (!(await start('SSD tier on'))) {
    cfg = configFor({ PEGA_SSD_CACHE_PATH: 'none', RESULTS_DIR: join(work, 'results-no-ssd') });
    await start('SSD tier off');
  }
  const logFile = join(cfg.results.dir, 'logs', 'pegaflow-server.log');

  const http: Record<string, unknown> = {};
  if (stack) {
    // gRPC Health through our proto.
    const client = createEngineClient(ep.grpcAddress!, 10_000);
    try {
      const res = await client.call('Health', {});
      http['grpcHealth'] = res;
      check('gRPC Engine.Health through proto/', res.status?.ok === true, `status ${JSON.stringify(res.status)}`);
    } catch (err) {
      check('gRPC Engine.Health through proto/', false, (err as Error).message);
    } finally {
      client.close();
    }

    // HTTP /health.
    try {
      const r = await request(ep.healthUrl);
      const body = await r.body.text();
      http['health'] = { status: r.statusCode, contentType: r.headers['content-type'], body };
      check('HTTP GET /health', r.statusCode === 200, `${r.statusCode} ${JSON.stringify(body.slice(0, 40))}`);
    } catch (err) {
      check('HTTP GET /health', false, (err as Error).message);
    }

    // /metrics before traffic.
    const m0 = await scrapeMetrics(ep.metricsUrl, { timeoutS: 10 });
    if (m0.ok) save('metrics-before.txt', m0.text);
    check('/metrics (before traffic) parsed by our parser', m0.ok, m0.ok ? `${m0.snapshot.families.size} families` : m0.error);

    // Traffic: the python driver registers a GPU KV tensor, saves, queries, loads.
    const cmd = args.trafficCmd.replaceAll('{grpc}', ep.grpcAddress!).replaceAll('{http}', ep.httpBase);
    note(`traffic: ${cmd}`);
    const traffic = await runTraffic(cmd, 180_000, (hold) => protoChecks(ep.grpcAddress!, hold, check, note));
    save('traffic.txt', `$ ${cmd}\nexit ${traffic.code}\n--- stdout\n${traffic.stdout}\n--- stderr\n${traffic.stderr}`);
    let report: { ok?: boolean; steps?: Check[]; instance_id?: string; instances_while_registered?: string } = {};
    try {
      report = JSON.parse(traffic.stdout.trim().split('\n').at(-1) ?? '{}') as typeof report;
    } catch {
      // reported below
    }
    for (const s of report.steps ?? []) note(`traffic step ${s.ok ? 'ok' : 'FAILED'}: ${s.name}${s.detail ? ` (${oneLine(s.detail, 160)})` : ''}`);
    check('KV traffic (register, save, query, load, bytes equal) through the real connector client', traffic.code === 0 && report.ok === true, `exit ${traffic.code}${traffic.code !== 0 ? `: ${oneLine(traffic.stderr.split('\n').slice(-5).join(' '), 300)}` : ''}`);
    if (report.instances_while_registered !== undefined) http['instancesWhileRegistered'] = report.instances_while_registered;

    // /metrics after traffic: our parser, the names and types the evidence check reads, hits.
    const m1 = await scrapeMetrics(ep.metricsUrl, { timeoutS: 10 });
    if (m1.ok) save('metrics-after.txt', m1.text);
    check('/metrics (after traffic) parsed by our parser', m1.ok, m1.ok ? `${m1.snapshot.families.size} families` : m1.error);
    if (m0.ok && m1.ok) {
      for (const m of EVIDENCE_METRICS) {
        const series = seriesOf(m1.snapshot, m.name);
        const type = declaredType(m1.snapshot, m.name);
        const labels = [...new Set((series ?? []).flatMap((s) => Object.keys(s.labels)))].sort().join(',');
        const detail = `type ${type ?? 'none'}, ${series?.length ?? 0} series, labels {${labels}}`;
        if (m.required) check(`metric ${m.name} exposed as ${m.type} (${m.role})`, series !== undefined && series.length > 0 && type === m.type, detail);
        else note(`optional metric ${m.name} (${m.role}): ${series?.length ? detail : 'absent'}`);
      }
      const tiers = [...new Set((seriesOf(m1.snapshot, PEGAFLOW_TIER_REQUESTS) ?? []).map((s) => s.labels['tier']))].join(',');
      note(`tiers recorded: ${tiers || 'none'}`);
      const ev = cacheEvidence({ pegaflow: m0.snapshot }, { pegaflow: m1.snapshot }, 'not-requested');
      http['evidence'] = ev;
      check(
        'cache evidence: PegaFlow hits rose',
        ev.pegaflowHitSource === PEGAFLOW_TIER_REQUESTS && (ev.pegaflowHitBlocks ?? 0) > 0,
        `source ${ev.pegaflowHitSource}, hits ${ev.pegaflowHitBlocks}, queried ${ev.pegaflowQueriedBlocks}, inserted ${ev.pegaflowInsertedBlocks}`,
      );
    }

    // /instances.
    try {
      const r = await request(`${ep.httpBase}/instances`);
      const body = await r.body.text();
      http['instancesAfterTraffic'] = { status: r.statusCode, body };
      let shapeOk = false;
      try {
        const j = JSON.parse(body) as { instances?: unknown };
        shapeOk = Array.isArray(j.instances) && j.instances.every((x) => typeof x === 'string');
      } catch {
        // not JSON
      }
      const whileReg = report.instances_while_registered ?? '';
      const listed = report.instance_id ? whileReg.includes(report.instance_id) : false;
      check('HTTP GET /instances', r.statusCode === 200 && shapeOk && listed, `${r.statusCode} ${body.slice(0, 120)}; while registered: ${whileReg.slice(0, 120) || '(not read)'}`);
    } catch (err) {
      check('HTTP GET /instances', false, (err as Error).message);
    }

    // POST /cache/memory/cleanup.
    try {
      const r = await request(`${ep.httpBase}/cache/memory/cleanup`, { method: 'POST' });
      const body = await r.body.text();
      http['memoryCleanup'] = { status: r.statusCode, body };
      let fieldsOk = false;
      try {
        const j = JSON.parse(body) as Record<string, unknown>;
        fieldsOk = ['evicted_blocks', 'evicted_bytes', 'reclaimed_bytes', 'still_referenced_blocks'].every((k) => typeof j[k] === 'number');
      } catch {
        // not JSON
      }
      check('HTTP POST /cache/memory/cleanup', r.statusCode === 200 && fieldsOk, `${r.statusCode} ${body.slice(0, 160)}`);
    } catch (err) {
      check('HTTP POST /cache/memory/cleanup', false, (err as Error).message);
    }
    const m2 = await scrapeMetrics(ep.metricsUrl, { timeoutS: 10 });
    if (m2.ok) save('metrics-after-cleanup.txt', m2.text);
    if (m1.ok && m2.ok) {
      const evicted = counterDelta(m1.snapshot, m2.snapshot, 'pegaflow_cache_block_evictions_total');
      check('cleanup shows in pegaflow_cache_block_evictions_total', (evicted ?? 0) > 0, `+${evicted ?? 'absent'} blocks`);
    }

    // Graceful stop through the supervisor; nothing may be left.
    const proc = stack.servers.get('pegaflow-server')?.proc;
    const tree = proc ? treeOf(proc.pgid, proc.pid).map((s) => `${s.pid}:${s.comm}`) : [];
    note(`process tree before stop: ${tree.join(' ')}`);
    const s0 = performance.now();
    const problems = await stack.stop();
    const stopS = (performance.now() - s0) / 1000;
    const exit = proc?.exitInfo();
    const left = strays().filter((s) => !before.some((b) => b.pid === s.pid));
    const ports = await Promise.all([checkPort(grpcPort), checkPort(httpPort)]);
    const logTail = tailLines(logFile, 8);
    note(`leader exit: ${exit ? (exit.signal ?? `code ${exit.code}`) : 'unknown'}; server log tail:\n${logTail.replace(/^/gm, '      ')}`);
    check(
      `stop (${PEGAFLOW_STOP_SIGNAL}, grace) leaves no process and frees the ports`,
      problems.length === 0 && left.length === 0 && ports.every((p) => p.free),
      `${stopS.toFixed(2)} s; ${problems.length ? problems.join('; ') : 'no SIGKILL needed'}; leftovers: ${left.map((s) => `${s.pid}:${s.comm}`).join(' ') || 'none'}; ports ${ports.map((p) => `${p.port} ${p.free ? 'free' : 'busy'}`).join(', ')}`,
    );
    check('stop was graceful (the server logged its own shutdown)', /shutting down|Server stopped/i.test(readFileSync(logFile, 'utf8').split('\n').slice(-60).join('\n')), oneLine(logTail.split('\n').at(-1) ?? '', 200));
  }
  save('http.json', `${JSON.stringify(http, null, 2)}\n`);
  if (existsSync(logFile)) save('server.log', readFileSync(logFile, 'utf8'));
  if (!args.keep) {
    // The SSD cache file may be large: remove the work dir (logs were copied).
    rmSync(work, { recursive: true, force: true });
  }
  return finish();

  function finish(): number {
    const failed = checks.filter((c) => !c.ok);
    say(`${checks.length - failed.length}/${checks.length} checks passed${failed.length ? `; failed: ${failed.map((c) => c.name).join('; ')}` : ''}`);
    save('transcript.txt', `${lines.join('\n')}\n`);
    return failed.length ? 1 : 0;
  }
}

/** What pegaflow_traffic.py --hold hands over while its instance is registered. */
interface HeldInstance {
  instance: string;
  layer: string;
  saved_hashes: string[];
  block_ids: number[];
}

/**
 * QueryPrefetch until it answers `ready` with `want` hits (a save or an SSD
 * lookup may still be landing) or the time is up. One req_id throughout, as
 * the connector does: the real server answers `loading` to the first query
 * of a req_id that starts an SSD lookup, and `ready` only to a repeat of it.
 */
async function queryUntil(client: EngineClient, instanceId: string, hashes: Buffer[], want: number, timeoutMs: number): Promise<{ res: QueryResponse; polls: number }> {
  const deadline = performance.now() + timeoutMs;
  const reqId = `kvgate-${randomUUID().slice(0, 8)}`;
  for (let polls = 1; ; polls++) {
    const res = await client.call('QueryPrefetch', { instanceId, blockHashes: hashes, reqId });
    const hits = res.ready ? Number(res.ready.numHitBlocks) : -1;
    if (hits === want || performance.now() > deadline) return { res, polls };
    if (res.ready?.lease?.length) await client.call('Release', { lease: res.ready.lease });
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Wire compatibility of proto/ beyond Health: while the Python connector
 * client holds a registered instance (with real CUDA IPC handles), kvgate's
 * own gRPC client queries the blocks it saved, saves new ones and queries
 * those back, and releases every lease, all through our .proto.
 */
async function protoChecks(address: string, hold: HeldInstance, check: (name: string, ok: boolean, detail?: string) => boolean, note: (line: string) => void): Promise<void> {
  const client = createEngineClient(address, 10_000);
  const describe = (res: QueryResponse) => (res.ready ? `ready(${Number(res.ready.numHitBlocks)} hits, lease ${res.ready.lease?.length ?? 0} bytes)` : res.loading ? 'loading' : JSON.stringify(res));
  try {
    const saved = hold.saved_hashes.map((h) => Buffer.from(h, 'hex'));
    const q1 = await queryUntil(client, hold.instance, saved, saved.length, 10_000);
    check('QueryPrefetch through proto/ finds the blocks the connector saved', Number(q1.res.ready?.numHitBlocks ?? -1) === saved.length, `${describe(q1.res)} after ${q1.polls} poll(s), ${saved.length} asked`);
    if (q1.res.ready?.lease?.length) await client.call('Release', { lease: q1.res.ready.lease });

    const fresh = Array.from({ length: 8 }, (_, i) => createHash('sha256').update(`kvgate-proto-save-${hold.instance}-${i}`).digest());
    const blockIds = hold.block_ids.slice(0, fresh.length);
    const saveRes = await client.call('Save', { instanceId: hold.instance, tpRank: 0, deviceId: 0, ppRank: 0, saves: [{ layerName: hold.layer, blockIds, blockHashes: fresh }] });
    check('Save through proto/ accepted', saveRes.status?.ok === true, `status ${JSON.stringify(saveRes.status)}`);
    const q2 = await queryUntil(client, hold.instance, fresh, fresh.length, 15_000);
    check('blocks saved through proto/ come back as hits', Number(q2.res.ready?.numHitBlocks ?? -1) === fresh.length, `${describe(q2.res)} after ${q2.polls} poll(s)`);
    if (q2.res.ready?.lease?.length) {
      await client.call('Release', { lease: q2.res.ready.lease });
      check('Release through proto/', true, `lease of ${q2.res.ready.lease.length} bytes released`);
    }

    const unknown = [createHash('sha256').update('kvgate-never-saved').digest()];
    const fresh5: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await client.call('QueryPrefetch', { instanceId: hold.instance, blockHashes: unknown, reqId: `kvgate-fresh-${randomUUID().slice(0, 8)}` });
      fresh5.push(describe(r));
      if (r.ready?.lease?.length) await client.call('Release', { lease: r.ready.lease });
    }
    note(`unknown block, a new req_id on each of 5 queries: ${fresh5.join(', ')}`);
    const q3 = await queryUntil(client, hold.instance, unknown, 0, 10_000);
    check('QueryPrefetch through proto/ of an unknown block is a miss', Number(q3.res.ready?.numHitBlocks ?? -1) === 0, `${describe(q3.res)} after ${q3.polls} poll(s)`);
    if (q3.res.ready?.lease?.length) await client.call('Release', { lease: q3.res.ready.lease });

    try {
      const un = await client.call('UnregisterContext', { instanceId: `kvgate-not-registered-${randomUUID().slice(0, 8)}` });
      note(`UnregisterContext of an unknown instance: status ${JSON.stringify(un.status)}`);
    } catch (err) {
      const e = err as { code?: number; details?: string };
      note(`UnregisterContext of an unknown instance: gRPC code ${e.code} ${e.details ?? ''}`);
    }
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string };
    check('proto/ calls on the held instance', false, `gRPC error code ${e.code ?? '?'}: ${e.details ?? e.message ?? String(err)}`);
  } finally {
    client.close();
  }
}

/**
 * Runs the traffic driver; when it prints a {"hold": …} line, runs `onHold`
 * and then releases it with a line on its stdin. stdout excludes that line.
 */
function runTraffic(cmd: string, timeoutMs: number, onHold: (hold: HeldInstance) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn('bash', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let hold: HeldInstance | undefined;
        try {
          hold = (JSON.parse(line) as { hold?: HeldInstance }).hold;
        } catch {
          // an ordinary line
        }
        if (hold) void onHold(hold).finally(() => child.stdin.end('go\n'));
        else stdout += `${line}\n`;
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: stdout + pending, stderr });
    });
  });
}

// Run only as the entry point (the bundle, or tsx), never when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) void main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`pegaflow-real crashed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
