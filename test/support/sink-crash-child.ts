// A ClickHouse sink in a process of its own, for test/integration/sink-crash.test.ts: consumes a topic of labels
// and writes them into embedded chDB through PartitionSink (or with today's per-batch token, to show the
// duplicates), committing offsets by hand after each write, and SIGKILLs itself right after its Nth insert
// succeeded and before that batch's commit.
//
// Environment:
//   KAFKA_BROKERS, SINK_TOPIC, SINK_GROUP        what to consume, as which consumer group
//   SINK_CHDB_DIR, SINK_DATABASE, SINK_PIPELINE  where the rows go (labels table), under which pipeline name
//   SINK_KILL_AFTER_INSERT=N                     die after the Nth batch that sent an insert (0 or unset: never)
//   SINK_END_OFFSETS={"0":"123",...}             with no kill: exit 0 once every partition is committed up to these
//   SINK_TOKENS=naive                            today's token `labels:topic-partition-first-last` per batch
//   SINK_CHUNK=N                                 write (and commit) each fetched batch in chunks of at most N records
// Prints one JSON line per batch written.
import { closeClickHouse, createClickHouse, insertRows, LABELS_SINK, migrate, PartitionSink, TABLES, type LabelRow } from '@streamloop/clickhouse';
import { createKafka } from '@streamloop/kafka';
import type { LabelRecord } from '@streamloop/contracts';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`sink-crash-child: ${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const topic = env('SINK_TOPIC');
  const pipeline = env('SINK_PIPELINE');
  const database = env('SINK_DATABASE');
  const killAfterInsert = Number(process.env.SINK_KILL_AFTER_INSERT ?? 0);
  const endOffsets = new Map(Object.entries(JSON.parse(process.env.SINK_END_OFFSETS ?? '{}') as Record<string, string>).map(([p, o]) => [Number(p), BigInt(o)]));
  const naiveTokens = process.env.SINK_TOKENS === 'naive';
  const chunkSize = Math.max(1, Number(process.env.SINK_CHUNK ?? 1_000_000));

  const clickhouse = await createClickHouse({ dataDir: env('SINK_CHDB_DIR'), database });
  await migrate(clickhouse, { database });
  // Background merges of the ReplacingMergeTree would collapse duplicates and hide them from the test's count():
  // the test's table never merges.
  await clickhouse.command({ query: 'ALTER TABLE labels MODIFY SETTING max_bytes_to_merge_at_max_space_in_pool = 1' });
  const sink = new PartitionSink<LabelRow>(clickhouse, { table: TABLES.labels });
  const kafka = createKafka({ brokers: env('KAFKA_BROKERS').split(','), clientId: `sink-crash-${process.pid}` });
  // The broker's minimum session timeout: a killed member leaves the group soon, so the next run joins quickly.
  const consumer = kafka.consumer({ groupId: env('SINK_GROUP'), sessionTimeout: 6000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
  const committed = new Map<number, bigint>();
  let insertsSent = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const allCommitted = () => endOffsets.size > 0 && [...endOffsets].every(([p, end]) => (committed.get(p) ?? -1n) >= end);

  // Partitions committed to their end by an earlier run get no batch in this one: start from the group's offsets.
  if (endOffsets.size > 0) {
    const admin = kafka.admin();
    await admin.connect();
    for (let attempt = 1; ; attempt++) {
      try {
        for (const { partitions } of await admin.fetchOffsets({ groupId: env('SINK_GROUP'), topics: [topic] })) {
          for (const p of partitions) if (Number(p.offset) >= 0) committed.set(p.partition, BigInt(p.offset));
        }
        break;
      } catch (error) {
        // The group coordinator may still be loading on a fresh broker.
        if (attempt >= 20 || !(error as { retriable?: boolean }).retriable) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await admin.disconnect();
    if (allCommitted()) finish();
  }

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // A group rebalance hands partitions around: what this instance remembered of them may be stale.
  consumer.on(consumer.events.GROUP_JOIN, () => sink.forget());
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const records = batch.messages.map((m) => {
        const value = m.value ? (JSON.parse(m.value.toString('utf8')) as LabelRecord) : undefined;
        // The monitoring sink's own mapping, so the crash test writes the rows the service writes.
        const row: LabelRow | undefined = value && LABELS_SINK.toRow(value, { pipeline, partition: batch.partition, offset: m.offset, schemaId: 0 });
        return { offset: m.offset, row };
      });
      // Each fetched batch is written in chunks of at most SINK_CHUNK records: runs with different chunk sizes
      // redeliver a killed write with other boundaries, shorter as well as longer.
      for (let from = 0; from < records.length; from += chunkSize) {
        const chunk = records.slice(from, from + chunkSize);
        const first = chunk[0].offset;
        const last = chunk[chunk.length - 1].offset;
        let commitOffset: bigint | undefined;
        let sentInsert: boolean;
        let summary: Record<string, unknown>;
        if (naiveTokens) {
          await insertRows(clickhouse, TABLES.labels, chunk.flatMap((r) => (r.row ? [r.row] : [])), { dedupToken: `labels:${batch.topic}-${batch.partition}-${first}-${last}` });
          commitOffset = BigInt(last) + 1n;
          sentInsert = true;
          summary = { inserted: chunk.length };
        } else {
          const result = await sink.write({ topic: batch.topic, partition: batch.partition }, chunk);
          commitOffset = result.commitOffset;
          sentInsert = result.inserted + result.replayed > 0;
          summary = { ...result, commitOffset: String(result.commitOffset) };
        }
        console.log(JSON.stringify({ pid: process.pid, partition: batch.partition, first, last, ...summary }));
        if (sentInsert) insertsSent += 1;
        if (killAfterInsert > 0 && insertsSent >= killAfterInsert) {
          console.log(JSON.stringify({ pid: process.pid, killed: `after insert ${insertsSent}, before committing partition ${batch.partition} at ${String(commitOffset)}` }));
          process.kill(process.pid, 'SIGKILL');
        }
        // Read on after the chunk, but commit only what the sink says is in ClickHouse (it may hold a redelivered part).
        resolveOffset(last);
        if (commitOffset !== undefined && commitOffset > (committed.get(batch.partition) ?? -1n)) {
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: commitOffset.toString() }]);
          committed.set(batch.partition, commitOffset);
        }
        await heartbeat();
      }
      if (allCommitted()) finish();
    },
  });
  await finished;
  await consumer.disconnect();
  await closeClickHouse(clickhouse);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
