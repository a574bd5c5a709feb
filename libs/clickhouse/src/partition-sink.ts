import type { ClickHouseClient } from '@clickhouse/client';
import { CLICKHOUSE_DEFAULTS } from './defaults';
import { encodeRows, insertEncoded } from './insert';
import { qualify, quoteIdent } from './schema';

/**
 * Idempotent at-least-once sink of one Kafka-fed table: a redelivery of any offsets already attempted adds no
 * row, whatever the boundaries of the redelivered batch (the naive token `table:topic-partition-first-last` of
 * each consumed batch fails as soon as a redelivered batch ends at another offset).
 *
 * How (the design of Kafka Connect's ClickHouse connector in exactly-once mode, without its 'after' marker):
 * per (table, topic, partition) the sink remembers the offset range of its LAST insert attempt, written to a
 * small state table BEFORE the insert, and inserts that range's rows with a token derived from it.
 * - Records below the remembered range were written before it was recorded (attempts run one after another
 *   per partition), so they are skipped.
 * - Records inside it may or may not be in ClickHouse (the process may have died before, during or after the
 *   insert). They are re-inserted as EXACTLY the remembered range with the remembered token: the same records,
 *   rows and order as the first attempt, so ClickHouse drops every block it already has and writes any it
 *   lacks. Exactness matters because a multi-day insert is split into one block per partition and the token is
 *   checked per block (ClickHouse 26 scopes it by partition id, older servers by block index); a subset or
 *   superset under the same token would not line up with those blocks.
 * - Records above it form a new range: recorded first, then inserted with its own token.
 *
 * A redelivered batch that ends before the remembered range does is HELD (kept in memory, not inserted) until
 * a later batch reaches the range end, and the commit offset returned stays at the range start meanwhile. It
 * cannot be split safely: if the first attempt was not written, inserting the part under the remembered token
 * consumes that token and the rest would then be dropped (loss); under a new token it duplicates whatever the
 * first attempt did write. Tokens alone cannot tell which happened, so the sink waits for the whole range.
 * The caller must therefore keep reading after the batch but commit only `commitOffset` (kafkajs: resolve the
 * batch's offsets, commit with commitOffsets); a caller that re-reads from commitOffset instead still gets it
 * right, but makes progress only once a fetch returns the whole range. If it commits the whole batch anyway,
 * the held rows are lost only if the process dies again before the range completes AND the first attempt had
 * not been written. Held rows are bounded by the remembered range (one earlier batch).
 *
 * Assumptions: one writer per partition at a time (consumer-group ownership), offsets are never reused (no
 * topic re-created under the same name, no unclean leader election), the mapping from a record to its row is
 * deterministic in the partition key, and a retried range is still within the table's deduplication window
 * (non_replicated_deduplication_window blocks; checked to be > 0 on first use for non-replicated MergeTree).
 * The remembered range is cached per partition after its first read: call forget() when a partition is revoked,
 * or another instance's later attempt would go unnoticed if the partition comes back.
 */

/** A Kafka offset: a non-negative integer as bigint, number (exact up to 2^53) or decimal string (as kafkajs gives it). */
export type OffsetValue = bigint | number | string;

/** The topic partition a batch was consumed from. */
export interface SourcePartition {
  topic: string;
  partition: number;
}

/** One consumed record: its offset and the row it becomes; `row` omitted when the record yields no row (skipped, unreadable). */
export interface SourcedRow<Row> {
  offset: OffsetValue;
  row?: Row;
}

export interface PartitionSinkOptions {
  /** Table written to (a Streamloop table, whose rows are checked and encoded, or any other table of the database). */
  table: string;
  /** Database of the table and of the state table (default: the client's default database). */
  database?: string;
  /** Table holding the last insert attempt per (table, topic, partition); created if missing (default CLICKHOUSE_DEFAULTS.sinkStateTable). */
  stateTable?: string;
  /** Attempts per insert for retriable errors (default CLICKHOUSE_DEFAULTS.writerInsertAttempts), with doubling backoff from backoffMs up to maxBackoffMs. */
  attempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface PartitionWriteResult {
  /**
   * The offset the consumer may commit (Kafka's convention: the next offset to read): every record below it is
   * in ClickHouse. Below the batch's end while rows are held; undefined for an empty batch.
   */
  commitOffset: bigint | undefined;
  /** Rows inserted as a new range. */
  inserted: number;
  /** Rows re-sent as the remembered range (ClickHouse drops those it already has). */
  replayed: number;
  /** Rows below the remembered range: written before, not sent again. */
  skipped: number;
  /** Rows kept in memory until a batch reaches the remembered range's end. */
  held: number;
}


interface AttemptRange {
  first: bigint;
  last: bigint;
  token: string;
}

interface EncodedRecord {
  offset: bigint;
  row: Record<string, unknown> | undefined;
}

interface PartitionState {
  /** The last insert attempt recorded for this partition, if any. */
  remembered: AttemptRange | undefined;
  /** Version of the newest state row written or read: each new write uses a greater one. */
  version: bigint;
  /** Records of the remembered range redelivered so far, and the highest offset seen, while waiting for its end. */
  held: { records: EncodedRecord[]; seenThrough: bigint } | undefined;
}

function toOffset(value: OffsetValue, what: string): bigint {
  let offset: bigint | undefined;
  try {
    offset = BigInt(value);
  } catch {
    offset = undefined;
  }
  if (offset === undefined || offset < 0n) throw new Error(`PartitionSink: ${what} must be a non-negative integer offset, got ${String(value)}`);
  return offset;
}

/** Records of `earlier` and `later` by offset, in offset order; `later` wins for an offset in both. */
function mergeByOffset(earlier: EncodedRecord[], later: EncodedRecord[]): EncodedRecord[] {
  const byOffset = new Map<bigint, EncodedRecord>();
  for (const r of earlier) byOffset.set(r.offset, r);
  for (const r of later) byOffset.set(r.offset, r);
  return [...byOffset.values()].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

const rowsOf = (records: EncodedRecord[]) => records.flatMap((r) => (r.row ? [r.row] : []));

/** See the comment at the top of this file. One instance per table; any number of partitions. */
export class PartitionSink<Row extends object = Record<string, unknown>> {
  private readonly states = new Map<string, Promise<PartitionState>>();
  /** Per partition: the call in progress, so that calls for one partition run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private ready: Promise<void> | undefined;
  private readonly table: string;
  private readonly stateTable: string;

  constructor(private readonly client: ClickHouseClient, private readonly options: PartitionSinkOptions) {
    if (!options?.table) throw new Error('PartitionSink: options.table is required');
    const bare = options.table.replace(/^.*\./, '');
    quoteIdent(bare, 'table name');
    this.table = bare;
    this.stateTable = options.stateTable ?? CLICKHOUSE_DEFAULTS.sinkStateTable;
    quoteIdent(this.stateTable, 'table name');
  }

  /**
   * Writes the rows of one consumed batch of `source` (records in offset order, including those that yield no
   * row, so the sink knows which offsets the batch covered). Returns the offset to commit. Rejects if a row does
   * not fit the table (nothing written) or an insert fails (call again with the same or a redelivered batch).
   */
  async write(source: SourcePartition, records: ReadonlyArray<SourcedRow<Row>>): Promise<PartitionWriteResult> {
    if (!source?.topic || !Number.isInteger(source.partition) || source.partition < 0) {
      throw new Error(`PartitionSink(${this.table}): source must be {topic, partition}, got ${JSON.stringify(source)}`);
    }
    if (records.length === 0) return { commitOffset: undefined, inserted: 0, replayed: 0, skipped: 0, held: 0 };
    const offsets = records.map((r, i) => toOffset(r.offset, `record ${i} offset`));
    for (let i = 1; i < offsets.length; i++) {
      if (offsets[i] <= offsets[i - 1]) throw new Error(`PartitionSink(${this.table}): offsets must increase, got ${offsets[i - 1]} then ${offsets[i]} at record ${i}`);
    }
    // Checked and encoded before anything is recorded: a row that does not fit fails the call with nothing written.
    const withRows = records.flatMap((r, i) => (r.row === undefined ? [] : [i]));
    const encoded = encodeRows(this.options.table, withRows.map((i) => records[i].row));
    const rowAt = new Map(withRows.map((recordIndex, k) => [recordIndex, encoded[k]]));
    const batch: EncodedRecord[] = offsets.map((offset, i) => ({ offset, row: rowAt.get(i) }));
    const key = `${source.topic}\u0000${source.partition}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.writeInOrder(key, source, batch));
    const settled = run.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  /**
   * Drops what this instance knows of a partition (all partitions without an argument): its remembered range is
   * read again from the state table on the next write, and held rows are dropped (their offsets were not
   * committed, so the partition's next owner reads them again). Call it when partitions are revoked.
   */
  forget(source?: SourcePartition): void {
    if (source) this.states.delete(`${source.topic}\u0000${source.partition}`);
    else this.states.clear();
  }

  private async writeInOrder(key: string, source: SourcePartition, batch: EncodedRecord[]): Promise<PartitionWriteResult> {
    await this.prepare();
    const state = await this.partitionState(key, source);
    const batchLast = batch[batch.length - 1].offset;
    const result: PartitionWriteResult = { commitOffset: batchLast + 1n, inserted: 0, replayed: 0, skipped: 0, held: 0 };
    let fresh = batch;
    const remembered = state.remembered;
    if (remembered) {
      result.skipped = rowsOf(batch.filter((r) => r.offset < remembered.first)).length;
      const overlap = batch.filter((r) => r.offset >= remembered.first && r.offset <= remembered.last);
      fresh = batch.filter((r) => r.offset > remembered.last);
      if (overlap.length > 0 || state.held) {
        const replay = mergeByOffset(state.held?.records ?? [], overlap);
        const seenThrough = state.held && state.held.seenThrough > batchLast ? state.held.seenThrough : batchLast;
        // Kept before the insert too: if it fails, a retry of only the latest batch still replays the whole range.
        state.held = { records: replay, seenThrough };
        if (seenThrough < remembered.last) {
          return { ...result, commitOffset: remembered.first, held: rowsOf(replay).length };
        }
        // A batch that starts inside the range with nothing held means the records before it are gone from the
        // log (retention, compaction) or were committed after this range was written; replaying what is left
        // under the range's token is right either way (dropped if written, written once if not).
        await this.insert(rowsOf(replay), remembered.token);
        state.held = undefined;
        result.replayed = rowsOf(replay).length;
      }
    }
    const freshRows = rowsOf(fresh);
    if (freshRows.length > 0) {
      const range: AttemptRange = { first: fresh[0].offset, last: batchLast, token: this.tokenFor(source, fresh[0].offset, batchLast) };
      await this.recordAttempt(state, source, range);
      await this.insert(freshRows, range.token);
      result.inserted = freshRows.length;
    }
    return result;
  }

  private tokenFor(source: SourcePartition, first: bigint, last: bigint): string {
    return `${this.table}:${source.topic}-${source.partition}-${first}-${last}`;
  }

  private insert(rows: Record<string, unknown>[], token: string): Promise<void> {
    return insertEncoded(this.client, this.options.table, rows, {
      dedupToken: token,
      database: this.options.database,
      attempts: this.options.attempts ?? CLICKHOUSE_DEFAULTS.writerInsertAttempts,
      backoffMs: this.options.backoffMs,
      maxBackoffMs: this.options.maxBackoffMs,
    });
  }

  private get qualifiedState(): string {
    return qualify(this.stateTable, this.options.database);
  }

  /** Creates the state table and checks once that the data table deduplicates repeated tokens. */
  private prepare(): Promise<void> {
    this.ready ??= this.createStateTableAndCheck().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async createStateTableAndCheck(): Promise<void> {
    // One row per (table, topic, partition) after merges; readers use FINAL. The version is written by the sink,
    // increasing per partition whatever the clocks (see recordAttempt). No insert deduplication here: every
    // state write must land.
    await this.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.qualifiedState} (
  sink_table String COMMENT 'table the rows were inserted into',
  topic String COMMENT 'source topic',
  partition UInt32 COMMENT 'source partition',
  first_offset UInt64 COMMENT 'first offset of the last insert attempt',
  last_offset UInt64 COMMENT 'last offset of the last insert attempt',
  dedup_token String COMMENT 'insert_deduplication_token of that attempt',
  version UInt64 COMMENT 'increases with every attempt recorded for the partition',
  recorded_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the attempt was recorded'
) ENGINE = ReplacingMergeTree(version) ORDER BY (sink_table, topic, partition)
COMMENT 'Idempotent Kafka sinks: the offset range of the last insert attempt per table and source partition'`,
    });
    const database = this.options.database ?? (this.options.table.includes('.') ? this.options.table.slice(0, this.options.table.indexOf('.')) : undefined);
    const rs = await this.client.query({
      query: `SELECT engine, engine_full FROM system.tables WHERE database = ${database ? '{database:String}' : 'currentDatabase()'} AND name = {table:String}`,
      query_params: { table: this.table, ...(database ? { database } : {}) },
      format: 'JSONEachRow',
    });
    const [info] = (await rs.json()) as Array<{ engine: string; engine_full: string }>;
    if (!info) throw new Error(`PartitionSink: table ${this.options.table} does not exist`);
    // Replicated and shared engines deduplicate by default; a non-replicated MergeTree only with a window.
    if (/MergeTree$/.test(info.engine) && !/^(Replicated|Shared)/.test(info.engine)) {
      const window = Number(/non_replicated_deduplication_window\s*=\s*(\d+)/.exec(info.engine_full)?.[1] ?? 0);
      if (!(window > 0)) {
        throw new Error(
          `PartitionSink: table ${this.options.table} (${info.engine}) does not deduplicate retried inserts: ` +
            'set non_replicated_deduplication_window > 0 (ALTER TABLE … MODIFY SETTING non_replicated_deduplication_window = 10000)',
        );
      }
    }
  }

  private partitionState(key: string, source: SourcePartition): Promise<PartitionState> {
    let state = this.states.get(key);
    if (!state) {
      state = this.readState(source);
      this.states.set(key, state);
      // A failed read is not cached: the next write reads again.
      state.catch(() => {
        if (this.states.get(key) === state) this.states.delete(key);
      });
    }
    return state;
  }

  private async readState(source: SourcePartition): Promise<PartitionState> {
    const rs = await this.client.query({
      query: `SELECT toString(first_offset) AS first, toString(last_offset) AS last, dedup_token AS token, toString(version) AS version
FROM ${this.qualifiedState} FINAL WHERE sink_table = {table:String} AND topic = {topic:String} AND partition = {partition:UInt32}`,
      query_params: { table: this.table, topic: source.topic, partition: source.partition },
      format: 'JSONEachRow',
    });
    const [row] = (await rs.json()) as Array<{ first: string; last: string; token: string; version: string }>;
    if (!row) return { remembered: undefined, version: 0n, held: undefined };
    return { remembered: { first: BigInt(row.first), last: BigInt(row.last), token: row.token }, version: BigInt(row.version), held: undefined };
  }

  /** Writes the range about to be inserted; only once it is stored may its rows be sent. */
  private async recordAttempt(state: PartitionState, source: SourcePartition, range: AttemptRange): Promise<void> {
    // Greater than every version written or read before, even if the clock went back, and bumped before the
    // insert so that a write that failed here but landed there is still superseded by the next one.
    const now = BigInt(Date.now()) * 1000n;
    const version = now > state.version ? now : state.version + 1n;
    state.version = version;
    await insertEncoded(
      this.client,
      this.stateTable,
      [{
        sink_table: this.table, topic: source.topic, partition: source.partition,
        first_offset: range.first.toString(), last_offset: range.last.toString(), dedup_token: range.token, version: version.toString(),
      }],
      { database: this.options.database, attempts: this.options.attempts ?? CLICKHOUSE_DEFAULTS.writerInsertAttempts, backoffMs: this.options.backoffMs, maxBackoffMs: this.options.maxBackoffMs },
    );
    state.remembered = range;
    state.held = undefined;
  }
}
