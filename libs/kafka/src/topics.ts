// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import kafkajs, { type Kafka, type ITopicConfig } from 'kafkajs';
import { KAFKA_DEFAULTS } from './defaults';

// kafkajs is CommonJS; Node's ESM loader does not see this enum as a named export.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  /** e.g. { 'cleanup.policy': 'compact' } */
  config?: Record<string, string>;
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing: ITopicConfig[] = topics
      .filter((t) => !existing.has(t.topic))
      .map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions ?? 3,
        replicationFactor: t.replicationFactor ?? -1,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      }));
    if (missing.length > 0) {
      try {
        await admin.createTopics({ topics: missing, waitForLeaders: true });
      } catch (error) {
        // The topics exist, but a broker may still answer "does not host this topic-partition" while kafkajs waits
        // for their leaders on a busy machine: wait for the metadata instead of failing the caller.
        if ((error as { retriable?: boolean }).retriable !== true) throw error;
        await waitForTopicMetadata(admin, missing.map((t) => t.topic));
      }
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

type Admin = ReturnType<Kafka['admin']>;

async function waitForTopicMetadata(admin: Admin, topics: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable !== true || attempt >= 20) throw error;
    }
    if (attempt >= 20) throw new Error(`topics ${topics.join(', ')} have no leader after ${attempt} checks`);
    await new Promise((r) => setTimeout(r, 100 * Math.min(attempt, 10)));
  }
}

/**
 * Low and high offsets per partition. Right after a topic is created a broker can still answer "not the leader"
 * while metadata settles; that is retried with fresh metadata instead of failing the caller.
 */
export async function fetchTopicEnds(admin: Admin, topic: string): Promise<Array<{ partition: number; low: string; high: string }>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 100 * attempt));
      await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    }
  }
}

/** Sum of (high watermark − committed offset) over a group's partitions of one topic. */
export async function consumerLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const high = await fetchTopicEnds(admin, topic);
    let lag = 0;
    for (const p of high) {
      const c = committed?.partitions.find((x) => x.partition === p.partition);
      const done = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(p.low);
      lag += Math.max(0, Number(p.high) - done);
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Reads every record of a topic from the beginning up to its current end, then stops. */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onRecord: (r: { partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | undefined> }) => void | Promise<void>,
  options: { isolation?: 'read_committed' | 'read_uncommitted'; timeoutMs?: number; partitions?: number[] } = {},
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  let offsets: Array<{ partition: number; high: string }>;
  try {
    offsets = await fetchTopicEnds(admin, topic);
    const wanted = options.partitions ? new Set(options.partitions) : undefined;
    ends = new Map(offsets.filter((o) => !wanted || wanted.has(o.partition)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends.entries()].filter(([, end]) => end > 0n).map(([p]) => p));
  if (pending.size === 0) return 0;
  // kafkajs consumers need a group; a throwaway one that never commits reads the topic once.
  const consumer = kafka.consumer({
    groupId: `streamloop-reader-${topic}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    readUncommitted: options.isolation === 'read_uncommitted',
  });
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? KAFKA_DEFAULTS.readToEndTimeoutMs;
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end timed out after ${timeoutMs} ms`)), timeoutMs);
      const passed = (partition: number, lastOffset: string) => {
        // With transactions the last offsets can be control or aborted records, which never reach eachBatch;
        // the batch's last offset (reported for filtered batches too) tells that they were passed.
        if (pending.has(partition) && BigInt(lastOffset) + 1n >= (ends.get(partition) ?? 0n)) {
          pending.delete(partition);
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => passed(payload.partition, payload.lastOffset));
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition);
            if (end === undefined) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              count++;
              const headers: Record<string, Buffer | undefined> = {};
              for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Array.isArray(v) ? (v[0] as Buffer) : (v as Buffer | undefined);
              await onRecord({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers });
            }
            passed(batch.partition, batch.lastOffset());
          },
        })
        .then(() => {
          // Partitions nobody asked for are paused so that only the wanted ones are fetched.
          const others = offsets.map((o) => o.partition).filter((p) => !ends.has(p));
          if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return count;
}

/** How many partitions a topic has (0 when the broker does not know it). */
export async function topicPartitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** Each topic's max.message.bytes as the broker reports it (the topic's setting, else the broker default). */
export async function fetchMaxMessageBytes(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const limits = new Map<string, number>();
  if (topics.length === 0) return limits;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    for (const resource of described.resources) {
      const entry = resource.configEntries.find((e) => e.configName === 'max.message.bytes');
      const value = Number(entry?.configValue);
      limits.set(resource.resourceName, Number.isFinite(value) && value > 0 ? value : KAFKA_DEFAULTS.maxMessageBytes);
    }
  } finally {
    await admin.disconnect();
  }
  return limits;
}
