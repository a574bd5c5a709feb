// The training run: dataset from ClickHouse, time split, model selection on the training part, one fit, held-out
// report, ONNX export checked against the trained model, publication to the model registry and the experiment log.
// No Nest, no Kafka: what it needs from the process comes in as TrainingDeps.
import { createHash, randomUUID } from 'node:crypto';
import { insertRows, latestEventTime, loadEventField, loadTrainingDataset, TABLES, type ClickHouseClient, type ExperimentRow, type TrainingRow } from '@streamloop/clickhouse';
import type { PipelineSpec, SearchSpec } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { timeSplit, type Algorithm, type ModelParamValue } from '@streamloop/ml';
import { championOf, nextVersion, planTransition, type ModelRegistryRecord, type ModelStage, type RegistryState } from '@streamloop/model-registry';
import type { Logger } from '@streamloop/observability';
import { ProgressReporter, type ProgressTask } from '@streamloop/progress';
import { dataQualityGate, type DataQualityGateDeps } from './data-quality-gate';
import { toRowMajor, type FitInput, type FitOutput, type FitProgress, type SearchReport } from './fit-and-export';
import { fitOnWorker } from './fit-worker';
import { segmentEntries } from './held-out-report';
import { placeNewModel, promotionRuleOf } from './offline-promotion';
import { metricName, trialEntries } from './model-selection';

/** Per feature, how many training values travel with the model as the drift reference. */
export const REFERENCE_SAMPLE = 2000;
/** Largest |ONNX − TypeScript| score on the held-out rows a published model may have. */
export const PARITY_TOLERANCE = 1e-5;

/** Structured log lines (the platform's pino logger, usually a child naming the service and pipeline). */
export type JobLogger = Pick<Logger, 'info' | 'warn'>;

/** The model registry as a run sees it: the pipeline's versions now, and publication of one more. */
export interface ModelRegistryAccess {
  /** The pipeline's registry, read to its end (version numbers are taken from it). */
  read(): Promise<RegistryState>;
  publish(record: ModelRegistryRecord): Promise<unknown>;
}

/** What a training run needs from the process. */
export interface TrainingDeps {
  clickhouse: ClickHouseClient;
  registry: ModelRegistryAccess;
  logger: JobLogger;
  /** Epoch milliseconds (created_at, started_at, durations). */
  now(): number;
  /** Told the outcome of a run that got as far as the export check (the training-runs counter). */
  countRun?(outcome: 'published' | 'rejected'): void;
  /** The data-quality gate's alerts (the pipeline's alerts topic) and check counter; absent: not raised, not counted. */
  raiseAlerts?: DataQualityGateDeps['raiseAlerts'];
  countDataQuality?: DataQualityGateDeps['countCheck'];
  /**
   * Where the search, fits, held-out scoring and ONNX export run: default fitOnWorker (a worker thread, so the
   * process's event loop keeps serving); fitAndExport runs them on the calling thread.
   */
  fit?: (input: FitInput, onProgress?: (progress: FitProgress) => void) => Promise<FitOutput>;
  /**
   * Where the run's progress goes (dataset loading, each search trial, the final fit, the export): default info lines
   * of `logger`, at most one per step every 5 s besides each step's first and last.
   */
  progress?: ProgressReporter;
}

const STEP_NAMES: Record<FitProgress['step'], string> = { search: 'hyperparameter search', fit: 'final fit', export: 'ONNX export' };

export interface TrainingRequest {
  spec: PipelineSpec;
  /** The model's input columns in order (the pipeline's feature names). */
  featureNames: string[];
  /** Threads of each GBDT fit (STREAMLOOP_GBDT_THREADS); the model does not depend on them. */
  gbdtThreads?: number;
  /** Why this run (logged, and in the experiment row's params). */
  reason: string;
}

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
  /** Where the model went: champion (the first, or better offline with no online stage), challenger, candidate or rejected. */
  stage: ModelStage;
  decision_reason: string;
  /** The offline comparison's numbers (offline_auc_champion, offline_auc_p_value, …) besides roc_auc and pr_auc. */
  decision_metrics: Record<string, number>;
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

/** The dataset bounds of `training.window`: the latest span of event time (up to the newest vector), or the latest rows. */
async function windowOf(ch: ClickHouseClient, spec: PipelineSpec): Promise<{ since?: number; lastRows?: number }> {
  const window = spec.training.window ?? { kind: 'all' };
  if (window.kind === 'rows') return { lastRows: window.lastRows };
  if (window.kind === 'all') return {};
  const newest = await latestEventTime(ch, 'features', spec.pipeline);
  return newest === undefined ? {} : { since: newest - window.lastMs };
}

/** A pipeline that has had a model of its own, or has a champion from elsewhere, has its first model. */
export function hasFirstModel(registry: RegistryState, spec: Pick<PipelineSpec, 'pipeline' | 'model'>): boolean {
  return nextVersion(registry, spec.pipeline, spec.model.name) > 1 || championOf(registry, spec.pipeline) !== undefined;
}

/**
 * Builds a dataset from ClickHouse (feature vectors joined with their labels), trains, evaluates on the most recent
 * time window, exports ONNX, checks the exported model against the trained one, publishes it (the first model as
 * champion; a later one at the stage its comparison with the champion on the held-out window earns) and
 * logs the run (and each search trial) in the experiments table. Throws NotEnoughDataError below
 * training.min_labels, DataQualityError (DATA_QUALITY_FAILED) when the data-quality gate fails, and INTERNAL (nothing
 * published) when the export disagrees with the model.
 */
export async function runTraining(deps: TrainingDeps, request: TrainingRequest): Promise<TrainingResult> {
  const started = deps.now();
  const { spec, featureNames, reason } = request;
  const { clickhouse: ch, logger: log } = deps;
  const progress = deps.progress ?? new ProgressReporter({
    sink: (line, f) => log.info({ progress: f.task, done: f.done, total: f.total, finished: f.finished }, line),
  });
  const loading = progress.task(`${spec.pipeline} training dataset`, undefined, 'loading the labelled feature vectors from ClickHouse');
  const rows = await loadTrainingDataset(ch, { pipeline: spec.pipeline, featureSpecVersion: spec.features.version, ...await windowOf(ch, spec) });
  loading.finish('labelled feature vectors loaded', rows.length);
  if (rows.length < spec.training.minLabels) {
    throw new NotEnoughDataError(
      `pipeline ${spec.pipeline}: ${rows.length} labelled feature vectors, training needs at least ${spec.training.minLabels} (training.min_labels)`,
    );
  }
  // The data-quality gate: writes its report and throws DataQualityError (422, nothing trained) when a check fails.
  await dataQualityGate({ ...deps, readRegistry: () => deps.registry.read(), countCheck: deps.countDataQuality }, { spec, featureNames, rows, computedAt: started });
  const { train, test } = timeSplit(rows, { timeKey: 'event_time', holdoutFraction: spec.training.holdoutFraction });
  const matrix = (part: typeof rows) => toRowMajor(part.map((r) => featureNames.map((n) => r.values[n] ?? Number.NaN)), featureNames.length);
  const labels = (part: typeof rows) => part.map((r) => r.label);
  const testY = labels(test);
  const experimentId = `${spec.pipeline}/${spec.model.name}`;

  // The CPU-bound part (search, fits, held-out report, ONNX export and parity) runs off this thread in the service.
  const steps = new Map<FitProgress['step'], ProgressTask>();
  const onProgress = (event: FitProgress) => {
    let task = steps.get(event.step);
    if (!task) {
      steps.set(event.step, (task = progress.task(`${spec.pipeline} ${STEP_NAMES[event.step]}`, event.total, event.detail)));
      if (event.done === 0 && !event.finished) return;
    }
    if (event.finished) task.finish(event.detail, event.done);
    else task.update(event.done, event.detail);
  };
  const fit = deps.fit ?? ((input: FitInput, report?: (p: FitProgress) => void) => fitOnWorker(input, { onProgress: report }));
  const fitted = await fit({
    modelName: spec.model.name, algorithm: spec.model.algorithm as Algorithm, featureNames, gbdtThreads: request.gbdtThreads,
    params: { ...spec.model.params }, search: spec.model.search ?? null, threshold: spec.model.threshold,
    thresholdSelection: spec.model.thresholdSelection ?? null, parityTolerance: PARITY_TOLERANCE,
    train: { X: matrix(train), y: labels(train), times: train.map((r) => r.event_time) },
    test: { X: matrix(test), y: testY },
  }, onProgress);
  const { params, search, threshold, evaluation, importance, onnx, parity } = fitted;
  const testScores = fitted.heldOutScores;
  const searchId = randomUUID();
  if (spec.model.search && search) {
    await insertRows(ch, TABLES.experiments, trialRows(spec.model.search, search, { experimentId, searchId, pipeline: spec.pipeline, modelName: spec.model.name }));
    const best = search.result.best;
    log.info({ search_id: searchId, trials: search.result.trials.length, best_trial: best.trialId, [metricName(search.result.metric)]: best.score, params }, 'hyperparameter search done');
  }
  const segments = spec.training.segmentBy
    ? await segmentMetrics(deps, { pipeline: spec.pipeline, field: spec.training.segmentBy, test, y: testY, scores: testScores, threshold: threshold.threshold })
    : {};
  if (!parity.ok) {
    deps.countRun?.('rejected');
    throw new PlatformError('INTERNAL', `pipeline ${spec.pipeline}: exported ONNX disagrees with the trained model by ${parity.maxAbsDiff} (> ${PARITY_TOLERANCE}); not published`);
  }
  const searchSummary = search ? summarize(searchId, search) : null;
  const registry = await deps.registry.read();
  const version = nextVersion(registry, spec.pipeline, spec.model.name);
  // The champion and the new model on the same held-out events: where the new model goes, and why.
  const placement = await placeNewModel(registry, spec.pipeline, {
    values: test.map((r) => r.values), labels: testY, candidateScores: testScores,
  }, promotionRuleOf(spec.promotion));
  const createdAt = deps.now();
  const record: ModelRegistryRecord = {
    pipeline: spec.pipeline,
    model_name: spec.model.name,
    model_version: version,
    algorithm: spec.model.algorithm,
    stage: placement.stage,
    created_at: createdAt,
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
      ...fitted.description,
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
    decided_by: 'training',
    decided_at: createdAt,
    decision_reason: `trained ${reason}; ${placement.reason}`,
    decision_metrics: { ...pick(evaluation, ['roc_auc', 'pr_auc']), ...placement.metrics },
  };
  await deps.registry.publish(record);
  // One challenger at a time: the one it replaces is retired, with the reason.
  const replaced = placement.replacedChallenger?.record;
  if (replaced) {
    const retire = planTransition(registry, spec.pipeline, {
      action: 'archive', version: replaced.model_version, model: replaced.model_name, decidedBy: 'training', now: createdAt,
      reason: `replaced by challenger ${record.model_name} v${version}`,
    });
    await deps.registry.publish(retire.record);
  }
  const duration = deps.now() - started;
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
  deps.countRun?.('published');
  log.info({ version, stage: placement.stage, fit_thread: fitted.threadId, roc_auc: evaluation.roc_auc, pr_auc: evaluation.pr_auc, threshold: threshold.threshold, rows: rows.length, reason, decision: placement.reason }, `model published as ${placement.stage}`);
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
    stage: placement.stage,
    decision_reason: record.decision_reason,
    decision_metrics: record.decision_metrics,
  };
}

/** One experiments row per trial (status trial, or trial_failed with the error in params), sharing the search id. */
function trialRows(
  searchSpec: SearchSpec,
  search: SearchReport,
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
async function segmentMetrics(
  deps: Pick<TrainingDeps, 'clickhouse' | 'logger'>,
  a: { pipeline: string; field: string; test: TrainingRow[]; y: number[]; scores: ArrayLike<number>; threshold: number },
): Promise<Record<string, number>> {
  const { pipeline, field, test } = a;
  const values = await loadEventField(deps.clickhouse, { pipeline, field, from: test[0].event_time, to: test[test.length - 1].event_time });
  const found = test.filter((r) => values.has(r.event_id)).length;
  if (found === 0) {
    deps.logger.warn({ pipeline, field }, 'no held-out event is in the events table; segment metrics skipped');
    return { segment_coverage: 0 };
  }
  return { segment_coverage: found / test.length, ...segmentEntries(field, a.y, a.scores, test.map((r) => values.get(r.event_id)), a.threshold) };
}

function summarize(searchId: string, search: SearchReport): SearchSummary {
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
function searchMetrics(search: SearchReport): Record<string, number> {
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
export function referenceSample(rows: Array<{ values: Record<string, number> }>, names: string[], size = REFERENCE_SAMPLE): Record<string, number[]> {
  const count = Math.min(rows.length, size);
  const step = rows.length / count;
  const out: Record<string, number[]> = {};
  for (const n of names) {
    out[n] = Array.from({ length: count }, (_, k) => rows[Math.floor(k * step)].values[n] ?? Number.NaN);
  }
  return out;
}

/** The named entries of a metrics record that are finite numbers. */
function pick(metrics: Record<string, number>, names: string[]): Record<string, number> {
  return Object.fromEntries(names.filter((n) => Number.isFinite(metrics[n])).map((n) => [n, metrics[n]]));
}
