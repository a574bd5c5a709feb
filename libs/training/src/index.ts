export {
  runTraining, hasFirstModel, referenceSample, NotEnoughDataError, REFERENCE_SAMPLE, PARITY_TOLERANCE,
  type TrainingDeps, type TrainingRequest, type TrainingResult, type SearchSummary, type ModelRegistryAccess, type JobLogger,
} from './training-run';
export { placeNewModel, promotionRuleOf, scoreWithRecord, type HeldOutWindow, type Placement } from './offline-promotion';
export { decideRetraining, retrainingPolicyOf, type RetrainingDecision, type RetrainingFacts, type RetrainingReason, type RetrainingTrigger } from './retraining-policy';
export { reviewChallenger, type OnlineReview, type OnlineReviewDeps } from './online-promotion';
export { reviewProbation, type ProbationReview, type ProbationReviewDeps } from './probation';
export {
  checkExternalModel, externalModelRecord, publishExternalModel, BadExternalModelError,
  type ExternalModel, type ExternalModelRequest, type ExternalModelResult,
} from './external-model';
export {
  searchParams, chooseThreshold, trainingFolds, trialEntries, metricName, THRESHOLD_CV,
  type ModelChoice, type SearchOutcome, type ThresholdOutcome, type TrainingPart,
} from './model-selection';
export { heldOutMetrics, importanceReport, segmentEntries, CALIBRATION_BINS, SHAP_ROWS, BOOTSTRAP_RESAMPLES, BOOTSTRAP_CONFIDENCE, type ImportanceReport } from './held-out-report';
export { dataQualityGate, DataQualityError, DATASET_ALERT_FEATURE, type DataQualityGateDeps, type FailedCheck } from './data-quality-gate';
export { fitAndExport, toRowMajor, rowsOf, type FitInput, type FitOutput, type FitProgress, type RowMajorMatrix, type SearchReport } from './fit-and-export';
export { fitOnWorker, type FitOnWorkerOptions } from './fit-worker';
