import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, InsertError } from './insert';
import { migrate } from './migrate';
import { countRows } from './queries';
import { TABLES, type FeatureRow } from './schema';
import { RowValidationError } from './serialize';
import { count, eventually, openTestClickHouse, type TestClickHouse } from './test-support';
import { BatchedWriter } from './writer';

let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('writer');
  await migrate(ch.client, { database: ch.database });
});
after(async () => {
  await ch?.close();
});

const T0 = Date.UTC(2024, 4, 1, 12);
function featureRows(pipeline: string, from: number, n: number): FeatureRow[] {
  return Array.from({ length: n }, (_, i) => ({
    pipeline, event_id: `e${from + i}`, entity_key: `card${(from + i) % 7}`, event_time: T0 + (from + i) * 1000,
    feature_spec_version: 'v1', values: { amount: from + i, hour: 12 }, computed_at: T0 + (from + i) * 1000 + 5,
    source_partition: 0, source_offset: from + i,
  }));
}
const rawCount = (pipeline: string) => count(ch.client, 'SELECT count() AS n FROM features WHERE pipeline = {p:String}', { p: pipeline });

test('flushes at maxRows, and after maxDelayMs', async () => {
  const flushes: number[] = [];
  const writer = new BatchedWriter<FeatureRow>(ch.client, { table: TABLES.features, maxRows: 10, maxDelayMs: 150, onFlush: (f) => flushes.push(f.rows) });
  writer.add(featureRows('batching', 0, 6));
  const started = Date.now();
  writer.add(featureRows('batching', 6, 6)); // 12 >= 10: one insert of 12 starts now
  await eventually(async () => (await rawCount('batching')) === 12, 'the size-triggered flush');
  writer.add(featureRows('batching', 12, 3));
  assert.equal(writer.pending, 3);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await rawCount('batching'), 12, 'a small batch waits for maxDelayMs');
  await eventually(async () => (await rawCount('batching')) === 15, 'the time-triggered flush');
  assert.ok(Date.now() - started >= 150, 'not before maxDelayMs');
  assert.equal(writer.pending, 0);
  writer.add(featureRows('batching', 15, 2));
  await writer.close();
  assert.equal(await rawCount('batching'), 17, 'close() flushes');
  assert.deepEqual(flushes, [12, 3, 2]);
  assert.throws(() => writer.add(featureRows('batching', 17, 1)), /closed/);
});

test('a batch replayed with the same source range is stored once (insert_deduplication_token)', async () => {
  const source = { topic: 'fraud.features', partition: 3, firstOffset: 100, lastOffset: 149 };
  const rows = featureRows('replay', 0, 50);
  for (let attempt = 0; attempt < 2; attempt++) {
    // A new writer each time, as after a crash: the consumer re-reads offsets 100..149.
    const writer = new BatchedWriter<FeatureRow>(ch.client, { table: TABLES.features, maxRows: 1000 });
    writer.add(rows.slice(0, 20), { ...source, lastOffset: 119 });
    writer.add(rows.slice(20), { ...source, firstOffset: 120 });
    await writer.close();
  }
  assert.equal(await rawCount('replay'), 50, 'the second insert was dropped by its token: no FINAL needed');
  assert.equal(await countRows(ch.client, 'features', 'replay'), 50);

  // Same rows, batched differently (different token): ReplacingMergeTree collapses them for FINAL readers.
  const writer = new BatchedWriter<FeatureRow>(ch.client, { table: TABLES.features });
  writer.add(rows.slice(0, 10), { ...source, lastOffset: 109 });
  await writer.flush();
  assert.equal(await rawCount('replay'), 60, 'a differently grouped replay is a new block');
  assert.equal(await count(ch.client, 'SELECT count() AS n FROM features FINAL WHERE pipeline = {p:String}', { p: 'replay' }), 50, 'FINAL collapses it');
  assert.equal(await countRows(ch.client, 'features', 'replay'), 50, 'countRows counts logical rows');
});

test('insertRows with the same token twice keeps one copy; different tokens keep both', async () => {
  const rows = featureRows('tokens', 0, 5);
  await insertRows(ch.client, TABLES.features, rows, { dedupToken: 'features:t-0-0-4' });
  await insertRows(ch.client, TABLES.features, rows, { dedupToken: 'features:t-0-0-4' });
  assert.equal(await rawCount('tokens'), 5);
  await insertRows(ch.client, TABLES.features, featureRows('tokens', 5, 5), { dedupToken: 'features:t-0-5-9' });
  assert.equal(await rawCount('tokens'), 10);
});

test('a failed flush rejects, keeps its rows and token, and the next flush writes them', async () => {
  await ch.client.command({ query: 'DROP TABLE IF EXISTS later_table' });
  const errors: Error[] = [];
  const writer = new BatchedWriter<{ id: number }>(ch.client, { table: 'later_table', maxDelayMs: 50, attempts: 2, backoffMs: 10, onError: (e) => errors.push(e) });
  writer.add([{ id: 1 }, { id: 2 }], { topic: 'x', partition: 0, firstOffset: 0, lastOffset: 1 });
  await eventually(async () => errors.length > 0, 'the background failure');
  assert.equal(errors.length, 1, 'background failure reported to onError');
  assert.ok(errors[0] instanceof InsertError);
  assert.match(errors[0].message, /later_table: 2 rows not written/);
  assert.equal(writer.pending, 2, 'rows kept');
  await assert.rejects(writer.flush(), InsertError);
  assert.equal(writer.pending, 2);

  await ch.client.command({ query: 'CREATE TABLE later_table (id UInt32) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100' });
  await writer.close();
  assert.equal(writer.pending, 0);
  assert.equal(await count(ch.client, 'SELECT count() AS n FROM later_table'), 2);
});

test('add() refuses rows that do not fit the table, naming row and field, and accepts none of them', () => {
  const writer = new BatchedWriter<FeatureRow>(ch.client, { table: TABLES.features });
  const rows = featureRows('bad', 0, 3);
  (rows[2] as unknown as Record<string, unknown>).event_time = 1_714_564_800_000_000; // microseconds, not ms
  assert.throws(() => writer.add(rows), (e: Error) => {
    assert.ok(e instanceof RowValidationError);
    assert.match(e.message, /features row 2 field event_time .*expected epoch milliseconds.*got number 1714564800000000/);
    return true;
  });
  assert.throws(() => writer.add([{ ...featureRows('bad', 0, 1)[0], extra: 1 } as FeatureRow]), /field "extra" is not a column of features/);
  assert.throws(() => writer.add([{ ...featureRows('bad', 0, 1)[0], values: { a: 'x' } } as unknown as FeatureRow]), /field values .*expected a number .* for key "a"/);
  assert.equal(writer.pending, 0);
});

test('add() refuses more than maxPendingRows while inserts fail', async () => {
  await ch.client.command({ query: 'DROP TABLE IF EXISTS never_table' });
  const writer = new BatchedWriter<{ id: number }>(ch.client, { table: 'never_table', maxRows: 2, maxPendingRows: 4, attempts: 1, onError: () => undefined });
  writer.add([{ id: 1 }, { id: 2 }]);
  await eventually(async () => writer.lastError !== undefined, 'the first failure');
  writer.add([{ id: 3 }, { id: 4 }]);
  assert.throws(() => writer.add([{ id: 5 }]), /4 rows pending, 1 more would exceed maxPendingRows 4; last insert error: .*never_table/);
  await assert.rejects(writer.flush());
});
