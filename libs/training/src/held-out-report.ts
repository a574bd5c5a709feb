// What the registry record says about a model on its held-out window, flattened into the record's
// metrics map (name → number) so the Avro schema and the models table stay as they are.
import {
  averagePrecision, bootstrapMetrics, BOOTSTRAP_METRICS, calibrationTable, evaluateBinary, featureImportance, segmentMetrics,
  type Matrix, type SegmentMetrics, type SegmentValue, type TrainedClassifier,
} from '@streamloop/ml';

/** Uniform bins of the calibration table: bin b covers predicted probabilities in (b/10, (b+1)/10]. */
export const CALIBRATION_BINS = 10;
/** Held-out rows TreeSHAP explains at most (evenly spaced over the window); its cost grows with rows · leaves · depth². */
export const SHAP_ROWS = 1000;
/** Resamples of the held-out rows behind each metric's confidence interval (a seeded percentile bootstrap). */
export const BOOTSTRAP_RESAMPLES = 1000;
/** Coverage of the metrics' confidence intervals. */
export const BOOTSTRAP_CONFIDENCE = 0.95;

/**
 * The held-out metrics at the decision threshold: accuracy, precision, recall, f1, roc_auc, pr_auc (average
 * precision), log_loss, brier, n, positives, threshold, the confusion matrix (confusion_tp/fp/tn/fn) and the
 * calibration table (calibration_ece, calibration_mce, and per non-empty bin b: calibration_bin_<b>_count,
 * _mean_predicted, _fraction_positive), and each metric's 95 % percentile bootstrap interval over the held-out rows
 * (<metric>_ci_low, <metric>_ci_high for roc_auc, pr_auc, log_loss, brier, accuracy, precision, recall, f1; 1000
 * resamples, seed 0; bootstrap_resamples and bootstrap_confidence say so).
 */
export function heldOutMetrics(y: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): Record<string, number> {
  const e = evaluateBinary(y, scores, threshold);
  const out: Record<string, number> = {
    n: e.n, positives: e.positives, threshold, accuracy: e.accuracy, precision: e.precision, recall: e.recall, f1: e.f1,
    roc_auc: e.rocAuc, pr_auc: averagePrecision(y, scores), log_loss: e.logLoss, brier: e.brier,
    confusion_tp: e.confusion.tp, confusion_fp: e.confusion.fp, confusion_tn: e.confusion.tn, confusion_fn: e.confusion.fn,
  };
  const calibration = calibrationTable(y, scores, { nBins: CALIBRATION_BINS, strategy: 'uniform' });
  out.calibration_ece = calibration.expectedCalibrationError;
  out.calibration_mce = calibration.maxCalibrationError;
  for (const bin of calibration.bins) {
    const b = calibration.edges.indexOf(bin.lower);
    out[`calibration_bin_${b}_count`] = bin.count;
    out[`calibration_bin_${b}_mean_predicted`] = bin.meanPredicted;
    out[`calibration_bin_${b}_fraction_positive`] = bin.fractionPositive;
  }
  const bootstrap = bootstrapMetrics(y, scores, { threshold, resamples: BOOTSTRAP_RESAMPLES, confidence: BOOTSTRAP_CONFIDENCE, seed: 0 });
  out.bootstrap_resamples = bootstrap.resamples;
  out.bootstrap_confidence = bootstrap.confidence;
  for (const m of BOOTSTRAP_METRICS) {
    out[`${m}_ci_low`] = bootstrap.intervals[m].low;
    out[`${m}_ci_high`] = bootstrap.intervals[m].high;
  }
  return out;
}

const SEGMENT_FIELDS: Array<[string, (s: SegmentMetrics) => number]> = [
  ['n', (s) => s.n], ['positives', (s) => s.positives], ['base_rate', (s) => s.baseRate], ['selection_rate', (s) => s.selectionRate],
  ['accuracy', (s) => s.accuracy], ['precision', (s) => s.precision], ['recall', (s) => s.recall],
  ['false_positive_rate', (s) => s.falsePositiveRate], ['f1', (s) => s.f1], ['roc_auc', (s) => s.rocAuc],
  ['pr_auc', (s) => s.averagePrecision], ['log_loss', (s) => s.logLoss], ['brier', (s) => s.brier],
];

/**
 * Held-out metrics per value of a categorical attribute: `segment.<attribute>=<value>.<metric>` for every segment,
 * and `segment_gap.<attribute>.<gap>` for the spread across segments of at least 30 rows (fairlearn's demographic
 * parity, equal opportunity and equalized odds differences among them).
 */
export function segmentEntries(attribute: string, y: ArrayLike<number>, scores: ArrayLike<number>, values: ArrayLike<SegmentValue>, threshold: number): Record<string, number> {
  const report = segmentMetrics(y, scores, values, { attribute, threshold });
  const out: Record<string, number> = {};
  for (const s of report.segments) {
    for (const [name, get] of SEGMENT_FIELDS) out[`segment.${attribute}=${s.segment}.${name}`] = get(s);
  }
  const g = report.gaps;
  Object.assign(out, {
    [`segment_gap.${attribute}.selection_rate`]: g.selectionRate,
    [`segment_gap.${attribute}.recall`]: g.recall,
    [`segment_gap.${attribute}.false_positive_rate`]: g.falsePositiveRate,
    [`segment_gap.${attribute}.precision`]: g.precision,
    [`segment_gap.${attribute}.roc_auc`]: g.rocAuc,
    [`segment_gap.${attribute}.equalized_odds`]: g.equalizedOdds,
  });
  return out;
}

export interface ImportanceReport {
  /** The record's feature_importance: shares summing to 1. */
  shares: Record<string, number>;
  /** Which importance the shares are: mean_abs_shap (gbdt) or abs_standardized_coefficient (linear). */
  kind: 'mean_abs_shap' | 'abs_standardized_coefficient';
  /** Extra metrics entries: for gbdt, importance_gain.<feature> (split-gain share) and importance_mean_abs_shap.<feature> (margin units). */
  metrics: Record<string, number>;
}

/** Evenly spaced rows of X, at most `limit` (keeps the time spread of the window). */
function evenSample(X: Matrix, limit: number): Matrix {
  if (X.length <= limit) return X;
  const step = X.length / limit;
  return Array.from({ length: limit }, (_, k) => X[Math.floor(k * step)]);
}

/**
 * Feature importance for the record. Trees: mean |SHAP| over (a sample of) the held-out rows, as shares — what the
 * features did to the scores of recent data — with the training split gain kept beside it in the metrics.
 * Linear: |standardized coefficient| shares, as before.
 */
export function importanceReport(model: TrainedClassifier, heldOutX: Matrix): ImportanceReport {
  if (!model.trees) return { shares: model.featureImportance(), kind: 'abs_standardized_coefficient', metrics: {} };
  const sample = evenSample(heldOutX, SHAP_ROWS);
  const rows = featureImportance(model.trees, model.modelInputs ? model.modelInputs(sample) : sample);
  const total = rows.reduce((s, r) => s + r.meanAbsShap, 0);
  // A model without a split explains nothing: every share is 0 (the gain shares are 0 too).
  const shares = Object.fromEntries(model.featureNames.map((f) => [f, 0]));
  const metrics: Record<string, number> = { importance_shap_rows: sample.length };
  for (const r of rows) {
    if (total > 0) shares[r.feature] = r.meanAbsShap / total;
    metrics[`importance_gain.${r.feature}`] = r.gain;
    metrics[`importance_mean_abs_shap.${r.feature}`] = r.meanAbsShap;
  }
  return { shares, kind: 'mean_abs_shap', metrics };
}
