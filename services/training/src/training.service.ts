import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures } from '@streamloop/clickhouse';
import { featureNamesOf, type Settings } from '@streamloop/config';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import { ClickHouseConnection, LOGGER, PipelineRegistry, SETTINGS, type PipelineContext } from '@streamloop/runtime';
import { hasFirstModel, reviewChallenger, runTraining, type ModelRegistryAccess, type TrainingResult } from '@streamloop/training-lib';
import { RegistryAccess } from './registry-access';
import { FollowedRegistry } from './training.stream';

export { NotEnoughDataError, type SearchSummary, type TrainingResult } from '@streamloop/training-lib';

const SERVICE = 'training';
const AUTO_TRAIN_CHECK_MS = 3000;
/** How often a challenger's shared labelled events are counted (the decision itself is taken once, at its horizon). */
const ONLINE_REVIEW_MS = 5000;

/**
 * Trains a pipeline's models (libs/training `runTraining`): the first one as soon as enough labels exist, then on
 * command (HTTP, CLI) or on the spec's schedule. One run at a time per pipeline. A retrained model is placed by its
 * offline comparison with the champion; a challenger is reviewed on live events until the promotion rule decides.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new Map<string, Promise<TrainingResult>>();
  private readonly published = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
    @Inject(RegistryAccess) private readonly registries: RegistryAccess,
    @Inject(FollowedRegistry) private readonly followed: FollowedRegistry,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  onApplicationBootstrap(): void {
    // The first model of a pipeline is trained as soon as enough labels exist; later ones on command or schedule.
    const timer = setInterval(() => void this.autoTrain(), AUTO_TRAIN_CHECK_MS);
    timer.unref();
    this.timers.push(timer);
    for (const ctx of this.pipelines.values()) {
      const every = ctx.spec.training.scheduleMs;
      if (every) {
        this.timers.push(setInterval(() => void this.train(ctx.spec.pipeline, 'schedule').catch((error: unknown) => {
          this.logger.error({ service: SERVICE, pipeline: ctx.spec.pipeline, err: error }, 'scheduled training failed');
        }), every));
      }
    }
    const review = setInterval(() => void this.reviewChallengers(), ONLINE_REVIEW_MS);
    review.unref();
    this.timers.push(review);
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
        if (labelled >= ctx.spec.training.minLabels) await this.train(name, 'first model: enough labels');
      } catch (error) {
        this.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'automatic training failed');
      }
    }
  }

  /** The online half of promotion, per pipeline with a challenger: decided once its horizon of labelled events is reached. */
  private async reviewChallengers(): Promise<void> {
    for (const ctx of this.pipelines.values()) {
      const name = ctx.spec.pipeline;
      // A training run publishes too: one registry writer at a time per pipeline in this process.
      if (this.running.has(name)) continue;
      try {
        // The followed registry: reading the whole topic every few seconds would cost a consumer group each time.
        const registry = { read: async () => this.followed.of(name), publish: this.registry(ctx).publish };
        const deps = { clickhouse: await this.clickhouse.client(), registry, logger: this.logger.child({ service: SERVICE, pipeline: name }), now: Date.now };
        const review = await reviewChallenger(deps, ctx.spec);
        if (review.status === 'decided') this.metrics.promotionDecisions.inc({ pipeline: name, phase: 'online', outcome: review.verdict });
      } catch (error) {
        this.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'online review of the challenger failed; tried again');
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
    };
    const result = await runTraining(deps, { spec, featureNames: featureNamesOf(spec.features), gbdtThreads: this.settings.gbdtThreads, reason });
    this.metrics.promotionDecisions.inc({ pipeline: spec.pipeline, phase: 'offline', outcome: result.stage });
    return result;
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
