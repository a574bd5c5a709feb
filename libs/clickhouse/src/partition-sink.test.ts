import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClickHouseClient } from '@clickhouse/client';
import { insertRows } from './insert';
import { migrate } from './migrate';
import { PartitionSink, type SourcedRow } from './partition-sink';
import { TABLE_DEFS, TABLES, type LabelRow } from './schema';
import { count, openTestClickHouse, type TestClickHouse } from './test-support';

let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('psink');
  await migrate(ch.client, { database: ch.database });
  // Background merges of the ReplacingMergeTree would collapse duplicates and hide them from count(): no merges here.
  await ch.client.command({ query: 'ALTER TABLE labels MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1' });
});
after(async () => {
  await ch?.close();
});

const DAY = 86_400_000;
const D1 = Date.UTC(2024, 4, 1, 12);

/** Labels for offsets from..to of a topic; event ids are unique per pipeline and offset. */
function labels(pipeline: string, from: number, to: number, time: (offset: number) => number = () => D1): SourcedRow<LabelRow>[] {
  return Array.from({ length: to - from + 1 }, (_, i) => {
    const offset = from + i;
    return { offset, row: { pipeline, event_id: `${pipeline}-${offset}`, label: offset % 2, label_time: time(offset) } };
  });
}

/** count() sees every stored copy (no FINAL); uniqExact(event_id) the logical rows. */
async function counts(pipeline: string): Promise<{ rows: number; distinct: number }> {
  const p = { p: pipeline };
  return {
    rows: await count(ch.client, 'SELECT count() AS n FROM labels WHERE pipeline = {p:String}', p),
    distinct: await count(ch.client, 'SELECT uniqExact(event_id) AS n FROM labels WHERE pipeline = {p:String}', p),
  };
}

type Fault = 'fail-before-insert' | 'fail-after-insert';

/**
 * The test client with a scripted fault on the next insert into `labels`: refused without writing (the process
 * died before its insert landed), or written and then reported as failed (it died before it heard back).
 */
function faultyClient(): { client: ClickHouseClient; failNextDataInsert(fault: Fault | undefined): void } {
  let next: Fault | undefined;
  const client = new Proxy(ch.client, {
    get(target, prop, receiver) {
      if (prop === 'insert') {
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          const fault = String(params.table).includes('labels') ? next : undefined;
          if (fault) next = undefined;
          if (fault === 'fail-before-insert') throw new Error('injected: died before the insert');
          const result = await target.insert(params);
          if (fault === 'fail-after-insert') throw new Error('injected: died after the insert');
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client, failNextDataInsert: (fault) => void (next = fault) };
}

const newSink = (client: ClickHouseClient = ch.client) => new PartitionSink<LabelRow>(client, { table: TABLES.labels, backoffMs: 1, attempts: 1 });

test('every sink table deduplicates a repeated token, also for rows across two days', async () => {
  const rs = await ch.client.query({ query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase()', format: 'JSONEachRow' });
  const engines = new Map(((await rs.json()) as Array<{ name: string; engine_full: string }>).map((t) => [t.name, t.engine_full]));
  for (const def of TABLE_DEFS) assert.match(engines.get(def.name) ?? '', /non_replicated_deduplication_window = [1-9]/, def.name);
  const twoDays = labels('token-check', 0, 9, (o) => D1 + (o % 2) * DAY).map((r) => r.row!);
  await insertRows(ch.client, TABLES.labels, twoDays, { dedupToken: 'labels:token-check-0-0-9' });
  await insertRows(ch.client, TABLES.labels, twoDays, { dedupToken: 'labels:token-check-0-0-9' });
  assert.deepEqual(await counts('token-check'), { rows: 10, distinct: 10 });
});

test("today's token (first and last offset of the consumed batch) duplicates rows when a redelivery ends elsewhere", async () => {
  const first = labels('naive', 100, 149).map((r) => r.row!);
  const redelivered = labels('naive', 100, 179).map((r) => r.row!);
  await insertRows(ch.client, TABLES.labels, first, { dedupToken: 'labels:t-0-100-149' });
  await insertRows(ch.client, TABLES.labels, redelivered, { dedupToken: 'labels:t-0-100-179' });
  assert.deepEqual(await counts('naive'), { rows: 130, distinct: 80 }, 'the problem this sink solves');
});

test('a redelivery of the same range after a restart adds nothing (the range is read back)', async () => {
  const source = { topic: 'same.range', partition: 0 };
  const batch = labels('same', 100, 149);
  assert.deepEqual(await newSink().write(source, batch), { commitOffset: 150n, inserted: 50, replayed: 0, skipped: 0, held: 0 });
  // Killed before the commit: a new process gets the same offsets.
  assert.deepEqual(await newSink().write(source, batch), { commitOffset: 150n, inserted: 0, replayed: 50, skipped: 0, held: 0 });
  assert.deepEqual(await counts('same'), { rows: 50, distinct: 50 });
});

test('a longer redelivery re-sends exactly the remembered range and writes the rest as a new one', async () => {
  const source = { topic: 'longer', partition: 2 };
  await newSink().write(source, labels('longer', 100, 149));
  const second = await newSink().write(source, labels('longer', 100, 229));
  assert.deepEqual(second, { commitOffset: 230n, inserted: 80, replayed: 50, skipped: 0, held: 0 });
  assert.deepEqual(await counts('longer'), { rows: 130, distinct: 130 });
  // Killed again before committing 230: the next owner starts at 100 once more, with yet another end.
  const third = await newSink().write(source, labels('longer', 100, 260));
  assert.deepEqual(third, { commitOffset: 261n, inserted: 31, replayed: 80, skipped: 50, held: 0 });
  assert.deepEqual(await counts('longer'), { rows: 161, distinct: 161 });
});

test('a shorter redelivery is held (commit offset stays at the range start) until a batch reaches the range end', async () => {
  const source = { topic: 'shorter', partition: 0 };
  await newSink().write(source, labels('shorter', 100, 149));
  const sink = newSink();
  assert.deepEqual(await sink.write(source, labels('shorter', 100, 119)), { commitOffset: 100n, inserted: 0, replayed: 0, skipped: 0, held: 20 });
  assert.deepEqual(await sink.write(source, labels('shorter', 120, 139)), { commitOffset: 100n, inserted: 0, replayed: 0, skipped: 0, held: 40 });
  assert.deepEqual(await sink.write(source, labels('shorter', 140, 179)), { commitOffset: 180n, inserted: 30, replayed: 50, skipped: 0, held: 0 });
  assert.deepEqual(await counts('shorter'), { rows: 80, distinct: 80 });
});

test('a shorter redelivery of a range that was never written writes it once', async () => {
  const source = { topic: 'shorter.unwritten', partition: 0 };
  const faulty = faultyClient();
  faulty.failNextDataInsert('fail-before-insert');
  await assert.rejects(newSink(faulty.client).write(source, labels('unwritten', 100, 149)), /died before the insert/);
  assert.deepEqual(await counts('unwritten'), { rows: 0, distinct: 0 });
  const sink = newSink();
  assert.equal((await sink.write(source, labels('unwritten', 100, 129))).held, 30);
  assert.deepEqual(await counts('unwritten'), { rows: 0, distinct: 0 }, 'held, not written');
  await sink.write(source, labels('unwritten', 130, 199));
  assert.deepEqual(await counts('unwritten'), { rows: 100, distinct: 100 });
});

test('an insert that landed but was reported failed is retried by the same instance without duplicates', async () => {
  const source = { topic: 'landed', partition: 1 };
  const faulty = faultyClient();
  const sink = newSink(faulty.client);
  faulty.failNextDataInsert('fail-after-insert');
  await assert.rejects(sink.write(source, labels('landed', 0, 49)), /died after the insert/);
  await sink.write(source, labels('landed', 0, 49));
  assert.deepEqual(await counts('landed'), { rows: 50, distinct: 50 });
  // A replay that fails is retried with the whole range, even when the retried batch is only its tail.
  await sink.write(source, labels('landed', 50, 99));
  const restarted = newSink(faulty.client);
  assert.equal((await restarted.write(source, labels('landed', 50, 69))).held, 20);
  faulty.failNextDataInsert('fail-before-insert');
  await assert.rejects(restarted.write(source, labels('landed', 70, 120)), /died before the insert/);
  await restarted.write(source, labels('landed', 70, 120));
  assert.deepEqual(await counts('landed'), { rows: 121, distinct: 121 });
});

test('rows across several days (one block per day partition) are deduplicated per block', async () => {
  const source = { topic: 'days', partition: 0 };
  const time = (o: number) => D1 + Math.floor(o / 25) * DAY; // offsets 0..59 span three days
  await newSink().write(source, labels('days', 0, 59, time));
  await newSink().write(source, labels('days', 0, 99, time));
  assert.deepEqual(await counts('days'), { rows: 100, distinct: 100 });
  const faulty = faultyClient();
  faulty.failNextDataInsert('fail-before-insert');
  await assert.rejects(newSink(faulty.client).write(source, labels('days', 100, 180, time)));
  const sink = newSink();
  await sink.write(source, labels('days', 100, 130, time)); // held: ends before 180
  await sink.write(source, labels('days', 131, 210, time));
  assert.deepEqual(await counts('days'), { rows: 211, distinct: 211 });
});

test('records below the remembered range are skipped; records without a row still count as consumed', async () => {
  const source = { topic: 'skip', partition: 0 };
  const sink = newSink();
  await sink.write(source, labels('skip', 0, 49));
  await sink.write(source, [...labels('skip', 50, 98), { offset: 99 }]);
  const after = await newSink().write(source, labels('skip', 0, 120).filter((r) => r.offset !== 99));
  assert.deepEqual(after, { commitOffset: 121n, inserted: 21, replayed: 49, skipped: 50, held: 0 });
  assert.deepEqual(await counts('skip'), { rows: 120, distinct: 120 });
});

test('forget() re-reads the range another owner recorded while the partition was away', async () => {
  const source = { topic: 'moved', partition: 4 };
  const first = newSink();
  await first.write(source, labels('moved', 0, 49));
  // The partition moves to another instance, which writes 50..99 and dies before committing; it comes back.
  await newSink().write(source, labels('moved', 50, 99));
  first.forget(source);
  await first.write(source, labels('moved', 50, 130));
  assert.deepEqual(await counts('moved'), { rows: 131, distinct: 131 });
});

test('random batch boundaries and crashes at every step: no missing and no duplicate row', async () => {
  const source = { topic: 'random', partition: 0 };
  const total = 3000;
  // A few records yield no row (an unreadable record is skipped), and the rows span several days.
  const log: SourcedRow<LabelRow>[] = labels('random', 0, total - 1, (o) => D1 + Math.floor(o / 700) * DAY).map((r) => (Number(r.offset) % 37 === 5 ? { offset: r.offset } : r));
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const faulty = faultyClient();
  let sink = newSink(faulty.client);
  let committed = 0;
  let position = 0;
  let crashes = 0;
  let holds = 0;
  let replays = 0;
  const crash = () => {
    crashes += 1;
    sink = newSink(faulty.client);
    position = committed;
  };
  while (committed < total) {
    const batch = log.slice(position, position + 1 + random(120));
    if (batch.length === 0) {
      position = committed;
      continue;
    }
    const fault = random(10);
    if (fault === 0) faulty.failNextDataInsert('fail-before-insert');
    if (fault === 1) faulty.failNextDataInsert('fail-after-insert');
    let commitOffset: bigint | undefined;
    try {
      const result = await sink.write(source, batch);
      commitOffset = result.commitOffset;
      if (result.held > 0) holds += 1;
      if (result.replayed > 0) replays += 1;
    } catch {
      crash();
      continue;
    }
    faulty.failNextDataInsert(undefined); // a fault not consumed by an insert expires
    if (random(5) === 0) {
      crash(); // died after the write, before the commit
      continue;
    }
    if (commitOffset !== undefined) committed = Math.max(committed, Number(commitOffset));
    position += batch.length;
  }
  const withRows = log.filter((r) => r.row).length;
  assert.deepEqual(await counts('random'), { rows: withRows, distinct: withRows });
  assert.ok(crashes >= 10 && holds >= 3 && replays >= 10, `every path taken: crashes ${crashes}, holds ${holds}, replays ${replays}`);
});

test('refuses a MergeTree table that does not deduplicate retried inserts', async () => {
  await ch.client.command({ query: 'CREATE TABLE no_window (id UInt64) ENGINE = MergeTree ORDER BY id' });
  const sink = new PartitionSink<{ id: number }>(ch.client, { table: 'no_window' });
  await assert.rejects(sink.write({ topic: 't', partition: 0 }, [{ offset: 0, row: { id: 1 } }]), /non_replicated_deduplication_window/);
});

test('rejects offsets that do not increase and rows that do not fit, writing nothing', async () => {
  const sink = newSink();
  await assert.rejects(sink.write({ topic: 'bad', partition: 0 }, [...labels('bad', 5, 6), ...labels('bad', 6, 6)]), /offsets must increase/);
  await assert.rejects(sink.write({ topic: 'bad', partition: 0 }, [{ offset: 1, row: { pipeline: 'bad', event_id: 'x', label: 'yes', label_time: D1 } as unknown as LabelRow }]), /label/);
  assert.deepEqual(await counts('bad'), { rows: 0, distinct: 0 });
});
