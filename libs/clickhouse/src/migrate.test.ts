import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeClickHouse, createClickHouse, embeddedDataDir } from './client';
import { insertRows } from './insert';
import { migrate, MIGRATIONS, type Migration } from './migrate';
import { queryRows } from './queries';
import { createTableSql, TABLE_DEFS, TABLES, type TableDef, type TableName } from './schema';
import { count, openTestClickHouse, type TestClickHouse } from './test-support';

const embedded = !process.env.CLICKHOUSE_URL;
let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('migrate');
});
after(async () => {
  await ch?.close();
});

test('migrate creates every table once; running it again changes nothing', async () => {
  const first = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(first.applied, MIGRATIONS.map((m) => m.version).sort((a, b) => a - b), 'every version, in version order');
  const second = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(second.applied, [], 'nothing applied the second time');
  assert.deepEqual(second.versions, first.versions);
  assert.equal(await count(ch.client, `SELECT count() AS n FROM schema_migrations`), MIGRATIONS.length, 'one row per version');

  const tables = await queryRows<{ name: string; engine: string; partition_key: string; sorting_key: string }>(
    ch.client,
    `SELECT name, engine, partition_key, sorting_key FROM system.tables WHERE database = {db:String} ORDER BY name`,
    { db: ch.database },
  );
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const def of TABLE_DEFS) {
    const t = byName.get(def.name);
    assert.ok(t, `table ${def.name} exists`);
    assert.equal(t.engine, 'ReplacingMergeTree', def.name);
    assert.match(t.partition_key, /toDate/, `${def.name} partitioned by day`);
    assert.ok(t.sorting_key.startsWith('pipeline, '), `${def.name} sorted by pipeline first: ${t.sorting_key}`);
  }
  const [dedupWindow] = await queryRows<{ n: number }>(
    ch.client,
    `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name != 'schema_migrations' AND create_table_query LIKE '%non_replicated_deduplication_window = 10000%'`,
    { db: ch.database },
  );
  assert.equal(Number(dedupWindow.n), TABLE_DEFS.length, 'every contract table keeps a dedup window');

  const columns = await queryRows<{ name: string; type: string }>(
    ch.client,
    `SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'features' ORDER BY position`,
    { db: ch.database },
  );
  assert.deepEqual(
    Object.fromEntries(columns.map((c) => [c.name, c.type])),
    {
      pipeline: 'LowCardinality(String)', event_id: 'String', entity_key: 'String', event_time: "DateTime64(3, 'UTC')",
      feature_spec_version: 'LowCardinality(String)', values: 'Map(String, Float64)', computed_at: "DateTime64(3, 'UTC')",
      source_partition: 'Int32', source_offset: 'Int64',
    },
  );
});

test('migration 4 adds labels.arrived_at to a labels table made before it; the rows already there have NULL', async () => {
  await migrate(ch.client, { database: ch.database });
  // The database as it was before migration 4: labels without arrived_at, version 4 not recorded.
  await ch.client.command({ query: 'ALTER TABLE labels DROP COLUMN arrived_at' });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 4', clickhouse_settings: { mutations_sync: '2' } });
  await ch.client.command({ query: `INSERT INTO labels (pipeline, event_id, label, label_time) VALUES ('old', 'e1', 1, '2026-01-01 00:00:00')` });
  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [4]);
  const [column] = await queryRows<{ type: string }>(ch.client, `SELECT type FROM system.columns WHERE database = {db:String} AND table = 'labels' AND name = 'arrived_at'`, { db: ch.database });
  assert.equal(column?.type, "Nullable(DateTime64(3, 'UTC'))");
  assert.equal(await count(ch.client, `SELECT count() AS n FROM labels WHERE pipeline = 'old' AND arrived_at IS NULL`), 1);
  await insertRows(ch.client, TABLES.labels, [{ pipeline: 'new', event_id: 'e1', label: 1, label_time: 1_767_225_600_000, arrived_at: 1_767_225_660_000 }]);
  const [row] = await queryRows<{ t: string }>(ch.client, `SELECT toUnixTimestamp64Milli(arrived_at) AS t FROM labels WHERE pipeline = 'new'`);
  assert.equal(Number(row.t), 1_767_225_660_000);
});

test('migration 5 adds predictions.fallback to a predictions table made before it; the rows already there read false', async () => {
  await migrate(ch.client, { database: ch.database });
  // The database as it was before migration 5: predictions without fallback, version 5 not recorded.
  await ch.client.command({ query: 'ALTER TABLE predictions DROP COLUMN fallback' });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 5', clickhouse_settings: { mutations_sync: '2' } });
  await ch.client.command({ query: `INSERT INTO predictions (pipeline, event_id, model_name, model_version, score) VALUES ('old', 'e1', 'm', 1, 0.5)` });
  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [5]);
  const [column] = await queryRows<{ type: string }>(ch.client, `SELECT type FROM system.columns WHERE database = {db:String} AND table = 'predictions' AND name = 'fallback'`, { db: ch.database });
  assert.equal(column?.type, 'Bool');
  assert.equal(await count(ch.client, `SELECT count() AS n FROM predictions WHERE pipeline = 'old' AND NOT fallback`), 1);
  await insertRows(ch.client, TABLES.predictions, [{
    pipeline: 'new', event_id: 'e1', entity_key: 'c1', event_time: 1_767_225_600_000, model_name: 'm', model_version: 1, role: 'champion',
    score: 0.5, label: 1, threshold: 0.5, latency_ms: 1, predicted_at: 1_767_225_600_010, fallback: true,
  }]);
  assert.equal(await count(ch.client, `SELECT count() AS n FROM predictions WHERE pipeline = 'new' AND fallback`), 1);
});

test('migration 6 adds predictions.contributions to a predictions table made before it; the rows already there have an empty map', async () => {
  await migrate(ch.client, { database: ch.database });
  // The database as it was before migration 6: predictions without contributions, version 6 not recorded.
  await ch.client.command({ query: 'ALTER TABLE predictions DROP COLUMN contributions' });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 6', clickhouse_settings: { mutations_sync: '2' } });
  await ch.client.command({ query: `INSERT INTO predictions (pipeline, event_id, model_name, model_version, score) VALUES ('old6', 'e1', 'm', 1, 0.5)` });
  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [6]);
  const [column] = await queryRows<{ type: string }>(ch.client, `SELECT type FROM system.columns WHERE database = {db:String} AND table = 'predictions' AND name = 'contributions'`, { db: ch.database });
  assert.equal(column?.type, 'Map(String, Float64)');
  assert.equal(await count(ch.client, `SELECT count() AS n FROM predictions WHERE pipeline = 'old6' AND empty(contributions)`), 1);
  await insertRows(ch.client, TABLES.predictions, [{
    pipeline: 'new6', event_id: 'e1', entity_key: 'c1', event_time: 1_767_225_600_000, model_name: 'm', model_version: 1, role: 'champion',
    score: 0.5, label: 1, threshold: 0.5, latency_ms: 1, predicted_at: 1_767_225_600_010, contributions: { amount: 1.25, hour: -0.5 },
  }]);
  const [row] = await queryRows<{ c: number }>(ch.client, `SELECT contributions['amount'] AS c FROM predictions WHERE pipeline = 'new6'`);
  assert.equal(Number(row.c), 1.25);
});

test('migration 7 adds role to performance_metrics and drift_metrics made before it, last in their sort keys; the rows already there read champion', async () => {
  await migrate(ch.client, { database: ch.database });
  const fresh = await tableShapes(['performance_metrics', 'drift_metrics']);
  // The tables as they were before migration 7 (no role, the old sort keys and comments), version 7 not recorded.
  const before7 = (table: TableName, comments: Record<string, string>): TableDef => {
    const def = TABLE_DEFS.find((t) => t.name === table)!;
    return {
      ...def, comment: comments.table ?? def.comment, orderBy: def.orderBy.filter((c) => c !== 'role'),
      columns: def.columns.filter((c) => c.name !== 'role').map((c) => ({ ...c, comment: comments[c.name] ?? c.comment })),
    };
  };
  await ch.client.command({ query: 'DROP TABLE performance_metrics' });
  await ch.client.command({ query: 'DROP TABLE drift_metrics' });
  await ch.client.command({ query: createTableSql(before7(TABLES.performance_metrics, {
    table: 'Live model quality against late labels, per time window and metric', model_name: 'model name', labelled_count: 'labelled predictions in the window',
  }), ch.database) });
  await ch.client.command({ query: createTableSql(before7(TABLES.drift_metrics, { model_name: 'model whose training data is the reference' }), ch.database) });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 7', clickhouse_settings: { mutations_sync: '2' } });
  await ch.client.command({ query: `INSERT INTO performance_metrics (pipeline, window_start, window_end, model_name, model_version, metric, value, labelled_count, computed_at) VALUES ('old', '2026-01-01 00:00:00', '2026-01-01 01:00:00', 'm', 1, 'roc_auc', 0.8, 100, '2026-01-01 01:00:00')` });
  await ch.client.command({ query: `INSERT INTO drift_metrics (pipeline, window_start, window_end, feature, statistic, value, threshold, drifted, model_name, model_version, computed_at) VALUES ('old', '2026-01-01 00:00:00', '2026-01-01 01:00:00', 'amount', 'psi', 0.1, 0.2, 0, 'm', 1, '2026-01-01 01:00:00')` });

  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [7]);
  const migrated = await tableShapes(['performance_metrics', 'drift_metrics']);
  for (const table of ['performance_metrics', 'drift_metrics']) {
    const [a, b] = [migrated.get(table)!, fresh.get(table)!];
    assert.equal(a.sorting_key, b.sorting_key, `${table}: the same sort key as a table made by migration 1`);
    assert.ok(a.sorting_key.endsWith(', role'), a.sorting_key);
    assert.equal(a.comment, b.comment, `${table}: the table comment`);
    assert.deepEqual(a.columns, b.columns, `${table}: the same columns, types and comments, in the same order`);
  }
  assert.equal(await count(ch.client, `SELECT count() AS n FROM performance_metrics WHERE pipeline = 'old' AND role = 'champion'`), 1);
  assert.equal(await count(ch.client, `SELECT count() AS n FROM drift_metrics WHERE pipeline = 'old' AND role = 'champion'`), 1);
  // A champion and a challenger row of the same version, window and metric are two rows, also after a merge.
  const row = { pipeline: 'new', window_start: 1_767_225_600_000, window_end: 1_767_229_200_000, model_name: 'm', model_version: 2, metric: 'roc_auc', value: 0.7, labelled_count: 10, computed_at: 1_767_229_200_000 };
  await insertRows(ch.client, TABLES.performance_metrics, [{ ...row, role: 'champion' }, { ...row, role: 'challenger', value: 0.75 }]);
  await ch.client.command({ query: 'OPTIMIZE TABLE performance_metrics FINAL' });
  assert.equal(await count(ch.client, `SELECT count() AS n FROM performance_metrics FINAL WHERE pipeline = 'new'`), 2);

  // Running 7 again on a table that has the column (an interrupted run, or a table made by migration 1) changes nothing.
  for (const statement of MIGRATIONS.find((m) => m.version === 7)!.statements(ch.database)) await ch.client.command({ query: statement });
  assert.deepEqual(await tableShapes(['performance_metrics', 'drift_metrics']), migrated);
});

test('a version merged after a higher one was applied (a gap, filled later) is applied on the next run; a duplicate version is refused', async () => {
  const db = `${ch.database}_gap`;
  const without6 = MIGRATIONS.filter((m) => m.version !== 6);
  const first = await migrate(ch.client, { database: db, migrations: without6 });
  assert.ok(first.versions.includes(7) && !first.versions.includes(6));
  const six: Migration = { version: 6, name: 'merged later', statements: (d) => [`CREATE TABLE IF NOT EXISTS ${d}.gap_six (x UInt8) ENGINE = MergeTree ORDER BY x`] };
  const later = await migrate(ch.client, { database: db, migrations: [...without6, six] });
  assert.deepEqual(later.applied, [6]);
  assert.deepEqual(later.versions, [...first.versions, 6].sort((a, b) => a - b));
  await assert.rejects(migrate(ch.client, { database: db, migrations: [...without6, six, { ...six, name: 'another six' }] }), /two migrations have version 6 \(merged later; another six\)/);
  await ch.client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
});

/** Sort key, comment and columns (name, type, comment, in order) of some tables of the test database. */
async function tableShapes(tables: string[]) {
  const rows = await queryRows<{ name: string; sorting_key: string; comment: string }>(ch.client,
    `SELECT name, sorting_key, comment FROM system.tables WHERE database = {db:String} AND name IN {tables:Array(String)}`, { db: ch.database, tables });
  const out = new Map<string, { sorting_key: string; comment: string; columns: string[] }>();
  for (const t of rows) {
    const columns = await queryRows<{ name: string; type: string; comment: string }>(ch.client,
      `SELECT name, type, comment FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position`, { db: ch.database, t: t.name });
    out.set(t.name, { sorting_key: t.sorting_key, comment: t.comment, columns: columns.map((c) => `${c.name} ${c.type} ${c.comment}`) });
  }
  return out;
}

test('migration 3 widens models.stage to the registry\'s five stages and adds model_events; a models row already there keeps its stage', async () => {
  await migrate(ch.client, { database: ch.database });
  // The database as it was before migration 3: three stages, no model_events, version 3 not recorded.
  await ch.client.command({ query: 'DROP TABLE model_events' });
  await ch.client.command({ query: "ALTER TABLE models MODIFY COLUMN stage Enum8('candidate' = 1, 'champion' = 2, 'archived' = 3)" });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 3', clickhouse_settings: { mutations_sync: '2' } });
  await ch.client.command({ query: `INSERT INTO models (pipeline, model_name, model_version, stage) VALUES ('old', 'm', 1, 'archived')` });
  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [3]);
  const [column] = await queryRows<{ type: string }>(ch.client, `SELECT type FROM system.columns WHERE database = {db:String} AND table = 'models' AND name = 'stage'`, { db: ch.database });
  assert.equal(column?.type, "Enum8('candidate' = 1, 'champion' = 2, 'archived' = 3, 'challenger' = 4, 'rejected' = 5)");
  assert.equal(await count(ch.client, `SELECT count() AS n FROM models WHERE pipeline = 'old' AND stage = 'archived'`), 1);
  await ch.client.command({ query: `INSERT INTO models (pipeline, model_name, model_version, stage) VALUES ('new', 'm', 1, 'rejected')` });
  assert.equal(await count(ch.client, `SELECT count() AS n FROM model_events`), 0, 'model_events exists');
});

test('unqualified names resolve to the client database; settings and parameters work together', async () => {
  await migrate(ch.client, { database: ch.database });
  const [row] = await queryRows<{ db: string; p: string; n: number }>(
    ch.client,
    'SELECT currentDatabase() AS db, {p:String} AS p, getSetting(\'max_block_size\') AS n',
    { p: "it's" },
    { settings: { max_block_size: 1234 } },
  );
  assert.deepEqual(row, { db: ch.database, p: "it's", n: 1234 });
  const [reset] = await queryRows<{ n: number }>(ch.client, "SELECT getSetting('max_block_size') AS n");
  assert.notEqual(Number(reset.n), 1234, 'a per-query setting does not stick to the session');
});

test('a dedup token does not leak into later inserts', async () => {
  await migrate(ch.client, { database: ch.database });
  const label = (id: string) => ({ pipeline: 'leak', event_id: id, label: 1, label_time: 1_700_000_000_000 });
  await insertRows(ch.client, TABLES.labels, [label('a')], { dedupToken: 'labels:t-0-1-1' });
  // Plain @clickhouse/client calls without settings, as other code would make them.
  await ch.client.insert({ table: 'labels', values: [{ ...label('b'), label_time: '2023-11-14 22:13:20.000' }], format: 'JSONEachRow' });
  await ch.client.insert({ table: 'labels', values: [{ ...label('c'), label_time: '2023-11-14 22:13:20.000' }], format: 'JSONEachRow' });
  assert.equal(await count(ch.client, `SELECT count() AS n FROM labels WHERE pipeline = 'leak'`), 3);
});

test('embedded: one engine per process, shared by clients of the same directory and closed with the last', { skip: !embedded && 'CLICKHOUSE_URL is set' }, async () => {
  const dir = ch.options.dataDir!;
  const second = await createClickHouse({ dataDir: dir, database: 'other_db' });
  const [row] = await queryRows<{ db: string }>(second, 'SELECT currentDatabase() AS db');
  assert.equal(row.db, 'other_db', 'each client keeps its own default database');
  const [mine] = await queryRows<{ db: string }>(ch.client, 'SELECT currentDatabase() AS db');
  assert.equal(mine.db, ch.database);

  const elsewhere = mkdtempSync(join(tmpdir(), 'streamloop-chdb-other-'));
  try {
    await assert.rejects(createClickHouse({ dataDir: elsewhere }), (e: Error) => {
      assert.match(e.message, /already has data directory .* open in this process/);
      assert.ok(e.message.includes(elsewhere), 'names the refused directory');
      return true;
    });
    await closeClickHouse(second);
    assert.equal(embeddedDataDir(), join(dir), 'still open for the first client');
    const [still] = await queryRows<{ n: number }>(ch.client, 'SELECT 1 AS n');
    assert.equal(still.n, 1, 'closing one client leaves the others working');
    await assert.rejects(queryRows(second, 'SELECT 1'), /closed/);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('createClickHouse refuses a database name that is not an identifier', async () => {
  await assert.rejects(createClickHouse({ ...ch.options, database: 'x; DROP TABLE y' }), /invalid ClickHouse database name/);
});

test('migration 9 adds data_quality to a database made before it; the analysts\' queries read its check and limit columns', async () => {
  await migrate(ch.client, { database: ch.database });
  await ch.client.command({ query: 'DROP TABLE data_quality' });
  await ch.client.command({ query: 'ALTER TABLE schema_migrations DELETE WHERE version = 9', clickhouse_settings: { mutations_sync: '2' } });
  const result = await migrate(ch.client, { database: ch.database });
  assert.deepEqual(result.applied, [9]);
  const row = {
    pipeline: 'fraud', scope: 'monitoring' as const, run_id: 'r1', window_start: 1_767_225_600_000, window_end: 1_767_229_200_000, model_name: 'm',
    model_version: 2, feature_spec_version: 'v1', check: 'max_missing_rate', feature: 'amount', value: 0.9, limit: 0.5, passed: false, blocking: true,
    computed_at: 1_767_229_200_000,
  };
  await insertRows(ch.client, TABLES.data_quality, [row, { ...row, feature: 'hour', value: 0, passed: true }]);
  // The query docs/clickhouse.md shows analysts.
  const failed = await queryRows<{ check: string; feature: string; value: number; limit: number }>(ch.client, `SELECT window_end, check, feature, value, limit
FROM data_quality
WHERE pipeline = 'fraud' AND scope = 'monitoring' AND NOT passed AND blocking
ORDER BY window_end DESC, check, feature`);
  assert.deepEqual(failed.map((r) => [r.check, r.feature, r.value, r.limit]), [['max_missing_rate', 'amount', 0.9, 0.5]]);
});
