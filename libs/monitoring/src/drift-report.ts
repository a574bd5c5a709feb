// The drift report a monitoring run produces, the names of its non-feature series and how its statistics are judged.
import type { DriftStatistic, FeatureDriftSpec, FeatureKind, MonitoringSpec } from '@streamloop/config';
import type { ModelRole } from '@streamloop/contracts';
import type { AlertDirection } from '@streamloop/drift';
import type { NumericDrift } from '@streamloop/drift-sql';
import type { LabelDelayStatus } from './label-delay';

export interface DriftReport {
  pipeline: string;
  model_name: string;
  model_version: number;
  window_start: number;
  window_end: number;
  /** What the window was compared with; `rows` 0 when the reference is empty (e.g. every training vector fell in the warm-up). */
  reference: { source: 'training' | 'training_after_warm_up' | 'window'; from?: number; to?: number };
  /** Judged features (excluded ones are left out), each by its own statistic. */
  features: FeatureDriftEntry[];
  /** Evidently-style dataset drift: KS p-values corrected by Benjamini-Hochberg, share of drifted features. */
  dataset?: { drift: boolean; share: number; drifted: string[] };
  /** The champion's score distribution against the previous window (drift_metrics feature '__score__'). */
  prediction?: NumericStatistics & { drifted: boolean };
  /** The true labels (as known now) of this window's predictions against the previous window's ('__label__'). */
  label?: { chi_square: number; p_value: number; psi: number };
  /**
   * The champion's live performance on its own labelled predictions of the window, when they hold both classes
   * (`performance_by_model` has the same figures); NaN log loss when a score is not a probability.
   */
  performance?: { labelled: number; roc_auc: number; precision: number; recall: number; f1: number; log_loss: number };
  /**
   * Live performance of every model (name, version, role) with labelled predictions in the window, each on its own
   * predictions: the champion, earlier champions whose predictions are still being labelled, challengers.
   */
  performance_by_model: ModelPerformance[];
  /**
   * The data-quality checks of the window against the champion's reference (the training gate's checks, rows in
   * the data_quality table with scope monitoring): failed blocking checks and warnings, as `check(feature) = value > limit`.
   * Absent when data_quality.enabled is false.
   */
  data_quality?: { run_id: string; passed: boolean; checks: number; failed: string[]; warnings: string[] };
  /**
   * The error streams (labelled predictions older than monitoring.detectors.label_delay) through ADWIN, Page-Hinkley
   * and DDM: the champion's at the top level, every model's in `models`.
   */
  error_stream?: ErrorStreamReport;
}

export interface ErrorStreamReport {
  /** The champion's labelled predictions fed so far (since it started serving, or since this monitor started). */
  fed: number;
  /** Error rate of the most recent 500 of them (NaN, null in JSON, before the first). */
  recent_error_rate: number;
  /** The champion's detections raised by this run, with the event time of the prediction that raised each. */
  detections: ErrorStreamDetection[];
  /** monitoring.detectors.label_delay against the observed delay of the latest labels, with a warning when far off. */
  label_delay: LabelDelayStatus;
  /**
   * Every model's own error stream, the champion's included: one per model name, version and role that made labelled
   * predictions (earlier champions, challengers), each with its own detectors. Ordered by name, version, role.
   */
  models: ModelErrorStream[];
}

export interface ErrorStreamDetection {
  detector: string;
  event_time: number;
  recent_error_rate: number;
}

/** One model's error stream: its own settled labelled predictions, as 1 = wrong / 0 = right, through the detectors. */
export interface ModelErrorStream {
  model_name: string;
  model_version: number;
  role: ModelRole;
  fed: number;
  recent_error_rate: number;
  /** Raised by this run. */
  detections: ErrorStreamDetection[];
}

/**
 * One model's live performance in the report's window: computed on its own predictions (the latest per event of that
 * model and role) with a label, the predicted class the one it served. A metric is NaN (null in JSON) where it is
 * undefined, and then has no performance_metrics row: ROC AUC without both classes, recall without a positive label,
 * precision without a predicted positive, F1 without either, log loss when a score is not a probability.
 */
export interface ModelPerformance {
  model_name: string;
  model_version: number;
  role: ModelRole;
  /** Labelled predictions of this model (and role) in the window: the rows its metrics are computed on. */
  labelled: number;
  /** Of which with a positive label. */
  positives: number;
  roc_auc: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
}

/** drift_metrics / gauge feature names of the non-feature series. */
export const DATASET_FEATURE = '__dataset__';
export const SCORE_FEATURE = '__score__';
export const LABEL_FEATURE = '__label__';
export const ERROR_FEATURE = '__error__';

/** NaN where a statistic is undefined (no finite value on a side; KS and Wasserstein for a categorical feature). */
export interface NumericStatistics {
  psi: number;
  ks_statistic: number;
  ks_p_value: number;
  jensen_shannon: number;
  /** In the feature's units. */
  wasserstein: number;
  /** Wasserstein-1 over the reference's standard deviation (at least 0.001), as Evidently's normed Wasserstein. */
  wasserstein_normed: number;
}

export interface FeatureDriftEntry extends NumericStatistics {
  feature: string;
  kind: FeatureKind;
  /** The statistic that decides `drifted` (a drift_metrics statistic name, e.g. wasserstein_normed, ks_p_value). */
  statistic: string;
  value: number;
  threshold: number;
  drifted: boolean;
  /** Categorical features: Pearson chi-square over the categories and its p-value (NaN for numeric ones). */
  chi_square: number;
  chi_square_p_value: number;
}

/** Evidently's rule: at most this many reference values, a statistical test; more, a distance (a test at that size flags negligible changes). */
export const LARGE_REFERENCE = 1000;

/**
 * The statistic a feature is judged by unless `monitoring.features.<name>.statistic` says otherwise: for a small
 * reference (≤ 1000 values) KS (numeric) or chi-square (categorical), as Evidently; for a larger one Jensen–Shannon
 * over the reference's quantile bins (numeric) or the categories. Not Evidently's normed Wasserstein for large numeric
 * references: on per-entity windowed aggregates (consecutive values of an entity are alike) it alarmed in 17 of 60
 * windows of a stationary stream, Jensen–Shannon in 2, both finding every shift. Evidence: BENCHMARKS.md,
 * "Default drift statistics".
 */
export function defaultStatistic(kind: FeatureKind, referenceSize: number): DriftStatistic {
  if (kind === 'categorical') return referenceSize <= LARGE_REFERENCE ? 'chi_square' : 'jensen_shannon';
  return referenceSize <= LARGE_REFERENCE ? 'ks' : 'jensen_shannon';
}

/** The drift_metrics statistic a spec statistic is judged on (the tests by their p-values). */
export const STATISTIC_COLUMN: Record<DriftStatistic, keyof FeatureDriftEntry> = {
  psi: 'psi', ks: 'ks_p_value', wasserstein_normed: 'wasserstein_normed', jensen_shannon: 'jensen_shannon', chi_square: 'chi_square_p_value',
};

/** A statistic's threshold when the feature sets none: the spec's global one where it has one, else Evidently's default. */
export function defaultThreshold(statistic: DriftStatistic, monitoring: Pick<MonitoringSpec, 'psiThreshold' | 'thresholds'>): number {
  switch (statistic) {
    case 'psi': return monitoring.psiThreshold;
    case 'ks': return monitoring.thresholds.ksPValue ?? 0.05;
    case 'jensen_shannon': return monitoring.thresholds.jensenShannon ?? 0.1;
    case 'wasserstein_normed': return 0.1;
    case 'chi_square': return 0.05;
  }
}

/** A feature's settings; a feature the spec does not know (e.g. a model's older column) is numeric with the defaults. */
export function featureDriftSpec(monitoring: Pick<MonitoringSpec, 'features'>, feature: string): FeatureDriftSpec {
  return monitoring.features?.[feature] ?? { kind: 'numeric', statistic: null, threshold: null, exclude: false };
}

/** A p-value alerts below its threshold (smaller is worse); every other statistic above it. */
export function directionOf(statistic: string): AlertDirection {
  return statistic === 'ks_p_value' || statistic === 'chi_square_p_value' ? 'below' : 'above';
}

/** Statistic → alert threshold, from the spec: PSI (always, for the scores; for a feature only when it is its statistic) and the others when set. */
export function alertThresholds(monitoring: Pick<MonitoringSpec, 'psiThreshold' | 'thresholds'>): Map<string, number> {
  const limits = new Map<string, number>([['psi', monitoring.psiThreshold]]);
  const { ksPValue, jensenShannon, wasserstein } = monitoring.thresholds;
  if (ksPValue !== null) limits.set('ks_p_value', ksPValue);
  if (jensenShannon !== null) limits.set('jensen_shannon', jensenShannon);
  if (wasserstein !== null) limits.set('wasserstein', wasserstein);
  return limits;
}

/** The per-feature statistics of a report from the SQL summary (NaN where one is undefined). */
export function featureStatistics(d: NumericDrift): NumericStatistics {
  return {
    psi: d.psi?.value ?? Number.NaN,
    ks_statistic: d.ks?.statistic ?? Number.NaN,
    ks_p_value: d.ks?.pValue ?? Number.NaN,
    jensen_shannon: d.jensenShannon ?? Number.NaN,
    wasserstein: d.wasserstein ?? Number.NaN,
    wasserstein_normed: d.wasserstein !== undefined && d.referenceStd !== undefined ? d.wasserstein / Math.max(d.referenceStd, 0.001) : Number.NaN,
  };
}
