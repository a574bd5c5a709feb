import type { Consumer, Kafka, Producer, TopicMessages } from 'kafkajs';
import type { ConsumedRecord } from './batch-consumer';
import { chunkMessages } from './chunks';
import { heartbeatIntervalFor, KAFKA_DEFAULTS } from './defaults';
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
  /** One transactional id per input partition: `<prefix>-<partition>` (DESIGN.md pitfalls: kafkajs has no group fencing). */
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
  consumer: Consumer;
  /** Partitions with a live task right now. */
  activePartitions(): number[];
  stop(): Promise<void>;
}

interface Owned {
  producer: Producer;
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

/**
 * Exactly-once consume → transform → produce (Kafka Streams' "exactly_once_v2" on kafkajs):
 * per batch, the outputs and the input offsets commit in one Kafka transaction, so a crash anywhere leaves
 * either all of a batch or none of it visible to read_committed readers.
 *
 * kafkajs does not fence zombies across rebalances, so ownership is made safe by hand:
 * - the transactional id is tied to the input partition, so a new owner's producer fences the old one and
 *   the broker aborts the old owner's open transaction;
 * - only after that fence does the new owner restore state and read the group's committed offset again
 *   (the offset fetched at join time may predate a transaction the old owner committed just before it was
 *   fenced), skipping records below it;
 * - any failure of a transaction (fenced, indefinite commit, broker trouble) drops the producer and the task;
 *   the retry re-creates both from what is committed.
 * Every rebalance drops every task: a partition kept across a rebalance may have been processed elsewhere in
 * between (an instance paused past its session timeout is one example).
 */
export async function runTransactionalProcessor(options: TransactionalProcessorOptions): Promise<RunningProcessor> {
  const { kafka, groupId, topic } = options;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: options.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalFor(options.sessionTimeoutMs ?? KAFKA_DEFAULTS.sessionTimeoutMs),
    maxBytesPerPartition: options.maxBytesPerPartition ?? KAFKA_DEFAULTS.maxBytesPerPartition,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? KAFKA_DEFAULTS.fetchMaxWaitMs,
  });
  const owned = new Map<number, Owned>();
  // Every operation on a partition's producer (fence, transaction, drop) runs in that partition's queue, so no two
  // overlap: kafkajs refuses "a concurrent operation on the same transaction" (a drop during a rebalance did it).
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

  const acquire = async (partition: number, heartbeat: () => Promise<void>): Promise<Owned> => {
    const existing = owned.get(partition);
    if (existing) return existing;
    const producer = kafka.producer({
      transactionalId: `${options.transactionalIdPrefix}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { ...KAFKA_DEFAULTS.transactionRetry },
    });
    await producer.connect();
    try {
      // Initialising the transactional id (kafkajs does it on the first transaction) fences the previous owner
      // and makes the broker finish its open transaction; an empty transaction ends at once.
      const fence = await producer.transaction();
      await fence.commit();
      const floor = await committedOffset(partition);
      let lastBeat = Date.now();
      const keepAlive = () => {
        if (Date.now() - lastBeat < 1000) return;
        lastBeat = Date.now();
        heartbeat().catch(() => undefined);
      };
      const task = await options.createTask(partition, keepAlive);
      const o = { producer, task, floor, committedAt: Date.now() };
      owned.set(partition, o);
      return o;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  };

  const committedOffset = async (partition: number): Promise<bigint> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const p = offsets?.partitions.find((x) => x.partition === partition);
      return p && Number(p.offset) >= 0 ? BigInt(p.offset) : -1n;
    } finally {
      await admin.disconnect();
    }
  };

  await consumer.connect();
  const backoff = new PartitionBackoff(consumer);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    backoff.reset();
    // Every task is rebuilt after a rebalance (see above); the drop waits for a batch in flight on that partition.
    for (const partition of [...owned.keys()]) void queue(partition).run(() => drop(partition));
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? 1),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0) return;
      const partition = batch.partition;
      const info: BatchInfo = { topic: batch.topic, partition, highWatermark: batch.highWatermark, lastOffset: batch.lastOffset() };
      await queue(partition).run(async () => {
        if (!isRunning() || isStale() || stopping) return;
        try {
          const current = await acquire(partition, heartbeat);
          const floor = current.floor;
          const messages = batch.messages.filter((m) => BigInt(m.offset) >= floor);
          if (messages.length > 0) {
            const records: ConsumedRecord[] = messages.map((m) => ({
              topic: batch.topic, partition, offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers,
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
              // All topics in one produce request per round (one AddPartitionsToTxn, one round trip); a topic with more
              // than one chunk's worth of messages continues in the next round (see chunkMessages).
              const rounds: TopicMessages[][] = [];
              for (const out of outputs) chunkMessages(out.messages).forEach((chunk, i) => (rounds[i] ??= []).push({ topic: out.topic, messages: chunk }));
              for (const topicMessages of rounds) await transaction.sendBatch({ topicMessages, acks: -1 });
              const next = (BigInt(batch.lastOffset()) + 1n).toString();
              await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition, offset: next }] }] });
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
          return;
        }
        // Committed. A heartbeat that fails now (a rebalance under way) is kafkajs' to handle on its next fetch;
        // it must not send a committed batch back through the retry path.
        await heartbeat().catch(() => undefined);
      });
    },
  });
  return {
    consumer,
    activePartitions: () => [...owned.keys()].sort((a, b) => a - b),
    async stop() {
      stopping = true;
      backoff.stop();
      await consumer.disconnect();
      for (const partition of [...owned.keys()]) await queue(partition).run(() => drop(partition));
    },
  };
}
