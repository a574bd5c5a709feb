import { CV_METRICS, type CvMetric, type MetricSummary } from '../evaluation/cross-validate';
import type { Budget, TrialObjective } from './objective';
import type { ParamValues } from './space';

/** One evaluation of one parameter set: what the training service writes to its experiments table. */
export interface TrialRecord {
  /** Sequential over the whole search, from 0. */
  trialId: number;
  /** The parameter set; the same candidate is evaluated once per rung it survives in successive halving. */
  candidateId: number;
  /** Successive-halving round (0 for random search). */
  rung: number;
  /** The sampled parameters (fixed values of the space included, the budget param not). */
  params: ParamValues;
  /** null when the trial used the full data and the params as given. */
  budget: Budget | null;
  status: 'ok' | 'failed';
  /** Mean / std across folds per metric (empty when the trial failed). */
  metrics: Partial<Record<CvMetric, MetricSummary>>;
  /** Mean of the search metric (NaN when failed or undefined). */
  score: number;
  /** The search metric on each fold. */
  foldScores: number[];
  durationMs: number;
  error?: string;
}

export interface SearchResult {
  strategy: 'random' | 'successive_halving';
  metric: CvMetric;
  direction: 'maximize' | 'minimize';
  trials: TrialRecord[];
  /** The best successful trial (for successive halving: of the last rung). */
  best: TrialRecord;
}

export interface SearchOptionsBase {
  objective: TrialObjective;
  /** The CV metric to optimize; its direction comes from METRIC_DIRECTION. Default roc_auc. */
  metric?: CvMetric;
  seed?: number;
  /** Called after every trial (e.g. to insert it into ClickHouse as it completes). */
  onTrial?: (trial: TrialRecord) => void;
}

export function checkMetric(metric: string): CvMetric {
  if (!(CV_METRICS as readonly string[]).includes(metric)) throw new RangeError(`search.metric: expected one of ${CV_METRICS.join(', ')}, got ${JSON.stringify(metric)}`);
  return metric as CvMetric;
}

/** Runs the objective and records the outcome; a throwing objective becomes a failed trial, not a failed search. */
export function runTrial(
  objective: TrialObjective,
  metric: CvMetric,
  ids: { trialId: number; candidateId: number; rung: number },
  params: ParamValues,
  budget: Budget | null,
): TrialRecord {
  const started = performance.now();
  try {
    const cv = objective(params, budget);
    return {
      ...ids, params, budget, status: 'ok', metrics: cv.metrics, score: cv.metrics[metric].mean,
      foldScores: cv.folds.map((f) => f.metrics[metric]), durationMs: performance.now() - started,
    };
  } catch (e) {
    return {
      ...ids, params, budget, status: 'failed', metrics: {}, score: Number.NaN, foldScores: [],
      durationMs: performance.now() - started, error: e instanceof Error ? e.message : String(e),
    };
  }
}

/** Orders trials best first: by score in the metric's direction, undefined scores last, ties by candidate id. */
export function compareTrials(direction: 'maximize' | 'minimize'): (a: TrialRecord, b: TrialRecord) => number {
  return (a, b) => {
    const aOk = Number.isFinite(a.score), bOk = Number.isFinite(b.score);
    if (aOk !== bOk) return aOk ? -1 : 1;
    if (aOk && a.score !== b.score) return direction === 'maximize' ? b.score - a.score : a.score - b.score;
    return a.candidateId - b.candidateId;
  };
}

export function bestTrial(trials: readonly TrialRecord[], direction: 'maximize' | 'minimize'): TrialRecord {
  const ok = trials.filter((t) => t.status === 'ok' && Number.isFinite(t.score));
  if (ok.length === 0) {
    const failed = trials.find((t) => t.status === 'failed');
    throw new Error(`search: no trial produced a score${failed ? `; first failure (trial ${failed.trialId}): ${failed.error}` : ''}`);
  }
  return [...ok].sort(compareTrials(direction))[0];
}
