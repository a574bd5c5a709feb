import { pino, type Logger } from 'pino';
import { OBSERVABILITY_DEFAULTS, type LogLevel } from './defaults';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays free for CLI output such as the demo summary), or appended to a file
 * (the demo's, so its timeline is not interleaved with them). Level and file come from the caller (the settings'
 * LOG_LEVEL and LOG_FILE), never from the environment directly.
 */
export function createLogger(name: string, level: LogLevel = OBSERVABILITY_DEFAULTS.logLevel, file?: string): Logger {
  const destination = file ? pino.destination({ dest: file, mkdir: true, sync: false }) : pino.destination(2);
  return pino({ name, level, base: { pid: process.pid } }, destination);
}
