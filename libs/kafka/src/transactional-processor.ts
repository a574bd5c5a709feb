// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import type { ConsumedRecord } from './batch-consumer';
import { chunkMessages } from './chunks';
import { heartbeatIntervalFor, KAFKA_DEFAULTS } from './defaults';
import { advertisingAssigners } from './membership';
import { fetchStableOffsets, generationOf, withGroupMetadata, type GroupMetadata } from './group-fencing';
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
 * The work of one input partition, built once no transaction of an earlier owner that consumed the partition can
 * still commit, so whatever it restores (a changelog, read_committed) is final.
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
  /** The processor's producer has the transactional id `<prefix>-<random>`, new for every run. */
  transactionalIdPrefix: string;
  /**
   * Restores and returns the task of a partition; called before its first batch after every (re)assignment or failure,
   * once the group's committed offset of the partition is final (no open transaction holds it).
   * A long restore calls `keepAlive` as it goes, so the group does not take this member for dead meanwhile.
   */
  createTask(partition: number, keepAlive: () => void): Promise<PartitionTask>;
  /** Default KAFKA_DEFAULTS.sessionTimeoutMs. */
  sessionTimeoutMs?: number;
  /** Default KAFKA_DEFAULTS.maxBytesPerPartition. */
  maxBytesPerPartition?: number;
  /** How long a fetch waits for data when there is none (default KAFKA_DEFAULTS.fetchMaxWaitMs). */
  maxWaitTimeInMs?: number;
  /** Bytes a fetch waits for, up to maxWaitTimeInMs (fetch.min.bytes; default 1: any record ends the wait). */
  minBytes?: number;
  /** A batch failed and will be retried from restored state (infrastructure trouble, not bad records). */
  onBatchError?(error: unknown, attempt: number, partition: number): void;
  /** After each committed transaction (for metrics): counts are of what the transaction made visible. */
  onCommitted?(batch: BatchInfo, records: number, outputs: TopicMessages[]): void;
  /**
   * Partitions of the input topic processed at once (default 1). The batches of one fetch that are processed together
   * commit in one transaction, so this should be the topic's partition count.
   */
  partitionsConsumedConcurrently?: number;
  /**
   * The HTTP address this member advertises in its group metadata (membership.ts), read at every join: set, the
   * group's description tells which member, at which address, owns each partition (REST predict's routing).
   */
  advertisedUrl?: () => string | undefined;
  /** After this member joined the group (each rebalance). */
  onGroupJoin?(): void;
}

export interface RunningProcessor {
  consumer: Consumer;
  /** Partitions with a live task right now. */
  activePartitions(): number[];
  stop(): Promise<void>;
}

interface Owned {
  task: PartitionTask;
  /**
   * The group's committed offset read, stable, when the task was built. Every batch of the task is cut below it, not
   * only the first: the consumer's position comes from when the group was joined, and a previous owner may have
   * committed several batches beyond it since (a zombie woken after its session expired, whose transaction had sent
   * its offsets before the rebalance).
   */
  floor: bigint;
  /** When this partition's offsets last went out in a transaction. */
  committedAt: number;
}

/** One partition's batch waiting in a round, with kafkajs' controls for it. */
interface Entry {
  batch: Batch;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
  done(): void;
}

/** A batch that was processed and waits for its round's transaction. */
interface Processed {
  entry: Entry;
  info: BatchInfo;
  records: number;
  outputs: TopicMessages[];
}

/**
 * Exactly-once consume → transform → produce, as Kafka Streams' exactly_once_v2 does it, on kafkajs: the batches of
 * one fetch (one per partition) are processed and their outputs and input offsets commit in one Kafka transaction of
 * the processor's single producer, so a crash anywhere leaves either all of a round or none of it visible to
 * read_committed readers.
 *
 * Fencing uses the consumer group (KIP-447, see group-fencing.ts; kafkajs itself has none):
 * - the offsets of a transaction carry this member's generation: after a rebalance the group coordinator refuses
 *   those of a member that lost its partitions, and that member's transaction aborts with everything it wrote;
 * - a partition's task is built only after the group's committed offset of it is stable (no open transaction holds
 *   it): an earlier owner's transaction that sent its offsets before the rebalance is committed or aborted first, and
 *   the new task restores state and skips records below that offset;
 * - any failure of a transaction (refused offsets, an indefinite commit, broker trouble) drops the producer and the
 *   tasks of the round; the retry re-creates them from what is committed.
 * Every rebalance drops every task: a partition kept across a rebalance may have been processed elsewhere in between
 * (an instance paused past its session timeout is one example).
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
    minBytes: options.minBytes ?? 1,
    ...(options.advertisedUrl ? { partitionAssigners: advertisingAssigners(options.advertisedUrl) } : {}),
  });
  const transactionalId = `${options.transactionalIdPrefix}-${randomUUID()}`;
  const owned = new Map<number, Owned>();
  // Rounds, task drops and every operation on the producer run one at a time: kafkajs refuses "a concurrent operation
  // on the same transaction", and a drop must not pull a task from under a round.
  const serial = new SerialQueue();
  let producer: Producer | undefined;
  let member: GroupMetadata | undefined;
  let stopping = false;

  const dropTask = (partition: number): void => {
    const o = owned.get(partition);
    if (!o) return;
    owned.delete(partition);
    o.task.close?.();
  };
  const dropProducer = async (): Promise<void> => {
    const p = producer;
    producer = undefined;
    await p?.disconnect().catch(() => undefined);
  };
  const openProducer = async (): Promise<Producer> => {
    if (producer) return producer;
    const p = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      transactionTimeout: KAFKA_DEFAULTS.transactionTimeoutMs,
      retry: { ...KAFKA_DEFAULTS.transactionRetry },
    });
    await p.connect();
    producer = p;
    return p;
  };

  const stableOffsets = async (): Promise<Map<number, bigint>> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      // An earlier owner's open transaction ends within its timeout (committed, aborted or timed out).
      return await fetchStableOffsets(admin, groupId, topic, 2 * KAFKA_DEFAULTS.transactionTimeoutMs);
    } finally {
      await admin.disconnect();
    }
  };

  const buildTask = async (partition: number, floor: bigint, heartbeat: () => Promise<void>): Promise<Owned> => {
    let lastBeat = Date.now();
    const keepAlive = () => {
      if (Date.now() - lastBeat < 1000) return;
      lastBeat = Date.now();
      heartbeat().catch(() => undefined);
    };
    const task = await options.createTask(partition, keepAlive);
    const o = { task, floor, committedAt: Date.now() };
    owned.set(partition, o);
    return o;
  };

  await consumer.connect();
  const backoff = new PartitionBackoff(consumer);
  const failed = (entry: Entry, error: unknown): void => {
    // The task's state may hold part of the failed batch: rebuild it. The partition waits out its backoff paused, so
    // the other partitions go on meanwhile.
    const { batch } = entry;
    dropTask(batch.partition);
    const attempt = backoff.failed(batch.topic, batch.partition, batch.firstOffset() ?? batch.messages[0].offset);
    options.onBatchError?.(error, attempt, batch.partition);
  };
  const live = (entry: Entry): boolean => entry.isRunning() && !entry.isStale() && !stopping;

  const runRound = async (entries: Entry[]): Promise<void> => {
    const current = entries.filter(live);
    const metadata = member;
    let floors: Map<number, bigint> | undefined;
    if (current.some((e) => !owned.has(e.batch.partition))) {
      try {
        floors = await stableOffsets();
      } catch (error) {
        for (const e of current.filter((x) => !owned.has(x.batch.partition))) failed(e, error);
      }
    }
    const processed: Processed[] = [];
    for (const entry of current) {
      const { batch } = entry;
      const partition = batch.partition;
      let task = owned.get(partition);
      if (!task && !floors) continue; // its stable offset could not be read (failed above)
      try {
        task ??= await buildTask(partition, floors!.get(partition) ?? -1n, entry.heartbeat);
        const floor = task.floor;
        const info: BatchInfo = { topic: batch.topic, partition, highWatermark: batch.highWatermark, lastOffset: batch.lastOffset() };
        const records: ConsumedRecord[] = [];
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= floor) records.push({ topic: batch.topic, partition, offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers });
        }
        const outputs = records.length > 0 ? await task.task.process(records, info) : [];
        processed.push({ entry, info, records: records.length, outputs });
      } catch (error) {
        failed(entry, error);
      }
    }
    // A batch whose partition was taken away meanwhile is dropped unwritten; kafkajs fetches it again if it comes back.
    const round = processed.filter((p) => {
      if (live(p.entry)) return true;
      dropTask(p.info.partition);
      return false;
    });
    if (round.length === 0) return;
    const finish = (p: Processed, committed: boolean): void => {
      if (committed) owned.get(p.info.partition)!.committedAt = Date.now();
      if (p.records > 0) options.onCommitted?.(p.info, p.records, p.outputs);
      p.entry.resolveOffset(p.info.lastOffset);
      backoff.succeeded(p.info.topic, p.info.partition);
    };
    // Batches that write nothing (every record passed over) need not commit at once: re-reading them after a crash
    // writes nothing either. Their offsets go with the next transaction, or after a while.
    const writes = round.some((p) => p.outputs.some((o) => o.messages.length > 0)
      || (p.records > 0 && Date.now() - owned.get(p.info.partition)!.committedAt >= KAFKA_DEFAULTS.idleCommitIntervalMs));
    if (!writes) {
      for (const p of round) finish(p, false);
      return;
    }
    try {
      if (!metadata) throw new Error(`consumer group ${groupId}: no generation known for this member yet`);
      const p = await openProducer();
      const transaction = await p.transaction();
      try {
        // All topics in one produce request per send (one AddPartitionsToTxn, one round trip); a topic with more than
        // one chunk's worth of messages continues in the next send. Chunked per topic over the whole round: kafkajs
        // merges a send's entries of one topic, so chunks made per partition would add up past a record batch's limit.
        const byTopic = new Map<string, Message[]>();
        for (const { outputs } of round) {
          for (const out of outputs) {
            let list = byTopic.get(out.topic);
            if (!list) byTopic.set(out.topic, (list = []));
            for (const m of out.messages) list.push(m);
          }
        }
        const sends: TopicMessages[][] = [];
        for (const [topic, messages] of byTopic) chunkMessages(messages).forEach((chunk, i) => (sends[i] ??= []).push({ topic, messages: chunk }));
        for (const topicMessages of sends) await transaction.sendBatch({ topicMessages, acks: -1 });
        const partitions = round.map((r) => ({ partition: r.info.partition, offset: (BigInt(r.info.lastOffset) + 1n).toString() }));
        const offsets = { consumerGroupId: groupId, topics: withGroupMetadata([{ topic, partitions }], metadata) };
        // kafkajs retries a send's CONCURRENT_TRANSACTIONS (the previous transaction's markers still being written),
        // not AddOffsetsToTxn's, which a transaction of offsets only (an idle partition's) meets first.
        for (let attempt = 1; ; attempt++) {
          try {
            await transaction.sendOffsets(offsets);
            break;
          } catch (error) {
            if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || attempt >= KAFKA_DEFAULTS.transactionRetry.retries) throw error;
            await new Promise((resolve) => setTimeout(resolve, KAFKA_DEFAULTS.transactionRetry.initialRetryTime * attempt));
          }
        }
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    } catch (error) {
      // The producer may be fenced or in an unknown state: a new one is made for the retry.
      await dropProducer();
      for (const r of round) failed(r.entry, error);
      return;
    }
    for (const r of round) finish(r, true);
    // Committed. A heartbeat that fails now (a rebalance under way) is kafkajs' to handle on its next fetch; it must
    // not send a committed round back through the retry path.
    await round[0].entry.heartbeat().catch(() => undefined);
  };

  // The batches kafkajs hands over in one turn of the event loop (one fetch's, processed concurrently) form a round.
  let gathering: Entry[] | undefined;
  const joinRound = (entry: Omit<Entry, 'done'>): Promise<void> => new Promise<void>((resolve) => {
    if (!gathering) {
      const round: Entry[] = (gathering = []);
      setImmediate(() => {
        gathering = undefined;
        void serial.run(() => runRound(round))
          .catch((error: unknown) => { for (const e of round) failed(e, error); })
          .finally(() => { for (const e of round) e.done(); });
      });
    }
    gathering.push({ ...entry, done: resolve });
  });

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    backoff.reset();
    const generationId = generationOf(payload.memberId);
    member = generationId === undefined ? undefined : { memberId: payload.memberId, generationId };
    options.onGroupJoin?.();
    // Every task is rebuilt after a rebalance (see above); the drop waits for a round in flight.
    void serial.run(async () => {
      for (const partition of [...owned.keys()]) dropTask(partition);
    });
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? 1),
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0) return;
      await joinRound({ batch, resolveOffset, heartbeat, isRunning, isStale });
    },
  });
  return {
    consumer,
    activePartitions: () => [...owned.keys()].sort((a, b) => a - b),
    async stop() {
      stopping = true;
      backoff.stop();
      await consumer.disconnect();
      await serial.run(async () => {
        for (const partition of [...owned.keys()]) dropTask(partition);
        await dropProducer();
      });
    },
  };
}
