import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { PlatformError } from '@streamloop/errors';
import { CLICKHOUSE_DEFAULTS } from './defaults';
import { qualify } from './schema';
import { encodeRow, RowValidationError } from './serialize';

export interface InsertOptions {
  /**
   * insert_deduplication_token: ClickHouse drops a later insert into the same table with the same token
   * (build it from the source range, e.g. `features:fraud.features-3-100-199`). Without one, a repeat of an
   * identical block is dropped (block hash), which also makes a verbatim retry safe.
   */
  dedupToken?: string;
  /** Qualify the table with this database instead of using the client's default database. */
  database?: string;
  /** Attempts in total for errors a retry can fix (default 1: no retry). */
  attempts?: number;
  /** First backoff in ms, doubled per attempt up to maxBackoffMs (default CLICKHOUSE_DEFAULTS.insertBackoffMs). */
  backoffMs?: number;
  /** Backoff cap in ms (default CLICKHOUSE_DEFAULTS.insertMaxBackoffMs). */
  maxBackoffMs?: number;
}

/**
 * ClickHouse error codes a retry cannot fix (bad data, unknown table or column, syntax, access): the insert
 * fails at once. Everything else (network, timeouts, too many parts, memory) is retried.
 */
const PERMANENT_CODES = new Set([
  '6', '16', '26', '27', '38', '41', '43', '44', '47', '53', '60', '62', '69', '70', '72', '81', '117', '130', '131', '386', '497', '516',
]);

/**
 * A failed insert; `permanent` when retrying the same rows cannot succeed (CLICKHOUSE_REJECTED), else ClickHouse is
 * away or overloaded (CLICKHOUSE_UNAVAILABLE, retriable). Nothing was written (or it was deduplicated).
 */
export class InsertError extends PlatformError {
  constructor(
    message: string,
    readonly table: string,
    readonly rows: number,
    readonly permanent: boolean,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(permanent ? 'CLICKHOUSE_REJECTED' : 'CLICKHOUSE_UNAVAILABLE', message, options);
  }
}

/** Whether the ClickHouse server (or chDB, which answers in the same shape) raised `error`, by class. */
export function isClickHouseServerError(error: unknown): boolean {
  return error instanceof ClickHouseError;
}

export function isPermanentError(error: unknown): boolean {
  if (error instanceof RowValidationError) return true;
  if (error instanceof InsertError) return error.permanent;
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' || typeof code === 'number') && PERMANENT_CODES.has(String(code));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks and encodes rows for `table` (see encodeRow); throws RowValidationError naming the row and field. */
export function encodeRows(table: string, rows: readonly unknown[]): Record<string, unknown>[] {
  return rows.map((row, i) => encodeRow(table, row, i));
}

/** Inserts already-encoded rows (JSONEachRow) with bounded retries under one dedup token. */
export async function insertEncoded(client: ClickHouseClient, table: string, values: Record<string, unknown>[], opts: InsertOptions = {}): Promise<void> {
  if (values.length === 0) return;
  const attempts = Math.max(1, opts.attempts ?? 1);
  const backoff = opts.backoffMs ?? CLICKHOUSE_DEFAULTS.insertBackoffMs;
  const cap = opts.maxBackoffMs ?? CLICKHOUSE_DEFAULTS.insertMaxBackoffMs;
  const target = qualify(table.replace(/^.*\./, ''), opts.database ?? (table.includes('.') ? table.slice(0, table.indexOf('.')) : undefined));
  let lastError: unknown;
  let attempt = 0;
  while (attempt < attempts) {
    attempt += 1;
    try {
      await client.insert({
        table: target,
        values,
        format: 'JSONEachRow',
        // Always explicit, even empty, so no token set elsewhere on a session can apply to this insert.
        clickhouse_settings: { insert_deduplication_token: opts.dedupToken ?? '' },
      });
      return;
    } catch (error) {
      lastError = error;
      if (isPermanentError(error) || attempt >= attempts) break;
      await sleep(Math.min(cap, backoff * 2 ** (attempt - 1)));
    }
  }
  const permanent = isPermanentError(lastError);
  const message = lastError instanceof Error ? lastError.message.trim() : String(lastError);
  throw new InsertError(
    `insert into ${table}: ${values.length} rows not written after ${attempt} attempt(s)${permanent ? ' (not retriable)' : ''}` +
      `${opts.dedupToken ? ` [dedup token ${opts.dedupToken}]` : ''}: ${message}`,
    table, values.length, permanent, attempt, { cause: lastError },
  );
}

/**
 * Inserts rows into `table` (JSONEachRow). Rows for Streamloop's tables are checked against the columns first
 * (a RowValidationError names the row and field); epoch-millisecond times are stored as those instants and
 * NaN/Infinity survive in Float64 and Map values. A retry (here or by the caller) with the same dedupToken
 * adds nothing.
 */
export async function insertRows(client: ClickHouseClient, table: string, rows: readonly object[], opts: InsertOptions = {}): Promise<void> {
  if (rows.length === 0) return;
  await insertEncoded(client, table, encodeRows(table, rows), opts);
}
