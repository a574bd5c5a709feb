import { isReplaced, replaceKafkajsModule } from './module-patch';

/**
 * kafkajs 2.2.4 groups a send's messages by partition with `{ [partition]: [...current, message] }` for each message:
 * every message copies its partition's list so far, so a send of n messages costs O(n²) time and garbage (measured in
 * bench:features' profile: the grouping and the collections of its copies). This groups them in one pass with the
 * same result — an object from partition to that partition's messages, in send order — and replaces kafkajs' module in
 * its cache before kafkajs' producer loads it (imported by aborted-filter.ts, the first import of libs/kafka).
 */
interface GroupArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  const grouped: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

const GROUPING_MODULE = 'kafkajs/src/producer/groupMessagesPerPartition';
const SEND_MODULE = 'kafkajs/src/producer/sendMessages';

replaceKafkajsModule(GROUPING_MODULE, SEND_MODULE, groupMessagesPerPartition);

/** Throws unless kafkajs' producer groups messages with the function above. */
export function verifyLinearGrouping(): void {
  if (!isReplaced(GROUPING_MODULE, groupMessagesPerPartition)) {
    throw new Error('kafkajs was loaded before @streamloop/kafka could replace its message grouping: import @streamloop/kafka before kafkajs');
  }
}
