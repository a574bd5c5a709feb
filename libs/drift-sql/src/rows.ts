import { decodeFloat } from '@streamloop/clickhouse';

/**
 * Settings of every drift query: NaN and ±Infinity come back as quoted "nan"/"inf" (apart from each other), and
 * a LEFT JOIN's unmatched side holds default values (empty arrays, 0), as the queries expect, whatever the server's
 * default.
 */
export const QUERY_SETTINGS = { output_format_json_quote_denormals: 1, join_use_nulls: 0 } as const;

/** A Float64 from a JSONEachRow cell (number, or "nan"/"inf" text). */
export function decodeNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') throw new Error(`${what}: expected a number from ClickHouse, got ${JSON.stringify(value)}`);
  return decodeFloat(value);
}
