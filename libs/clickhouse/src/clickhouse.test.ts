// Against the real engine: embedded chDB in one temp directory for this file (chDB allows one per process,
// and node's test runner gives each file its own process).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchedWriter, closeClickHouse, countLabelledFeatures, countRows, createClickHouse, insertRows, latestFeatureValues,
  loadLabelledPredictions, loadTrainingDataset, migrate, queryRows, TABLES, type ClickHouseClient,
} from './index';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 2, 10, 12, 0, 0, 123);
const database = 'sl_test';
const dir = mkdtempSync(join(tmpdir(), 'streamloop-ch-'));
let ch: ClickHouseClient;

before(async () => {
  ch = await createClickHouse({ dataDir: dir, database });
  await migrate(ch, { database });
});

after(async () => {
  await closeClickHouse(ch);
  rmSync(dir, { recursive: true, force: true });
});

const feature = (pipeline: string, id: string, t: number, values: Record<string, number>, extra: Record<string, unknown> = {}) => ({
  pipeline, event_id: id, entity_key: `card-${id}`, event_time: t, feature_spec_version: 'v1', values, computed_at: t + 5,
  source_partition: 0, source_offset: 0, ...extra,
});
const label = (pipeline: string, id: string, value: number, t: number) => ({ pipeline, event_id: id, label: value, label_time: t });
const prediction = (pipeline: string, id: string, t: number, score: number, extra: Record<string, unknown> = {}) => ({
  pipeline, event_id: id, entity_key: `card-${id}`, event_time: t, model_name: 'fraud', model_version: 1, role: 'champion',
  score, label: score >= 0.5 ? 1 : 0, threshold: 0.5, latency_ms: 1.25, predicted_at: t + 10, ...extra,
});

test('migrate is idempotent and records its version once', async () => {
  await migrate(ch, { database });
  await migrate(ch, { database });
  const tables = (await queryRows<{ name: string }>(ch, 'SELECT name FROM system.tables WHERE database = {db:String}', { db: database })).map((r) => r.name);
  for (const t of [...Object.values(TABLES), 'schema_migrations']) assert.ok(tables.includes(t), `table ${t} exists`);
  const versions = await queryRows<{ version: number }>(ch, 'SELECT version FROM schema_migrations');
  assert.deepEqual(versions.map((v) => Number(v.version)), [1]);
  const [db] = await queryRows<{ d: string }>(ch, 'SELECT currentDatabase() AS d');
  assert.equal(db.d, database, 'unqualified names resolve in the configured database');
  const [ddl] = await queryRows<{ q: string }>(ch, "SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = 'features'", { db: database });
  assert.match(ddl.q, /ReplacingMergeTree\(computed_at\)/);
  assert.match(ddl.q, /PARTITION BY toYYYYMMDD\(event_time\)/);
  assert.match(ddl.q, /ORDER BY \(pipeline, entity_key, event_time, event_id, feature_spec_version\)/);
  assert.match(ddl.q, /`values` Map\(String, Float64\)/);
});

test('the same batch inserted twice with the same token is stored once', async () => {
  const p = 'dedup-token';
  const rows = [feature(p, 'a', T0, { x: 1 }), feature(p, 'b', T0 + 1, { x: 2 })];
  await insertRows(ch, TABLES.features, rows, { dedupToken: 'features:t-0-0-1' });
  await insertRows(ch, TABLES.features, rows, { dedupToken: 'features:t-0-0-1' });
  const [raw] = await queryRows<{ n: number }>(ch, 'SELECT count() AS n FROM features WHERE pipeline = {p:String}', { p });
  assert.equal(Number(raw.n), 2, 'the token dropped the repeated block (non_replicated_deduplication_window)');
  // The same rows re-batched under another token are physical duplicates; readers still see one copy.
  await insertRows(ch, TABLES.features, [rows[1]], { dedupToken: 'features:t-0-1-1' });
  assert.equal(await countRows(ch, 'features', p), 2);
  await insertRows(ch, TABLES.labels, [label(p, 'a', 1, T0 + 100), label(p, 'b', 0, T0 + 100)], { dedupToken: 'labels:1' });
  const dataset = await loadTrainingDataset(ch, { pipeline: p, featureSpecVersion: 'v1' });
  assert.deepEqual(dataset.map((r) => r.event_id), ['a', 'b']);
  assert.equal(await countLabelledFeatures(ch, { pipeline: p, featureSpecVersion: 'v1' }), 2);
});

test('a dedup token does not leak into later inserts (chDB keeps SET settings on its session)', async () => {
  const p = 'token-leak';
  await insertRows(ch, TABLES.labels, [label(p, 'a', 1, T0)], { dedupToken: 'leak-1' });
  await insertRows(ch, TABLES.labels, [label(p, 'b', 1, T0)]);
  await ch.insert({ table: TABLES.labels, values: [{ pipeline: p, event_id: 'c', label: 0, label_time: '2024-03-10 00:00:00.000' }], format: 'JSONEachRow' });
  assert.equal(await countRows(ch, 'labels', p), 3);
});

test('DateTime64 columns keep epoch milliseconds exactly', async () => {
  const p = 'times';
  const times = [T0, T0 + 1, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2030, 0, 1, 0, 0, 0, 7)];
  await insertRows(ch, TABLES.events, times.map((t, i) => ({
    pipeline: p, event_id: `e${i}`, entity_key: 'k', event_time: t, schema_id: 3, payload: '{}', ingested_at: t + 1000,
  })));
  const rows = await queryRows<{ id: string; t: number | string; i: number | string; s: string }>(
    ch,
    "SELECT event_id AS id, toUnixTimestamp64Milli(event_time) AS t, toUnixTimestamp64Milli(ingested_at) AS i, toString(event_time) AS s FROM events WHERE pipeline = {p:String} ORDER BY id",
    { p },
  );
  assert.deepEqual(rows.map((r) => Number(r.t)), times);
  assert.deepEqual(rows.map((r) => Number(r.i)), times.map((t) => t + 1000));
  assert.equal(rows[0].s, '2024-03-10 12:00:00.123');
  await assert.rejects(
    insertRows(ch, TABLES.events, [{ pipeline: p, event_id: 'x', entity_key: 'k', event_time: 1.5, schema_id: 1, payload: '', ingested_at: T0 }]),
    /insertRows\(events\): row 0 field event_time: expected epoch milliseconds/,
  );
  await assert.rejects(
    insertRows(ch, TABLES.events, [{ pipeline: p, event_id: 'x', entity_key: 'k', event_time: T0, schema_id: 1, payload: '' }]),
    /row 0 field ingested_at: expected epoch milliseconds, got undefined/,
  );
  await assert.rejects(
    insertRows(ch, TABLES.events, [{ pipeline: p, event_id: 'x', entity_key: 'k', event_time: T0, schema_id: 1, payload: '', ingested_at: T0, extra: 1 }]),
    /row 0 has field "extra", which is not a column of events/,
  );
});

test('NaN and infinities round-trip in Map and Float64 columns', async () => {
  const p = 'nan';
  await insertRows(ch, TABLES.features, [feature(p, 'n1', T0, { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -1.5, d: Number.NEGATIVE_INFINITY })]);
  await insertRows(ch, TABLES.labels, [label(p, 'n1', 1, T0 + 1)]);
  await insertRows(ch, TABLES.predictions, [prediction(p, 'n1', T0, Number.NaN)]);
  const [row] = await loadTrainingDataset(ch, { pipeline: p });
  assert.ok(Number.isNaN(row.values.a));
  assert.equal(row.values.b, Number.POSITIVE_INFINITY);
  assert.equal(row.values.c, -1.5);
  assert.equal(row.values.d, Number.NEGATIVE_INFINITY);
  const [pred] = await loadLabelledPredictions(ch, { pipeline: p, from: T0, to: T0 + 1 });
  assert.ok(Number.isNaN(pred.score));
  const values = await latestFeatureValues(ch, { pipeline: p, feature: 'a', from: T0, to: T0 + 1 });
  assert.equal(values.length, 1);
  assert.ok(Number.isNaN(values[0]));
  const [stored] = await queryRows<{ nan: number; zero: number }>(ch, "SELECT isNaN(`values`['a']) AS nan, countEqual(mapValues(`values`), 0) AS zero FROM features WHERE pipeline = {p:String}", { p });
  assert.equal(Number(stored.nan), 1, 'stored as NaN, not as 0 (what JSON null would become)');
  assert.equal(Number(stored.zero), 0);
});

test('the training dataset joins late labels, corrected labels and duplicates exactly', async () => {
  const p = 'dataset';
  const vec = (i: number) => feature(p, `e${i}`, T0 + i * 1000, { amount: i * 10, ...(i % 2 ? { velocity: i } : {}) });
  await insertRows(ch, TABLES.features, [1, 2, 3, 4, 5].map(vec), { dedupToken: 'f-1' });
  await insertRows(ch, TABLES.features, [vec(3)], { dedupToken: 'f-2' }); // a re-consumed record, other batch
  await insertRows(ch, TABLES.features, [feature(p, 'e1', T0 + 1000, { amount: 999 }, { feature_spec_version: 'v2', computed_at: T0 + 9000 })]);
  await insertRows(ch, TABLES.labels, [label(p, 'e1', 0, T0 + 10_000), label(p, 'e2', 0, T0 + 10_000), label(p, 'e3', 1, T0 + 10_000)]);
  await insertRows(ch, TABLES.labels, [label(p, 'e3', 1, T0 + 10_000)]); // duplicate label
  assert.equal(await countLabelledFeatures(ch, { pipeline: p, featureSpecVersion: 'v1' }), 3);
  // A late label for e4, and a correction of e2 that lands in another day's partition.
  await insertRows(ch, TABLES.labels, [label(p, 'e4', 1, T0 + 3 * DAY), label(p, 'e2', 1, T0 + 2 * DAY)]);
  const rows = await loadTrainingDataset(ch, { pipeline: p, featureSpecVersion: 'v1' });
  assert.deepEqual(rows.map((r) => [r.event_id, r.event_time, r.label]), [
    ['e1', T0 + 1000, 0], ['e2', T0 + 2000, 1], ['e3', T0 + 3000, 1], ['e4', T0 + 4000, 1],
  ]);
  assert.deepEqual(rows[0].values, { amount: 10, velocity: 1 });
  assert.deepEqual(rows[1].values, { amount: 20 });
  assert.equal(await countLabelledFeatures(ch, { pipeline: p, featureSpecVersion: 'v1' }), 4);
  const windowed = await loadTrainingDataset(ch, { pipeline: p, featureSpecVersion: 'v1', since: T0 + 2000, until: T0 + 4000 });
  assert.deepEqual(windowed.map((r) => r.event_id), ['e2', 'e3']);
  // Without a version, each event's latest vector.
  const any = await loadTrainingDataset(ch, { pipeline: p });
  assert.equal(any.length, 4);
  assert.deepEqual(any[0].values, { amount: 999 });
  assert.deepEqual(await latestFeatureValues(ch, { pipeline: p, feature: 'velocity', from: T0 + 2000, to: T0 + 5001 }).then((v) => v.map(String)), ['NaN', '3', 'NaN', '5']);
});

test('countRows counts logical rows per pipeline', async () => {
  const p = 'counts';
  const dlq = (offset: number | null, stage = 'ingestion') => ({
    pipeline: p, stage, source_topic: `${p}.events.raw`, source_partition: offset === null ? null : 0, source_offset: offset,
    error_class: 'SchemaError', error_message: 'bad', original_value: 'AAE=', failed_at: T0,
  });
  await insertRows(ch, TABLES.dlq, [dlq(1), dlq(2), dlq(null)], { dedupToken: 'dlq-a' });
  await insertRows(ch, TABLES.dlq, [dlq(2), dlq(null)], { dedupToken: 'dlq-b' });
  assert.equal(await countRows(ch, 'dlq', p), 4, 'offsets 1 and 2 once each, both dead letters without an offset');
  await insertRows(ch, TABLES.events, [1, 2, 1].map((i) => ({ pipeline: p, event_id: `e${i}`, entity_key: 'k', event_time: T0, schema_id: 1, payload: '{}', ingested_at: T0 + i })));
  assert.equal(await countRows(ch, 'events', p), 2);
  await insertRows(ch, TABLES.predictions, [prediction(p, 'e1', T0, 0.1), prediction(p, 'e1', T0, 0.1, { role: 'challenger', model_version: 2 }), prediction(p, 'e1', T0, 0.1)]);
  assert.equal(await countRows(ch, 'predictions', p), 2);
  assert.equal(await countRows(ch, 'labels', p), 0);
  assert.equal(await countRows(ch, 'features', 'no-such-pipeline'), 0);
});

test('loadLabelledPredictions joins one role with labels inside [from, to)', async () => {
  const p = 'perf';
  await insertRows(ch, TABLES.predictions, [
    prediction(p, 'a', T0, 0.9), prediction(p, 'b', T0 + 1, 0.2), prediction(p, 'c', T0 + 2, 0.7), prediction(p, 'd', T0 + 3, 0.4),
    prediction(p, 'a', T0, 0.3, { role: 'challenger', model_version: 2 }),
  ]);
  await insertRows(ch, TABLES.predictions, [prediction(p, 'b', T0 + 1, 0.2)], { dedupToken: 'retry' }); // duplicate
  await insertRows(ch, TABLES.labels, [label(p, 'a', 1, T0 + 50), label(p, 'b', 0, T0 + 50), label(p, 'd', 0, T0 + 50)]);
  const champion = await loadLabelledPredictions(ch, { pipeline: p, from: T0, to: T0 + 3 });
  assert.deepEqual(champion, [{ event_id: 'a', event_time: T0, score: 0.9, label: 1 }, { event_id: 'b', event_time: T0 + 1, score: 0.2, label: 0 }]);
  const all = await loadLabelledPredictions(ch, { pipeline: p, from: T0, to: T0 + 4 });
  assert.deepEqual(all.map((r) => r.event_id), ['a', 'b', 'd']);
  const challenger = await loadLabelledPredictions(ch, { pipeline: p, from: T0, to: T0 + 4, role: 'challenger' });
  assert.deepEqual(challenger, [{ event_id: 'a', event_time: T0, score: 0.3, label: 1 }]);
});

test('BatchedWriter flushes at maxRows, on flush() and on close(); errors reject flush()', async () => {
  const p = 'batched';
  const writer = new BatchedWriter(ch, { maxRows: 3, flushIntervalMs: 60_000 });
  writer.add(TABLES.labels, [label(p, 'a', 1, T0), label(p, 'b', 1, T0), label(p, 'c', 0, T0)]);
  writer.add(TABLES.labels, label(p, 'd', 0, T0));
  assert.equal(writer.pending, 1);
  await writer.flush();
  assert.equal(await countRows(ch, 'labels', p), 4);
  writer.add(TABLES.labels, [{ pipeline: p, event_id: 'bad', label: 1 }]);
  await assert.rejects(writer.flush(), /insertRows\(labels\): row 0 field label_time/);
  assert.equal(writer.pending, 0, 'a batch no retry can write is dropped, not retried forever');
  writer.add(TABLES.labels, label(p, 'e', 1, T0));
  await writer.close();
  assert.equal(await countRows(ch, 'labels', p), 5);
  assert.throws(() => writer.add(TABLES.labels, label(p, 'f', 1, T0)), /closed/);

  const timed = new BatchedWriter(ch, { maxRows: 100, flushIntervalMs: 20 });
  timed.add(TABLES.labels, label(p, 'g', 1, T0));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await countRows(ch, 'labels', p), 6);
  await timed.close();
});

test('insertRows fails fast on a missing table and is a no-op for no rows', async () => {
  await insertRows(ch, 'no_such_table', []);
  await assert.rejects(insertRows(ch, 'no_such_table', [{ a: 1 }], { backoffMs: 1 }), /insertRows\(no_such_table\): 1 rows not written: .*no_such_table/s);
});

test('one data directory per process; clients of it are reference-counted', async () => {
  const other = mkdtempSync(join(tmpdir(), 'streamloop-ch-other-'));
  try {
    await assert.rejects(createClickHouse({ dataDir: other, database }), (e: Error) => e.message.includes(dir) && e.message.includes(other) && /one data directory per process/.test(e.message));
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
  const second = await createClickHouse({ dataDir: dir, database: 'sl_other' });
  const [db] = await queryRows<{ d: string }>(second, 'SELECT currentDatabase() AS d');
  assert.equal(db.d, 'sl_other');
  await closeClickHouse(second);
  // The first client still works, in its own database.
  const [again] = await queryRows<{ d: string }>(ch, 'SELECT currentDatabase() AS d');
  assert.equal(again.d, database);
  await assert.rejects(createClickHouse({}), /set url \(CLICKHOUSE_URL\).*or dataDir/);
  await assert.rejects(createClickHouse({ dataDir: dir, database: 'bad-name' }), /database "bad-name" is not a valid ClickHouse identifier/);
});
