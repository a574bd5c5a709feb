// The kafkajs clients made by createKafka look a transaction's coordinators up once, not before every request of
// every transaction (libs/kafka/src/coordinator-cache.ts), on the real broker: counted from kafkajs' own request
// instrumentation, and after a failed coordinator request they look again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, ensureTopics, forgetCoordinators, readTopicToEnd } from '@streamloop/kafka';
import { brokersOrSkip, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';

test('twenty transactions with offsets ask for their coordinators once, and again after they are forgotten', { skip, timeout: 120_000 }, async () => {
  const kafka = createKafka({ brokers: brokers!, clientId: 'coordinator-cache-test' });
  const topic = uniqueName('coord');
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 });
  const lookups: string[] = [];
  producer.on(producer.events.REQUEST, (event) => {
    if (event.payload.apiName === 'GroupCoordinator') lookups.push(event.payload.apiName);
  });
  await producer.connect();
  const transaction = async (i: number) => {
    const txn = await producer.transaction();
    try {
      await txn.send({ topic, messages: [{ key: String(i), value: `v${i}` }] });
      await txn.sendOffsets({ consumerGroupId: `${topic}-group`, topics: [{ topic, partitions: [{ partition: 0, offset: String(i + 1) }] }] });
      await txn.commit();
    } catch (error) {
      await txn.abort().catch(() => undefined);
      throw error;
    }
  };
  try {
    // On a new broker the offsets topic may still be loading (kafkajs gives up on GROUP_COORDINATOR_NOT_AVAILABLE
    // at once, where the services retry the batch): wait until one transaction with offsets goes through.
    for (let attempt = 1; ; attempt++) {
      try {
        await transaction(0);
        break;
      } catch (error) {
        if (attempt >= 30) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    lookups.length = 0;
    for (let i = 1; i < 20; i++) await transaction(i);
    // Both coordinators are known after the first transaction; without the cache kafkajs asks four times per
    // transaction (76 here).
    assert.ok(lookups.length <= 1, `coordinator lookups for 19 more transactions: ${lookups.length}, expected none (at most 1)`);
    const before = lookups.length;
    forgetCoordinators();
    await transaction(20);
    assert.ok(lookups.length >= before + 2, `after forgetCoordinators a transaction looks both coordinators up again (${lookups.length - before} lookups)`);
    let records = 0;
    await readTopicToEnd(kafka, topic, () => { records++; });
    assert.equal(records, 21, 'every committed transaction is readable (read_committed)');
  } finally {
    await producer.disconnect();
  }
});
