// The exactly-once processor commits the batches of one fetch, one per partition, in one transaction (libs/kafka
// runTransactionalProcessor). Here each of three partitions' batches writes two 400 kB records to the same output
// partition: 2.4 MB for one partition in one round, which must go out in sends that each fit the broker's default
// 1 MB record batch, and commit once, with every input partition's offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, ensureTopics, readTopicToEnd, runTransactionalProcessor } from '@streamloop/kafka';
import { brokersOrSkip, eventually, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const RECORD_BYTES = 400_000;

test('one round of three partitions writing 2.4 MB to one output partition commits in sends that fit, every record once', { skip, timeout: 120_000 }, async () => {
  const kafka = createKafka({ brokers: brokers!, clientId: 'transactional-round' });
  const name = uniqueName('round');
  const [input, output] = [`${name}.in`, `${name}.out`];
  await ensureTopics(kafka, [{ topic: input, partitions: 3 }, { topic: output, partitions: 3 }]);
  // All three inputs are on the topic before the processor starts, so its first fetch holds the three batches.
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: input, acks: -1, messages: [0, 1, 2].map((partition) => ({ key: `in-${partition}`, value: `in-${partition}`, partition })) });
  await producer.disconnect();
  const roundSizes: number[] = [];
  let pending: number[] = [];
  const processor = await runTransactionalProcessor({
    kafka, groupId: `${name}-group`, topic: input, transactionalIdPrefix: `${name}-txn`, partitionsConsumedConcurrently: 3,
    createTask: async (partition) => ({
      async process(records) {
        pending.push(partition);
        return [{
          topic: output,
          messages: records.flatMap((r) => [1, 2].map((i) => ({ key: 'same-key', value: Buffer.alloc(RECORD_BYTES, `${r.value!.toString()}-${i}`), partition: 0 }))),
        }];
      },
    }),
    onCommitted: () => {
      if (pending.length > 0) roundSizes.push(pending.length);
      pending = [];
    },
    onBatchError: (error) => assert.fail(`a round failed: ${(error as Error).message}`),
  });
  try {
    const values = await eventually(async () => {
      const seen: string[] = [];
      await readTopicToEnd(kafka, output, (r) => void seen.push(r.value!.subarray(0, 6).toString()));
      return seen.length >= 6 ? seen : undefined;
    }, 'six outputs committed', 60_000);
    assert.deepEqual(values.sort(), ['in-0-1', 'in-0-2', 'in-1-1', 'in-1-2', 'in-2-1', 'in-2-2']);
    assert.equal(roundSizes[0], 3, `the three partitions' batches went in one round (rounds: ${roundSizes.join(', ')})`);
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: `${name}-group`, topics: [input] });
    await admin.disconnect();
    assert.deepEqual(offsets.partitions.map((p) => p.offset).sort(), ['1', '1', '1'], 'every input partition\'s offset committed');
  } finally {
    await processor.stop();
  }
});
