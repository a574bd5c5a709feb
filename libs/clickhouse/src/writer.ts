import type { ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_DEFAULTS } from './defaults';
import { encodeRows, insertEncoded } from './insert';

/** Where a group of rows came from: consecutive offsets of one topic partition. */
export interface SourceRange {
  topic: string;
  partition: number;
  firstOffset: number | bigint | string;
  lastOffset: number | bigint | string;
}

export interface BatchedWriterOptions {
  /** Table written to (one of TABLES, or another table of the client's database). */
  table: string;
  /** Qualify the table with this database instead of the client's default. */
  database?: string;
  /** Flush once this many rows are buffered (default CLICKHOUSE_DEFAULTS.batchMaxRows). */
  maxRows?: number;
  /** Flush this long after the first row of a batch was added (default CLICKHOUSE_DEFAULTS.batchMaxDelayMs). */
  maxDelayMs?: number;
  /** Attempts per insert for retriable errors (default CLICKHOUSE_DEFAULTS.writerInsertAttempts), with doubling backoff. */
  attempts?: number;
  /** First backoff, doubled per attempt up to maxBackoffMs (defaults CLICKHOUSE_DEFAULTS.insertBackoffMs and insertMaxBackoffMs). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** add() throws once this many rows are pending, e.g. while ClickHouse is down (default CLICKHOUSE_DEFAULTS.maxPendingRows). */
  maxPendingRows?: number;
  /** Called with the error of a size- or time-triggered flush (it is also thrown by the next flush()/close()). */
  onError?: (error: Error) => void;
  /** Called after each successful insert. */
  onFlush?: (info: { table: string; rows: number; dedupToken?: string }) => void;
}

interface Batch {
  rows: Record<string, unknown>[];
  /** topic/partition -> offset range; a batch with any unsourced rows gets no token. */
  ranges: Map<string, { topic: string; partition: number; first: bigint; last: bigint }>;
  unsourced: boolean;
  /** Fixed when the batch is sealed, so a retry after a failure carries the same token. */
  token?: string;
}

function offset(value: number | bigint | string, what: string): bigint {
  try {
    const big = BigInt(value);
    if (big >= 0n) return big;
  } catch {
    // reported below
  }
  throw new Error(`BatchedWriter source range: ${what} must be a non-negative integer offset, got ${String(value)}`);
}

/**
 * Buffers rows for one table and inserts them (JSONEachRow) when maxRows are buffered, maxDelayMs after the
 * first row of a batch, on flush() and on close(). Each batch's insert_deduplication_token is derived from the
 * source ranges of the rows in it (`table:topic-partition-first-last,...`), so a batch replayed after a crash
 * with the same ranges is dropped by ClickHouse; the ReplacingMergeTree keys collapse anything else.
 *
 * Failures are never swallowed: a failed batch stays pending (its token unchanged) and is retried by the next
 * flush, and the error rejects flush()/close() (and goes to onError for background flushes). add() checks rows
 * against the table up front, so a bad row is refused by add(), not discovered at flush time.
 */
export class BatchedWriter<Row extends object = Record<string, unknown>> {
  private current: Batch = BatchedWriter.emptyBatch();
  private readonly sealed: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private backgroundError: Error | undefined;
  private closed = false;
  private readonly maxRows: number;
  private readonly maxDelayMs: number;
  private readonly maxPending: number;

  constructor(private readonly client: ClickHouseClient, private readonly opts: BatchedWriterOptions) {
    if (!opts?.table) throw new Error('BatchedWriter: options.table is required');
    this.maxRows = Math.max(1, opts.maxRows ?? CLICKHOUSE_DEFAULTS.batchMaxRows);
    this.maxDelayMs = Math.max(0, opts.maxDelayMs ?? CLICKHOUSE_DEFAULTS.batchMaxDelayMs);
    this.maxPending = Math.max(this.maxRows, opts.maxPendingRows ?? CLICKHOUSE_DEFAULTS.maxPendingRows);
  }

  private static emptyBatch(): Batch {
    return { rows: [], ranges: new Map(), unsourced: false };
  }

  /** Rows accepted but not yet written. */
  get pending(): number {
    return this.current.rows.length + this.sealed.reduce((n, b) => n + b.rows.length, 0);
  }

  /**
   * Buffers rows (all or none). `source` is the Kafka range they came from; give it for every add to get
   * dedup tokens. Throws on a row that does not fit the table, after close(), or when maxPendingRows would be
   * exceeded (the message carries the last insert error).
   */
  add(rows: readonly Row[], source?: SourceRange): void {
    if (this.closed) throw new Error(`BatchedWriter(${this.opts.table}) is closed; ${rows.length} rows not accepted`);
    if (rows.length === 0) return;
    if (this.pending + rows.length > this.maxPending) {
      throw new Error(
        `BatchedWriter(${this.opts.table}): ${this.pending} rows pending, ${rows.length} more would exceed maxPendingRows ${this.maxPending}` +
          `${this.backgroundError ? `; last insert error: ${this.backgroundError.message}` : ''}`,
      );
    }
    const encoded = encodeRows(this.opts.table, rows);
    const range = source ? { topic: source.topic, partition: source.partition, first: offset(source.firstOffset, 'firstOffset'), last: offset(source.lastOffset, 'lastOffset') } : undefined;
    if (range && range.last < range.first) throw new Error(`BatchedWriter source range: lastOffset ${range.last} is before firstOffset ${range.first}`);
    const batch = this.current;
    batch.rows.push(...encoded);
    if (!range) batch.unsourced = true;
    else {
      const key = `${range.topic}\u0000${range.partition}`;
      const seen = batch.ranges.get(key);
      if (!seen) batch.ranges.set(key, range);
      else {
        if (range.first < seen.first) seen.first = range.first;
        if (range.last > seen.last) seen.last = range.last;
      }
    }
    if (batch.rows.length >= this.maxRows) {
      this.seal();
      this.background();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.seal();
        this.background();
      }, this.maxDelayMs);
      this.timer.unref?.();
    }
  }

  /** Writes every row accepted so far; rejects if any insert fails (those rows stay pending for the next flush). */
  async flush(): Promise<void> {
    this.seal();
    // A background failure leaves its batch first in line, so this run retries it and rejects if it fails again.
    this.backgroundError = undefined;
    await this.enqueue();
  }

  /** The error of the last failed background flush, until a flush() retries it. */
  get lastError(): Error | undefined {
    return this.backgroundError;
  }

  /** Stops accepting rows and flushes; may be called again to retry after a failure. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.current;
    if (batch.rows.length === 0) return;
    this.current = BatchedWriter.emptyBatch();
    if (!batch.unsourced && batch.ranges.size > 0) {
      const parts = [...batch.ranges.values()]
        .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
        .map((r) => `${r.topic}-${r.partition}-${r.first}-${r.last}`);
      batch.token = `${this.opts.table}:${parts.join(',')}`;
    }
    this.sealed.push(batch);
  }

  private background(): void {
    this.enqueue().catch((error: Error) => {
      this.backgroundError = error;
      this.opts.onError?.(error);
    });
  }

  // Inserts run one after another, in the order batches were sealed.
  private enqueue(): Promise<void> {
    const run = this.chain.then(() => this.writeSealed());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writeSealed(): Promise<void> {
    while (this.sealed.length > 0) {
      const batch = this.sealed[0];
      // On failure the batch stays first in line with its token: nothing is dropped behind the caller's back.
      await insertEncoded(this.client, this.opts.table, batch.rows, {
        dedupToken: batch.token,
        database: this.opts.database,
        attempts: this.opts.attempts ?? CLICKHOUSE_DEFAULTS.writerInsertAttempts,
        backoffMs: this.opts.backoffMs,
        maxBackoffMs: this.opts.maxBackoffMs,
      });
      this.sealed.shift();
      this.opts.onFlush?.({ table: this.opts.table, rows: batch.rows.length, dedupToken: batch.token });
    }
  }
}
