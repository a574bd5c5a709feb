import { Inject, Injectable } from '@nestjs/common';
import type { Type } from 'avsc';
import { closeClickHouse, createClickHouse, migrate, type ClickHouseClient } from '@streamloop/clickhouse';
import { AvroSerde, loadAvsc } from '@streamloop/avro';
import { topicsFor, type PipelineSpec, type PipelineTopics, type Settings } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { chunkMessages, type Kafka, type Message, type Producer } from '@streamloop/kafka';
import { HealthRegistry } from '@streamloop/observability';
import { platformSchemaPath } from './platform-types';

/*
 * The providers every target of a process shares, injected by what they are (PlatformModule provides them all,
 * globally): a constructor asks for the few it uses, e.g. `@Inject(KAFKA) kafka: Kafka`, `registry: PipelineRegistry`.
 */

/** The process's one kafkajs client (`Kafka` from @streamloop/kafka). */
export const KAFKA = Symbol.for('streamloop.kafka');
/** The process's pino logger (`Logger` from @streamloop/observability). */
export const LOGGER = Symbol.for('streamloop.logger');
/** The process's `Settings` (@streamloop/config). */
export const SETTINGS = Symbol.for('streamloop.settings');
/** The platform's own Avro record types (`PlatformTypes`, schemas/*.avsc). */
export const PLATFORM_TYPES = Symbol.for('streamloop.platform-types');

export interface PipelineContext {
  spec: PipelineSpec;
  topics: PipelineTopics;
  /** The pipeline's event schema as the platform reads it (reader schema for every writer version). */
  eventType: Type;
  /** The schema its labels topic is read with: the producer's own (labels.schema) or the platform's label.avsc. */
  labelType: Type;
}

export class UnknownPipelineError extends PlatformError {
  constructor(readonly pipeline: string, known: string[]) {
    super('PIPELINE_NOT_FOUND', `unknown pipeline "${pipeline}"; this process runs: ${known.join(', ') || 'none'}`);
  }
}

/** The pipelines this process runs: name → spec, topics and event type. */
export class PipelineRegistry {
  private readonly byName = new Map<string, PipelineContext>();

  constructor(contexts: Iterable<PipelineContext>) {
    for (const ctx of contexts) this.byName.set(ctx.spec.pipeline, ctx);
  }

  /** Each spec with its topics (libs/config) and its event and label schemas read from their `.avsc` files. */
  static fromSpecs(specs: PipelineSpec[]): PipelineRegistry {
    return new PipelineRegistry(specs.map((spec) => ({
      spec,
      topics: topicsFor(spec),
      eventType: loadAvsc(spec.events.schemaPath),
      labelType: loadAvsc(spec.labels.producerSchema?.schemaPath ?? platformSchemaPath('label.avsc')),
    })));
  }

  /** The pipeline named so; an unknown name throws UnknownPipelineError (404 PIPELINE_NOT_FOUND). */
  pipeline(name: string): PipelineContext {
    const p = this.byName.get(name);
    if (!p) throw new UnknownPipelineError(name, [...this.byName.keys()]);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): PipelineContext | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  keys(): IterableIterator<string> {
    return this.byName.keys();
  }

  values(): IterableIterator<PipelineContext> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }

  [Symbol.iterator](): IterableIterator<PipelineContext> {
    return this.byName.values();
  }
}

/**
 * A client opened on first use, once (concurrent callers share the opening), and closed only if it was opened. An
 * opening that fails is forgotten, so the next caller tries again: a broker or ClickHouse that was away at the first
 * use is an outage to retry, not a state the process keeps until it restarts.
 */
export class OpenedOnce<T> {
  private opening?: Promise<T>;

  constructor(private readonly open: () => Promise<T>, private readonly shut: (value: T) => Promise<void>) {}

  get(): Promise<T> {
    if (!this.opening) {
      const opening = this.open();
      this.opening = opening;
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    }
    return this.opening;
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    const value = await opening?.catch(() => undefined);
    if (value !== undefined) await this.shut(value);
  }
}

/** One idempotent producer per process, connected on first use; kafkajs batches concurrent sends on it. */
@Injectable()
export class SharedProducer {
  private readonly connected: OpenedOnce<Producer>;

  constructor(@Inject(KAFKA) kafka: Kafka, @Inject(AvroSerde) private readonly serde: AvroSerde) {
    this.connected = new OpenedOnce(async () => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    }, (producer) => producer.disconnect());
  }

  producer(): Promise<Producer> {
    return this.connected.get();
  }

  /** Encodes values with the topic's value subject (Confluent TopicNameStrategy) and sends them (acks all). */
  async send<T>(topic: string, type: Type, records: Array<{ key: string | Buffer | null; value: T; headers?: Message['headers'] }>): Promise<void> {
    if (records.length === 0) return;
    const messages: Message[] = [];
    for (const r of records) {
      messages.push({ key: r.key, value: await this.serde.encodeValue(topic, type, r.value), headers: r.headers });
    }
    await this.sendMessages(topic, messages);
  }

  /** Sends encoded messages, in chunks a request takes (acks all). */
  async sendMessages(topic: string, messages: Message[]): Promise<void> {
    const producer = await this.producer();
    for (const chunk of chunkMessages(messages)) await producer.send({ topic, messages: chunk, acks: -1 });
  }

  /** Disconnects the producer when one was connected. */
  close(): Promise<void> {
    return this.connected.close();
  }
}

/** The ClickHouse client (a server by CLICKHOUSE_URL, or embedded chDB), created and migrated on first use. */
@Injectable()
export class ClickHouseConnection {
  private readonly opened: OpenedOnce<ClickHouseClient>;

  constructor(@Inject(SETTINGS) settings: Settings, @Inject(HealthRegistry) health: HealthRegistry) {
    this.opened = new OpenedOnce(async () => {
      const s = settings;
      const client = await createClickHouse({ url: s.clickhouseUrl, dataDir: s.clickhouseDataDir, database: s.clickhouseDatabase });
      await migrate(client, { database: s.clickhouseDatabase });
      health.set('clickhouse', true);
      return client;
    }, (client) => closeClickHouse(client));
  }

  client(): Promise<ClickHouseClient> {
    return this.opened.get();
  }

  /** Closes the client when one was opened. */
  close(): Promise<void> {
    return this.opened.close();
  }
}
