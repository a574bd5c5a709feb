import type { Type } from 'avsc';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import type { ClickHouseClient } from '@streamloop/clickhouse';
import { loadPipelineSpec, type PipelineSpec, type Settings } from '@streamloop/config';
import { FeatureComputer } from '@streamloop/features';
import { createKafka, type Kafka, type Message, type Producer } from '@streamloop/kafka';
import { createLogger, HealthRegistry, StreamloopMetrics, type Logger } from '@streamloop/observability';
import { loadPlatformTypes, type PlatformTypes } from './platform-types';
import { ClickHouseConnection, PipelineRegistry, SharedProducer, type PipelineContext } from './providers';
import { ensurePipelineTopics } from './topics';

/**
 * The composition root of a process: builds, once, the providers every service target running in it shares (one
 * Kafka client, one producer, one ClickHouse connection, one metrics registry, …), which PlatformModule.register
 * provides to Nest. Services inject those providers, not this object; monitoring and training still inject it as
 * RUNTIME until they are converted, so it keeps forwarding to them.
 */
export class Runtime {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly types: PlatformTypes = loadPlatformTypes();
  readonly metrics: StreamloopMetrics;
  readonly health = new HealthRegistry();
  readonly logger: Logger;
  readonly pipelines: PipelineRegistry;
  readonly sharedProducer: SharedProducer;
  readonly clickhouseConnection: ClickHouseConnection;
  private readonly computers = new Map<string, FeatureComputer>();
  /** Consumers and jobs; closed before the producer and ClickHouse they write to. */
  private readonly closers: Array<() => Promise<void>> = [];

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
    this.pipelines = PipelineRegistry.fromSpecs(specs);
    this.sharedProducer = new SharedProducer(this.kafka, this.serde);
    this.clickhouseConnection = new ClickHouseConnection(settings, this.health);
  }

  static fromFiles(settings: Settings): Runtime {
    return new Runtime(settings, settings.pipelineFiles.map((f) => loadPipelineSpec(f)));
  }

  pipeline(name: string): PipelineContext {
    return this.pipelines.pipeline(name);
  }

  /** Creates every topic of every pipeline (and the shared model registry topic) that does not exist yet. */
  ensureTopics(): Promise<void> {
    return ensurePipelineTopics(this.kafka, this.pipelines.values());
  }

  producer(): Promise<Producer> {
    return this.sharedProducer.producer();
  }

  /** Encodes values with the topic's value subject and sends them on the shared producer. */
  send<T>(topic: string, type: Type, records: Array<{ key: string | Buffer | null; value: T; headers?: Message['headers'] }>): Promise<void> {
    return this.sharedProducer.send(topic, type, records);
  }

  clickhouse(): Promise<ClickHouseClient> {
    return this.clickhouseConnection.client();
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

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    // Last opened, first closed; consumers and jobs stop before the producer and ClickHouse they write to.
    const last = [() => this.sharedProducer.close(), () => this.clickhouseConnection.close()];
    for (const fn of [...this.closers.splice(0).reverse(), ...last]) {
      try {
        await fn();
      } catch (error) {
        this.logger.warn({ err: error }, 'error while closing');
      }
    }
  }
}
