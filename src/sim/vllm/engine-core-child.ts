// The EngineCore stand-in: real `vllm serve` forks an EngineCore process that
// owns the GPU; the simulated API server spawns this script so the process tree
// looks the same. It does no work. It lives until told to stop: SIGTERM or
// SIGINT → exit 0 (the API server's normal shutdown sends SIGTERM), SIGUSR2 →
// log a fatal engine error and exit 1 (the crash-after fault). It does not watch
// its parent: when the API server is SIGKILLed it stays behind, like a real
// orphaned EngineCore, and only a process-group kill removes it.
//
// argv: <api server pid> <model> <log prefix tag>. Once its signal handlers
// are in place it writes "ready" to fd 3 (a pipe from the API server, its
// start-up handshake) and closes it.
import { closeSync, writeSync } from 'node:fs';
import { createLogger } from './log.ts';

const [parentPid = '?', model = '?', tag = 'EngineCore_DP0'] = process.argv.slice(2);
process.title = 'VLLM::EngineCore';
const log = createLogger({ process: tag });

log.info('core.py:93', `Initializing a V1 LLM engine (simulated) with config: model='${model}' (API server pid=${parentPid})`);
const keepAlive = setInterval(() => {}, 1 << 30);

function stop(code: number, message: string): void {
  clearInterval(keepAlive);
  if (code === 0) log.info('core.py:688', message);
  else log.error('core.py:700', message);
  process.exit(code);
}

process.on('SIGTERM', () => stop(0, 'EngineCore shutting down (SIGTERM).'));
process.on('SIGINT', () => stop(0, 'EngineCore shutting down (SIGINT).'));
process.on('SIGUSR2', () => stop(1, 'EngineCore encountered a fatal error (simulated: crash-after fault).'));

try {
  writeSync(3, 'ready\n');
  closeSync(3);
} catch {
  // Started by hand, without the handshake pipe.
}
