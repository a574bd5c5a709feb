import { createKafka, ensureTopics, readTopicToEnd, topicPartitionCount, type Kafka, type KafkaConnectionOptions, type KafkaSasl, type KafkaTlsFiles, type Producer } from '@streamloop/kafka';
import { REGISTRY_DEFAULTS } from './defaults';

/** Keys of the registry topic. JSON with a fixed field order, so compaction keeps one record per key. */
export type RecordKey =
  | { keytype: 'SCHEMA'; subject: string; version: number }
  | { keytype: 'CONFIG'; subject: string | null }
  | { keytype: 'ID_WATERMARK' };

export interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
}
export interface ConfigValue {
  compatibilityLevel: string;
}
export interface WatermarkValue {
  maxId: number;
}

export interface LogRecord {
  key: RecordKey;
  /** null is a tombstone: compaction removes the key. */
  value: SchemaValue | ConfigValue | WatermarkValue | null;
}

/** Where the registry's state lives: replayed in full on start, appended to on every change. */
export interface RegistryLog {
  start(apply: (record: LogRecord) => void): Promise<void>;
  append(records: LogRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function encodeKey(key: RecordKey): string {
  switch (key.keytype) {
    case 'SCHEMA':
      return JSON.stringify({ keytype: 'SCHEMA', subject: key.subject, version: key.version });
    case 'CONFIG':
      return JSON.stringify({ keytype: 'CONFIG', subject: key.subject });
    case 'ID_WATERMARK':
      return JSON.stringify({ keytype: 'ID_WATERMARK' });
  }
}

/** In-process log (unit tests, or a throwaway registry). Same semantics as the topic, minus durability. */
export class MemoryRegistryLog implements RegistryLog {
  readonly records: LogRecord[] = [];
  async start(apply: (record: LogRecord) => void): Promise<void> {
    for (const r of this.records) apply(r);
  }
  async append(records: LogRecord[]): Promise<void> {
    this.records.push(...structuredClone(records));
  }
  async close(): Promise<void> {}
}

export interface KafkaRegistryLogOptions {
  brokers: string[];
  /** Default REGISTRY_DEFAULTS.topic. */
  topic?: string;
  /** Default REGISTRY_DEFAULTS.clientId. */
  clientId?: string;
  /** TLS to the brokers, as the platform's other clients (KAFKA_SSL). */
  ssl?: boolean;
  /** With `ssl`: the CA to trust, a client certificate and key, as the platform's other clients (KAFKA_SSL_*_FILE). */
  tls?: KafkaTlsFiles;
  /** SASL authentication to the brokers, as the platform's other clients (KAFKA_SASL_*). */
  sasl?: KafkaSasl;
  /** Replication factor when the topic is created; default the broker's default. */
  replicationFactor?: number;
  /** How long replaying the topic may take on start. Default REGISTRY_DEFAULTS.startTimeoutMs. */
  startTimeoutMs?: number;
}

/** The connection settings of the registry's Kafka clients (made by createKafka, as every other client). */
export function registryKafkaConfig(opts: KafkaRegistryLogOptions): KafkaConnectionOptions {
  return {
    clientId: opts.clientId ?? REGISTRY_DEFAULTS.clientId,
    brokers: opts.brokers,
    ssl: opts.ssl ?? false,
    tls: opts.tls,
    sasl: opts.sasl,
    logLevel: 'error',
    // Retriable broker answers (a coordinator still loading) are retried by the client; failures reach the callers
    // as exceptions, and the registry's HTTP answers say what went wrong.
    log: () => undefined,
  };
}

/**
 * The registry's log on a compacted, single-partition Kafka topic (like Confluent's `_schemas`).
 * One partition keeps a total order of changes; compaction keeps the latest record per key forever.
 * The registry is a single writer: replicas would need leader election, which this does not do.
 */
export class KafkaRegistryLog implements RegistryLog {
  readonly topic: string;
  private readonly kafka: Kafka;
  private producer?: Producer;

  constructor(private readonly opts: KafkaRegistryLogOptions) {
    if (!opts.brokers?.length) throw new Error('the schema registry needs Kafka brokers (KAFKA_BROKERS)');
    this.topic = opts.topic ?? REGISTRY_DEFAULTS.topic;
    this.kafka = createKafka(registryKafkaConfig(opts));
  }

  async start(apply: (record: LogRecord) => void): Promise<void> {
    await ensureTopics(this.kafka, [{ topic: this.topic, partitions: 1, replicationFactor: this.opts.replicationFactor, config: { 'cleanup.policy': 'compact' } }]);
    const partitions = await topicPartitionCount(this.kafka, this.topic);
    if (partitions !== 1) {
      throw new Error(`schema registry topic ${this.topic} has ${partitions} partitions; it needs exactly 1 (a total order of changes)`);
    }
    await this.replay(apply);
    // Not idempotent: a retried duplicate is the same upsert of the same key, harmless in a compacted log.
    this.producer = this.kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
  }

  /** Reads the topic from the beginning up to its high watermark at start. */
  private async replay(apply: (record: LogRecord) => void): Promise<void> {
    let failure: Error | undefined;
    const timeoutMs = this.opts.startTimeoutMs ?? REGISTRY_DEFAULTS.startTimeoutMs;
    try {
      await readTopicToEnd(this.kafka, this.topic, (message) => {
        if (failure) return;
        try {
          const record = decodeRecord(message.key, message.value);
          if (record) apply(record);
        } catch (error) {
          failure = new Error(`schema registry topic ${this.topic} offset ${message.offset}: ${(error as Error).message}`);
        }
      }, { isolation: 'read_uncommitted', timeoutMs });
    } catch (error) {
      throw new Error(`replaying schema registry topic ${this.topic}: ${(error as Error).message}`);
    }
    if (failure) throw failure;
  }

  async append(records: LogRecord[]): Promise<void> {
    if (!this.producer) throw new Error('schema registry log is not started');
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: encodeKey(r.key), value: r.value === null ? null : JSON.stringify(r.value), partition: 0 })),
    });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
  }
}


function decodeRecord(key: Buffer | null, value: Buffer | null): LogRecord | undefined {
  if (!key) return undefined; // not ours: ignore rather than fail the registry
  const k = JSON.parse(key.toString()) as RecordKey;
  if (!k || !['SCHEMA', 'CONFIG', 'ID_WATERMARK'].includes(k.keytype)) return undefined;
  return { key: k, value: value ? (JSON.parse(value.toString()) as LogRecord['value']) : null };
}
