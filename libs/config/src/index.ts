export { parseDuration, formatDuration } from './duration';
export {
  loadPipelineSpec, parsePipelineSpec, featureNamesOf, hashColumns, oneHotColumns, SpecError,
  ONE_HOT_OTHER, TRANSFORM_OPS, AGGREGATE_OPS, LATE_EVENT_POLICIES, MODEL_ALGORITHMS, TOPIC_ROLES,
  type PipelineSpec, type EventsSpec, type FeaturesSpec, type LabelsSpec, type ModelSpec, type TrainingSpec, type MonitoringSpec,
  type TransformSpec, type TransformOp, type ExprTransformSpec, type AggregateSpec, type AggregateOp, type WindowedAggregateSpec, type TimeSinceLastSpec,
  type LastSpec, type EwmMeanSpec, type LateEventPolicy,
  DRIFT_STATISTICS, FEATURE_KINDS, REFERENCE_SOURCES, longestAggregateWindowMs, type DriftStatistic, type FeatureKind, type FeatureDriftSpec, type ReferenceSpec,
  type ModelAlgorithm, type TopicRole,
  SEARCH_STRATEGIES, SEARCH_METRICS, CV_KINDS, ROWS_RESOURCE,
  type SearchSpec, type SearchStrategy, type SearchMetric, type SearchDistribution, type CvKind, type ThresholdSelection,
} from './spec';
export { DEFAULT_DATA_QUALITY, FEATURE_SPEC_VERSION_RULES, type DataQualitySpec, type FeatureSpecVersionRule } from './spec';
export { DEFAULT_DETECTOR_WARM_UP, DEFAULT_PAGE_HINKLEY_THRESHOLD, DEFAULT_DDM_DRIFT_THRESHOLD, DEFAULT_MAX_MODEL_FAILURES, DEFAULT_PROMOTION_ALPHA, DEFAULT_ONLINE_LABELS, DEFAULT_PROBATION_LABELS, type PromotionSpec,
  RETRAINING_TRIGGER_KINDS, DEFAULT_RETRAINING_COOLDOWN, DEFAULT_MIN_NEW_LABELS, type RetrainingSpec, type RetrainingTriggerKind, type TrainingWindow, CHALLENGER_MODES, DEFAULT_CHALLENGER_SHARE, DEFAULT_BATCH_MAX_ROWS, GRAPH_OPTIMIZATION_LEVELS, DEFAULT_ONNX_INTRA_OP_THREADS, DEFAULT_GRAPH_OPTIMIZATION_LEVEL, type GraphOptimizationLevel, type ChallengerMode, type DetectorsSpec, type ServingSpec } from './spec';
export {
  parseExpr, exprNames, ExprError, EXPR_FUNCTIONS, EXPR_MAX_LENGTH,
  type ExprNode, type ExprFunction, type ExprBinaryOp, type ExprArithmeticOp, type ExprComparisonOp,
} from './expr';
export { topicsFor, featureStageTopics, DEFAULT_MODELS_TOPIC, type PipelineTopics } from './topics';
export { readEventSchema, type EventField, type EventSchemaInfo } from './event-schema';
export {
  labelFieldsOf, eventLabelFieldsOf, PLATFORM_LABEL_FIELDS, type LabelFields, type ProducerLabelSchema, type EventLabelSpec, type EventLabelFields,
} from './labels';
export {
  loadSettings, describeSettings, kafkaConnectionSettings, SettingsError,
  type Settings, type KafkaConnectionSettings, type AuthSettings, type ClickHouseHttpSettings, type SettingName, type SettingDescription, type VariableDoc,
} from './settings';
export { HTTP_DEFAULTS, STREAM_DEFAULTS, PIPELINE_DEFAULTS, MONITORING_DEFAULTS, ML_DEFAULTS, MODEL_SAFETY_DEFAULTS } from './defaults';
export { renderEnvTable, updateEnvTables, ENV_TABLE_NOTE, type EnvTableBlock } from './env-docs';
