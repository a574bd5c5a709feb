import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { groupMessagesPerPartition, verifyLinearGrouping } from './linear-grouping';

const require = createRequire(import.meta.url);

test('groups messages by partition in send order, as kafkajs does, in one pass', () => {
  const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, n: i }));
  const args = { topic: 't', partitionMetadata: [{}, {}, {}], messages, partitioner: ({ message }: { message: { n: number } }) => message.n % 3 };
  assert.deepEqual(groupMessagesPerPartition(args), { 0: [messages[0], messages[3], messages[6], messages[9]], 1: [messages[1], messages[4], messages[7]], 2: [messages[2], messages[5], messages[8]] });
  assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), {}, 'no metadata: nothing grouped, as kafkajs');
});

test('kafkajs\' producer uses it once @streamloop/kafka is loaded first', () => {
  verifyLinearGrouping();
  assert.equal(require('kafkajs/src/producer/groupMessagesPerPartition'), groupMessagesPerPartition);
});
