// The drift report a monitoring run produces, the names of its non-feature series and how its statistics are judged.
import type { MonitoringSpec } from '@streamloop/config';
import type { AlertDirection } from '@streamloop/drift';
import type { NumericDrift } from '@streamloop/drift-sql';
import type { LabelDelayStatus } from './label-delay';

export interface DriftReport {
  pipeline: string;
  model_name: string;
  model_version: number;
  window_start: number;
  window_end: number;
  features: Array<{ feature: string; psi: number; drifted: boolean; ks_statistic: number; ks_p_value: number; jensen_shannon: number; wasserstein: number }>;
  /** Evidently-style dataset drift: KS p-values corrected by Benjamini-Hochberg, share of drifted features. */
  dataset?: { drift: boolean; share: number; drifted: string[] };
  /** The champion's score distribution against the previous window (drift_metrics feature '__score__'). */
  prediction?: { psi: number; drifted: boolean; ks_statistic: number; ks_p_value: number; jensen_shannon: number; wasserstein: number };
  /** The true labels (as known now) of this window's predictions against the previous window's ('__label__'). */
  label?: { chi_square: number; p_value: number; psi: number };
  /** NaN log loss when a score is not a probability. */
  performance?: { labelled: number; roc_auc: number; precision: number; recall: number; f1: number; log_loss: number };
  /** The champion's error stream (labelled predictions older than monitoring.detectors.label_delay) through ADWIN, Page-Hinkley and DDM. */
  error_stream?: ErrorStreamReport;
}

export interface ErrorStreamReport {
  /** Labelled predictions fed so far (since this champion started serving). */
  fed: number;
  /** Error rate of the most recent 500 of them. */
  recent_error_rate: number;
  /** Detections raised by this run, with the event time of the prediction that raised each. */
  detections: Array<{ detector: string; event_time: number; recent_error_rate: number }>;
  /** monitoring.detectors.label_delay against the observed delay of the latest labels, with a warning when far off. */
  label_delay: LabelDelayStatus;
}

/** drift_metrics / gauge feature names of the non-feature series. */
export const DATASET_FEATURE = '__dataset__';
export const SCORE_FEATURE = '__score__';
export const LABEL_FEATURE = '__label__';
export const ERROR_FEATURE = '__error__';

export type NumericStatistics = Omit<DriftReport['features'][number], 'feature' | 'drifted'>;

/** A p-value alerts below its threshold (smaller is worse); every other statistic above it. */
export function directionOf(statistic: string): AlertDirection {
  return statistic === 'ks_p_value' ? 'below' : 'above';
}

/** Statistic → alert threshold, from the spec (PSI always; the others when set). */
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
  };
}
