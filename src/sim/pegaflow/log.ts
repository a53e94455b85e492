// Log lines shaped like the real server's (Rust `log` + logforth text layout):
// timestamp, right-aligned level, target, message. Written to stdout, as the
// real server does, so the harness's server log reads the same for both.

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  readonly level: LogLevel;
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * The real `--log-level` takes an env-filter string such as `info,pegaflow_core=debug`;
 * the sim keeps the first bare level in it and falls back to info, as the real one does
 * for a filter it cannot parse.
 */
export function logLevelFromFilter(filter: string): LogLevel {
  for (const part of filter.split(',')) {
    const word = part.trim().toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(word)) return word as LogLevel;
  }
  return 'info';
}

function timestamp(): string {
  // Microseconds, like the real layout; the last three digits are padding.
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    write(`${timestamp()} ${lvl.toUpperCase().padStart(5)} pegaflow_server: ${message}\n`);
  };
  return {
    level,
    trace: emit('trace'),
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
  };
}

/** Collects lines in memory; for in-process tests that assert on what was logged. */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => {
    lines.push(line.trimEnd());
  });
  return Object.assign(logger, { lines });
}
