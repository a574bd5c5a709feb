import type { Matrix } from '../data';
import { evaluateBinary } from '../metrics';
import { trainClassifier, type Algorithm, type TrainClassifierOptions } from '../trainer';
import { checkLabels, pick } from './checks';
import type { Fold } from './folds';
import { averagePrecision } from './pr-curve';

/** The metrics computed on every test fold. */
export const CV_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'average_precision', 'log_loss', 'brier'] as const;
export type CvMetric = (typeof CV_METRICS)[number];

/** Which way is better, per metric: losses are minimized, everything else maximized. */
export const METRIC_DIRECTION: Record<CvMetric, 'maximize' | 'minimize'> = {
  accuracy: 'maximize', precision: 'maximize', recall: 'maximize', f1: 'maximize',
  roc_auc: 'maximize', average_precision: 'maximize', log_loss: 'minimize', brier: 'minimize',
};

export interface ProbabilisticModel {
  /** Probability of class 1 per row. */
  predictProba(X: Matrix): ArrayLike<number>;
}

/** Fits a fresh model on the given rows and labels (one call per fold). */
export type ModelFactory = (X: Matrix, y: ArrayLike<number>) => ProbabilisticModel;

/** A ModelFactory over trainClassifier with spec-style params (e.g. { max_iter: 50, learning_rate: 0.1 }). */
export function classifierFactory(
  algorithm: Algorithm,
  opts: TrainClassifierOptions,
): ModelFactory {
  return (X, y) => trainClassifier(algorithm, X, y, opts);
}

export type FoldMetrics = Record<CvMetric, number>;

export interface FoldResult {
  fold: number;
  trainSize: number;
  testSize: number;
  metrics: FoldMetrics;
  /** Fit + predict time. */
  durationMs: number;
}

export interface MetricSummary {
  /** Mean over the folds where the metric is defined (e.g. ROC AUC needs both classes in the test fold). */
  mean: number;
  /** Population standard deviation (ddof = 0) over the same folds, like scikit-learn's std_test_score. */
  std: number;
  /** How many folds the mean is over; NaN mean when 0. */
  folds: number;
}

export interface CrossValidationResult {
  folds: FoldResult[];
  metrics: Record<CvMetric, MetricSummary>;
  /** Out-of-fold probability per row (NaN for rows in no test fold, e.g. the first block of a time split). */
  predictions: Float64Array;
  threshold: number;
}

/** Every CV metric of one set of predictions, at the threshold for the threshold-based ones. */
export function binaryMetrics(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): FoldMetrics {
  const e = evaluateBinary(yTrue, probabilities, threshold);
  return {
    accuracy: e.accuracy, precision: e.precision, recall: e.recall, f1: e.f1,
    roc_auc: e.rocAuc, average_precision: averagePrecision(yTrue, probabilities),
    log_loss: e.logLoss, brier: e.brier,
  };
}

/** Mean and population standard deviation of the finite values (NaN ones are left out and not counted). */
export function summarize(values: readonly number[]): MetricSummary {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { mean: Number.NaN, std: Number.NaN, folds: 0 };
  const mean = finite.reduce((s, v) => s + v, 0) / finite.length;
  const variance = finite.reduce((s, v) => s + (v - mean) ** 2, 0) / finite.length;
  return { mean, std: Math.sqrt(variance), folds: finite.length };
}

export function summarizeFolds(folds: readonly FoldResult[]): Record<CvMetric, MetricSummary> {
  return Object.fromEntries(CV_METRICS.map((m) => [m, summarize(folds.map((f) => f.metrics[m]))])) as Record<CvMetric, MetricSummary>;
}

function checkFold(fold: Fold, f: number, n: number): void {
  if (fold.train.length === 0) throw new RangeError(`crossValidate: fold ${f} has no training rows`);
  if (fold.test.length === 0) throw new RangeError(`crossValidate: fold ${f} has no test rows`);
  for (const part of ['train', 'test'] as const) {
    for (const i of fold[part]) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`crossValidate: fold ${f} ${part} holds row ${i}, expected an index in [0, ${n})`);
    }
  }
}

/**
 * Fits a model per fold on the training rows, scores the test rows and reports every metric per fold plus
 * its mean and standard deviation across folds — scikit-learn's cross_validate with the folds given.
 */
export function crossValidate(
  X: Matrix,
  y: ArrayLike<number>,
  opts: { folds: readonly Fold[]; fit: ModelFactory; threshold?: number },
): CrossValidationResult {
  const n = X.length;
  const threshold = opts.threshold ?? 0.5;
  if (y.length !== n) throw new RangeError(`crossValidate: ${y.length} labels for ${n} rows`);
  checkLabels(y, 'crossValidate');
  if (opts.folds.length === 0) throw new RangeError('crossValidate: no folds');
  const predictions = new Float64Array(n).fill(Number.NaN);
  const results: FoldResult[] = opts.folds.map((fold, f) => {
    checkFold(fold, f, n);
    const started = performance.now();
    const model = opts.fit(fold.train.map((i) => X[i]), pick(y, fold.train));
    const proba = model.predictProba(fold.test.map((i) => X[i]));
    const durationMs = performance.now() - started;
    if (proba.length !== fold.test.length) throw new RangeError(`crossValidate: fold ${f}: model returned ${proba.length} probabilities for ${fold.test.length} rows`);
    fold.test.forEach((row, j) => (predictions[row] = proba[j]));
    return { fold: f, trainSize: fold.train.length, testSize: fold.test.length, metrics: binaryMetrics(pick(y, fold.test), proba, threshold), durationMs };
  });
  return { folds: results, metrics: summarizeFolds(results), predictions, threshold };
}
