import { loadTokenEntries, TokenStore, type AuthPolicy } from '@streamloop/auth';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import { kafkaConnectionSettings, loadPipelineSpec, type PipelineSpec, type Settings } from '@streamloop/config';
import { createKafka, GroupDirectory, type Kafka } from '@streamloop/kafka';
import { createLogger, HealthRegistry, StreamloopMetrics, type Logger } from '@streamloop/observability';
import { loadPlatformTypes, type PlatformTypes } from './platform-types';
import { ClickHouseConnection, PipelineRegistry, SharedProducer } from './providers';
import { ensurePipelineTopics } from './topics';

/**
 * The composition root of a process: builds, once, the providers every service target running in it shares (one
 * Kafka client, one producer, one ClickHouse connection, one metrics registry, …), which PlatformModule.register
 * provides to Nest, and closes them in order. Services inject those providers, never this object; their schedules
 * and jobs stop in Nest's shutdown hooks, when the application closes (before this closes the clients they use).
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
  /** Who owns which partition of the stateful stages' consumer groups, with their advertised addresses (REST predict). */
  readonly groups: GroupDirectory;
  /** The HTTP address this process advertises to the other instances; set once its HTTP port is known (serveModules). */
  advertisedUrl: string | undefined;
  /** The targets this process runs (GET /v1/status), set by whoever starts them (the CLI, a service's own main). */
  targets: readonly string[] = [];
  /** Whether a target of this process reads or writes ClickHouse (training, monitoring): only then does status query it. */
  usesClickHouse = false;
  /** Set when the process starts stopping (beginClosing): the Kafka clients' connection noise is then debug. */
  private closing = false;
  /** The tokens this process's HTTP API accepts (STREAMLOOP_TOKENS, STREAMLOOP_TOKENS_FILE); empty with STREAMLOOP_AUTH=off. */
  readonly tokens: TokenStore;

  constructor(readonly settings: Settings, specs: PipelineSpec[]) {
    this.logger = createLogger('streamloop', settings.logLevel, settings.logFile);
    this.metrics = new StreamloopMetrics();
    const kafkaLog = this.logger.child({ component: 'kafkajs' });
    this.kafka = createKafka({
      ...kafkaConnectionSettings(settings),
      logLevel: 'error',
      log: (level, message, extra) => kafkaLog[level]({ ...extra }, message),
      closing: () => this.closing,
    });
    this.tokens = Runtime.tokenStoreOf(settings.auth);
    // The registry may be the built-in one with auth on: the process's own token goes with every registry request.
    const registryHeaders: Record<string, string> = settings.auth.clientToken ? { authorization: `Bearer ${settings.auth.clientToken}` } : {};
    this.serde = new AvroSerde(new HttpRegistryClient(settings.schemaRegistryUrl, { headers: registryHeaders }));
    this.pipelines = PipelineRegistry.fromSpecs(specs);
    this.sharedProducer = new SharedProducer(this.kafka, this.serde);
    this.clickhouseConnection = new ClickHouseConnection(settings, this.health);
    this.groups = new GroupDirectory(this.kafka);
  }

  /** How this process's HTTP API checks its callers (the global AuthGuard of serveModules). */
  get authPolicy(): AuthPolicy {
    return { enabled: this.settings.auth.enabled, store: this.tokens, openOperational: this.settings.auth.openOperational };
  }

  /** The tokens the auth settings accept (none with auth off); an entry that cannot be used is an INVALID_SETTINGS error. */
  static tokenStoreOf(auth: Settings['auth']): TokenStore {
    return new TokenStore(auth.enabled ? loadTokenEntries(auth) : []);
  }

  static fromFiles(settings: Settings): Runtime {
    return new Runtime(settings, settings.pipelineFiles.map((f) => loadPipelineSpec(f)));
  }

  /** Creates every topic of every pipeline (and the shared model registry topic) that does not exist yet. */
  ensureTopics(): Promise<void> {
    return ensurePipelineTopics(this.kafka, this.pipelines.values());
  }

  /** Says the process is stopping (before its consumers stop), so their disconnects are not logged as failures. */
  beginClosing(): void {
    this.closing = true;
  }

  async close(): Promise<void> {
    this.closing = true;
    // Consumers and jobs have stopped with the application (its shutdown hooks); then the producer, then ClickHouse.
    for (const fn of [() => this.groups.close(), () => this.sharedProducer.close(), () => this.clickhouseConnection.close()]) {
      try {
        await fn();
      } catch (error) {
        this.logger.warn({ err: error }, 'error while closing');
      }
    }
  }
}
