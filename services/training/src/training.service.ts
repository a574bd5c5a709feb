import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures } from '@streamloop/clickhouse';
import { featureNamesOf, type Settings } from '@streamloop/config';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import {
  ClickHouseConnection, LOGGER, PipelineRegistry, PLATFORM_TYPES, SETTINGS, SharedProducer, type AlertRecord, type PipelineContext, type PlatformTypes,
} from '@streamloop/runtime';
import { DataQualityError, hasFirstModel, runTraining, type ModelRegistryAccess, type TrainingResult } from '@streamloop/training-lib';
import { RegistryAccess } from './registry-access';

export { DataQualityError, NotEnoughDataError, type SearchSummary, type TrainingResult } from '@streamloop/training-lib';

const SERVICE = 'training';
const AUTO_TRAIN_CHECK_MS = 3000;

/**
 * Trains a pipeline's models (libs/training `runTraining`): the first one as soon as enough labels exist, then on
 * command (HTTP, CLI) or on the spec's schedule. One run at a time per pipeline.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new Map<string, Promise<TrainingResult>>();
  private readonly published = new Set<string>();
  /** Per pipeline: the labelled count at which the automatic first training failed its data-quality gate (retried when it grows). */
  private readonly gateFailedAt = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
    @Inject(RegistryAccess) private readonly registries: RegistryAccess,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(SharedProducer) private readonly producer: SharedProducer,
    @Inject(PLATFORM_TYPES) private readonly types: PlatformTypes,
  ) {}

  onApplicationBootstrap(): void {
    // The first model of a pipeline is trained as soon as enough labels exist; later ones on command or schedule.
    const timer = setInterval(() => void this.autoTrain(), AUTO_TRAIN_CHECK_MS);
    timer.unref();
    this.timers.push(timer);
    for (const ctx of this.pipelines.values()) {
      const every = ctx.spec.training.scheduleMs;
      if (every) this.timers.push(setInterval(() => void this.train(ctx.spec.pipeline, 'schedule').catch(() => undefined), every));
    }
  }

  /** The application closing stops the schedules and waits for the runs under way (the platform closes ClickHouse after it). */
  async beforeApplicationShutdown(): Promise<void> {
    this.timers.splice(0).forEach(clearInterval);
    await Promise.allSettled(this.running.values());
  }

  private async autoTrain(): Promise<void> {
    for (const ctx of this.pipelines.values()) {
      const name = ctx.spec.pipeline;
      if (this.published.has(name) || this.running.has(name)) continue;
      try {
        if (hasFirstModel(await this.registry(ctx).read(), ctx.spec)) {
          this.published.add(name);
          continue;
        }
        const ch = await this.clickhouse.client();
        const labelled = await countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: ctx.spec.features.version });
        // A window that failed the data-quality gate is not checked again (nor alerted on) until more labels arrive.
        if (labelled >= ctx.spec.training.minLabels && labelled > (this.gateFailedAt.get(name) ?? -1)) {
          await this.train(name, 'first model: enough labels').catch((error: unknown) => {
            if (error instanceof DataQualityError) this.gateFailedAt.set(name, labelled);
            throw error;
          });
        }
      } catch (error) {
        this.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'automatic training failed');
      }
    }
  }

  /** Trains one model now; concurrent requests for the same pipeline share the run. */
  train(pipeline: string, reason = 'on command'): Promise<TrainingResult> {
    const existing = this.running.get(pipeline);
    if (existing) return existing;
    const run = this.runOnce(this.pipelines.pipeline(pipeline), reason).finally(() => this.running.delete(pipeline));
    this.running.set(pipeline, run);
    return run;
  }

  private async runOnce(ctx: PipelineContext, reason: string): Promise<TrainingResult> {
    const { spec } = ctx;
    const deps = {
      clickhouse: await this.clickhouse.client(),
      registry: this.registry(ctx),
      logger: this.logger.child({ service: SERVICE, pipeline: spec.pipeline }),
      now: Date.now,
      countRun: (outcome: string) => this.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome }),
      // The data-quality gate's alerts go to the pipeline's alerts topic, as monitoring's do.
      raiseAlerts: (alerts: AlertRecord[]) => this.producer.send(ctx.topics.alerts, this.types.alert, alerts.map((a) => ({ key: a.feature, value: a }))),
      countDataQuality: (labels: { pipeline: string; scope: string; check: string; result: string }) => this.metrics.dataQualityChecks.inc(labels),
    };
    return runTraining(deps, { spec, featureNames: featureNamesOf(spec.features), gbdtThreads: this.settings.gbdtThreads, reason });
  }

  /** The pipeline's registry; a published model marks the pipeline as having its first model. */
  private registry(ctx: PipelineContext): ModelRegistryAccess {
    const registry = this.registries.of(ctx);
    return {
      read: registry.read,
      publish: async (record) => {
        await registry.publish(record);
        this.published.add(ctx.spec.pipeline);
      },
    };
  }
}
