import { pino, type Logger } from 'pino';
import { OBSERVABILITY_DEFAULTS, type LogLevel } from './defaults';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays free for CLI output such as the demo summary). The level comes from
 * the caller (the settings' LOG_LEVEL), never from the environment directly.
 */
export function createLogger(name: string, level: LogLevel = OBSERVABILITY_DEFAULTS.logLevel): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
