import type { ClickHouseClient } from '@clickhouse/client';
import { DATETIME_COLUMNS, isKnownTable, TABLE_DEFINITIONS } from './schema';

export interface InsertOptions {
  /**
   * insert_deduplication_token: a repeat of a block with the same token is dropped by ClickHouse (e.g. built
   * from the topic-partition-offset range the rows came from). Without it, ClickHouse dedups identical blocks.
   */
  dedupToken?: string;
  /** Attempts before giving up (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled per attempt (default 100). */
  backoffMs?: number;
}

/** ClickHouse error codes that a retry cannot fix (bad data or schema), so insertRows fails at once. */
const PERMANENT_CODES = new Set([
  '6', '16', '26', '27', '38', '41', '47', '53', '60', '62', '69', '70', '72', '81', '117', '130', '131', '386', '497',
]);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Epoch milliseconds as ClickHouse's DateTime64(3) text, in UTC. */
export function formatDateTime64(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

function timeValue(value: unknown, where: () => string): string {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'bigint') ms = Number(value);
  else if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string' && /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,9})?$/.test(value)) return value.replace('T', ' ');
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) ms = Number(value);
  // Year 1900..2299 is DateTime64's range; anything else is a unit mix-up (seconds, microseconds).
  if (ms === undefined || !Number.isInteger(ms) || ms < -2208988800000 || ms >= 10413792000000) {
    throw new Error(`${where()}: expected epoch milliseconds (an integer number between years 1900 and 2299), got ${describe(value)}`);
  }
  return formatDateTime64(ms);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return `${typeof value} ${JSON.stringify(value)}`;
  } catch {
    return typeof value;
  }
}

/**
 * JSON-safe value: NaN/±Infinity become the strings ClickHouse parses as Float64 nan/inf (JSON would write
 * null, which ClickHouse stores as 0), bigints become decimal strings (Int64/UInt64 accept them).
 */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (value === Infinity) return 'inf';
    if (value === -Infinity) return '-inf';
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonValue(v)]));
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return value;
}

/** One row as JSONEachRow wants it; for the contract's tables, unknown keys and bad times are refused by name. */
export function serializeRow(table: string, row: Record<string, unknown>, index: number): Record<string, unknown> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new Error(`insertRows(${table}): row ${index} must be an object, got ${describe(row)}`);
  }
  const known = isKnownTable(table) ? TABLE_DEFINITIONS[table] : undefined;
  const times = known ? DATETIME_COLUMNS[known.name] : undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (known && !known.columns.some(([c]) => c === key)) {
      throw new Error(`insertRows(${table}): row ${index} has field ${JSON.stringify(key)}, which is not a column of ${table} (columns: ${known.columns.map(([c]) => c).join(', ')})`);
    }
    if (value === undefined) continue;
    out[key] = times?.has(key) ? timeValue(value, () => `insertRows(${table}): row ${index} field ${key}`) : jsonValue(value);
  }
  // A time column left out would silently read as 1970; a contract row always has its times.
  if (times) {
    for (const column of times) {
      if (!(column in out)) throw new Error(`insertRows(${table}): row ${index} field ${column}: expected epoch milliseconds, got undefined (missing)`);
    }
  }
  return out;
}

/** A failed insertRows; `permanent` when retrying the same rows cannot succeed (bad data, unknown table). */
export class InsertError extends Error {
  constructor(message: string, readonly table: string, readonly permanent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InsertError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PERMANENT_CODES.has(code);
}

/**
 * Inserts rows (JSONEachRow) into `table` of the client's database. Epoch-millisecond numbers in DateTime64
 * columns are stored as those instants; NaN/Infinity survive in Float64 and Map values. A failed insert is
 * retried with backoff under the same dedup token, so a retry after a lost acknowledgement adds nothing.
 */
export async function insertRows(client: ClickHouseClient, table: string, rows: Record<string, unknown>[], opts: InsertOptions = {}): Promise<void> {
  if (rows.length === 0) return;
  let values: Record<string, unknown>[];
  try {
    values = rows.map((row, i) => serializeRow(table, row, i));
  } catch (error) {
    throw new InsertError((error as Error).message, table, true);
  }
  const attempts = Math.max(1, opts.attempts ?? 4);
  const backoff = opts.backoffMs ?? 100;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await client.insert({
        table,
        values,
        format: 'JSONEachRow',
        // Always sent, even empty: chDB keeps settings on its session, and an explicit value keeps one
        // call's token from leaking into the next.
        clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: opts.dedupToken ?? '' },
      });
      return;
    } catch (error) {
      lastError = error;
      if (isPermanent(error) || attempt === attempts) break;
      await sleep(backoff * 2 ** (attempt - 1));
    }
  }
  const message = lastError instanceof Error ? lastError.message : String(lastError);
  const permanent = isPermanent(lastError);
  throw new InsertError(
    `insertRows(${table}): ${rows.length} rows not written${permanent ? '' : ` after ${attempts} attempts`}: ${message.trim()}`,
    table,
    permanent,
    { cause: lastError },
  );
}

export interface BatchedWriterOptions {
  /** Flush a table's buffer once it holds this many rows (default 1000). */
  maxRows?: number;
  /** Flush everything this long after the first buffered row (default 1000 ms). */
  flushIntervalMs?: number;
  /** Refuse add() past this many buffered rows in total (default 100_000), so an outage cannot exhaust memory. */
  maxBufferedRows?: number;
  /** Called with errors of background flushes (they are also thrown by the next flush() or close()). */
  onError?: (error: Error) => void;
  /** Insert options (attempts, backoff) for every flush. */
  insert?: Omit<InsertOptions, 'dedupToken'>;
}

/**
 * Buffers rows per table and writes them with insertRows at maxRows, after flushIntervalMs, on flush() and on
 * close(). Rows of a failed flush stay buffered (in order) for the next flush, except a batch refused as bad
 * data (InsertError.permanent), which is dropped; either way the error rejects flush().
 */
export class BatchedWriter {
  private readonly buffers = new Map<string, Record<string, unknown>[]>();
  private readonly maxRows: number;
  private readonly intervalMs: number;
  private readonly maxBuffered: number;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private pendingError: Error | undefined;
  private closed = false;

  constructor(private readonly client: ClickHouseClient, private readonly opts: BatchedWriterOptions = {}) {
    this.maxRows = Math.max(1, opts.maxRows ?? 1000);
    this.intervalMs = Math.max(0, opts.flushIntervalMs ?? 1000);
    this.maxBuffered = opts.maxBufferedRows ?? 100_000;
  }

  /** Rows waiting to be written, over all tables. */
  get pending(): number {
    let n = 0;
    for (const rows of this.buffers.values()) n += rows.length;
    return n;
  }

  add(table: string, rows: Record<string, unknown> | Record<string, unknown>[]): void {
    if (this.closed) throw new Error(`BatchedWriter is closed; cannot add rows to ${table}`);
    const list = Array.isArray(rows) ? rows : [rows];
    if (list.length === 0) return;
    if (this.pending + list.length > this.maxBuffered) {
      throw new Error(`BatchedWriter: ${this.pending} rows already buffered, adding ${list.length} to ${table} exceeds maxBufferedRows ${this.maxBuffered} (is ClickHouse reachable?)`);
    }
    const buffer = this.buffers.get(table) ?? [];
    buffer.push(...list);
    this.buffers.set(table, buffer);
    if (buffer.length >= this.maxRows) {
      // Taken now, so rows added meanwhile start the next batch.
      this.buffers.delete(table);
      this.background(() => this.write(table, buffer));
    }
    else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.background(() => this.flushAll());
    }, this.intervalMs);
  }

  /** Writes everything buffered; rejects with the first error since the last flush(). */
  async flush(): Promise<void> {
    this.clearTimer();
    let error: Error | undefined;
    await this.chain(() => this.flushAll()).catch((e: Error) => {
      error = e;
    });
    // An earlier background failure is reported first: it happened first.
    error = this.pendingError ?? error;
    this.pendingError = undefined;
    if (error) throw error;
  }

  /** Flushes and stops accepting rows. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  // Flushes run one after another so rows of one table reach ClickHouse in the order they were added.
  private chain(fn: () => Promise<void>): Promise<void> {
    const next = this.inFlight.then(fn);
    this.inFlight = next.catch(() => undefined);
    return next;
  }

  private background(fn: () => Promise<void>): void {
    this.chain(fn).catch((error: Error) => {
      this.pendingError ??= error;
      this.opts.onError?.(error);
    });
  }

  private async flushAll(): Promise<void> {
    let first: Error | undefined;
    for (const table of [...this.buffers.keys()]) {
      try {
        await this.flushTable(table);
      } catch (error) {
        first ??= error as Error;
      }
    }
    if (first) throw first;
  }

  private async flushTable(table: string): Promise<void> {
    const rows = this.buffers.get(table);
    if (!rows || rows.length === 0) return;
    this.buffers.delete(table);
    await this.write(table, rows);
  }

  private async write(table: string, rows: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += this.maxRows) {
      const batch = rows.slice(i, i + this.maxRows);
      try {
        await insertRows(this.client, table, batch, this.opts.insert);
      } catch (error) {
        // Put the unwritten rows back in front of anything added meanwhile, unless no retry can write them.
        const rest = error instanceof InsertError && error.permanent ? rows.slice(i + this.maxRows) : rows.slice(i);
        if (rest.length > 0) this.buffers.set(table, [...rest, ...(this.buffers.get(table) ?? [])]);
        throw error;
      }
    }
  }
}
