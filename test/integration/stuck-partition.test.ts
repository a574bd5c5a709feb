// One stuck partition does not stop the others (issue 9, item 3), on the real broker: a batch of partition 0 fails
// again and again (an outage only that partition sees, e.g. its output's leader gone) while records keep arriving on
// partitions 1 and 2. Those must come out within seconds, not when partition 0 recovers; after it recovers, its
// records come out too, once each. For both runners: the exactly-once processor and the at-least-once consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, ensureTopics, readTopicToEnd, runBatchConsumer, runTransactionalProcessor, type Kafka } from '@streamloop/kafka';
import { brokersOrSkip, eventually, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
/** How long partition 0 fails; the others must be served well within it. */
const STUCK_MS = 15_000;

async function produce(kafka: Kafka, topic: string, partition: number, ids: string[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: ids.map((id) => ({ key: id, value: id, partition })) });
  await producer.disconnect();
}

async function committedValues(kafka: Kafka, topic: string): Promise<string[]> {
  const values: string[] = [];
  await readTopicToEnd(kafka, topic, (r) => void values.push(r.value!.toString()));
  return values;
}

test('exactly-once processor: a partition failing for 15 s does not hold up the other partitions', { skip, timeout: 120_000 }, async () => {
  const kafka = createKafka({ brokers: brokers!, clientId: 'stuck-partition-eos' });
  const name = uniqueName('stuck_eos');
  const [input, output] = [`${name}.in`, `${name}.out`];
  await ensureTopics(kafka, [{ topic: input, partitions: 3 }, { topic: output, partitions: 3 }]);
  let stuckUntil = Number.POSITIVE_INFINITY;
  let failures = 0;
  const processor = await runTransactionalProcessor({
    kafka, groupId: `${name}-group`, topic: input, transactionalIdPrefix: `${name}-txn`, partitionsConsumedConcurrently: 3,
    createTask: async (partition) => ({
      async process(records) {
        if (partition === 0 && Date.now() < stuckUntil) {
          failures++;
          throw new Error('partition 0 cannot write (simulated outage)');
        }
        return [{ topic: output, messages: records.map((r) => ({ key: r.key, value: r.value, partition })) }];
      },
    }),
  });
  try {
    await produce(kafka, input, 0, ['p0-a', 'p0-b']);
    await eventually(() => (failures > 0 ? true : undefined), 'partition 0 failing', 30_000);
    stuckUntil = Date.now() + STUCK_MS;
    const sentAt = Date.now();
    await produce(kafka, input, 1, ['p1-a', 'p1-b']);
    await produce(kafka, input, 2, ['p2-a']);
    const others = await eventually(async () => {
      const values = await committedValues(kafka, output);
      return values.filter((v) => !v.startsWith('p0')).length === 3 ? values : undefined;
    }, 'partitions 1 and 2 served', STUCK_MS);
    const waitedMs = Date.now() - sentAt;
    assert.ok(Date.now() < stuckUntil, `partitions 1 and 2 came out only after partition 0 recovered (${waitedMs} ms)`);
    assert.equal(others.filter((v) => v.startsWith('p0')).length, 0, 'partition 0 wrote nothing while failing');
    const all = await eventually(async () => {
      const values = await committedValues(kafka, output);
      return values.length >= 5 ? values : undefined;
    }, 'partition 0 served after it recovered', STUCK_MS + 30_000);
    assert.deepEqual([...all].sort(), ['p0-a', 'p0-b', 'p1-a', 'p1-b', 'p2-a'], 'every record once');
  } finally {
    await processor.stop();
  }
});

test('at-least-once consumer: a partition failing for 15 s does not hold up the other partitions', { skip, timeout: 120_000 }, async () => {
  const kafka = createKafka({ brokers: brokers!, clientId: 'stuck-partition-alo' });
  const name = uniqueName('stuck_alo');
  await ensureTopics(kafka, [{ topic: name, partitions: 3 }]);
  let stuckUntil = Number.POSITIVE_INFINITY;
  let failures = 0;
  const handled: Array<{ value: string; at: number }> = [];
  const consumer = await runBatchConsumer({
    kafka, groupId: `${name}-group`, topics: [name], partitionsConsumedConcurrently: 3,
    async handle(records, batch) {
      if (batch.partition === 0 && Date.now() < stuckUntil) {
        failures++;
        throw new Error('partition 0 cannot be stored (simulated outage)');
      }
      for (const r of records) handled.push({ value: r.value!.toString(), at: Date.now() });
      return undefined;
    },
  });
  try {
    await produce(kafka, name, 0, ['p0-a']);
    await eventually(() => (failures > 0 ? true : undefined), 'partition 0 failing', 30_000);
    stuckUntil = Date.now() + STUCK_MS;
    await produce(kafka, name, 1, ['p1-a']);
    await produce(kafka, name, 2, ['p2-a']);
    await eventually(() => (handled.length >= 2 ? true : undefined), 'partitions 1 and 2 handled', STUCK_MS);
    assert.ok(Date.now() < stuckUntil, 'partitions 1 and 2 were handled only after partition 0 recovered');
    await eventually(() => (handled.some((h) => h.value === 'p0-a') ? true : undefined), 'partition 0 handled after it recovered', STUCK_MS + 30_000);
    assert.deepEqual(handled.map((h) => h.value).sort(), ['p0-a', 'p1-a', 'p2-a']);
  } finally {
    await consumer.stop();
  }
});
