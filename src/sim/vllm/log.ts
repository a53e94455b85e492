// Log lines shaped like vLLM's: `(APIServer pid=N) INFO 11-22 14:53:01 [api_server.py:1885] message`,
// written to stdout as vLLM does, so a harness log reads the same for the real
// and the simulated server. The bracketed "file:line" is cosmetic: the real
// source file that logs that kind of line in vLLM.

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface Logger {
  debug(where: string, message: string): void;
  info(where: string, message: string): void;
  warn(where: string, message: string): void;
  error(where: string, message: string): void;
  /** Raw line without the vLLM prefix (uvicorn's access log, its start-up lines). */
  raw(line: string): void;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatLine(process: string, pid: number, level: LogLevel, where: string, message: string, now = new Date()): string {
  return `(${process} pid=${pid}) ${level} ${stamp(now)} [${where}] ${message}`;
}

export interface LoggerOptions {
  /** The process tag in the prefix, `APIServer` or `EngineCore_DP0`. */
  process?: string;
  pid?: number;
  debug?: boolean;
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const proc = opts.process ?? 'APIServer';
  const pid = opts.pid ?? process.pid;
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: LogLevel) => (where: string, message: string) => write(formatLine(proc, pid, level, where, message));
  return {
    debug: opts.debug ? emit('DEBUG') : () => {},
    info: emit('INFO'),
    warn: emit('WARNING'),
    error: emit('ERROR'),
    raw: (line) => write(line),
  };
}

/** Keeps lines in memory; for in-process tests. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ debug: true, write: (l) => lines.push(l) }), { lines });
}

/** Discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, raw() {} };
