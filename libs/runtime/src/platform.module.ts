import { OperationalEndpoint, RequiresScope } from '@streamloop/auth';
import { Controller, Get, Inject, Module, Res, type DynamicModule, type Provider } from '@nestjs/common';
import { AvroSerde } from '@streamloop/avro';
import { OwnedFeatureState } from '@streamloop/features';
import { partitionForKey } from '@streamloop/kafka';
import { HealthRegistry, StreamloopMetrics } from '@streamloop/observability';
import { ClickHouseConnection, KAFKA, LOGGER, PipelineRegistry, PLATFORM_TYPES, SETTINGS, SharedProducer } from './providers';
import { PredictRouter } from './predict-routing';
import type { Runtime } from './runtime';
import { collectStatus, type PlatformStatus } from './status';

/** The process's Runtime, for the platform's own endpoints (/v1/status); services inject the providers instead. */
const RUNTIME = Symbol('streamloop.runtime');

/** The part of Express's response used here (the platform runs on @nestjs/platform-express). */
interface HttpResponse {
  status(code: number): HttpResponse;
  type(contentType: string): HttpResponse;
  send(body: string): void;
  json(body: unknown): void;
}

/** /metrics (Prometheus text format, the process's own registry) and /health for every target. */
@Controller()
class PlatformController {
  constructor(
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(RUNTIME) private readonly runtime: Runtime,
  ) {}

  /** Targets, lag per stage, champion and challenger, last drift verdict, DLQ counts (docs/cli.md, `streamloop status`). */
  @Get('v1/status')
  @RequiresScope('read')
  status(): Promise<PlatformStatus> {
    const r = this.runtime;
    return collectStatus({
      kafka: r.kafka,
      serde: r.serde,
      types: r.types,
      brokers: r.settings.kafkaBrokers,
      targets: r.targets,
      pipelines: [...r.pipelines.values()],
      clickhouse: r.usesClickHouse ? () => r.clickhouseConnection.client() : undefined,
      fusedInto: r.settings.fuseStages && r.targets.includes('features') && r.targets.includes('inference') ? { inference: 'features' } : undefined,
    });
  }

  @Get('metrics')
  @OperationalEndpoint()
  async exposition(@Res() res: HttpResponse): Promise<void> {
    const { contentType, body } = await this.metrics.exposition();
    res.status(200).type(contentType).send(body);
  }

  @Get('health')
  @OperationalEndpoint()
  report(@Res() res: HttpResponse): void {
    const report = this.health.report();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  }
}

/** The providers of one process, by token, built from its Runtime (the composition root). */
export function platformProviders(runtime: Runtime): Provider[] {
  return [
    { provide: RUNTIME, useValue: runtime },
    { provide: KAFKA, useValue: runtime.kafka },
    { provide: LOGGER, useValue: runtime.logger },
    { provide: SETTINGS, useValue: runtime.settings },
    { provide: PLATFORM_TYPES, useValue: runtime.types },
    { provide: AvroSerde, useValue: runtime.serde },
    { provide: StreamloopMetrics, useValue: runtime.metrics },
    { provide: HealthRegistry, useValue: runtime.health },
    { provide: PipelineRegistry, useValue: runtime.pipelines },
    { provide: SharedProducer, useValue: runtime.sharedProducer },
    { provide: ClickHouseConnection, useValue: runtime.clickhouseConnection },
    // The feature state this process's feature stages own, read by REST predict (one per application).
    { provide: OwnedFeatureState, useFactory: () => new OwnedFeatureState(partitionForKey) },
    // REST predict of an event whose state another instance owns: forwarded to it (Kafka Streams' interactive queries).
    { provide: PredictRouter, useFactory: (owned: OwnedFeatureState) => new PredictRouter(() => runtime.advertisedUrl, runtime.groups, owned), inject: [OwnedFeatureState] },
  ];
}

/**
 * Global: every module of the application injects the platform's providers (Kafka client, shared producer, serde,
 * ClickHouse, metrics, logger, health, settings, platform types, pipeline registry, owned feature state) without
 * importing anything; and it serves /metrics and /health.
 */
@Module({})
export class PlatformModule {
  static register(runtime: Runtime): DynamicModule {
    const providers = platformProviders(runtime);
    return {
      module: PlatformModule,
      global: true,
      controllers: [PlatformController],
      providers,
      exports: providers.map((p) => (typeof p === 'function' ? p : p.provide)),
    };
  }
}
