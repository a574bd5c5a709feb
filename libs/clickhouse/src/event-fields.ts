import type { ClickHouseClient } from '@clickhouse/client';
import { queryRows } from './queries';
import { qualify, TABLES } from './schema';

export type EventFieldValue = string | number | boolean | null;

export interface EventFieldOptions {
  database?: string;
  pipeline: string;
  /** A top-level field of the event payload (the JSON of the decoded event). */
  field: string;
  /** Event time window in epoch ms, inclusive at both ends. */
  from: number;
  to: number;
}

/**
 * One field of the stored events in an event-time window, by event id (the latest stored copy of each event).
 * Strings, numbers and booleans come back as they are, null as null; an event without the field is left out, and
 * a nested value comes back as its JSON text.
 */
export async function loadEventField(client: ClickHouseClient, opts: EventFieldOptions): Promise<Map<string, EventFieldValue>> {
  for (const [what, v] of [['from', opts.from], ['to', opts.to]] as const) {
    if (!Number.isInteger(v)) throw new Error(`loadEventField ${what}: expected epoch milliseconds (an integer number), got ${String(v)}`);
  }
  const rows = await queryRows<{ event_id: string; raw: string }>(
    client,
    `SELECT event_id, argMax(JSONExtractRaw(payload, {field:String}), ingested_at) AS raw
     FROM ${qualify(TABLES.events, opts.database)}
     WHERE pipeline = {pipeline:String}
       AND event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     GROUP BY event_id`,
    { pipeline: opts.pipeline, field: opts.field, from: opts.from, to: opts.to },
  );
  const out = new Map<string, EventFieldValue>();
  for (const r of rows) {
    if (r.raw === '') continue;
    const value: unknown = JSON.parse(r.raw);
    out.set(r.event_id, value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : r.raw);
  }
  return out;
}
