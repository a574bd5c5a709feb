import type { ClickHouseClient } from '@clickhouse/client';
import { createTableSql, MODEL_STAGE_ENUM, qualify, quoteIdent, SCHEMA_MIGRATIONS_TABLE, sqlString, TABLE_DEFS, tableDef, TABLES, type TableName } from './schema';
import { formatDateTime64 } from './serialize';

export interface Migration {
  version: number;
  name: string;
  /** Statements for the database; each must be idempotent (IF NOT EXISTS) so a half-applied migration can rerun. */
  statements: (database: string) => string[];
}

/**
 * Applied in version order; append new versions, never edit an applied one. migrate() applies every version a
 * database has not recorded yet, whatever the versions it has: a gap is fine (a version merged later than a higher
 * one is applied on the next start, after it), so every migration must stand on its own (idempotent, and not
 * relying on a lower version having run just before it). Versions must be unique (migrate refuses duplicates).
 */
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
    version: 7,
    name: 'performance_metrics.role and drift_metrics.role: live performance and the error stream per model version and role',
    statements: (db) => [
      ...addRoleToSortKey(TABLES.performance_metrics, db, ['model_name', 'labelled_count']),
      ...addRoleToSortKey(TABLES.drift_metrics, db, ['model_name']),
    ],
  },
  {
    version: 8,
    name: "predictions.shadow: a challenger's shadow predictions, scored and never served",
    statements: (db) => [`ALTER TABLE ${qualify('predictions', db)} ADD COLUMN IF NOT EXISTS shadow Bool DEFAULT 0 COMMENT 'true for a shadow prediction of the challenger (read from P.predictions.shadow): scored, never served'`],
  },
  {
    version: 9,
    name: 'data_quality: the data-quality checks of each training gate and monitoring window',
    statements: (db) => [createTableSql(tableDef('data_quality')!, db)],
  },
  {
    version: 10,
    name: 'retraining_decisions: every trigger of a training run and what training decided',
    statements: (db) => [createTableSql(tableDef('retraining_decisions')!, db)],
  },
];

/**
 * Adds the `role` column of a table's definition to a table made before it, appended to its sort key (ClickHouse
 * allows only a column added by the same ALTER, without a DEFAULT expression; the rows already there read the
 * enum's first value, 'champion', which is what they were), then brings the table's and the named columns'
 * comments up to the definition. Every statement is idempotent: on a table that has the column (made by migration 1
 * from the current definition, or by an interrupted run) the same sort key is set again, which changes nothing.
 */
function addRoleToSortKey(table: TableName, db: string, recomment: string[]): string[] {
  const def = tableDef(table)!;
  const column = (name: string) => {
    const c = def.columns.find((x) => x.name === name);
    if (!c) throw new Error(`migration 7: ${table} has no column ${name} in its definition`);
    return c;
  };
  const role = column('role');
  const at = def.columns[def.columns.indexOf(role) - 1].name;
  const t = qualify(table, db);
  return [
    `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS role ${role.type} COMMENT ${sqlString(role.comment)} AFTER ${quoteIdent(at)}, MODIFY ORDER BY (${def.orderBy.join(', ')})`,
    ...recomment.map((name) => `ALTER TABLE ${t} COMMENT COLUMN ${quoteIdent(name)} ${sqlString(column(name).comment)}`),
    `ALTER TABLE ${t} MODIFY COMMENT ${sqlString(def.comment)}`,
  ];
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the database was up to date). */
  applied: number[];
  /** Every version recorded as applied afterwards. */
  versions: number[];
}

/**
 * Creates the database, a schema_migrations table and every table of the contract, idempotently: versions
 * already recorded are skipped (each version not recorded is applied, in version order, gaps or not), and every
 * statement is idempotent (CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS), so concurrent or interrupted runs converge.
 */
export async function migrate(client: ClickHouseClient, opts: { database: string; /** Tests only; default MIGRATIONS. */ migrations?: readonly Migration[] }): Promise<MigrateResult> {
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
  const list = opts.migrations ?? MIGRATIONS;
  const duplicate = list.find((m, i) => list.findIndex((x) => x.version === m.version) !== i);
  if (duplicate) throw new Error(`migrate: two migrations have version ${duplicate.version} (${list.filter((m) => m.version === duplicate.version).map((m) => m.name).join('; ')}): renumber one`);
  const before = new Set(await done());
  const applied: number[] = [];
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
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
