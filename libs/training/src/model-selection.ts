// Hyperparameter search and threshold choice, both on the training part only: the held-out window is scored once,
// by the final model, so its metrics are an honest estimate of what the published model will do.
import type { SearchSpec, ThresholdSelection } from '@streamloop/config';
import {
  checkSearchParams, classifierFactory, CV_METRICS, crossValidate, crossValidationObjective, parseSearchSpace,
  randomSearch, ROWS_RESOURCE, selectThreshold, stratifiedKFoldSplit, successiveHalving, thresholdMaxF1,
  timeSeriesSplit, type Algorithm, type CvMetric, type Fold, type Matrix, type ModelParamValue, type SearchResult, type TrialRecord,
} from '@streamloop/ml';

/** The training part of the time split, in event-time order. */
export interface TrainingPart {
  X: Matrix;
  y: number[];
  /** Event time (epoch ms) per row; time-series folds never train on a row at or after their test rows. */
  times: number[];
}

export interface ModelChoice {
  algorithm: Algorithm;
  featureNames: readonly string[];
  /** Threads of each GBDT fit (the settings' STREAMLOOP_GBDT_THREADS); the model does not depend on them. */
  gbdtThreads?: number;
}

/** Folds over the training part, as the spec's `model.search.cv` describes them. */
export function trainingFolds(cv: SearchSpec['cv'], part: TrainingPart): Fold[] {
  if (cv.kind === 'time_series') return timeSeriesSplit(part.y.length, { nSplits: cv.folds, times: part.times });
  return stratifiedKFoldSplit(part.y, { k: cv.folds });
}

/** The name a metric is logged and published under: average precision is the PR AUC. */
export function metricName(metric: CvMetric): string {
  return metric === 'average_precision' ? 'pr_auc' : metric;
}

export interface SearchOutcome {
  result: SearchResult;
  /** What the final model is fitted with: model.params, overridden by the winner's sampled values and, when the halving resource is a model param, its last-rung budget. */
  params: Record<string, ModelParamValue>;
  folds: Fold[];
  /** Wall-clock start (epoch ms) per trial id. */
  startedAt: number[];
}

/** Runs the spec's search on the training part; every trial is in the result, in the order it ran. */
export function searchParams(
  search: SearchSpec,
  model: ModelChoice,
  part: TrainingPart,
  opts: { baseParams: Record<string, ModelParamValue>; threshold: number; onTrial?: (trial: TrialRecord) => void },
): SearchOutcome {
  // Before any trial: a bad param would otherwise fail every one of them with the same error.
  checkSearchParams(model.algorithm, search, opts.baseParams);
  const folds = trainingFolds(search.cv, part);
  const objective = crossValidationObjective({
    algorithm: model.algorithm, featureNames: model.featureNames, X: part.X, y: part.y, folds,
    baseParams: opts.baseParams, threshold: opts.threshold, seed: search.seed, gbdtThreads: model.gbdtThreads,
  });
  const space = parseSearchSpace(search.space, 'model.search.space');
  const startedAt: number[] = [];
  const onTrial = (t: TrialRecord) => {
    startedAt[t.trialId] = Math.round(Date.now() - t.durationMs);
    opts.onTrial?.(t);
  };
  const common = { objective, metric: search.metric, seed: search.seed, space, onTrial };
  const result = search.strategy === 'random'
    ? randomSearch({ ...common, nTrials: search.trials })
    : successiveHalving({
      ...common, nCandidates: search.candidates, factor: search.factor, resource: search.resource,
      minBudget: search.minResource, maxBudget: search.maxResource,
    });
  const params: Record<string, ModelParamValue> = { ...opts.baseParams, ...result.best.params };
  const budget = result.best.budget;
  if (budget && budget.resource !== ROWS_RESOURCE) params[budget.resource] = budget.value;
  return { result, params, folds, startedAt };
}

/** One experiments-table row's params and metrics for a trial (the caller adds the ids and times). */
export function trialEntries(trial: TrialRecord, search: SearchSpec): { params: Record<string, string>; metrics: Record<string, number> } {
  const params: Record<string, string> = {
    ...Object.fromEntries(Object.entries(trial.params).map(([k, v]) => [k, String(v)])),
    search_strategy: search.strategy,
    search_metric: metricName(search.metric),
    search_cv: `${search.cv.kind}:${search.cv.folds}`,
    trial_id: String(trial.trialId),
    candidate_id: String(trial.candidateId),
    rung: String(trial.rung),
  };
  if (trial.budget) {
    params.budget_resource = trial.budget.resource;
    params.budget_value = String(trial.budget.value);
  }
  if (trial.error !== undefined) params.error = trial.error;
  const metrics: Record<string, number> = { score: trial.score };
  for (const m of CV_METRICS) {
    const summary = trial.metrics[m];
    if (!summary) continue;
    metrics[metricName(m)] = summary.mean;
    metrics[`${metricName(m)}_std`] = summary.std;
  }
  trial.foldScores.forEach((s, f) => (metrics[`fold_${f}_score`] = s));
  return { params, metrics };
}

export interface ThresholdOutcome {
  threshold: number;
  /** 'fixed' (model.threshold as written), 'max_f1' or 'target_precision'. */
  strategy: 'fixed' | ThresholdSelection['strategy'];
  /** Entries for the record's metrics: the operating point on the out-of-fold predictions it was chosen from. */
  metrics: Record<string, number>;
}

/** Default folds for choosing a threshold when the spec has no search (and so no `model.search.cv`). */
export const THRESHOLD_CV: SearchSpec['cv'] = { kind: 'time_series', folds: 3 };

/**
 * Chooses the decision threshold on out-of-fold predictions of the training part (each row scored by a model
 * fitted without it, with the final params), never on the held-out window, whose metrics would then be
 * optimistic. A target precision no threshold reaches falls back to the max-F1 threshold
 * (threshold_target_met = 0); out-of-fold predictions without a positive fall back to the fixed threshold.
 */
export function chooseThreshold(
  selection: ThresholdSelection,
  model: ModelChoice,
  part: TrainingPart,
  opts: { params: Record<string, ModelParamValue>; folds: Fold[]; fallback: number },
): ThresholdOutcome {
  const cv = crossValidate(part.X, part.y, { folds: opts.folds, fit: classifierFactory(model.algorithm, { featureNames: model.featureNames, params: opts.params, gbdtThreads: model.gbdtThreads }) });
  const scored: number[] = [];
  for (let i = 0; i < cv.predictions.length; i++) if (!Number.isNaN(cv.predictions[i])) scored.push(i);
  const y = scored.map((i) => part.y[i]);
  const scores = scored.map((i) => cv.predictions[i]);
  const metrics: Record<string, number> = { threshold_oof_rows: scored.length };
  if (!y.includes(1)) return { threshold: opts.fallback, strategy: 'fixed', metrics: { ...metrics, threshold_chosen: 0 } };
  let choice = selectThreshold(y, scores, selection);
  if (selection.strategy === 'target_precision') {
    metrics.threshold_target_precision = selection.precision;
    metrics.threshold_target_met = choice ? 1 : 0;
  }
  choice ??= thresholdMaxF1(y, scores);
  return {
    threshold: choice.threshold,
    strategy: selection.strategy,
    metrics: { ...metrics, threshold_chosen: 1, threshold_oof_precision: choice.precision, threshold_oof_recall: choice.recall, threshold_oof_f1: choice.f1 },
  };
}
