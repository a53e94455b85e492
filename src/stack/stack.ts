// Starting and stopping the three servers as one stack. Order: reap stale
// servers left by a dead harness, check ports, detect what the installed
// binaries accept, then start PegaFlow and the baseline concurrently and the
// connector vLLM once PegaFlow is ready.
import { join } from 'node:path';
import type { KvgateConfig } from '../config/config.ts';
import { buildPegaflowCommand, describeFlags, detectPegaflowFlags, type PegaflowFlags } from './launchers/pegaflow.ts';
import { buildVllmCommand, probeVllm, type VllmCapabilities, type VllmRole } from './launchers/vllm.ts';
import { listGpus, placeBaseline } from './launchers/gpus.ts';
import { checkPort, describeBusyPort, type PortClaim } from './ports.ts';
import { checkLiveness, describePidFile, ownerAlive, pidFileName, readPidFiles, removePidFile, stopSignalOf, writePidFile, type PidFile } from './pidfile.ts';
import { pegaflowProbe, httpProbe } from './readiness.ts';
import { ServerStartError, describeExit, spawnInGroup, stopGroup, killGroupNow, tailLines, waitReady, type ExitInfo, type ManagedProcess, type ProcessSpec, type ReadinessProbe } from './supervisor.ts';
import type { Lifeline } from './lifeline.ts';

export type ServerRole = 'pegaflow-server' | VllmRole;
export const ALL_ROLES: readonly ServerRole[] = ['pegaflow-server', 'vllm-pegaflow', 'vllm-baseline'];

export interface ServerEndpoint {
  role: ServerRole;
  /** Base URL of its HTTP API (vLLM) or HTTP health/metrics address (PegaFlow). */
  httpBase: string;
  metricsUrl: string;
  healthUrl: string;
  grpcAddress?: string;
}

/** Where each server is reached; the same whether we started it or it was already up. */
export function endpointsFor(cfg: KvgateConfig): Record<ServerRole, ServerEndpoint> {
  const h = cfg.host;
  const vllm = (role: VllmRole, port: number): ServerEndpoint => ({
    role,
    httpBase: `http://${h}:${port}`,
    metricsUrl: `http://${h}:${port}/metrics`,
    healthUrl: `http://${h}:${port}/health`,
  });
  return {
    'pegaflow-server': {
      role: 'pegaflow-server',
      httpBase: `http://${h}:${cfg.ports.pegaHttp}`,
      metricsUrl: `http://${h}:${cfg.ports.pegaHttp}/metrics`,
      healthUrl: `http://${h}:${cfg.ports.pegaHttp}/health`,
      grpcAddress: `${h}:${cfg.ports.pegaGrpc}`,
    },
    'vllm-pegaflow': vllm('vllm-pegaflow', cfg.ports.vllm),
    'vllm-baseline': vllm('vllm-baseline', cfg.ports.baseline),
  };
}

export function portClaims(cfg: KvgateConfig, roles: readonly ServerRole[]): PortClaim[] {
  const claims: PortClaim[] = [];
  if (roles.includes('pegaflow-server')) {
    claims.push({ port: cfg.ports.pegaGrpc, envVar: 'PEGA_PORT', server: 'pegaflow-server (gRPC)' });
    claims.push({ port: cfg.ports.pegaHttp, envVar: 'PEGA_METRICS_PORT', server: 'pegaflow-server (HTTP)' });
  }
  if (roles.includes('vllm-pegaflow')) claims.push({ port: cfg.ports.vllm, envVar: 'VLLM_PORT', server: 'vllm-pegaflow' });
  if (roles.includes('vllm-baseline')) claims.push({ port: cfg.ports.baseline, envVar: 'VLLM_BASELINE_PORT', server: 'vllm-baseline' });
  return claims;
}

/** What the stack reports as it goes; the suite turns these into events for reporters. */
export interface StackObserver {
  info(message: string): void;
  warn(message: string): void;
  serverStarting(role: ServerRole, commandLine: string[], logFile: string): void;
  serverReady(role: ServerRole, elapsedS: number): void;
  /** A server exited while it was meant to be running. */
  serverExited(role: ServerRole, exit: ExitInfo, logTail: string): void;
}

export const silentObserver: StackObserver = {
  info() {},
  warn() {},
  serverStarting() {},
  serverReady() {},
  serverExited() {},
};

export class StackError extends Error {
  constructor(
    message: string,
    readonly logTail = '',
    readonly role?: ServerRole,
  ) {
    super(message);
  }
}

export interface RunningServer {
  role: ServerRole;
  proc: ManagedProcess;
  pidFile: PidFile;
  endpoint: ServerEndpoint;
}

export interface StackHandle {
  servers: Map<ServerRole, RunningServer>;
  /** Command lines actually run, for env.json and the report. */
  commandLines: Record<string, string[]>;
  detected: { pegaflowFlags?: PegaflowFlags; vllm?: VllmCapabilities; gpus?: string[] };
  /** Graceful stop of every server (its stop signal: SIGTERM, SIGINT for PegaFlow; grace; SIGKILL); returns problems worth reporting. */
  stop(): Promise<string[]>;
  /** SIGKILL everything now (second Ctrl-C). */
  killNow(): void;
}

export interface StartOptions {
  roles: readonly ServerRole[];
  /** start-servers: servers outlive this process (no lifeline, owner marked detached). */
  detached: boolean;
  lifeline?: Lifeline;
  observer?: StackObserver;
  signal?: AbortSignal;
}

/** Stops servers recorded in the state dir whose harness is gone, or which hold ports we need. */
export async function reapStaleServers(cfg: KvgateConfig, neededPorts: number[], observer: StackObserver): Promise<string[]> {
  const reaped: string[] = [];
  for (const entry of readPidFiles(cfg.results.stateDir)) {
    if (!entry.record) {
      observer.warn(`ignoring unreadable pid file ${entry.path}: ${entry.error}`);
      removePidFile(entry.path);
      continue;
    }
    const rec = entry.record;
    const live = checkLiveness(rec);
    if (live.state === 'gone') {
      removePidFile(entry.path);
      continue;
    }
    if (live.state === 'pid-reused') {
      observer.warn(`pid file ${entry.path} is stale and its pid now belongs to another process (${live.detail}); leaving that process alone`);
      removePidFile(entry.path);
      continue;
    }
    const conflicts = rec.ports.some((p) => neededPorts.includes(p));
    const orphaned = !rec.owner.detached && !ownerAlive(rec);
    if (!orphaned && !conflicts) continue;
    if (!orphaned && !rec.owner.detached) continue; // owned by a live harness: its business; the port check will name it
    const why = orphaned ? `its harness (pid ${rec.owner.pid}) is gone` : 'it holds a port this run needs';
    observer.warn(`stopping stale kvgate server ${describePidFile(rec)}: ${why}`);
    const res = await stopGroup(rec.pgid, cfg.timeouts.stopS, rec.pid, stopSignalOf(rec));
    if (res.survivors.length) throw new StackError(`could not stop stale server ${describePidFile(rec)}: pids ${res.survivors.map((s) => s.pid).join(', ')} survive SIGKILL`);
    removePidFile(entry.path);
    reaped.push(describePidFile(rec));
  }
  return reaped;
}

export async function preflightPorts(claims: PortClaim[]): Promise<void> {
  const problems: string[] = [];
  for (const claim of claims) {
    const status = await checkPort(claim.port);
    if (!status.free) problems.push(describeBusyPort(claim, status));
  }
  if (problems.length) throw new StackError(problems.join('\n'));
}

function probeFor(role: ServerRole, ep: ServerEndpoint, flags: PegaflowFlags | undefined): ReadinessProbe {
  // Servers old enough to take --metrics-addr answer on /metrics (the bash suite polled it); newer ones have /health.
  if (role === 'pegaflow-server') return pegaflowProbe(ep.httpBase, ep.grpcAddress!, flags?.http === '--metrics-addr' ? '/metrics' : '/health');
  return httpProbe(ep.healthUrl);
}

export async function startStack(cfg: KvgateConfig, opts: StartOptions): Promise<StackHandle> {
  const observer = opts.observer ?? silentObserver;
  const roles = opts.roles;
  const endpoints = endpointsFor(cfg);
  const claims = portClaims(cfg, roles);
  const reaped = await reapStaleServers(cfg, claims.map((c) => c.port), observer);
  if (reaped.length) observer.info(`reclaimed ${reaped.length} stale server(s) before starting`);
  await preflightPorts(claims);

  const wantsVllm = roles.includes('vllm-pegaflow') || roles.includes('vllm-baseline');
  const [dialectInfo, vllmCaps, gpus] = await Promise.all([
    roles.includes('pegaflow-server') ? detectPegaflowFlags(cfg.pegaflow.bin, cfg.pegaflow.dialect) : undefined,
    wantsVllm ? probeVllm(cfg.vllm.bin) : undefined,
    // The simulated stack has no GPUs to place; the real one asks nvidia-smi.
    cfg.stack === 'real' && roles.includes('vllm-baseline') ? listGpus() : undefined,
  ]);
  if (dialectInfo) observer.info(`pegaflow-server flags: ${describeFlags(dialectInfo.flags)}, from ${dialectInfo.how}`);
  if (gpus?.problem) observer.warn(gpus.problem);

  const logs = (name: string) => join(cfg.results.dir, 'logs', `${name}.log`);
  const specs = new Map<ServerRole, ProcessSpec>();
  if (dialectInfo) specs.set('pegaflow-server', buildPegaflowCommand(cfg, dialectInfo.flags, logs('pegaflow-server')));
  if (vllmCaps && roles.includes('vllm-pegaflow')) specs.set('vllm-pegaflow', buildVllmCommand(cfg, 'vllm-pegaflow', cfg.pegaflow.device, vllmCaps, logs('vllm-pegaflow')));
  if (vllmCaps && roles.includes('vllm-baseline')) {
    const placement =
      cfg.stack === 'sim'
        ? { device: cfg.vllm.baselineDevice === 'auto' ? cfg.pegaflow.device + cfg.vllm.tensorParallelSize : cfg.vllm.baselineDevice }
        : placeBaseline(cfg.pegaflow.device, cfg.vllm.tensorParallelSize, gpus?.count ?? 0, cfg.vllm.baselineDevice);
    if ('warning' in placement && placement.warning) observer.warn(placement.warning);
    specs.set('vllm-baseline', buildVllmCommand(cfg, 'vllm-baseline', placement.device, vllmCaps, logs('vllm-baseline')));
  }

  const servers = new Map<ServerRole, RunningServer>();
  // One failed start cancels the others' readiness waits at once (no waiting minutes for a model to load).
  const startAbort = new AbortController();
  opts.signal?.addEventListener('abort', () => startAbort.abort(), { once: true });
  const stopping = new Set<ServerRole>();
  let stoppingAll = false;
  const commandLines: Record<string, string[]> = {};

  const startOne = async (role: ServerRole): Promise<void> => {
    const spec = specs.get(role)!;
    commandLines[role] = [spec.command, ...spec.args];
    observer.serverStarting(role, commandLines[role]!, spec.logFile);
    const proc = await spawnInGroup(spec);
    opts.lifeline?.guard(proc.pgid);
    const ports = claims.filter((c) => c.server.startsWith(role)).map((c) => c.port);
    const meta = { ports, resultsDir: cfg.results.dir, detached: opts.detached };
    let pidFile = await writePidFile(cfg.results.stateDir, proc, meta);
    servers.set(role, { role, proc, pidFile, endpoint: endpoints[role] });
    const elapsedS = await waitReady(proc, probeFor(role, endpoints[role], dialectInfo?.flags), {
      timeoutS: cfg.timeouts.serverStartupS,
      maxIntervalS: cfg.timeouts.healthCheckIntervalS,
      signal: startAbort.signal,
    });
    // Rewrite now that the process has exec'd into its final command line (a shebang wrapper changes it).
    pidFile = await writePidFile(cfg.results.stateDir, proc, meta);
    servers.set(role, { role, proc, pidFile, endpoint: endpoints[role] });
    observer.serverReady(role, elapsedS);
    void proc.exited.then((exit) => {
      if (!stoppingAll && !stopping.has(role)) observer.serverExited(role, exit, tailLines(spec.logFile));
    });
  };

  const stopAll = async (): Promise<string[]> => {
    stoppingAll = true;
    const problems: string[] = [];
    // Reverse dependency order: vLLMs first (they hold PegaFlow sessions), PegaFlow last.
    const order: ServerRole[] = ['vllm-pegaflow', 'vllm-baseline', 'pegaflow-server'];
    const stopOne = async (role: ServerRole) => {
      const s = servers.get(role);
      if (!s) return;
      stopping.add(role);
      const signal = stopSignalOf(s.pidFile);
      const res = await stopGroup(s.proc.pgid, cfg.timeouts.stopS, s.proc.pid, signal);
      if (res.escalated) problems.push(`${role} did not stop within ${cfg.timeouts.stopS}s of ${signal} (STOP_TIMEOUT); sent SIGKILL`);
      if (res.survivors.length) problems.push(`${role}: pids ${res.survivors.map((p) => p.pid).join(', ')} survived SIGKILL`);
      else {
        opts.lifeline?.release(s.proc.pgid);
        removePidFile(join(cfg.results.stateDir, pidFileName(role, s.pidFile.ports[0] ?? 0)));
      }
    };
    await Promise.all(order.slice(0, 2).map(stopOne));
    await stopOne('pegaflow-server');
    return problems;
  };

  const handle: StackHandle = {
    servers,
    commandLines,
    detected: { pegaflowFlags: dialectInfo?.flags, vllm: vllmCaps, gpus: gpus?.names },
    stop: stopAll,
    killNow() {
      stoppingAll = true;
      for (const s of servers.values()) killGroupNow(s.proc.pgid, s.proc.pid);
    },
  };

  try {
    const cancelOthersOnFailure = (p: Promise<void>) =>
      p.catch((err: unknown) => {
        startAbort.abort();
        throw err;
      });
    const pega = cancelOthersOnFailure(roles.includes('pegaflow-server') ? startOne('pegaflow-server') : Promise.resolve());
    const baseline = cancelOthersOnFailure(specs.has('vllm-baseline') ? startOne('vllm-baseline') : Promise.resolve());
    const connector = cancelOthersOnFailure(specs.has('vllm-pegaflow') ? pega.then(() => startOne('vllm-pegaflow')) : Promise.resolve());
    const results = await Promise.allSettled([pega, baseline, connector]);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    // Report the cause, not the starts we cancelled because of it.
    const cause = failures.find((e) => !(e instanceof ServerStartError && e.reason === 'aborted')) ?? failures[0];
    if (cause) throw cause;
  } catch (err) {
    await stopAll();
    throw err;
  }
  return handle;
}

export function exitSummary(role: ServerRole, exit: ExitInfo): string {
  return `${role} exited unexpectedly (${describeExit(exit)})`;
}
