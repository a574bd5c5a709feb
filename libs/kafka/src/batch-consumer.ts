import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { PartitionBackoff } from './partition-backoff';
import { heartbeatIntervalFor, KAFKA_DEFAULTS } from './defaults';
import type { BatchInfo } from './transactional-processor';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: KafkaMessage['headers'];
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /** read_committed by default: outputs of transactional producers are only seen once committed. */
  readUncommitted?: boolean;
  /** Default KAFKA_DEFAULTS.sessionTimeoutMs. */
  sessionTimeoutMs?: number;
  /**
   * Processes one batch of one partition. Must dead-letter bad records itself; a throw means "retry this batch".
   * Returns the offset to commit (the next one to read) when less than the whole batch is done (a sink holding rows
   * back); by default the whole batch is committed. The consumer reads on after the batch either way.
   */
  handle: (records: ConsumedRecord[], batch: BatchInfo) => Promise<bigint | void>;
  /** Called when a batch failed and will be retried (infrastructure trouble, not bad records). */
  onBatchError?: (error: unknown, attempt: number, topic: string, partition: number) => void;
  /** Default KAFKA_DEFAULTS.maxBytesPerPartition. */
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data when there is none (default KAFKA_DEFAULTS.fetchMaxWaitMs). */
  maxWaitTimeInMs?: number;
  /** Bytes a fetch waits for, up to maxWaitTimeInMs (fetch.min.bytes; default 1: any record ends the wait). */
  minBytes?: number;
  /** Partitions handled at once (default 1); a slow partition then does not hold up the others. */
  partitionsConsumedConcurrently?: number;
}

export interface RunningConsumer {
  consumer: Consumer;
  stop(): Promise<void>;
}

/**
 * Consumes in batches per partition and commits after each handled batch. A batch whose handler throws is
 * retried with backoff, its partition paused meanwhile (PartitionBackoff); poison pills never get here as an exception, because handlers dead-letter them
 * (kafkajs would otherwise redeliver the same offset forever — DESIGN.md pitfalls).
 */
export async function runBatchConsumer(options: BatchConsumerOptions): Promise<RunningConsumer> {
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.readUncommitted ?? false,
    sessionTimeout: options.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalFor(options.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs),
    maxBytesPerPartition: options.maxBytesPerPartition ?? KAFKA_DEFAULTS.maxBytesPerPartition,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? KAFKA_DEFAULTS.fetchMaxWaitMs,
    minBytes: options.minBytes ?? 1,
  });
  await consumer.connect();
  for (const topic of options.topics) {
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
  }
  let stopping = false;
  // Partitions that have had a batch since the last (re)join, and what this member committed for each.
  const seen = new Set<string>();
  const committed = new Map<string, bigint>();
  const backoff = new PartitionBackoff(consumer);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    backoff.reset();
    seen.clear();
    committed.clear();
  });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? 1),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0) return;
      const info: BatchInfo = {
        topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, lastOffset: batch.lastOffset(), fresh: !seen.has(`${batch.topic}:${batch.partition}`),
      };
      const records: ConsumedRecord[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        timestamp: m.timestamp,
        headers: m.headers,
      }));
      let commit = BigInt(batch.lastOffset()) + 1n;
      if (!isRunning() || isStale() || stopping) return;
      try {
        commit = (await options.handle(records, info)) ?? commit;
      } catch (error) {
        // Retried after a backoff with the partition paused, so the other partitions go on meanwhile.
        const attempt = backoff.failed(batch.topic, batch.partition, batch.firstOffset() ?? batch.messages[0].offset);
        options.onBatchError?.(error, attempt, batch.topic, batch.partition);
        return;
      }
      backoff.succeeded(batch.topic, batch.partition);
      const key = `${batch.topic}:${batch.partition}`;
      seen.add(key);
      resolveOffset(batch.lastOffset());
      if (commit > (committed.get(key) ?? -1n)) {
        // A commit that fails (a rebalance under way) leaves the batch to be redelivered: handlers are idempotent.
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: commit.toString() }]).then(
          () => void committed.set(key, commit),
          () => undefined,
        );
      }
      await heartbeat().catch(() => undefined);
    },
  });
  return {
    consumer,
    async stop() {
      stopping = true;
      backoff.stop();
      await consumer.disconnect();
    },
  };
}
