import type { Type } from 'avsc';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { createClickHouse, closeClickHouse, migrate, type ClickHouseClient } from '@streamloop/clickhouse';
import { loadPipelineSpec, topicsFor, type PipelineSpec, type PipelineTopics, type Settings } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { FeatureComputer, featureStages, type FeatureStage } from '@streamloop/features';
import { chunkMessages, createKafka, ensureTopics, KAFKA_DEFAULTS, partitionForKey, type Kafka, type Message, type Producer, type TopicSpec } from '@streamloop/kafka';
import { createLogger, HealthRegistry, StreamloopMetrics, type Logger } from '@streamloop/observability';
import { loadPlatformTypes, type PlatformTypes } from './platform-types';

export interface PipelineContext {
  spec: PipelineSpec;
  topics: PipelineTopics;
  /** The pipeline's event schema as the platform reads it (reader schema for every writer version). */
  eventType: Type;
}

/**
 * Everything a service needs from the outside world, built once per process and shared by every
 * service target running in it (one Kafka client, one producer, one ClickHouse client, one metrics registry).
 */
export class Runtime {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly types: PlatformTypes = loadPlatformTypes();
  readonly metrics: StreamloopMetrics;
  readonly health = new HealthRegistry();
  readonly logger: Logger;
  readonly pipelines = new Map<string, PipelineContext>();
  private readonly computers = new Map<string, FeatureComputer>();
  /** Per pipeline and feature stage, the state of each input partition this process owns right now. */
  private readonly partitionComputers = new Map<string, Map<string, FeatureComputer>>();
  /**
   * Per pipeline, what REST predict needs beside the owned state: the feature stages, a computer per stage without
   * entity state (entities this process does not own).
   */
  private readonly peekViews = new Map<string, { stages: FeatureStage[]; templates: FeatureComputer[] }>();
  private producerPromise?: Promise<Producer>;
  private clickhousePromise?: Promise<ClickHouseClient>;
  /** Consumers and jobs; closed before the producer and ClickHouse they write to. */
  private readonly closers: Array<() => Promise<void>> = [];
  private readonly finalClosers: Array<() => Promise<void>> = [];

  constructor(readonly settings: Settings, specs: PipelineSpec[]) {
    this.logger = createLogger('streamloop', settings.logLevel);
    this.metrics = new StreamloopMetrics();
    const kafkaLog = this.logger.child({ component: 'kafkajs' });
    this.kafka = createKafka({
      brokers: settings.kafkaBrokers,
      clientId: settings.kafkaClientId,
      ssl: settings.kafkaSsl,
      sasl: settings.kafkaSasl,
      logLevel: 'error',
      log: (level, message, extra) => kafkaLog[level]({ ...extra }, message),
    });
    this.serde = new AvroSerde(new HttpRegistryClient(settings.schemaRegistryUrl));
    for (const spec of specs) {
      this.pipelines.set(spec.pipeline, { spec, topics: topicsFor(spec), eventType: loadAvsc(spec.events.schemaPath) });
    }
  }

  static fromFiles(settings: Settings): Runtime {
    return new Runtime(settings, settings.pipelineFiles.map((f) => loadPipelineSpec(f)));
  }

  pipeline(name: string): PipelineContext {
    const p = this.pipelines.get(name);
    if (!p) throw new UnknownPipelineError(name, [...this.pipelines.keys()]);
    return p;
  }

  /**
   * Every topic a pipeline uses, with its settings. `max.message.bytes` is chosen, not inherited: data topics take
   * Kafka's default 1 MiB (what every client expects); the DLQ twice that, so a dead letter keeps a whole record of
   * any size the data topics accept beside its reason (larger originals are cut, and marked so); the model registry
   * holds ONNX files and takes 16 MiB.
   */
  topicPlan(ctx: PipelineContext): TopicSpec[] {
    const { spec, topics } = ctx;
    const partitions = spec.events.partitions;
    const data = { 'max.message.bytes': String(DATA_TOPIC_MAX_MESSAGE_BYTES) };
    const plan: TopicSpec[] = [];
    for (const topic of [topics.raw, topics.events, topics.features, topics.predictions, topics.labels, topics.alerts]) {
      plan.push({ topic, partitions, config: data });
    }
    plan.push({ topic: topics.dlq, partitions, config: { 'max.message.bytes': String(DLQ_TOPIC_MAX_MESSAGE_BYTES) } });
    // Changelogs have one partition per input partition: partition p holds the state of input partition p.
    for (const stage of featureStages(spec)) {
      plan.push({ topic: featureStageTopics(topics, stage).changelog, partitions, config: { ...data, 'cleanup.policy': 'compact' } });
      if (stage.index > 0) plan.push({ topic: featureStageTopics(topics, stage).input, partitions, config: data });
    }
    // Dedup ids matter for the dedup window only: compacted, and deleted once well past the window.
    const dedupRetention = String(Math.max(3_600_000, 2 * spec.events.dedupWindowMs));
    plan.push({ topic: topics.changelog('dedup'), partitions, config: { ...data, 'cleanup.policy': 'compact,delete', 'retention.ms': dedupRetention } });
    // Model versions are few and must all be kept: compacted by pipeline/model/version key.
    plan.push({ topic: topics.models, partitions: 1, config: { 'cleanup.policy': 'compact', 'max.message.bytes': String(MODELS_TOPIC_MAX_MESSAGE_BYTES) } });
    return plan;
  }

  /** Creates every topic of every pipeline (and the shared model registry topic) that does not exist yet. */
  async ensureTopics(): Promise<void> {
    const specs = new Map<string, TopicSpec>();
    for (const ctx of this.pipelines.values()) for (const t of this.topicPlan(ctx)) if (!specs.has(t.topic)) specs.set(t.topic, t);
    await ensureTopics(this.kafka, [...specs.values()]);
  }

  /** One idempotent producer per process; kafkajs batches concurrent sends on it. */
  producer(): Promise<Producer> {
    this.producerPromise ??= (async () => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
      await producer.connect();
      this.finalClosers.push(() => producer.disconnect());
      return producer;
    })();
    return this.producerPromise;
  }

  /** Encodes values with the topic's value subject (Confluent TopicNameStrategy) and sends them. */
  async send<T>(topic: string, type: Type, records: Array<{ key: string | Buffer | null; value: T; headers?: Message['headers'] }>): Promise<void> {
    if (records.length === 0) return;
    const messages: Message[] = [];
    for (const r of records) {
      messages.push({ key: r.key, value: await this.serde.encodeValue(topic, type, r.value), headers: r.headers });
    }
    const producer = await this.producer();
    for (const chunk of chunkMessages(messages)) await producer.send({ topic, messages: chunk, acks: -1 });
  }

  /** Registers (or, with undefined, removes) the feature state of one input partition of a feature stage owned by this process. */
  setPartitionFeatures(pipeline: string, stage: number, partition: number, computer: FeatureComputer | undefined): void {
    let owned = this.partitionComputers.get(pipeline);
    if (!owned) this.partitionComputers.set(pipeline, (owned = new Map()));
    if (computer) owned.set(`${stage}/${partition}`, computer);
    else owned.delete(`${stage}/${partition}`);
  }

  /**
   * An event's feature vector from its entities' current state, changing nothing (REST predict). Each feature
   * stage reads the state of the input partition the event's key for that stage goes to (Kafka's default
   * partitioner); where this process does not own that partition, the aggregates are those of an entity without history.
   */
  peekFeatures(pipeline: string, event: Record<string, unknown>): ComputedFeaturesView {
    const { spec } = this.pipeline(pipeline);
    const owned = this.partitionComputers.get(pipeline);
    let view = this.peekViews.get(pipeline);
    if (!view) {
      const stages = featureStages(spec);
      view = {
        stages,
        templates: stages.map((st) => new FeatureComputer(spec, { entities: st.entities })),
      };
      this.peekViews.set(pipeline, view);
    }
    const { stages, templates } = view;
    let partial: Record<string, number> = {};
    let values: Record<string, number> = {};
    let stateOwned = true;
    for (const stage of stages) {
      const key = event[stage.field];
      const partition = partitionForKey(key === null || key === undefined ? '' : String(key), spec.events.partitions);
      const computer = owned?.get(`${stage.index}/${partition}`);
      if (!computer) stateOwned = false;
      const used = computer ?? templates[stage.index];
      values = used.peek(event, partial).values;
      partial = { ...partial, ...Object.fromEntries(used.ownedAggregates().map((n) => [n, values[n]])) };
    }
    return { values, stateOwned };
  }

  /** A feature computer of the pipeline that holds no entity state: feature names, and features of entities without history. */
  featureComputer(pipeline: string): FeatureComputer {
    let computer = this.computers.get(pipeline);
    if (!computer) {
      computer = new FeatureComputer(this.pipeline(pipeline).spec);
      this.computers.set(pipeline, computer);
    }
    return computer;
  }

  /** The ClickHouse client (server by URL, or embedded chDB), migrated on first use. */
  clickhouse(): Promise<ClickHouseClient> {
    this.clickhousePromise ??= (async () => {
      const s = this.settings;
      const client = await createClickHouse({ url: s.clickhouseUrl, dataDir: s.clickhouseDataDir, database: s.clickhouseDatabase });
      await migrate(client, { database: s.clickhouseDatabase });
      this.finalClosers.push(() => closeClickHouse(client));
      this.health.set('clickhouse', true);
      return client;
    })();
    return this.clickhousePromise;
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    // Last opened, first closed; consumers and jobs stop before the producer and ClickHouse they write to.
    for (const fn of [...this.closers.splice(0).reverse(), ...this.finalClosers.splice(0)]) {
      try {
        await fn();
      } catch (error) {
        this.logger.warn({ err: error }, 'error while closing');
      }
    }
  }
}

/** A feature stage's input topic and the changelog of its state. */
export function featureStageTopics(topics: PipelineTopics, stage: FeatureStage): { input: string; changelog: string } {
  return stage.index === 0
    ? { input: topics.events, changelog: topics.changelog('features') }
    : { input: topics.repartition(stage.field), changelog: topics.changelog(`features.${stage.field}`) };
}

/** max.message.bytes of the topics the platform creates (see Runtime.topicPlan): data topics keep Kafka's default. */
export const DATA_TOPIC_MAX_MESSAGE_BYTES = KAFKA_DEFAULTS.maxMessageBytes;
export const DLQ_TOPIC_MAX_MESSAGE_BYTES = 2 * KAFKA_DEFAULTS.maxMessageBytes;
export const MODELS_TOPIC_MAX_MESSAGE_BYTES = 16 * 1_048_576;

export interface ComputedFeaturesView {
  values: Record<string, number>;
  /** Whether the entity's state lives in this process (else the aggregates are those of a new entity). */
  stateOwned: boolean;
}

export class UnknownPipelineError extends PlatformError {
  constructor(readonly pipeline: string, known: string[]) {
    super('PIPELINE_NOT_FOUND', `unknown pipeline "${pipeline}"; this process runs: ${known.join(', ') || 'none'}`);
  }
}
