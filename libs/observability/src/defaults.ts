// This file imports nothing, so that libs/config reads it (@streamloop/observability/defaults) without loading pino
// and prom-client.

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What logs and metrics use when nobody says otherwise. The settings schema (libs/config) takes LOG_LEVEL's
 * default and its allowed values from here.
 */
export const OBSERVABILITY_DEFAULTS = {
  /** Lifecycle events, warnings and errors, without a line per record. */
  logLevel: 'info' as LogLevel,
} as const;
