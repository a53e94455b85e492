// Wires the simulated vLLM: EngineCore child process, "model loading", KV
// memory file, PegaFlow connector, scheduler, metrics and the HTTP API.
// startSimVllm() runs it in-process (tests); src/sim/bin/vllm.ts calls it after
// parsing `vllm serve` flags.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFaultPlan, FAULTS, type FaultName } from '../faults.ts';
import { ConnectorError, PegaConnector, resolveEndpoint } from './connector.ts';
import { KvMemoryFile } from './kv-memory.ts';
import { createLogger, type Logger } from './log.ts';
import { VllmMetrics } from './metrics.ts';
import { DIGEST_BYTES } from './model.ts';
import { createApiHandler } from './openai-api.ts';
import { resolveOptions, SIM_VLLM_VERSION, type SimVllmOptions } from './options.ts';
import { Scheduler, type ConnectorMode } from './scheduler.ts';

export interface SimVllmHandle {
  port: number;
  /** http://host:port, with a loopback host when the server listens on every interface. */
  url: string;
  instanceId: string;
  kvFilePath: string;
  /** pid of the EngineCore child, when one was spawned. */
  engineCorePid: number | undefined;
  /** Stops everything (HTTP, engine, connector, KV file, EngineCore child); resolves when done. */
  close(): Promise<void>;
  /** Resolves when the server stops: 0 after close(), 1 when the engine died (crash-after fault, EngineCore killed). */
  exited: Promise<{ code: number; reason: string }>;
}

export interface StartHooks {
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Flags accepted without effect, to mention at start-up. */
  ignoredFlags?: string[];
  warnings?: string[];
  /** Aborts a start-up in progress (SIGTERM while "loading the model"): cleans up, then rejects with SimStartupError. */
  signal?: AbortSignal;
}

/** Start-up failed (startup-fail fault, missing model path, connector unreachable, port in use): exit code 1. */
export class SimStartupError extends Error {}

const SUPPORTED_CONNECTOR = 'PegaKVConnector';
const KV_ROLES = ['kv_producer', 'kv_consumer', 'kv_both'];
const CHILD_STOP_GRACE_MS = 500;
const ENGINE_CORE_START_TIMEOUT_MS = 20_000;
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX_LOADER = `${REPO_ROOT}node_modules/tsx/dist/esm/index.mjs`;
const CHILD_SCRIPT = fileURLToPath(new URL('./engine-core-child.ts', import.meta.url));

function looksLikeLocalPath(model: string): boolean {
  return model.startsWith('/') || model.startsWith('./') || model.startsWith('../');
}

function clientHost(host: string | undefined): string {
  if (host === undefined || host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function nonDefaultArgs(o: SimVllmOptions): string {
  const shown: Record<string, unknown> = { model: o.model };
  if (o.servedModelNames[0] !== o.model) shown['served_model_name'] = o.servedModelNames;
  if (o.host !== undefined) shown['host'] = o.host;
  shown['port'] = o.port;
  shown['max_num_seqs'] = o.maxNumSeqs;
  shown['max_model_len'] = o.maxModelLen;
  shown['max_num_batched_tokens'] = o.maxNumBatchedTokens;
  shown['block_size'] = o.blockSize;
  shown['num_gpu_blocks_override'] = o.numGpuBlocks;
  if (!o.enablePrefixCaching) shown['enable_prefix_caching'] = false;
  if (o.tensorParallelSize !== 1) shown['tensor_parallel_size'] = o.tensorParallelSize;
  if (o.kvTransferConfig) shown['kv_transfer_config'] = o.kvTransferConfig;
  if (o.enablePromptTokensDetails) shown['enable_prompt_tokens_details'] = true;
  return JSON.stringify(shown);
}

function spawnEngineCore(model: string, logger: Logger): { child: ChildProcess; ready: Promise<void> } {
  // Same process group, no IPC channel, stdin ignored: nothing ties the child's life to ours.
  // fd 3 is a one-shot handshake pipe: the child writes "ready" once its signal handlers are set.
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CHILD_SCRIPT, String(process.pid), model, 'EngineCore_DP0'], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  logger.info('utils.py:780', `Started EngineCore_DP0 process (pid=${child.pid})`);
  // Last resort for exits that skip close() (an uncaught error, the stop deadline): never on SIGKILL.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  const handshake = child.stdio[3] as NodeJS.ReadableStream;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SimStartupError(`EngineCore_DP0 (pid ${child.pid}) did not start within ${ENGINE_CORE_START_TIMEOUT_MS} ms`)), ENGINE_CORE_START_TIMEOUT_MS);
    handshake.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new SimStartupError(`EngineCore_DP0 (pid ${child.pid}) exited during start-up (code ${code}, signal ${signal})`));
    });
  });
  ready.catch(() => {});
  handshake.on('error', () => {});
  return { child, ready };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = sleep(CHILD_STOP_GRACE_MS, 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function startSimVllm(partial: Partial<SimVllmOptions> & { model: string }, hooks: StartHooks = {}): Promise<SimVllmHandle> {
  const options = resolveOptions(partial);
  const env = hooks.env ?? process.env;
  const logger = hooks.logger ?? createLogger();
  const faults = createFaultPlan(options.faultSpecs, options.faultSeed);

  logger.info('api_server.py:1839', `vLLM API server version ${SIM_VLLM_VERSION} (kvgate simulator: no GPU, deterministic stand-in model)`);
  logger.info('utils.py:253', `non-default args: ${nonDefaultArgs(options)}`);
  for (const w of hooks.warnings ?? []) logger.warn('argparse_utils.py:178', w);
  if (hooks.ignoredFlags?.length) logger.info('api_server.py:1840', `Accepted without effect in the simulator: ${hooks.ignoredFlags.join(' ')}`);
  if (options.fixedLatency) {
    logger.warn('api_server.py:1841', `Fixed latency (benchmarks): first token ${options.fixedLatency.ttftMs} ms after arrival, then one every ${options.fixedLatency.itlMs} ms; the latency model is off`);
  }
  if (faults.active.size > 0) {
    logger.warn('api_server.py:1841', `Simulated faults active: ${faults.describe()} (seed ${options.faultSeed})`);
    const elsewhere = [...faults.active.keys()].filter((n: FaultName) => FAULTS[n].server === 'pegaflow');
    if (elsewhere.length) logger.info('api_server.py:1841', `Faults for the simulated PegaFlow, ignored here: ${elsewhere.join(', ')}`);
  }

  if (faults.has('startup-fail')) {
    const msg = 'startup-fail fault: engine core initialization failed. See root cause above.';
    logger.error('core.py:708', msg);
    throw new SimStartupError(msg);
  }
  if (looksLikeLocalPath(options.model) && !existsSync(options.model)) {
    const msg =
      `Invalid repository ID or local directory specified: '${options.model}'.\n` +
      'Please verify the following requirements:\n' +
      '1. Provide a valid Hugging Face repository ID.\n' +
      '2. Specify a local directory that contains a recognized configuration file.';
    logger.error('api_server.py:1843', `ValueError: ${msg}`);
    throw new SimStartupError(`model path ${options.model} does not exist`);
  }
  const kvt = options.kvTransferConfig;
  if (kvt) {
    if (typeof kvt.kv_connector !== 'string') throw new SimStartupError(`--kv-transfer-config: kv_connector must be a string (got ${JSON.stringify(kvt.kv_connector)})`);
    if (kvt.kv_role !== undefined && !KV_ROLES.includes(String(kvt.kv_role))) {
      throw new SimStartupError(`--kv-transfer-config: Unsupported kv_role: ${String(kvt.kv_role)}. Supported roles are ${KV_ROLES.join(', ')}`);
    }
    if (kvt.kv_connector !== SUPPORTED_CONNECTOR) {
      throw new SimStartupError(`--kv-transfer-config: Unsupported connector type: ${kvt.kv_connector} (the simulated vLLM implements ${SUPPORTED_CONNECTOR} only)`);
    }
  }

  const engineCore = options.spawnEngineCore ? spawnEngineCore(options.model, logger) : undefined;
  const child = engineCore?.child;
  let kv: KvMemoryFile | undefined;
  let connector: PegaConnector | undefined;
  const cleanupPartial = async () => {
    await connector?.close();
    kv?.close();
    if (child) await stopChild(child);
  };

  try {
    const loadStart = performance.now();
    if (options.startupDelayS > 0) await sleep(options.startupDelayS * 1000, undefined, hooks.signal ? { signal: hooks.signal } : {});
    if (hooks.signal?.aborted) throw new SimStartupError('start-up interrupted');
    if (engineCore) {
      const aborted = new Promise<never>((_, reject) => {
        if (hooks.signal?.aborted) reject(new SimStartupError('start-up interrupted'));
        hooks.signal?.addEventListener('abort', () => reject(new SimStartupError('start-up interrupted')), { once: true });
      });
      aborted.catch(() => {});
      await Promise.race([engineCore.ready, aborted]);
    }
    logger.info('gpu_model_runner.py:2653', `Model loading took 15.2 GiB and ${((performance.now() - loadStart) / 1000).toFixed(6)} seconds (simulated)`);
    logger.info('kv_cache_utils.py:1087', `GPU KV cache size: ${options.numGpuBlocks * options.blockSize} tokens`);
    logger.info(
      'kv_cache_utils.py:1091',
      `Maximum concurrency for ${options.maxModelLen} tokens per request: ${((options.numGpuBlocks * options.blockSize) / options.maxModelLen).toFixed(2)}x`,
    );

    const instanceId = `vllm-sim-${process.pid}-${randomBytes(4).toString('hex')}`;
    const stale = KvMemoryFile.sweepStale();
    if (stale.length > 0) logger.info('kv_memory.py:1', `Removed ${stale.length} KV memory file(s) of simulated vLLM processes that are gone`);
    kv = KvMemoryFile.create(instanceId, options.numGpuBlocks);
    let mode: ConnectorMode = 'none';
    if (kvt) {
      const endpoint = resolveEndpoint(kvt.kv_connector_extra_config ?? {}, env);
      logger.info('factory.py:64', `Creating v1 connector with name: ${SUPPORTED_CONNECTOR} and engine_id: ${instanceId} (PegaFlow at ${endpoint.address}; ${endpoint.source})`);
      connector = new PegaConnector({
        endpoint,
        instanceId,
        kvFilePath: kv.path,
        numBlocks: options.numGpuBlocks,
        bytesPerBlock: DIGEST_BYTES,
        logger,
        clientVersion: SIM_VLLM_VERSION,
      });
      await connector.start();
      mode = faults.has('no-connector') ? 'idle' : 'active';
      if (mode === 'idle') logger.warn('factory.py:64', 'no-connector fault: the PegaFlow connector is registered but will never query, load or save');
    }

    const metrics = new VllmMetrics({
      modelName: options.servedModelNames[0]!,
      maxModelLen: options.maxModelLen,
      cacheConfigInfo: {
        block_size: String(options.blockSize),
        cache_dtype: 'auto',
        enable_prefix_caching: options.enablePrefixCaching ? 'True' : 'False',
        gpu_memory_utilization: '0.9',
        num_gpu_blocks: String(options.numGpuBlocks),
        num_gpu_blocks_override: String(options.numGpuBlocks),
      },
    });
    const scheduler = new Scheduler({
      config: {
        model: options.model,
        blockSize: options.blockSize,
        numBlocks: options.numGpuBlocks,
        enablePrefixCaching: options.enablePrefixCaching,
        maxNumSeqs: options.maxNumSeqs,
        maxNumBatchedTokens: options.maxNumBatchedTokens,
        // Fixed latency: the engine computes at once and openai-api.ts paces the output.
        latency: options.fixedLatency ? { stepOverheadMs: 0, prefillUsPerToken: 0, decodeUsPerSeq: 0, decodeBaseMs: 0 } : options.latency,
        seed: options.seed,
      },
      kv,
      metrics,
      logger,
      ...(connector ? { connector } : {}),
      connectorMode: mode,
    });
    scheduler.start();

    let stopping = false;
    let stopped: Promise<void> | undefined;
    let resolveExited!: (v: { code: number; reason: string }) => void;
    const exited = new Promise<{ code: number; reason: string }>((r) => (resolveExited = r));
    let served = 0;
    const crashLimit = faults.value('crash-after');

    const httpServer: Server = createServer();
    const kvFile = kv;
    const stop = (code: number, reason: string): Promise<void> => {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(statsTimer);
        httpServer.close();
        await scheduler.stop(code === 0 ? 'the server is shutting down' : reason);
        httpServer.closeAllConnections();
        await connector?.close();
        kvFile.close();
        if (child) await stopChild(child);
        resolveExited({ code, reason });
      })();
      return stopped;
    };

    const crash = (reason: string) => {
      if (stopping) return;
      logger.error('core_client.py:564', reason);
      if (child && child.exitCode === null) child.kill('SIGUSR2');
      else void stop(1, reason);
    };
    child?.on('exit', (code, signal) => {
      if (stopping) return;
      const why = `Engine core proc EngineCore_DP0 died unexpectedly (exit code ${code ?? 'none'}${signal ? `, signal ${signal}` : ''}), shutting down client.`;
      logger.error('core_client.py:564', why);
      void stop(1, why);
    });

    const api = createApiHandler({
      options,
      scheduler,
      metrics,
      faults,
      logger,
      devMode: env['VLLM_SERVER_DEV_MODE'] === '1',
      healthy: () => !stopping,
      completionServed() {
        served++;
        if (crashLimit !== undefined && served >= crashLimit) crash(`crash-after=${crashLimit} fault: served ${served} completion request(s); the engine dies now`);
      },
    });
    httpServer.on('request', api.handle);
    httpServer.keepAliveTimeout = 5_000;

    let last = { ...scheduler.totals };
    const statsTimer = setInterval(() => {
      const now = { ...scheduler.totals };
      const d = (k: keyof typeof now) => now[k] - last[k];
      const rate = (hits: number, queries: number) => (queries > 0 ? (100 * hits) / queries : 0);
      if (d('promptTokens') + d('generationTokens') > 0 || scheduler.numRunning + scheduler.numWaiting > 0) {
        const s = options.statsIntervalS;
        logger.info(
          'loggers.py:236',
          `Engine 000: Avg prompt throughput: ${(d('promptTokens') / s).toFixed(1)} tokens/s, Avg generation throughput: ${(d('generationTokens') / s).toFixed(1)} tokens/s, ` +
            `Running: ${scheduler.numRunning} reqs, Waiting: ${scheduler.numWaiting} reqs, GPU KV cache usage: ${(scheduler.pool.usage() * 100).toFixed(1)}%, ` +
            `Prefix cache hit rate: ${rate(d('prefixHits'), d('prefixQueries')).toFixed(1)}%` +
            (mode !== 'none' ? `, External prefix cache hit rate: ${rate(d('externalHits'), d('externalQueries')).toFixed(1)}%` : ''),
        );
      }
      last = now;
    }, Math.max(1, options.statsIntervalS) * 1000);
    statsTimer.unref();
    if (options.disableLogStats || options.statsIntervalS <= 0) clearInterval(statsTimer);

    const bindHost = options.host ?? '0.0.0.0';
    try {
      httpServer.listen(options.port, bindHost);
      await Promise.race([once(httpServer, 'listening'), once(httpServer, 'error').then(([err]) => Promise.reject(err as Error))]);
    } catch (err) {
      const msg = `cannot listen on ${bindHost}:${options.port} (--host/--port): ${(err as Error).message}`;
      logger.error('api_server.py:1880', msg);
      await stop(1, msg);
      throw new SimStartupError(msg);
    }
    const addr = httpServer.address();
    const port = addr && typeof addr === 'object' ? addr.port : options.port;
    const shownHost = options.host ?? '0.0.0.0';
    logger.info('launcher.py:38', 'Available routes are:');
    for (const [path, method] of api.routes) logger.info('launcher.py:46', `Route: ${path}, Methods: ${method}`);
    logger.info('api_server.py:1885', `Starting vLLM API server 0 on http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`);
    logger.raw(`INFO:     Started server process [${process.pid}]`);
    logger.raw('INFO:     Waiting for application startup.');
    logger.raw('INFO:     Application startup complete.');
    logger.raw(`INFO:     Uvicorn running on http://${shownHost}:${port} (Press CTRL+C to quit)`);

    return {
      port,
      url: `http://${clientHost(options.host)}:${port}`,
      instanceId,
      kvFilePath: kvFile.path,
      engineCorePid: child?.pid,
      close: () => stop(0, 'closed'),
      exited,
    };
  } catch (err) {
    await cleanupPartial();
    if (hooks.signal?.aborted) throw new SimStartupError('start-up interrupted');
    if (err instanceof ConnectorError) {
      logger.error('core.py:708', `EngineCore failed to start: ${err.message}`);
      throw new SimStartupError(err.message);
    }
    if (err instanceof SimStartupError) logger.error('core.py:708', `EngineCore failed to start: ${err.message}`);
    throw err;
  }
}
