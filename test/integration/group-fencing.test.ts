// Group fencing of transactions (KIP-447) on the real broker, as libs/kafka/src/group-fencing.ts adds it to kafkajs:
// a transactional offset commit carries the member's generation, and the group coordinator refuses it from a member
// that is not in the group's current generation; an offset fetch for a new owner waits while an open transaction
// holds the partition's offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, ensureTopics, fetchStableOffsets, generationOf, KAFKA_DEFAULTS, withGroupMetadata, type Kafka } from '@streamloop/kafka';
import { brokersOrSkip, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';

/** A consumer in `groupId` on `topic`, and the member id and generation it joined with. */
async function joinGroup(kafka: Kafka, groupId: string, topic: string) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const joined = new Promise<{ memberId: string; generationId: number }>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => resolve({ memberId: payload.memberId, generationId: generationOf(payload.memberId)! }));
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
  return { consumer, member: await joined };
}

test('a transaction\'s offsets from a member of an older generation are refused; an open one holds the stable offset', { skip, timeout: 120_000 }, async () => {
  const kafka = createKafka({ brokers: brokers!, clientId: 'group-fencing-test' });
  const topic = uniqueName('fencing');
  const groupId = `${topic}-group`;
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const { consumer, member } = await joinGroup(kafka, groupId, topic);
  assert.equal(typeof member.generationId, 'number', 'the generation of the member is known once it joined');
  const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1, retry: { ...KAFKA_DEFAULTS.transactionRetry } });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = (offset: number) => [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }];
  try {
    // The member's own generation: accepted.
    let txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'a' }] });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: withGroupMetadata(offsets(1), member) });
    await txn.commit();
    assert.equal((await fetchStableOffsets(admin, groupId, topic, 5_000)).get(0), 1n);

    // A generation the group is no longer in (a zombie's): refused, and its transaction aborts.
    txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'b' }] });
    await assert.rejects(
      txn.sendOffsets({ consumerGroupId: groupId, topics: withGroupMetadata(offsets(2), { ...member, generationId: member.generationId - 1 }) }),
      (error: { type?: string }) => error.type === 'ILLEGAL_GENERATION',
    );
    await txn.abort();
    // A member id the group does not know: refused too.
    txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'c' }] }); // (a send first: kafkajs retries its CONCURRENT_TRANSACTIONS, not AddOffsetsToTxn's)
    await assert.rejects(
      txn.sendOffsets({ consumerGroupId: groupId, topics: withGroupMetadata(offsets(2), { ...member, memberId: 'gone-member' }) }),
      (error: { type?: string }) => error.type === 'UNKNOWN_MEMBER_ID',
    );
    await txn.abort();
    assert.equal((await fetchStableOffsets(admin, groupId, topic, 5_000)).get(0), 1n, 'refused offsets were never committed');

    // An open transaction that sent offsets: a stable fetch waits for it, an ordinary one does not.
    txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'd' }] });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: withGroupMetadata(offsets(3), member) });
    await assert.rejects(fetchStableOffsets(admin, groupId, topic, 300), (error: { type?: string }) => error.type === 'UNSTABLE_OFFSET_COMMIT');
    const [plain] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(plain.partitions[0].offset, '1', 'the ordinary fetch answers at once with the last committed offset');
    const waiting = fetchStableOffsets(admin, groupId, topic, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    await txn.commit();
    assert.equal((await waiting).get(0), 3n, 'the stable fetch answers with the offset once the transaction commits');
  } finally {
    await admin.disconnect();
    await producer.disconnect();
    await consumer.disconnect();
  }
});
