import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Kafka, TopicMessages } from 'kafkajs';
import type { ConsumedRecord } from './batch-consumer';
import { heartbeatIntervalFor, KAFKA_DEFAULTS } from './defaults';
import { rdKafkaFor } from './rdkafka';
import { PartitionBackoff } from './partition-backoff';
import { SerialQueue } from './serial';

/** What a batch tells beside its records. */
export interface BatchInfo {
  topic: string;
  partition: number;
  /** The partition's high watermark when the batch was fetched: lag = highWatermark − (last offset + 1). */
  highWatermark: string;
  lastOffset: string;
  /** True for the first batch of the partition since this member last joined the group (at-least-once consumers). */
  fresh?: boolean;
}

/**
 * The work of one input partition, built after its transactional producer has fenced every earlier owner,
 * so whatever it restores (a changelog, read_committed) is final.
 */
export interface PartitionTask {
  /**
   * Turns one batch of this partition's records into output messages: results, dead letters and changelog
   * records alike. They are written in one transaction with the consumed offsets. In-memory state may be
   * changed freely: when the transaction fails, the task is thrown away and a new one is restored.
   */
  process(records: ConsumedRecord[], batch: BatchInfo): Promise<TopicMessages[]>;
  /** Called when the task is thrown away (partition revoked, transaction failed, shutdown). */
  close?(): void;
}

export interface TransactionalProcessorOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /**
   * One transactional id per input partition: `<prefix>-<partition>`. A new owner's producer fences the previous one by
   * this id before it restores anything (DESIGN.md pitfalls).
   */
  transactionalIdPrefix: string;
  /**
   * Restores and returns the task of a partition; called before its first batch after every (re)assignment or failure.
   * A long restore calls `keepAlive` as it goes, so the group does not take this member for dead meanwhile.
   */
  createTask(partition: number, keepAlive: () => void): Promise<PartitionTask>;
  /** Default KAFKA_DEFAULTS.sessionTimeoutMs. */
  sessionTimeoutMs?: number;
  /** Default KAFKA_DEFAULTS.maxBytesPerPartition. */
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data when there is none (default KAFKA_DEFAULTS.fetchMaxWaitMs). */
  maxWaitTimeInMs?: number;
  /** A batch failed and will be retried from restored state (infrastructure trouble, not bad records). */
  onBatchError?(error: unknown, attempt: number, partition: number): void;
  /** After each committed transaction (for metrics): counts are of what the transaction made visible. */
  onCommitted?(batch: BatchInfo, records: number, outputs: TopicMessages[]): void;
  /** Partitions of the input topic processed at once (each has its own producer and task; default 1). */
  partitionsConsumedConcurrently?: number;
}

export interface RunningProcessor {
  /** Partitions with a live task right now. */
  activePartitions(): number[];
  stop(): Promise<void>;
}

type RdProducer = KafkaJS.Producer;
type RdConsumer = KafkaJS.Consumer;

interface Owned {
  producer: RdProducer;
  task: PartitionTask;
  /**
   * The group's committed offset read right after this owner's fence. Every batch of the task is cut below it, not
   * only the first: the consumer's position comes from when the group was joined, and a previous owner (or a zombie
   * woken after its session expired) may have committed several batches beyond it since.
   */
  floor: bigint;
  /** When this owner last committed a transaction. */
  committedAt: number;
}

/** librdkafka's own cap on a produced record (1,000,000 bytes by default) is lifted: the topic's max.message.bytes decides. */
const PRODUCER_MESSAGE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Exactly-once consume → transform → produce (Kafka Streams' exactly-once on librdkafka):
 * per batch, the outputs and the input offsets commit in one Kafka transaction, so a crash anywhere leaves
 * either all of a batch or none of it visible to read_committed readers.
 *
 * Ownership is made safe in two ways:
 * - the transactional id is tied to the input partition, so a new owner's producer fences the old one (its
 *   InitProducerId, on connect) and the broker finishes the old owner's open transaction before anything is restored;
 *   the offsets go with the consumer's group metadata (KIP-447), so a member the group has moved on from cannot commit;
 * - only after that fence does the new owner restore state and read the group's committed offset again (stable
 *   offsets only: a transaction still being completed is waited for), skipping records below it;
 * - any failure of a transaction (fenced, indefinite commit, broker trouble) drops the producer and the task;
 *   the retry re-creates both from what is committed.
 * Every rebalance drops every task: a partition kept across a rebalance may have been processed elsewhere in
 * between (an instance paused past its session timeout is one example).
 */
export async function runTransactionalProcessor(options: TransactionalProcessorOptions): Promise<RunningProcessor> {
  const { groupId, topic } = options;
  const rd = rdKafkaFor(options.kafka);
  const sessionTimeoutMs = options.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs;
  const owned = new Map<number, Owned>();
  // Every operation on a partition's producer (fence, transaction, drop) runs in that partition's queue, so no two
  // overlap: one transaction at a time per producer.
  const queues = new Map<number, SerialQueue>();
  const queue = (partition: number): SerialQueue => {
    let q = queues.get(partition);
    if (!q) queues.set(partition, (q = new SerialQueue()));
    return q;
  };
  let stopping = false;

  const drop = async (partition: number): Promise<void> => {
    const o = owned.get(partition);
    if (!o) return;
    owned.delete(partition);
    o.task.close?.();
    await o.producer.disconnect().catch(() => undefined);
  };
  const dropAll = () => {
    for (const partition of [...owned.keys()]) void queue(partition).run(() => drop(partition));
  };

  const consumer: RdConsumer = rd.consumer({
    kafkaJS: {
      groupId,
      readUncommitted: false,
      fromBeginning: true,
      autoCommit: false,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalFor(sessionTimeoutMs),
      maxBytesPerPartition: options.maxBytesPerPartition ?? KAFKA_DEFAULTS.maxBytesPerPartition,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? KAFKA_DEFAULTS.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    },
    // A batch is whatever has arrived for the partition (as kafkajs gave it), not librdkafka's default of 32 records.
    'js.consumer.max.batch.size': KAFKA_DEFAULTS.sendChunkMessages,
    // Every task is rebuilt after a rebalance (see above); the drop waits for a batch in flight on that partition.
    rebalance_cb: () => {
      backoff.reset();
      dropAll();
    },
  });

  const acquire = async (partition: number): Promise<Owned> => {
    const existing = owned.get(partition);
    if (existing) return existing;
    const producer = rd.producer({
      kafkaJS: { transactionalId: `${options.transactionalIdPrefix}-${partition}`, idempotent: true, allowAutoTopicCreation: false },
      // Sent at once: a transaction's records are all handed over before its commit, which flushes them anyway.
      'linger.ms': 2,
      'message.max.bytes': PRODUCER_MESSAGE_MAX_BYTES,
      // The Java client's partitioner (murmur2 of the key), as kafkajs' default and partitionForKey compute it.
      partitioner: 'murmur2_random',
    });
    // Connecting initialises the transactional id: that fences the previous owner and makes the broker finish its
    // open transaction.
    await producer.connect();
    try {
      const floor = await committedOffset(partition);
      const task = await options.createTask(partition, () => undefined);
      const o = { producer, task, floor, committedAt: Date.now() };
      owned.set(partition, o);
      return o;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  };

  const committedOffset = async (partition: number): Promise<bigint> => {
    // read_committed consumers ask for stable offsets: an offset commit still inside an open transaction is waited for.
    const [entry] = await consumer.committed([{ topic, partition }], KAFKA_DEFAULTS.requestTimeoutMs);
    // No commit yet comes back as a null or negative offset.
    const offset = entry?.offset == null ? -1n : BigInt(entry.offset);
    return offset >= 0n ? offset : -1n;
  };

  await consumer.connect();
  const backoff = new PartitionBackoff(consumer);
  await consumer.subscribe({ topics: [topic] });
  void consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? 1),
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      if (batch.messages.length === 0) return;
      const partition = batch.partition;
      const info: BatchInfo = { topic: batch.topic, partition, highWatermark: batch.highWatermark, lastOffset: batch.lastOffset() };
      await queue(partition).run(async () => {
        if (!isRunning() || isStale() || stopping) return;
        try {
          const current = await acquire(partition);
          const floor = current.floor;
          const messages = batch.messages.filter((m) => BigInt(m.offset) >= floor);
          if (messages.length > 0) {
            const records: ConsumedRecord[] = messages.map((m) => ({
              topic: batch.topic, partition, offset: m.offset, key: m.key ?? null, value: m.value, timestamp: m.timestamp,
              headers: m.headers as ConsumedRecord['headers'],
            }));
            const outputs = await current.task.process(records, info);
            if (!isRunning() || isStale() || stopping) {
              await drop(partition);
              return;
            }
            // A batch that writes nothing (every record passed over) need not commit at once: re-reading it after a
            // crash writes nothing either. Its offsets go with the next batch that writes, or after a while.
            if (outputs.every((o) => o.messages.length === 0) && Date.now() - current.committedAt < KAFKA_DEFAULTS.idleCommitIntervalMs) {
              options.onCommitted?.(info, records.length, outputs);
              resolveOffset(batch.lastOffset());
              backoff.succeeded(batch.topic, partition);
              return;
            }
            const transaction = await current.producer.transaction();
            try {
              // librdkafka takes the messages over (it rewrites their fields), so it gets copies: the outputs go on to
              // onCommitted unchanged.
              // The records' acknowledgements and the offsets' round trips overlap: the commit fails if any record was
              // not written, so nothing is committed without its outputs.
              const sent = transaction.sendBatch({
                topicMessages: outputs.filter((o) => o.messages.length > 0).map((o) => ({ topic: o.topic, messages: o.messages.map((m) => ({ ...m })) })),
              });
              sent.catch(() => undefined);
              const next = (BigInt(batch.lastOffset()) + 1n).toString();
              await transaction.sendOffsets({ consumer, topics: [{ topic: batch.topic, partitions: [{ partition, offset: next }] }] });
              await sent;
              await transaction.commit();
            } catch (error) {
              await transaction.abort().catch(() => undefined);
              throw error;
            }
            current.committedAt = Date.now();
            options.onCommitted?.(info, records.length, outputs);
          }
          resolveOffset(batch.lastOffset());
          backoff.succeeded(batch.topic, partition);
        } catch (error) {
          // The task's state may hold part of the failed batch and the producer may be fenced: rebuild both. The
          // partition waits out its backoff paused, so the other partitions go on meanwhile.
          await drop(partition);
          const attempt = backoff.failed(batch.topic, partition, batch.firstOffset() ?? batch.messages[0].offset);
          options.onBatchError?.(error, attempt, partition);
        }
      });
    },
  });
  return {
    activePartitions: () => [...owned.keys()].sort((a, b) => a - b),
    async stop() {
      stopping = true;
      backoff.stop();
      await consumer.disconnect();
      for (const partition of [...owned.keys()]) await queue(partition).run(() => drop(partition));
    },
  };
}
