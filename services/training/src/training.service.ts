import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures, insertRows, queryRows, TABLES, type RetrainingDecisionRow } from '@streamloop/clickhouse';
import { featureNamesOf, type Settings } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { challengerOf, championOf, probationOf } from '@streamloop/model-registry';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import {
  ClickHouseConnection, LOGGER, PipelineRegistry, PLATFORM_TYPES, SETTINGS, SharedProducer, type AlertRecord, type PipelineContext, type PlatformTypes,
} from '@streamloop/runtime';
import {
  DataQualityError, decideRetraining, fitAndExport, fitOnWorker, hasFirstModel, promotionRuleOf, retrainingPolicyOf, reviewChallenger, reviewProbation,
  runTraining, type FitInput, type FitProgress, type ModelRegistryAccess, type RetrainingDecision, type RetrainingTrigger, type TrainingResult,
} from '@streamloop/training-lib';
import { RegistryAccess } from './registry-access';
import { FollowedRegistry } from './followed-registry';

export { DataQualityError, NotEnoughDataError, type SearchSummary, type TrainingResult } from '@streamloop/training-lib';

const SERVICE = 'training';
const AUTO_TRAIN_CHECK_MS = 3000;
/** How often a challenger's shared labelled events are counted (the decision itself is taken once, at its horizon). */
const ONLINE_REVIEW_MS = 5000;

/** A run is under way for the pipeline: a command shares it, an alert or schedule is skipped. */
export class RunInProgressError extends PlatformError {
  constructor(message: string) {
    super('MODEL_STAGE_CONFLICT', message);
  }
}

/**
 * Trains a pipeline's models (libs/training `runTraining`): the first one as soon as enough labels exist, then on
 * monitoring's alerts as the spec's retraining policy allows, on the spec's schedule, and on command (HTTP, CLI).
 * Every trigger's decision (trained, or skipped and why) is a retraining_decisions row, a metric and a log line.
 * One run at a time per pipeline. A retrained model is placed by its offline comparison with the champion; a
 * challenger is reviewed on live events until the promotion rule decides.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new Map<string, Promise<TrainingResult>>();
  private readonly published = new Set<string>();
  /** Per pipeline: the labelled count at which the automatic first training failed its data-quality gate (retried when it grows). */
  private readonly gateFailedAt = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** When each pipeline's last run started (from retraining_decisions after a restart), for the cooldown. */
  private readonly lastRunAt = new Map<string, number | undefined>();
  /** Per pipeline, the newest alert held back for "not now" and when to ask again (in memory: a restart forgets it). */
  private readonly deferred = new Map<string, { alert: Extract<RetrainingTrigger, { kind: 'alert' }>['alert']; retryAt: number }>();
  /** Per pipeline, the latest trigger's decision: the next waits for it (runs themselves are not awaited). */
  private readonly deciding = new Map<string, Promise<RetrainingDecision>>();
  /** Aborted when the application closes: the runs' worker threads are terminated rather than awaited. */
  private readonly closing = new AbortController();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
    @Inject(RegistryAccess) private readonly registries: RegistryAccess,
    @Inject(FollowedRegistry) private readonly followed: FollowedRegistry,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(SharedProducer) private readonly producer: SharedProducer,
    @Inject(PLATFORM_TYPES) private readonly types: PlatformTypes,
  ) {}

  onApplicationBootstrap(): void {
    // The first model of a pipeline is trained as soon as enough labels exist; later ones on alerts, schedule or command.
    const timer = setInterval(() => void this.autoTrain(), AUTO_TRAIN_CHECK_MS);
    timer.unref();
    this.timers.push(timer);
    for (const ctx of this.pipelines.values()) {
      const every = ctx.spec.training.scheduleMs;
      if (every) this.timers.push(setInterval(() => void this.trigger(ctx.spec.pipeline, { kind: 'schedule' }), every));
    }
    const review = setInterval(() => void this.reviewChallengers(), ONLINE_REVIEW_MS);
    review.unref();
    this.timers.push(review);
  }

  /**
   * The application closing stops the schedules, terminates the runs' worker threads (a search may have minutes to go)
   * and waits for the runs to end (the platform closes ClickHouse after it).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.timers.splice(0).forEach(clearInterval);
    this.closing.abort();
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
          await this.trigger(name, { kind: 'first_model' });
          this.running.get(name)?.catch((error: unknown) => {
            if (error instanceof DataQualityError) this.gateFailedAt.set(name, labelled);
          });
        }
      } catch (error) {
        this.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'automatic training failed');
      }
    }
  }

  /** An alert from monitoring (P.alerts): a run when the pipeline's retraining policy says so. */
  async onAlert(pipeline: string, alert: AlertRecord): Promise<RetrainingDecision> {
    return this.trigger(pipeline, { kind: 'alert', alert });
  }

  /** Trains one model now; a command while a run is under way shares that run. */
  async train(pipeline: string, reason = 'on command'): Promise<TrainingResult> {
    const existing = this.running.get(pipeline);
    if (existing) return existing;
    await this.trigger(pipeline, { kind: 'command' }, reason);
    const run = this.running.get(pipeline);
    if (!run) throw new RunInProgressError(`pipeline ${pipeline}: no training run started`);
    return run;
  }

  /**
   * Decides on one trigger by the spec's policy, records the decision, and starts the run it allows (not awaited:
   * the run's outcome is logged, and recorded as failed when it publishes nothing).
   */
  private trigger(pipeline: string, trigger: RetrainingTrigger, reason?: string): Promise<RetrainingDecision> {
    // One decision at a time per pipeline: two triggers deciding at once (the first model's and a command) would both
    // see no run under way across the decision's ClickHouse round trips, and both start one.
    const name = this.pipelines.pipeline(pipeline).spec.pipeline;
    const decided = (this.deciding.get(name) ?? Promise.resolve()).catch(() => undefined).then(() => this.decide(name, trigger, reason));
    this.deciding.set(name, decided);
    return decided;
  }

  private async decide(pipeline: string, trigger: RetrainingTrigger, reason?: string): Promise<RetrainingDecision> {
    const ctx = this.pipelines.pipeline(pipeline);
    const name = ctx.spec.pipeline;
    const ch = await this.clickhouse.client();
    const registry = this.followed.of(name);
    const champion = championOf(registry, name)?.record;
    const rule = promotionRuleOf(ctx.spec.promotion);
    const decision = await decideRetraining(trigger, {
      now: Date.now(),
      champion,
      lastRunAt: await this.lastRunOf(name),
      runInProgress: this.running.has(name),
      challengerUnderReview: rule.onlineLabels > 0 && challengerOf(registry, name) !== undefined && (ctx.spec.serving?.challenger.mode ?? 'shadow') === 'shadow',
      championOnProbation: probationOf(registry, name) !== undefined,
      countNewLabels: () => countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: ctx.spec.features.version, after: champion?.data_window_end }),
    }, retrainingPolicyOf(ctx.spec.retraining));
    await this.record(name, trigger, decision.decision, decision.reason, decision.detail, decision.newLabels);
    if (trigger.kind === 'alert' && decision.retryAt !== undefined) this.deferred.set(name, { alert: trigger.alert, retryAt: decision.retryAt });
    // A run that starts answers any alert held back; an alert refused outright ("no") leaves a held one in place.
    if (decision.decision === 'trained') this.deferred.delete(name);
    if (decision.decision === 'trained') {
      const why = reason ?? decision.detail;
      this.lastRunAt.set(name, Date.now());
      const run = this.runOnce(ctx, why).finally(() => this.running.delete(name));
      this.running.set(name, run);
      run.catch(async (error: unknown) => {
        const code = error instanceof PlatformError ? error.code : 'INTERNAL';
        const message = error instanceof Error ? error.message : String(error);
        this.logger[trigger.kind === 'command' ? 'warn' : 'error']({ service: SERVICE, pipeline: name, trigger: trigger.kind, err: error }, 'training run failed');
        await this.record(name, trigger, 'failed', code, message).catch(() => undefined);
      });
    }
    return decision;
  }

  private async lastRunOf(pipeline: string): Promise<number | undefined> {
    if (!this.lastRunAt.has(pipeline)) {
      const [row] = await queryRows<{ at: number | null }>(await this.clickhouse.client(),
        `SELECT toUnixTimestamp64Milli(max(decided_at)) AS at FROM ${TABLES.retraining_decisions} WHERE pipeline = {p:String} AND decision = 'trained' HAVING count() > 0`,
        { p: pipeline });
      this.lastRunAt.set(pipeline, row?.at == null ? undefined : Number(row.at));
    }
    return this.lastRunAt.get(pipeline);
  }

  private async record(pipeline: string, trigger: RetrainingTrigger, decision: RetrainingDecisionRow['decision'], reason: string, detail: string, newLabels?: number): Promise<void> {
    const alert = trigger.kind === 'alert' ? trigger.alert : undefined;
    this.metrics.retrainingDecisions.inc({ pipeline, decision, reason });
    // A failed run's error is logged where it is caught; this line is the decision itself.
    this.logger.info({
      service: SERVICE, pipeline, trigger: trigger.kind, alert_id: alert?.alert_id, decision, reason, detail,
    }, `retraining ${decision}`);
    await insertRows(await this.clickhouse.client(), TABLES.retraining_decisions, [{
      pipeline, decided_at: Date.now(), trigger: trigger.kind, alert_kind: alert?.kind ?? '', alert_statistic: alert?.statistic ?? '',
      alert_feature: alert?.feature ?? '', alert_id: alert?.alert_id ?? '', decision, reason, detail, new_labels: newLabels ?? -1, model_version: 0,
    }]);
  }

  /** The latest retraining decisions of a pipeline, newest first (GET /v1/pipelines/:p/retraining). */
  async decisions(pipeline: string, limit = 100): Promise<RetrainingDecisionRow[]> {
    const name = this.pipelines.pipeline(pipeline).spec.pipeline;
    const rows = await queryRows<RetrainingDecisionRow & { decided_at: number }>(await this.clickhouse.client(),
      `SELECT pipeline, toUnixTimestamp64Milli(decided_at) AS decided_at, trigger, alert_kind, alert_statistic, alert_feature, alert_id,
              toString(decision) AS decision, reason, detail, new_labels, model_version
       FROM ${TABLES.retraining_decisions} WHERE pipeline = {p:String} ORDER BY decided_at DESC LIMIT {limit:UInt32}`,
      { p: name, limit });
    return rows.map((r) => ({ ...r, decided_at: Number(r.decided_at), new_labels: Number(r.new_labels), model_version: Number(r.model_version) }));
  }

  /** An alert held back for "not now" is asked again when its time comes (the newest per pipeline). */
  private async retryDeferredAlerts(): Promise<void> {
    for (const [name, { alert, retryAt }] of [...this.deferred]) {
      if (retryAt > Date.now()) continue;
      this.deferred.delete(name);
      await this.trigger(name, { kind: 'alert', alert }).catch((error: unknown) => {
        this.logger.warn({ service: SERVICE, pipeline: name, alert_id: alert.alert_id, err: error }, 'a held-back alert could not be asked again');
      });
    }
  }

  /** The online half of promotion, per pipeline with a challenger: decided once its horizon of labelled events is reached. */
  private async reviewChallengers(): Promise<void> {
    await this.retryDeferredAlerts();
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
        // A champion on probation: kept, or rolled back (with a model_rollback alert on the pipeline's alerts topic).
        const probation = await reviewProbation({ ...deps, raiseAlerts: this.alertsOf(ctx) }, ctx.spec);
        if (probation.status === 'decided') {
          this.metrics.promotionDecisions.inc({ pipeline: name, phase: 'probation', outcome: probation.verdict === 'keep' ? 'kept' : 'rolled_back' });
        }
      } catch (error) {
        this.logger.warn({ service: SERVICE, pipeline: name, err: error }, 'online review of the challenger failed; tried again');
      }
    }
  }

  private async runOnce(ctx: PipelineContext, reason: string): Promise<TrainingResult> {
    const { spec } = ctx;
    const deps = {
      clickhouse: await this.clickhouse.client(),
      registry: this.registry(ctx),
      logger: this.logger.child({ service: SERVICE, pipeline: spec.pipeline }),
      now: Date.now,
      countRun: (outcome: string) => this.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome }),
      raiseAlerts: this.alertsOf(ctx),
      countDataQuality: (labels: { pipeline: string; scope: string; check: string; result: string }) => this.metrics.dataQualityChecks.inc(labels),
      // Off the event loop unless STREAMLOOP_TRAINING_WORKER=false: in the monolith that loop serves predictions.
      fit: this.settings.trainingWorker ? (input: FitInput, onProgress?: (progress: FitProgress) => void) => fitOnWorker(input, { signal: this.closing.signal, onProgress }) : fitAndExport,
    };
    const result = await runTraining(deps, { spec, featureNames: featureNamesOf(spec.features), gbdtThreads: this.settings.gbdtThreads, reason });
    this.metrics.promotionDecisions.inc({ pipeline: spec.pipeline, phase: 'offline', outcome: result.stage });
    return result;
  }

  /** Alerts of the training target (the data-quality gate, a rollback) go to the pipeline's alerts topic, as monitoring's do. */
  private alertsOf(ctx: PipelineContext): (alerts: AlertRecord[]) => Promise<void> {
    return async (alerts) => {
      await this.producer.send(ctx.topics.alerts, this.types.alert, alerts.map((a) => ({ key: a.feature, value: a })));
    };
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
