// The drift and performance report of one pipeline and period, as typed data: what loadReportData reads from
// ClickHouse and renderReportHtml draws. Undefined figures are null (as JSON has them), never NaN.

export const REPORT_FORMAT = 'streamloop.report/v1';

export interface ReportData {
  format: typeof REPORT_FORMAT;
  pipeline: string;
  /** Epoch ms. */
  generated_at: number;
  /**
   * The current period (event time, from ≤ t < to) and the period of the same length before it, which score and label
   * drift compare against. `default_period`: no --from/--to was given, so the period is the monitoring window ending at
   * the latest feature vector (the drift job's window).
   */
  period: { from: number; to: number; previous_from: number; default_period: boolean };
  monitoring: { window: string; window_ms: number; psi_bins: number; psi_threshold: number; dataset_drift: { alpha: number; share: number } };
  /** The serving champion (the registry's rule); null when the pipeline has none yet. */
  model: ReportModel | null;
  /** What the current period is measured against (monitoring.reference). */
  reference: ReportReference;
  /** Per judged feature, by its own statistic and threshold, with both distributions. */
  features: ReportFeature[];
  /** Evidently-style dataset drift over the features' p-values; null without any p-value. */
  dataset: ReportDatasetDrift | null;
  /** The champion's score distribution, this period against the previous one; null when either has no prediction. */
  score: ReportScoreDrift | null;
  /** The true labels of the champion's predictions, this period against the previous one; null when either has none. */
  label: ReportLabelDrift | null;
  /** Live performance from the labels known now, per window and model (name, version, role), each on its own predictions. */
  performance: { window_ms: number; windows: ReportPerformanceWindow[] };
  /** Change-detector detections on the error streams (drift_metrics feature '__error__') whose prediction lies in the period. */
  detections: ReportDetection[];
  /** The latest monitoring data-quality run in the period, and the latest training gate. */
  data_quality: { monitoring: ReportDataQualityRun | null; training: ReportDataQualityRun | null };
  /** Why a section is empty or partial, in words. */
  notes: string[];
}

export interface ReportModel {
  model_name: string;
  model_version: number;
  algorithm: string;
  stage: string;
  created_at: number;
  feature_spec_version: string;
  threshold: number;
  training_rows: number;
  data_window_start: number;
  data_window_end: number;
  feature_names: string[];
  /** Held-out metrics of the registry record (the main ones, where present). */
  metrics: Record<string, number>;
}

export interface ReportReference {
  source: 'training' | 'training_after_warm_up' | 'window';
  /** Event-time range of a reference read from the features table; null for the stored training sample. */
  from: number | null;
  to: number | null;
  description: string;
}

/** One bin (numeric: a right-closed interval of the reference's quantiles; categorical: a category) with each side's share. */
export interface ReportBin {
  label: string;
  reference: number;
  current: number;
}

export interface ReportFeature {
  feature: string;
  kind: 'numeric' | 'categorical';
  /** The statistic that decides `drifted` (a drift_metrics statistic name) and its value and threshold. */
  statistic: string;
  value: number | null;
  threshold: number;
  drifted: boolean;
  psi: number | null;
  ks_statistic: number | null;
  ks_p_value: number | null;
  jensen_shannon: number | null;
  wasserstein: number | null;
  wasserstein_normed: number | null;
  chi_square: number | null;
  chi_square_p_value: number | null;
  reference_count: number;
  current_count: number;
  reference_missing: number;
  current_missing: number;
  bins: ReportBin[];
}

export interface ReportDatasetDrift {
  drift: boolean;
  /** Share of the judged features that drifted (Benjamini–Hochberg on their p-values). */
  share: number;
  share_threshold: number;
  alpha: number;
  judged: number;
  drifted: string[];
}

export interface ReportScoreDrift {
  psi: number | null;
  ks_statistic: number | null;
  ks_p_value: number | null;
  jensen_shannon: number | null;
  wasserstein: number | null;
  psi_threshold: number;
  drifted: boolean;
  reference_count: number;
  current_count: number;
  bins: ReportBin[];
}

export interface ReportLabelDrift {
  chi_square: number | null;
  p_value: number | null;
  psi: number | null;
  psi_threshold: number;
  drifted: boolean;
  reference_count: number;
  current_count: number;
  bins: ReportBin[];
}

export interface ReportPerformanceWindow {
  window_start: number;
  window_end: number;
  model_name: string;
  model_version: number;
  role: 'champion' | 'challenger';
  /** Predictions of this model in the window (the latest per event), labelled or not. */
  predictions: number;
  /** Of which with a label: the rows the metrics are computed on. */
  labelled: number;
  positives: number;
  roc_auc: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  log_loss: number | null;
}

export interface ReportDetection {
  /** Event time of the prediction that raised it. */
  event_time: number;
  detector: string;
  recent_error_rate: number | null;
  model_name: string;
  model_version: number;
  role: string;
}

export interface ReportDataQualityRun {
  run_id: string;
  scope: 'monitoring' | 'training';
  window_start: number;
  window_end: number;
  computed_at: number;
  passed: boolean;
  checks: ReportDataQualityCheck[];
}

export interface ReportDataQualityCheck {
  check: string;
  feature: string;
  value: number | null;
  limit: number | null;
  passed: boolean;
  blocking: boolean;
}

/** A finite number, or null. */
export function finite(x: number | undefined | null): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
