#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../../../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Simulated `vllm`: `vllm serve <model> [flags]` with vLLM's flags, endpoints,
// SSE format and metric names, no GPU. See src/sim/vllm/README.md.
// Exit codes: 0 stopped (SIGTERM/SIGINT), 1 start-up failed or the engine died, 2 bad arguments.
import { parseCli } from '../vllm/cli.ts';
import type { SimVllmHandle } from '../vllm/server.ts';

/** A stop must finish well under a second; this bounds it if a step hangs. */
const STOP_DEADLINE_MS = 900;

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), process.env);
  if (cli.kind === 'exit') {
    if (cli.stdout) process.stdout.write(cli.stdout);
    if (cli.stderr) process.stderr.write(cli.stderr);
    process.exit(cli.code);
  }
  // Loaded only to serve: `--help` and `--version` (the launcher's probes) stay a quarter of a second cheaper.
  const [{ createLogger }, { SimStartupError, startSimVllm }] = await Promise.all([import('../vllm/log.ts'), import('../vllm/server.ts')]);
  const logger = createLogger();
  let handle: SimVllmHandle | undefined;
  let signalled = false;
  const startup = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info('launcher.py:101', `Shutting down FastAPI HTTP server (${signal}).`);
    setTimeout(() => process.exit(0), STOP_DEADLINE_MS).unref();
    // During start-up, startSimVllm cleans up (EngineCore child, KV file) and rejects; main() exits then.
    if (!handle) startup.abort();
    else void handle.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    handle = await startSimVllm(cli.options, { logger, ignoredFlags: cli.ignoredFlags, warnings: cli.warnings, signal: startup.signal });
  } catch (err) {
    if (signalled) process.exit(0);
    if (!(err instanceof SimStartupError)) logger.error('api_server.py:1890', (err as Error).stack ?? String(err));
    else logger.error('api_server.py:1890', `start-up failed: ${err.message}`);
    process.exit(1);
  }
  if (signalled) await handle.close();
  const { code, reason } = await handle.exited;
  if (code !== 0) logger.error('api_server.py:1895', `API server exiting: ${reason}`);
  process.exit(code);
}

main().catch((err: unknown) => {
  process.stderr.write(`vllm (sim): unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
