export type { ModelMetricLabels, MonitoringDeps } from './deps';
export {
  DATASET_FEATURE, SCORE_FEATURE, LABEL_FEATURE, ERROR_FEATURE, LARGE_REFERENCE, STATISTIC_COLUMN, alertThresholds, defaultStatistic, defaultThreshold,
  directionOf, featureDriftSpec, featureStatistics,
  type DriftReport, type ErrorStreamDetection, type ErrorStreamReport, type FeatureDriftEntry, type ModelErrorStream, type ModelPerformance, type NumericStatistics,
} from './drift-report';
export {
  categoricalEntry, modelPerformance, numericEntry, referenceFor, runDriftJob, type DriftJobInput, type EntryStatistics,
} from './drift-job';
export { ErrorStreamJob, type ErrorStreamRun } from './error-stream-job';
export {
  judgeLabelDelay, loadLabelDelays, observeLabelDelays, LABEL_DELAY_MIN_LABELS, LABEL_DELAY_SAMPLE,
  type LabelDelayStatus, type ObservedLabelDelay,
} from './label-delay';
export { restoreAlertGate, type AlertLog } from './alert-gate-restore';
