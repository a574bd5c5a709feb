export { averagePrecision, binaryCurveCounts, precisionRecallCurve, prAucTrapezoid, type BinaryCurveCounts, type PrecisionRecallCurve } from './pr-curve';
export { selectThreshold, thresholdForPrecision, thresholdMaxF1, type ThresholdChoice, type ThresholdStrategy } from './threshold';
export { calibrationTable, type CalibrationBin, type CalibrationStrategy, type CalibrationTable } from './calibration';
export { kFoldSplit, stratifiedKFoldSplit, timeSeriesSplit, type Fold, type KFoldOptions, type TimeSeriesSplitOptions } from './folds';
export {
  binaryMetrics,
  classifierFactory,
  crossValidate,
  CV_METRICS,
  METRIC_DIRECTION,
  summarize,
  summarizeFolds,
  type CrossValidationResult,
  type CvMetric,
  type FoldMetrics,
  type FoldResult,
  type MetricSummary,
  type ModelFactory,
  type ProbabilisticModel,
} from './cross-validate';
export { MISSING_SEGMENT, segmentMetrics, type SegmentMetrics, type SegmentReport, type SegmentValue } from './segments';
export { bootstrapMetrics, BOOTSTRAP_METRICS, type BootstrapInterval, type BootstrapMetric, type BootstrapOptions, type BootstrapResult } from './bootstrap';
