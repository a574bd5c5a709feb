import type { ClickHouseClient } from '@clickhouse/client';
import { createTableSql, MODEL_STAGE_ENUM, qualify, quoteIdent, SCHEMA_MIGRATIONS_TABLE, TABLE_DEFS, tableDef } from './schema';
import { formatDateTime64 } from './serialize';

export interface Migration {
  version: number;
  name: string;
  /** Statements for the database; each must be idempotent (IF NOT EXISTS) so a half-applied migration can rerun. */
  statements: (database: string) => string[];
}

/** Applied in version order; append new versions, never edit an applied one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, features, predictions, labels, dlq, drift and performance metrics, models, experiments',
    statements: (db) => TABLE_DEFS.map((t) => createTableSql(t, db)),
  },
  {
    version: 2,
    name: 'dlq.original_size: dead letters whose original was cut to fit the DLQ topic',
    statements: (db) => [`ALTER TABLE ${qualify('dlq', db)} ADD COLUMN IF NOT EXISTS original_size Nullable(Int64) DEFAULT NULL COMMENT 'size in bytes of the original value when original_value was cut to fit the DLQ topic; NULL when whole'`],
  },
  {
    version: 3,
    name: 'registry stages challenger and rejected; model_events: the audit trail of stage changes',
    statements: (db) => [
      `ALTER TABLE ${qualify('models', db)} MODIFY COLUMN stage ${MODEL_STAGE_ENUM}`,
      createTableSql(tableDef('model_events')!, db),
    ],
  },
  {
    version: 4,
    name: 'labels.arrived_at: the Kafka timestamp of each label record, for the observed label delay',
    statements: (db) => [`ALTER TABLE ${qualify('labels', db)} ADD COLUMN IF NOT EXISTS arrived_at Nullable(DateTime64(3, 'UTC')) DEFAULT NULL COMMENT 'Kafka timestamp of the label record (its send time, or the append time on a LogAppendTime topic); NULL for rows written before it was kept'`],
  },
  {
    version: 5,
    name: 'predictions.fallback: predictions scored by the last good champion because the serving model failed',
    statements: (db) => [`ALTER TABLE ${qualify('predictions', db)} ADD COLUMN IF NOT EXISTS fallback Bool DEFAULT 0 COMMENT 'true when the serving model failed on this event and the last good champion (model_name, model_version) scored it'`],
  },
  {
    version: 6,
    name: 'predictions.contributions: the top-k per-feature contributions of each prediction (serving.explain_top_k)',
    statements: (db) => [`ALTER TABLE ${qualify('predictions', db)} ADD COLUMN IF NOT EXISTS contributions Map(String, Float64) DEFAULT map() COMMENT 'per-feature contributions to the margin (log-odds) of the scoring model, its serving.explain_top_k largest by absolute value (TreeSHAP for gbdt, coefficient × standardized value for logistic regression); empty when explain_top_k is 0 or the model has no explainer'`],
  },
  {
    version: 8,
    name: "predictions.shadow: a challenger's shadow predictions, scored and never served",
    statements: (db) => [`ALTER TABLE ${qualify('predictions', db)} ADD COLUMN IF NOT EXISTS shadow Bool DEFAULT 0 COMMENT 'true for a shadow prediction of the challenger (read from P.predictions.shadow): scored, never served'`],
  },
];

export interface MigrateResult {
  /** Versions applied by this call (empty when the database was up to date). */
  applied: number[];
  /** Every version recorded as applied afterwards. */
  versions: number[];
}

/**
 * Creates the database, a schema_migrations table and every table of the contract, idempotently: versions
 * already recorded are skipped, and every statement is CREATE … IF NOT EXISTS, so concurrent or interrupted
 * runs converge.
 */
export async function migrate(client: ClickHouseClient, opts: { database: string }): Promise<MigrateResult> {
  const db = opts.database;
  const migrations = qualify(SCHEMA_MIGRATIONS_TABLE, db);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(db, 'database name')}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${migrations} (
  version UInt32 COMMENT 'migration version',
  name String COMMENT 'what it did',
  applied_at DateTime64(3, 'UTC') COMMENT 'when it was applied'
) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version COMMENT 'Schema versions applied by migrate()'`,
  });
  const done = async () => {
    const rs = await client.query({ query: `SELECT DISTINCT version FROM ${migrations} ORDER BY version`, format: 'JSONEachRow' });
    return ((await rs.json()) as { version: number | string }[]).map((r) => Number(r.version));
  };
  const before = new Set(await done());
  const applied: number[] = [];
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (before.has(m.version)) continue;
    for (const statement of m.statements(db)) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new Error(`migration ${m.version} (${m.name}) failed on: ${statement.split('\n')[0]} … : ${(error as Error).message}`, { cause: error });
      }
    }
    await client.insert({
      table: migrations,
      values: [{ version: m.version, name: m.name, applied_at: formatDateTime64(Date.now()) }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: '' },
    });
    applied.push(m.version);
  }
  return { applied, versions: await done() };
}
