// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { Partitioners, type PartitionMetadata } from 'kafkajs';

const defaultPartitioner = Partitioners.DefaultPartitioner();
const metadataByCount = new Map<number, PartitionMetadata[]>();

/**
 * The partition Kafka's default partitioner (murmur2 of the key, as the Java client and kafkajs both use) gives a
 * keyed record on a topic of `partitions` partitions: where the platform's producers put it, and so which partition
 * holds the state of that key.
 */
export function partitionForKey(key: string | Buffer, partitions: number): number {
  let metadata = metadataByCount.get(partitions);
  if (!metadata) {
    metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    metadataByCount.set(partitions, metadata);
  }
  return defaultPartitioner({ topic: '', partitionMetadata: metadata, message: { key, value: null } });
}
