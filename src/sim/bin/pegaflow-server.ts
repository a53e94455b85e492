#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../../../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Simulated pegaflow-server: same flags (both dialects), gRPC service and HTTP
// endpoints as the real one, no GPU. See src/sim/pegaflow/README.md.
// Exit codes: 0 stopped (SIGTERM/SIGINT, Shutdown RPC), 1 start-up failed or crash-after fault, 2 bad flags.
import { parseCli } from '../pegaflow/cli.ts';
import type { SimPegaflowHandle } from '../pegaflow/server.ts';

const STOP_GRACE_MS = 500;

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), process.env);
  if (cli.kind === 'exit') {
    if (cli.stdout) process.stdout.write(cli.stdout);
    if (cli.stderr) process.stderr.write(cli.stderr);
    process.exit(cli.code);
  }
  // Loaded only to serve: `--help` and `--version` (the launcher's probes) stay cheap.
  const [{ createLogger }, { startSimPegaflow }] = await Promise.all([import('../pegaflow/log.ts'), import('../pegaflow/server.ts')]);
  const logger = createLogger(cli.options.logLevel);
  let handle: SimPegaflowHandle | undefined;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info(`${signal} received, shutting down`);
    // Exit promptly even if a close step hangs.
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void (handle?.close() ?? Promise.resolve()).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    handle = await startSimPegaflow(cli.options, { logger, ignoredFlags: cli.ignoredFlags });
  } catch (err) {
    logger.error(`start-up failed: ${(err as Error).message}`);
    process.exit(1);
  }
  if (signalled) await handle.close();
  const { code, reason } = await handle.exited;
  logger.info(`Server stopped: ${reason}`);
  process.exit(code);
}

main().catch((err: unknown) => {
  process.stderr.write(`pegaflow-server (sim): unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
