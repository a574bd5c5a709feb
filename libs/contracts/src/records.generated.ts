// GENERATED from schemas/*.avsc by scripts/gen-records.ts (libs/contracts/src/generator.ts). Do not edit by hand.
// Regenerate with `npm run gen:records`; `npm run check:records`, run by CI and the unit tests, fails when this file is stale.
// Types are the values Streamloop's serde decodes: long and timestamp-millis are numbers (epoch milliseconds), bytes and
// fixed are Buffers, maps are objects, a union with null is `T | null`, an enum is a union of its symbols.

/** Avro `dev.streamloop.Alert`, schemas/alert.avsc. */
export interface AlertRecord {
  alert_id: string;
  pipeline: string;
  kind: AlertKind;
  feature: string;
  statistic: string;
  value: number;
  /** the threshold the value crossed; null when the alert has none (a change detector on the error stream) */
  threshold: number | null;
  window_start: number;
  window_end: number;
  model_name: string;
  model_version: number;
  /** the model's role in the predictions the alert is about: a performance alert is about one model's own error stream (a challenger's too); drift alerts are about the champion */
  model_role: ModelRole;
  created_at: number;
}

/** The symbols of AlertKind, in schema order. */
export const ALERT_KIND_SYMBOLS = ['feature_drift', 'prediction_drift', 'performance', 'data_quality', 'model_rollback'] as const;
/**
 * data_quality: a data-quality check failed (the training gate, or a monitoring window); feature names the feature (__dataset__ for dataset-level checks) and statistic the check. model_rollback: a champion on probation was significantly worse than the previous one and was rolled back; the model fields name the rolled-back version, statistic is delong, value the one-sided p-value and threshold promotion.alpha. The enum default lets a reader with an older symbol list read a newer kind
 *
 * Avro `dev.streamloop.AlertKind` (in schemas/alert.avsc).
 */
export type AlertKind = (typeof ALERT_KIND_SYMBOLS)[number];

/** The symbols of ModelRole, in schema order. */
export const MODEL_ROLE_SYMBOLS = ['champion', 'challenger'] as const;
/** Avro `dev.streamloop.ModelRole` (in schemas/alert.avsc). */
export type ModelRole = (typeof MODEL_ROLE_SYMBOLS)[number];

/**
 * A record that could not be processed, with the reason and its original bytes.
 *
 * Avro `dev.streamloop.DeadLetter`, schemas/dlq-envelope.avsc.
 */
export interface DeadLetterRecord {
  pipeline: string;
  /** Which step refused it: ingestion.decode, ingestion.validate, http.ingest, ... */
  stage: string;
  source_topic: string | null;
  source_partition: number | null;
  source_offset: number | null;
  error_class: string;
  error_message: string;
  original_key: Buffer | null;
  original_value: Buffer | null;
  failed_at: number;
  /** Set when original_value was cut to fit the dead-letter topic: the original value's size in bytes (original_value holds its first bytes). */
  original_size: number | null;
}

/**
 * An event on its way between feature stages (P.repartition.features.<field>, keyed by that field): the aggregates computed so far.
 *
 * Avro `dev.streamloop.FeaturePartial`, schemas/feature-partial.avsc.
 */
export interface FeaturePartialRecord {
  /** The event exactly as on P.events (Confluent wire format). */
  event: Buffer;
  /** Aggregate name -> value from the stages before (NaN: missing). */
  aggregates: Record<string, number>;
}

/**
 * One feature vector per valid event, computed from entity state before the event was added.
 *
 * Avro `dev.streamloop.FeatureVector`, schemas/feature-vector.avsc.
 */
export interface FeatureVectorRecord {
  event_id: string;
  pipeline: string;
  /** Value of the pipeline's primary entity field (e.g. card_id). */
  entity_key: string;
  event_time: number;
  feature_spec_version: string;
  /** Feature name to value; NaN marks a missing value. */
  values: Record<string, number>;
  computed_at: number;
}

/**
 * Ground truth for one event, usually published long after the event.
 *
 * Avro `dev.streamloop.Label`, schemas/label.avsc.
 */
export interface LabelRecord {
  event_id: string;
  /** The observed class (0 or 1 for binary pipelines). */
  label: number;
  label_time: number;
}

/**
 * One model version; key is pipeline/model_name/version in a compacted topic.
 *
 * Avro `dev.streamloop.ModelRegistryRecord`, schemas/model-registry.avsc.
 */
export interface ModelRegistryRecord {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  stage: ModelStage;
  created_at: number;
  /** Column order of the ONNX input tensor. */
  feature_names: string[];
  feature_spec_version: string;
  threshold: number;
  onnx: Buffer;
  onnx_sha256: string;
  /** Held-out metrics, e.g. roc_auc. */
  metrics: Record<string, number>;
  params: Record<string, string>;
  data_window_start: number;
  data_window_end: number;
  training_rows: number;
  /** Per feature, a sample of training values: the reference for drift statistics. */
  reference: Record<string, number[]>;
  /** Share of importance per feature, summing to 1: mean |SHAP| on held-out rows for trees (params.feature_importance names the kind), |standardized coefficient| for linear models. */
  feature_importance: Record<string, number>;
  /** null for Streamloop's own models (input 'features', output 'probabilities', positive class in column 1). */
  signature: OnnxSignatureRecord | null;
  /** Who put the version in its stage: training, external (a registration), cli, api or policy; empty on records from before the audit trail. */
  decided_by: string;
  /** When this record's stage was decided (0 on records from before the audit trail). */
  decided_at: number;
  /** Why, in words. */
  decision_reason: string;
  /** The numbers that justified the decision, if any. */
  decision_metrics: Record<string, number>;
}

/** The symbols of ModelStage, in schema order. */
export const MODEL_STAGE_SYMBOLS = ['candidate', 'champion', 'archived', 'challenger', 'rejected'] as const;
/**
 * candidate: stored, not served. challenger: scored beside the champion. champion: eligible to serve (the newest champion record serves). archived: retired. rejected: pulled for cause (rolled back, demoted).
 *
 * Avro `dev.streamloop.ModelStage` (in schemas/model-registry.avsc).
 */
export type ModelStage = (typeof MODEL_STAGE_SYMBOLS)[number];

/**
 * Tensor names of a model trained elsewhere; feature_names is its input mapping (column i <- feature_names[i]).
 *
 * Avro `dev.streamloop.OnnxSignature` (in schemas/model-registry.avsc).
 */
export interface OnnxSignatureRecord {
  input_name: string;
  /** A float [N, k] output of class probabilities. */
  probability_output: string;
  /** Column of probability_output holding the positive class. */
  positive_class_index: number;
}

/** Avro `dev.streamloop.Prediction`, schemas/prediction.avsc. */
export interface PredictionRecord {
  event_id: string;
  pipeline: string;
  entity_key: string;
  event_time: number;
  model_name: string;
  model_version: number;
  role: ModelRole;
  /** Probability of the positive class. */
  score: number;
  /** Predicted class at the model's threshold. */
  label: number;
  threshold: number;
  /** From the event's arrival at the platform (the timestamp of its record on the raw events topic: the producer's, or the HTTP ingest time) to this prediction, in ms. */
  latency_ms: number;
  predicted_at: number;
  /** True when the serving model failed on this event (threw, or scored outside [0, 1]) and the last good champion scored it instead; model_name and model_version name the model that scored. */
  fallback: boolean;
  /** With the pipeline's serving.explain_top_k > 0: the scoring model's largest per-feature contributions by absolute value, largest first (exact TreeSHAP for gradient-boosted trees, coefficient × standardized value for logistic regression); empty otherwise and for models trained elsewhere. */
  contributions: FeatureContributionRecord[];
}

/** Avro `dev.streamloop.FeatureContribution` (in schemas/prediction.avsc). */
export interface FeatureContributionRecord {
  feature: string;
  /** Contribution to the margin (log-odds of the positive class). */
  value: number;
}
