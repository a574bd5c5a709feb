import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures } from '@streamloop/clickhouse';
import { RUNTIME, Runtime, type PipelineContext } from '@streamloop/runtime';
import { hasFirstModel, runTraining, type ModelRegistryAccess, type TrainingResult } from '@streamloop/training-lib';
import { registryAccess } from './registry-access';

export { NotEnoughDataError, type SearchSummary, type TrainingResult } from '@streamloop/training-lib';

const SERVICE = 'training';
const AUTO_TRAIN_CHECK_MS = 3000;

/**
 * Trains a pipeline's models (libs/training `runTraining`): the first one as soon as enough labels exist, then on
 * command (HTTP, CLI) or on the spec's schedule. One run at a time per pipeline.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap {
  private readonly running = new Map<string, Promise<TrainingResult>>();
  private readonly published = new Set<string>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  onApplicationBootstrap(): void {
    // The first model of a pipeline is trained as soon as enough labels exist; later ones on command or schedule.
    const timer = setInterval(() => void this.autoTrain(), AUTO_TRAIN_CHECK_MS);
    timer.unref();
    const schedules: NodeJS.Timeout[] = [];
    for (const ctx of this.runtime.pipelines.values()) {
      const every = ctx.spec.training.scheduleMs;
      if (every) schedules.push(setInterval(() => void this.train(ctx.spec.pipeline, 'schedule').catch(() => undefined), every));
    }
    this.runtime.onClose(async () => {
      clearInterval(timer);
      schedules.forEach(clearInterval);
      await Promise.allSettled(this.running.values());
    });
  }

  private async autoTrain(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      const name = ctx.spec.pipeline;
      if (this.published.has(name) || this.running.has(name)) continue;
      try {
        if (hasFirstModel(await this.registry(ctx).read(), ctx.spec)) {
          this.published.add(name);
          continue;
        }
        const ch = await this.runtime.clickhouse();
        const labelled = await countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: ctx.spec.features.version });
        if (labelled >= ctx.spec.training.minLabels) await this.train(name, 'first model: enough labels');
      } catch (error) {
        this.runtime.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'automatic training failed');
      }
    }
  }

  /** Trains one model now; concurrent requests for the same pipeline share the run. */
  train(pipeline: string, reason = 'on command'): Promise<TrainingResult> {
    const existing = this.running.get(pipeline);
    if (existing) return existing;
    const run = this.runOnce(this.runtime.pipeline(pipeline), reason).finally(() => this.running.delete(pipeline));
    this.running.set(pipeline, run);
    return run;
  }

  private async runOnce(ctx: PipelineContext, reason: string): Promise<TrainingResult> {
    const { spec } = ctx;
    const deps = {
      clickhouse: await this.runtime.clickhouse(),
      registry: this.registry(ctx),
      logger: this.runtime.logger.child({ service: SERVICE, pipeline: spec.pipeline }),
      now: Date.now,
      countRun: (outcome: string) => this.runtime.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome }),
    };
    return runTraining(deps, { spec, featureNames: this.runtime.featureComputer(spec.pipeline).featureNames, gbdtThreads: this.runtime.settings.gbdtThreads, reason });
  }

  /** The pipeline's registry; a published model marks the pipeline as having its first model. */
  private registry(ctx: PipelineContext): ModelRegistryAccess {
    const registry = registryAccess(this.runtime, ctx);
    return {
      read: registry.read,
      publish: async (record) => {
        await registry.publish(record);
        this.published.add(ctx.spec.pipeline);
      },
    };
  }
}
