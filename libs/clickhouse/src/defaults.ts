// This file imports nothing, so that libs/config reads it (@streamloop/clickhouse/defaults) without loading the client.

/**
 * What the ClickHouse clients and writers use when nobody says otherwise: the one place these values and their
 * reasons live. The settings schema (libs/config) takes its CLICKHOUSE_* defaults from here.
 */
export const CLICKHOUSE_DEFAULTS = {
  /** Database of the platform's tables, created if missing; the clients' default, so unqualified names work. */
  database: 'streamloop',
  /**
   * Embedded chDB's data directory (relative to the working directory) when no server URL is given; chDB binds one
   * per process.
   */
  dataDir: '.streamloop/chdb',
  /** A batched writer inserts once this many rows are buffered: ClickHouse prefers few large inserts. */
  batchMaxRows: 1_000,
  /** ...or this long after the first row of a batch, so a quiet stream still reaches the tables within a second. */
  batchMaxDelayMs: 1_000,
  /** A writer refuses more rows once this many wait (ClickHouse away): memory stays bounded, the caller slows down. */
  maxPendingRows: 100_000,
  /** Attempts of one insert by the writers and sinks for errors a retry can fix (a single insertRows call: 1). */
  writerInsertAttempts: 4,
  /** First wait before an insert is retried, doubled per attempt... */
  insertBackoffMs: 200,
  /** ...up to this. */
  insertMaxBackoffMs: 5_000,
  /** Table where a PartitionSink remembers its last insert attempt per (table, topic, partition). */
  sinkStateTable: 'sink_attempts',
  /** ClickHouse's HTTP interface over embedded chDB listens on loopback unless told otherwise: it serves every table. */
  httpHost: '127.0.0.1',
  /** Its read-only user: ClickHouse's own default user name, which clients assume when given none. */
  httpUser: 'default',
  /** Its read-write user for other Streamloop processes (only with a password). */
  httpServiceUser: 'streamloop',
} as const;
