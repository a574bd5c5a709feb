/** The auth settings' defaults (read by libs/config's settings schema). */
export const AUTH_DEFAULTS = {
  /** Auth is on unless STREAMLOOP_AUTH=off (the demo generates its own token instead). */
  enabled: true,
  /** /health and /metrics answer without a token (probes, Prometheus) unless STREAMLOOP_AUTH_OPEN_HEALTH=false. */
  openOperational: true,
} as const;
