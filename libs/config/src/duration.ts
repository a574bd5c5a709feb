const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "250ms", "30s", "5m", "1.5h", "7d", "2w" → milliseconds; anything else (including 0 and "1 hour") → undefined. */
export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]];
  return ms >= 1 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Milliseconds → the largest unit that divides them exactly: 300000 → "5m", 1500 → "1500ms", 14 days → "2w". */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
