// Wires the simulated PegaFlow server: block store, metrics, HTTP and gRPC
// servers, faults. startSimPegaflow() runs it in-process (tests) and is what
// the executable src/sim/bin/pegaflow-server.ts calls.
import { once } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { engineServiceDefinition } from '../../grpc/engine.ts';
import { createFaultPlan, FAULTS, type FaultName } from '../faults.ts';
import { createEngineService } from './grpc-service.ts';
import { createHttpServer } from './http.ts';
import { InstanceRegistry } from './instances.ts';
import { createLogger, type Logger } from './log.ts';
import { SimMetrics } from './metrics.ts';
import { formatHostPort, resolveOptions, type SimPegaflowOptions } from './options.ts';
import { BlockStore } from './store.ts';
import { TransferChannel } from './transfer.ts';
import { SIM_VERSION } from './usage.ts';

export interface SimPegaflowHandle {
  grpcPort: number;
  httpPort: number;
  /** host:port to give a gRPC client. */
  grpcAddress: string;
  /** http://host:port */
  httpUrl: string;
  /** Stops both servers and closes the KV files; resolves when done. */
  close(): Promise<void>;
  /** Resolves when the server stops by itself (Shutdown RPC: 0; crash-after fault: 1) or through close() (0). */
  exited: Promise<{ code: number; reason: string }>;
}

export interface StartHooks {
  logger?: Logger;
  /** Flags accepted without effect, to mention at start-up. */
  ignoredFlags?: string[];
}

/** Start-up failed before the ports opened (startup-fail fault, a port in use). */
export class SimStartupError extends Error {}

const GIB = 1024 ** 3;
/** Lets a gRPC answer reach the client before the server stops after it. */
const FLUSH_MS = 50;

/** Loopback for clients when the server listens on every interface. */
function clientHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function bindGrpc(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

async function listenHttp(server: HttpServer, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('HTTP server has no TCP address');
  return addr.port;
}

function logStartup(options: SimPegaflowOptions, logger: Logger, hooks: StartHooks, faultsText: string, ignoredFaults: string[]): void {
  const poolBlocks = Math.floor(options.poolSizeBytes / options.blockBytes);
  logger.info(`pegaflow-server ${SIM_VERSION} starting (simulated: no GPU, no CUDA; ${options.dialect} flag dialect)`);
  logger.info(options.devices.length > 0 ? `GPU device(s): [${options.devices.join(', ')}] (not initialised: simulated)` : 'GPU device(s): auto-detect (none: simulated)');
  logger.info(
    `Pinned memory pool: ${(options.poolSizeBytes / GIB).toFixed(2)} GiB (${options.poolSizeBytes} bytes) = ${poolBlocks} block(s) of ${options.blockBytes} bytes`,
  );
  if (options.ssdCachePaths.length > 0) {
    const ssdBlocks = Math.floor(options.ssdCacheCapacityBytes / options.blockBytes);
    logger.info(
      `SSD tier on: paths=${options.ssdCachePaths.join(', ')} capacity=${(options.ssdCacheCapacityBytes / GIB).toFixed(2)} GiB = ${ssdBlocks} block(s) (kept in memory; nothing is written to the paths)`,
    );
  } else {
    logger.info('SSD tier off');
  }
  logger.info(
    `Simulation: load_us_per_block=${options.loadUsPerBlock} ssd_load_us_per_block=${options.ssdLoadUsPerBlock} lease_ttl_s=${options.leaseTtlS} startup_delay_s=${options.startupDelayS} faults=${faultsText} fault_seed=${options.faultSeed}`,
  );
  if (ignoredFaults.length > 0) logger.info(`Faults for the simulated vLLM, ignored here: ${ignoredFaults.join(', ')}`);
  if (hooks.ignoredFlags && hooks.ignoredFlags.length > 0) logger.info(`Accepted without effect in the sim: ${hooks.ignoredFlags.join(' ')}`);
}

export async function startSimPegaflow(partial: Partial<SimPegaflowOptions> = {}, hooks: StartHooks = {}): Promise<SimPegaflowHandle> {
  const options = resolveOptions(partial);
  const logger = hooks.logger ?? createLogger(options.logLevel);
  const faults = createFaultPlan(options.faultSpecs, options.faultSeed);
  const ignoredFaults = [...faults.active.keys()].filter((n: FaultName) => FAULTS[n].server === 'vllm');
  logStartup(options, logger, hooks, faults.describe(), ignoredFaults);

  if (faults.has('startup-fail')) {
    const msg = 'startup-fail fault: failing start-up before opening any port';
    logger.error(msg);
    throw new SimStartupError(msg);
  }
  if (options.startupDelayS > 0) await sleep(options.startupDelayS * 1000);

  const ssdEnabled = options.ssdCachePaths.length > 0;
  let store: BlockStore | undefined;
  const metrics = new SimMetrics(() => store!.stats(), { ssdEnabled, blockBytes: options.blockBytes, hllWindows: options.hllWindows, ssdUsPerBlock: options.ssdLoadUsPerBlock });
  store = new BlockStore({
    poolBytes: options.poolSizeBytes,
    ssdBytes: ssdEnabled ? options.ssdCacheCapacityBytes : 0,
    blockBytes: options.blockBytes,
    leaseTtlMs: options.leaseTtlS * 1000,
    observer: metrics,
  });
  const blockStore = store;
  const instances = new InstanceRegistry((id) => blockStore.releaseInstanceLeases(id));

  let stopping = false;
  let stopped: Promise<void> | undefined;
  let resolveExited!: (v: { code: number; reason: string }) => void;
  const exited = new Promise<{ code: number; reason: string }>((r) => (resolveExited = r));

  const httpServer = createHttpServer(
    {
      ...(options.enablePrometheus ? { metricsText: () => metrics.text() } : {}),
      listInstances: () => instances.list(),
      async cleanupInstances(id) {
        if (id === undefined) {
          const r = await instances.removeAll();
          return { removedInstances: r.ids, removedTensors: r.workers };
        }
        const n = await instances.remove(id);
        return n === undefined ? undefined : { removedInstances: [id], removedTensors: n };
      },
      cleanupMemory: () => blockStore.cleanupMemory(),
    },
    logger,
  );
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const sweep = setInterval(() => blockStore.sweepExpired(), 1000);
  sweep.unref();

  const stop = (code: number, reason: string): Promise<void> => {
    if (stopped) return stopped;
    stopping = true;
    stopped = (async () => {
      clearInterval(sweep);
      grpcServer.forceShutdown();
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
      await instances.removeAll();
      resolveExited({ code, reason });
    })();
    return stopped;
  };
  /** For stops decided inside an RPC: its answer goes out first. */
  const stopSoon = (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => void stop(code, reason), FLUSH_MS);
  };

  grpcServer.addService(
    engineServiceDefinition(),
    createEngineService({
      options,
      store: blockStore,
      instances,
      metrics,
      faults,
      channel: new TransferChannel(),
      logger,
      isStopping: () => stopping,
      crash(reason) {
        if (stopping) return;
        logger.error(reason);
        stopSoon(1, reason);
      },
      requestShutdown() {
        stopSoon(0, 'Shutdown requested via RPC');
      },
    }),
  );

  let httpPort: number;
  try {
    httpPort = await listenHttp(httpServer, options.httpAddr.host, options.httpAddr.port);
  } catch (err) {
    clearInterval(sweep);
    const msg = `cannot listen for HTTP on ${formatHostPort(options.httpAddr)} (--http-addr/--metrics-addr): ${(err as Error).message}`;
    logger.error(msg);
    throw new SimStartupError(msg);
  }
  const httpShown = formatHostPort({ host: options.httpAddr.host, port: httpPort });
  logger.info(`HTTP server listening on ${httpShown} (/health${options.enablePrometheus ? ', /metrics' : ''}, /instances, /instances/cleanup, /cache/memory/cleanup)`);

  let grpcPort: number;
  try {
    grpcPort = await bindGrpc(grpcServer, formatHostPort(options.grpcAddr));
  } catch (err) {
    clearInterval(sweep);
    httpServer.closeAllConnections();
    httpServer.close();
    const msg = `cannot listen for gRPC on ${formatHostPort(options.grpcAddr)} (--addr): ${(err as Error).message}`;
    logger.error(msg);
    throw new SimStartupError(msg);
  }
  logger.info(`gRPC server (pegaflow.Engine) listening on ${formatHostPort({ host: options.grpcAddr.host, port: grpcPort })}`);

  return {
    grpcPort,
    httpPort,
    grpcAddress: formatHostPort({ host: clientHost(options.grpcAddr.host), port: grpcPort }),
    httpUrl: `http://${formatHostPort({ host: clientHost(options.httpAddr.host), port: httpPort })}`,
    close: () => stop(0, 'closed'),
    exited,
  };
}
