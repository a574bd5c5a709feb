import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { countLabelledFeatures, insertRows, loadEventField, loadTrainingDataset, TABLES, type ClickHouseClient, type ExperimentRow, type TrainingRow } from '@streamloop/clickhouse';
import { PlatformError } from '@streamloop/errors';
import { roundToFloat32, timeSplit, trainClassifier, validateModel, type Algorithm, type ModelParamValue } from '@streamloop/ml';
import { championOf, nextVersion, publishModelVersion, readRegistry, type ModelRegistryRecord } from '@streamloop/model-registry';
import { RUNTIME, Runtime, type PipelineContext } from '@streamloop/runtime';
import { heldOutMetrics, importanceReport, segmentEntries } from './held-out-report';
import { chooseThreshold, metricName, searchParams, THRESHOLD_CV, trainingFolds, trialEntries, type ModelChoice, type SearchOutcome, type ThresholdOutcome, type TrainingPart } from './model-selection';

const SERVICE = 'training';
/** Per feature, how many training values travel with the model as the drift reference. */
const REFERENCE_SAMPLE = 2000;
const AUTO_TRAIN_CHECK_MS = 3000;

export class NotEnoughDataError extends PlatformError {
  constructor(message: string) {
    super('NOT_ENOUGH_DATA', message);
  }
}

export interface TrainingResult {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  training_rows: number;
  holdout_rows: number;
  metrics: Record<string, number>;
  data_window_start: number;
  data_window_end: number;
  onnx_bytes: number;
  parity_max_abs_diff: number;
  duration_ms: number;
  /** The decision threshold published with the model (chosen on the training part when model.threshold asks for it). */
  threshold: number;
  /** The params the published model was fitted with. */
  params: Record<string, ModelParamValue>;
  /** The hyperparameter search that chose them, when model.search is set. */
  search: SearchSummary | null;
}

export interface SearchSummary {
  search_id: string;
  strategy: string;
  metric: string;
  trials: number;
  failed_trials: number;
  best_trial_id: number;
  /** The winner's mean cross-validated score on the training part. */
  cv_score: number;
}

/**
 * Builds a dataset from ClickHouse (feature vectors joined with their labels), trains, evaluates on the
 * most recent time window, exports ONNX, checks the exported model against the trained one, and
 * publishes it to the model registry topic.
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
        // A pipeline that has had a model of its own, or has a champion from elsewhere, has its first model.
        const registry = await readRegistry(this.runtime, ctx.topics.models, { pipeline: name });
        if (nextVersion(registry, name, ctx.spec.model.name) > 1 || championOf(registry, name)) {
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
    const started = Date.now();
    const { spec, topics } = ctx;
    const log = this.runtime.logger.child({ service: SERVICE, pipeline: spec.pipeline });
    const ch = await this.runtime.clickhouse();
    const rows = await loadTrainingDataset(ch, { pipeline: spec.pipeline, featureSpecVersion: spec.features.version });
    if (rows.length < spec.training.minLabels) {
      throw new NotEnoughDataError(
        `pipeline ${spec.pipeline}: ${rows.length} labelled feature vectors, training needs at least ${spec.training.minLabels} (training.min_labels)`,
      );
    }
    const featureNames = this.runtime.featureComputer(spec.pipeline).featureNames;
    const choice: ModelChoice = { algorithm: spec.model.algorithm as Algorithm, featureNames, gbdtThreads: this.runtime.settings.gbdtThreads };
    const { train, test } = timeSplit(rows, { timeKey: 'event_time', holdoutFraction: spec.training.holdoutFraction });
    const matrix = (part: typeof rows) => part.map((r) => featureNames.map((n) => r.values[n] ?? Number.NaN));
    const labels = (part: typeof rows) => part.map((r) => r.label);
    const part: TrainingPart = { X: matrix(train), y: labels(train), times: train.map((r) => r.event_time) };
    const experimentId = `${spec.pipeline}/${spec.model.name}`;

    // Model selection sees the training part only; the held-out window is scored once, by the final model.
    const searchId = randomUUID();
    let params: Record<string, ModelParamValue> = { ...spec.model.params };
    let search: SearchOutcome | null = null;
    if (spec.model.search) {
      search = searchParams(spec.model.search, choice, part, { baseParams: params, threshold: spec.model.threshold });
      params = search.params;
      await insertRows(ch, TABLES.experiments, this.trialRows(spec.model.search, search, { experimentId, searchId, pipeline: spec.pipeline, modelName: spec.model.name }));
      const best = search.result.best;
      log.info({ search_id: searchId, trials: search.result.trials.length, best_trial: best.trialId, [metricName(search.result.metric)]: best.score, params }, 'hyperparameter search done');
    }
    const model = trainClassifier(choice.algorithm, part.X, part.y, { featureNames, params, gbdtThreads: choice.gbdtThreads });
    const threshold: ThresholdOutcome = spec.model.thresholdSelection
      ? chooseThreshold(spec.model.thresholdSelection, choice, part, {
        params, folds: search?.folds ?? trainingFolds(THRESHOLD_CV, part), fallback: spec.model.threshold,
      })
      : { threshold: spec.model.threshold, strategy: 'fixed', metrics: {} };

    // onnxruntime reads float32 inputs; the reference scores see the same rounded inputs.
    const testX = roundToFloat32(matrix(test));
    const testY = labels(test);
    const testScores = model.predictProba(testX);
    const evaluation = heldOutMetrics(testY, testScores, threshold.threshold);
    const segments = spec.training.segmentBy ? await this.segmentMetrics(ch, spec.pipeline, spec.training.segmentBy, test, testY, testScores, threshold.threshold) : {};
    const importance = importanceReport(model, testX);
    const onnx = model.toOnnx(spec.model.name);
    const parity = await validateModel(onnx, testX, testScores, 1e-5);
    if (!parity.ok) {
      this.runtime.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome: 'rejected' });
      throw new PlatformError('INTERNAL', `pipeline ${spec.pipeline}: exported ONNX disagrees with the trained model by ${parity.maxAbsDiff} (> 1e-5); not published`);
    }
    const searchSummary = search ? summarize(searchId, search) : null;
    const version = nextVersion(await readRegistry(this.runtime, topics.models, { pipeline: spec.pipeline }), spec.pipeline, spec.model.name);
    const record: ModelRegistryRecord = {
      pipeline: spec.pipeline,
      model_name: spec.model.name,
      model_version: version,
      algorithm: spec.model.algorithm,
      stage: 'champion',
      created_at: Date.now(),
      feature_names: featureNames,
      feature_spec_version: spec.features.version,
      threshold: threshold.threshold,
      onnx: Buffer.from(onnx),
      onnx_sha256: createHash('sha256').update(onnx).digest('hex'),
      metrics: finiteOnly({
        ...evaluation, ...threshold.metrics, ...segments, ...importance.metrics,
        ...(search ? searchMetrics(search) : {}),
        training_rows: train.length, holdout_rows: test.length,
      }),
      params: {
        ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
        ...model.describe(),
        threshold_strategy: threshold.strategy,
        feature_importance: importance.kind,
        holdout_window_start: String(test[0].event_time),
        ...(searchSummary ? {
          search_id: searchId, search_strategy: searchSummary.strategy, search_metric: searchSummary.metric,
          search_best_trial: String(searchSummary.best_trial_id), search_trials: String(searchSummary.trials),
        } : {}),
      },
      data_window_start: rows[0].event_time,
      data_window_end: rows[rows.length - 1].event_time,
      training_rows: train.length,
      reference: referenceSample(train, featureNames),
      feature_importance: importance.shares,
      // Our own models: input 'features', output 'probabilities' (see the schema's doc).
      signature: null,
    };
    await publishModelVersion(this.runtime, topics.models, record);
    this.published.add(spec.pipeline);
    const duration = Date.now() - started;
    await insertRows(ch, TABLES.experiments, [{
      pipeline: spec.pipeline,
      experiment_id: experimentId,
      run_id: randomUUID(),
      model_name: spec.model.name,
      params: { ...record.params, reason, model_version: String(version) },
      metrics: record.metrics,
      started_at: started,
      duration_ms: duration,
      status: 'published',
    }]);
    this.runtime.metrics.trainingRuns.inc({ pipeline: spec.pipeline, outcome: 'published' });
    log.info({ version, roc_auc: evaluation.roc_auc, pr_auc: evaluation.pr_auc, threshold: threshold.threshold, rows: rows.length, reason }, 'model published');
    return {
      pipeline: spec.pipeline,
      model_name: spec.model.name,
      model_version: version,
      algorithm: spec.model.algorithm,
      training_rows: train.length,
      holdout_rows: test.length,
      metrics: record.metrics,
      data_window_start: record.data_window_start,
      data_window_end: record.data_window_end,
      onnx_bytes: onnx.length,
      parity_max_abs_diff: parity.maxAbsDiff,
      duration_ms: duration,
      threshold: threshold.threshold,
      params,
      search: searchSummary,
    };
  }

  /** One experiments row per trial (status trial, or trial_failed with the error in params), sharing the search id. */
  private trialRows(
    searchSpec: NonNullable<PipelineContext['spec']['model']['search']>,
    search: SearchOutcome,
    ids: { experimentId: string; searchId: string; pipeline: string; modelName: string },
  ): ExperimentRow[] {
    return search.result.trials.map((trial) => {
      const { params, metrics } = trialEntries(trial, searchSpec);
      return {
        pipeline: ids.pipeline,
        experiment_id: ids.experimentId,
        run_id: `${ids.searchId}/trial-${trial.trialId}`,
        model_name: ids.modelName,
        params: { ...params, search_id: ids.searchId },
        metrics: finiteOnly(metrics),
        started_at: search.startedAt[trial.trialId],
        duration_ms: trial.durationMs,
        status: trial.status === 'ok' ? 'trial' : 'trial_failed',
      };
    });
  }

  /**
   * Held-out metrics per value of an event field, read from the stored events (the monitoring service writes
   * them). Skipped, with a warning and segment_coverage 0, when none of the held-out events is stored.
   */
  private async segmentMetrics(
    ch: ClickHouseClient, pipeline: string, field: string, test: TrainingRow[], y: number[], scores: ArrayLike<number>, threshold: number,
  ): Promise<Record<string, number>> {
    const values = await loadEventField(ch, { pipeline, field, from: test[0].event_time, to: test[test.length - 1].event_time });
    const found = test.filter((r) => values.has(r.event_id)).length;
    if (found === 0) {
      this.runtime.logger.warn({ service: SERVICE, pipeline, field }, 'no held-out event is in the events table; segment metrics skipped');
      return { segment_coverage: 0 };
    }
    return { segment_coverage: found / test.length, ...segmentEntries(field, y, scores, test.map((r) => values.get(r.event_id)), threshold) };
  }
}

function summarize(searchId: string, search: SearchOutcome): SearchSummary {
  const { result } = search;
  return {
    search_id: searchId,
    strategy: result.strategy,
    metric: metricName(result.metric),
    trials: result.trials.length,
    failed_trials: result.trials.filter((t) => t.status === 'failed').length,
    best_trial_id: result.best.trialId,
    cv_score: result.best.score,
  };
}

/** The winner's cross-validated metrics on the training part: search_cv_<metric> (mean) and search_cv_<metric>_std. */
function searchMetrics(search: SearchOutcome): Record<string, number> {
  const out: Record<string, number> = { search_trials: search.result.trials.length };
  for (const [m, summary] of Object.entries(search.result.best.metrics)) {
    if (!summary) continue;
    const name = metricName(m as keyof typeof search.result.best.metrics);
    out[`search_cv_${name}`] = summary.mean;
    out[`search_cv_${name}_std`] = summary.std;
  }
  return out;
}

function finiteOnly(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

/** An evenly spaced sample of each feature's training values (deterministic, keeps the time spread). */
function referenceSample(rows: Array<{ values: Record<string, number> }>, names: string[]): Record<string, number[]> {
  const count = Math.min(rows.length, REFERENCE_SAMPLE);
  const step = rows.length / count;
  const out: Record<string, number[]> = {};
  for (const n of names) {
    out[n] = Array.from({ length: count }, (_, k) => rows[Math.floor(k * step)].values[n] ?? Number.NaN);
  }
  return out;
}
