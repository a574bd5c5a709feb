import type { ModelRole, ModelStage } from '@streamloop/contracts';

/**
 * The analysts' contract: every table Streamloop writes, its columns, engine, partition and sort key.
 * The DDL in migrations and the row serializer both derive from these definitions, so the two cannot drift apart.
 */

/** Table names, unqualified: queries run against the client's default database (see createClickHouse). */
export const TABLES = {
  events: 'events',
  features: 'features',
  predictions: 'predictions',
  labels: 'labels',
  dlq: 'dlq',
  drift_metrics: 'drift_metrics',
  performance_metrics: 'performance_metrics',
  models: 'models',
  model_events: 'model_events',
  experiments: 'experiments',
  retraining_decisions: 'retraining_decisions',
  data_quality: 'data_quality',
} as const;

export type TableName = (typeof TABLES)[keyof typeof TABLES];

export const SCHEMA_MIGRATIONS_TABLE = 'schema_migrations';

export interface ColumnDef {
  name: string;
  /** ClickHouse type, verbatim. */
  type: string;
  /** SQL DEFAULT expression; a column with a default may be omitted from inserted rows. */
  default?: string;
  comment: string;
}

export interface TableDef {
  name: TableName;
  comment: string;
  columns: ColumnDef[];
  /** ReplacingMergeTree version column: among rows with the same sort key, the one with the greatest version survives. */
  version?: string;
  partitionBy: string;
  orderBy: string[];
}

/** Blocks remembered per table for insert deduplication (by insert_deduplication_token, or by block hash without one). */
export const DEDUP_WINDOW = 10_000;

const TIME = "DateTime64(3, 'UTC')";
/** The registry's stages (schemas/model-registry.avsc), in the order they were added: Enum8 values never change. */
export const MODEL_STAGE_ENUM = "Enum8('candidate' = 1, 'champion' = 2, 'archived' = 3, 'challenger' = 4, 'rejected' = 5)";
/**
 * A model's role when it predicted (schemas/prediction.avsc ModelRole; the predictions table's role has the same type).
 * Without a DEFAULT, a row that omits it reads 'champion' (the first value).
 */
export const MODEL_ROLE_ENUM = "Enum8('champion' = 1, 'challenger' = 2)";
/** Migration 7 adds these columns to tables made before it; the DDL of both paths shares the comments. */
export const PERFORMANCE_ROLE_COMMENT = "role of the model when it made the predictions (champion, challenger); rows written before migration 7 read champion";
export const DRIFT_ROLE_COMMENT = "role of the model named (champion for feature, score and label drift; the error stream's model's role for __error__); rows written before migration 7 read champion";
/** Where a data-quality check ran: the gate before a training run, or a monitoring window. */
export const DATA_QUALITY_SCOPE_ENUM = "Enum8('training' = 1, 'monitoring' = 2)";
const PIPELINE: ColumnDef = { name: 'pipeline', type: 'LowCardinality(String)', comment: 'pipeline name from the pipeline spec' };

export const TABLE_DEFS: readonly TableDef[] = [
  {
    name: TABLES.events,
    comment: 'Validated input events; the user-defined payload is kept as JSON',
    columns: [
      PIPELINE,
      { name: 'event_id', type: 'String', comment: 'event id (the spec names the field)' },
      { name: 'entity_key', type: 'String', comment: 'entity the event belongs to (e.g. card id)' },
      { name: 'event_time', type: TIME, comment: 'event time' },
      { name: 'schema_id', type: 'UInt32', comment: 'schema registry id of the writer schema' },
      { name: 'payload', type: 'String', comment: 'the whole event as JSON' },
      { name: 'ingested_at', type: TIME, default: 'now64(3)', comment: 'when the row was written' },
    ],
    version: 'ingested_at',
    partitionBy: 'toDate(event_time)',
    orderBy: ['pipeline', 'entity_key', 'event_time', 'event_id'],
  },
  {
    name: TABLES.features,
    comment: 'One feature vector per event and feature spec version',
    columns: [
      PIPELINE,
      { name: 'event_id', type: 'String', comment: 'event id' },
      { name: 'entity_key', type: 'String', comment: 'entity key' },
      { name: 'event_time', type: TIME, comment: 'event time' },
      { name: 'feature_spec_version', type: 'LowCardinality(String)', comment: 'version of the feature definitions' },
      { name: 'values', type: 'Map(String, Float64)', comment: 'feature name to value; NaN means missing' },
      { name: 'computed_at', type: TIME, comment: 'when the vector was computed' },
      { name: 'source_partition', type: 'Int32', default: '-1', comment: 'Kafka partition of the feature record (-1 unknown)' },
      { name: 'source_offset', type: 'Int64', default: '-1', comment: 'Kafka offset of the feature record (-1 unknown)' },
    ],
    version: 'computed_at',
    partitionBy: 'toDate(event_time)',
    orderBy: ['pipeline', 'entity_key', 'event_time', 'event_id', 'feature_spec_version'],
  },
  {
    name: TABLES.predictions,
    comment: 'Every score produced, by champion and challenger models',
    columns: [
      PIPELINE,
      { name: 'event_id', type: 'String', comment: 'event id' },
      { name: 'entity_key', type: 'String', comment: 'entity key' },
      { name: 'event_time', type: TIME, comment: 'event time' },
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model name' },
      { name: 'model_version', type: 'UInt32', comment: 'model version' },
      { name: 'role', type: "Enum8('champion' = 1, 'challenger' = 2)", comment: 'champion serves, challenger shadows or splits' },
      { name: 'score', type: 'Float64', comment: 'probability of the positive class' },
      { name: 'label', type: 'Int8', comment: 'predicted class (score >= threshold)' },
      { name: 'threshold', type: 'Float64', comment: 'decision threshold used' },
      { name: 'latency_ms', type: 'Float64', comment: 'event arrival (raw record timestamp) to prediction, ms' },
      { name: 'predicted_at', type: TIME, comment: 'when the prediction was made' },
      { name: 'fallback', type: 'Bool', default: '0', comment: 'true when the serving model failed on this event and the last good champion (model_name, model_version) scored it' },
      { name: 'contributions', type: 'Map(String, Float64)', default: 'map()', comment: 'per-feature contributions to the margin (log-odds) of the scoring model, its serving.explain_top_k largest by absolute value (TreeSHAP for gbdt, coefficient × standardized value for logistic regression); empty when explain_top_k is 0 or the model has no explainer' },
      { name: 'shadow', type: 'Bool', default: '0', comment: "true for a shadow prediction of the challenger (read from P.predictions.shadow): scored, never served" },
    ],
    version: 'predicted_at',
    partitionBy: 'toDate(event_time)',
    orderBy: ['pipeline', 'model_name', 'event_time', 'event_id', 'model_version', 'role'],
  },
  {
    name: TABLES.labels,
    comment: 'Ground truth, arriving late; the latest label_time per event wins',
    columns: [
      PIPELINE,
      { name: 'event_id', type: 'String', comment: 'event id the label is for' },
      { name: 'label', type: 'Int8', comment: 'true class' },
      { name: 'label_time', type: TIME, comment: 'when the label became known' },
      { name: 'arrived_at', type: `Nullable(${TIME})`, default: 'NULL', comment: 'Kafka timestamp of the label record (its send time, or the append time on a LogAppendTime topic); NULL for rows written before it was kept' },
    ],
    version: 'label_time',
    partitionBy: 'toDate(label_time)',
    // No time in the key on purpose: a corrected label for the same event replaces the earlier one.
    orderBy: ['pipeline', 'event_id'],
  },
  {
    name: TABLES.dlq,
    comment: 'Dead-lettered records with the reason and the original bytes (base64)',
    columns: [
      PIPELINE,
      { name: 'stage', type: 'LowCardinality(String)', comment: 'stage that rejected the record (ingestion, features, ...)' },
      { name: 'source_topic', type: 'String', comment: "topic the record came from ('' for HTTP ingest)" },
      { name: 'source_partition', type: 'Nullable(Int32)', comment: 'partition, NULL when not from Kafka' },
      { name: 'source_offset', type: 'Nullable(Int64)', comment: 'offset, NULL when not from Kafka' },
      { name: 'error_class', type: 'LowCardinality(String)', comment: 'error class name' },
      { name: 'error_message', type: 'String', comment: 'error message' },
      { name: 'original_value', type: 'String', comment: 'the original record value, base64 (its first bytes when original_size is set)' },
      { name: 'failed_at', type: TIME, comment: 'when the record was dead-lettered' },
      { name: 'original_size', type: 'Nullable(Int64)', default: 'NULL', comment: 'size in bytes of the original value when original_value was cut to fit the DLQ topic; NULL when whole' },
    ],
    partitionBy: 'toDate(failed_at)',
    // Nullable columns cannot be sort keys; ifNull maps "not from Kafka" to -1 and the value hash separates
    // distinct HTTP failures that share a millisecond.
    orderBy: ['pipeline', 'stage', 'failed_at', 'source_topic', 'ifNull(source_partition, -1)', 'ifNull(source_offset, -1)', 'cityHash64(original_value)'],
  },
  {
    name: TABLES.drift_metrics,
    comment: 'Drift statistics per time window, feature and statistic',
    columns: [
      PIPELINE,
      { name: 'window_start', type: TIME, comment: 'window start (inclusive)' },
      { name: 'window_end', type: TIME, comment: 'window end (exclusive)' },
      { name: 'feature', type: 'LowCardinality(String)', comment: 'feature name' },
      { name: 'statistic', type: 'LowCardinality(String)', comment: 'statistic (psi, ks, ...)' },
      { name: 'value', type: 'Float64', comment: 'statistic value' },
      { name: 'threshold', type: 'Float64', comment: 'alerting threshold' },
      { name: 'drifted', type: 'UInt8', comment: '1 when value exceeds threshold' },
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model whose training data is the reference, or whose error stream (feature __error__) it is' },
      { name: 'model_version', type: 'UInt32', comment: 'model version' },
      { name: 'role', type: MODEL_ROLE_ENUM, comment: DRIFT_ROLE_COMMENT },
      { name: 'computed_at', type: TIME, comment: 'when the statistic was computed' },
    ],
    version: 'computed_at',
    partitionBy: 'toDate(window_start)',
    // role last: added by migration 7, and ClickHouse only appends a newly added column to an existing sort key.
    orderBy: ['pipeline', 'feature', 'statistic', 'window_start', 'window_end', 'model_name', 'model_version', 'role'],
  },
  {
    name: TABLES.performance_metrics,
    comment: 'Live model quality against late labels, per time window, model version and role, and metric: each model judged on its own predictions',
    columns: [
      PIPELINE,
      { name: 'window_start', type: TIME, comment: 'window start (inclusive)' },
      { name: 'window_end', type: TIME, comment: 'window end (exclusive)' },
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model that made the predictions' },
      { name: 'model_version', type: 'UInt32', comment: 'model version' },
      { name: 'role', type: MODEL_ROLE_ENUM, comment: PERFORMANCE_ROLE_COMMENT },
      { name: 'metric', type: 'LowCardinality(String)', comment: 'metric (roc_auc, precision, ...)' },
      { name: 'value', type: 'Float64', comment: 'metric value' },
      { name: 'labelled_count', type: 'UInt64', comment: "this model's labelled predictions in the window (of this role)" },
      { name: 'computed_at', type: TIME, comment: 'when the metric was computed' },
    ],
    version: 'computed_at',
    partitionBy: 'toDate(window_start)',
    // role last: added by migration 7, and ClickHouse only appends a newly added column to an existing sort key.
    orderBy: ['pipeline', 'model_name', 'model_version', 'metric', 'window_start', 'window_end', 'role'],
  },
  {
    name: TABLES.models,
    comment: 'Model registry mirror; the latest record per model version wins (stage changes)',
    columns: [
      PIPELINE,
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model name' },
      { name: 'model_version', type: 'UInt32', comment: 'model version' },
      { name: 'algorithm', type: 'LowCardinality(String)', comment: 'training algorithm' },
      { name: 'stage', type: MODEL_STAGE_ENUM, comment: 'registry stage' },
      { name: 'created_at', type: TIME, comment: 'when the model was trained' },
      { name: 'feature_names', type: 'Array(String)', comment: 'input features, in order' },
      { name: 'feature_spec_version', type: 'LowCardinality(String)', comment: 'feature spec version trained on' },
      { name: 'threshold', type: 'Float64', comment: 'decision threshold' },
      { name: 'onnx_sha256', type: 'String', comment: 'SHA-256 of the ONNX bytes' },
      { name: 'metrics', type: 'Map(String, Float64)', comment: 'evaluation metrics' },
      { name: 'params', type: 'Map(String, String)', comment: 'hyperparameters' },
      { name: 'data_window_start', type: TIME, comment: 'first event time in the training data' },
      { name: 'data_window_end', type: TIME, comment: 'last event time in the training data' },
      { name: 'training_rows', type: 'UInt64', comment: 'rows used for training' },
    ],
    partitionBy: 'toDate(created_at)',
    orderBy: ['pipeline', 'model_name', 'model_version'],
  },
  {
    name: TABLES.model_events,
    comment: 'Every record of the model registry topic, in topic order: the audit trail of each version\'s stage changes (who, when, why, on what numbers)',
    columns: [
      PIPELINE,
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model name' },
      { name: 'model_version', type: 'UInt32', comment: 'model version' },
      { name: 'stage', type: MODEL_STAGE_ENUM, comment: 'the stage this record put the version in' },
      { name: 'decided_by', type: 'LowCardinality(String)', comment: "training, external, cli, api or policy ('' before the audit trail)" },
      { name: 'decided_at', type: TIME, comment: 'when the stage was decided (1970 before the audit trail)' },
      { name: 'decision_reason', type: 'String', comment: 'why, in words' },
      { name: 'decision_metrics', type: 'Map(String, Float64)', comment: 'the numbers that justified it' },
      { name: 'algorithm', type: 'LowCardinality(String)', comment: 'training algorithm' },
      { name: 'created_at', type: TIME, comment: 'when the model was trained' },
      { name: 'onnx_sha256', type: 'String', comment: 'SHA-256 of the ONNX bytes' },
      { name: 'registry_offset', type: 'Int64', comment: 'offset of the record on the registry topic (one partition: orders every record)' },
    ],
    partitionBy: 'toDate(decided_at)',
    orderBy: ['pipeline', 'registry_offset'],
  },
  {
    name: TABLES.experiments,
    comment: 'Training runs: parameters, metrics, duration and status',
    columns: [
      PIPELINE,
      { name: 'experiment_id', type: 'String', comment: 'experiment (groups runs)' },
      { name: 'run_id', type: 'String', comment: 'run id' },
      { name: 'model_name', type: 'LowCardinality(String)', comment: 'model name' },
      { name: 'params', type: 'Map(String, String)', comment: 'run parameters' },
      { name: 'metrics', type: 'Map(String, Float64)', comment: 'run metrics' },
      { name: 'started_at', type: TIME, comment: 'run start' },
      { name: 'duration_ms', type: 'Float64', comment: 'run duration' },
      { name: 'status', type: 'LowCardinality(String)', comment: 'finished, failed, ...' },
    ],
    partitionBy: 'toDate(started_at)',
    orderBy: ['pipeline', 'experiment_id', 'started_at', 'run_id'],
  },
  {
    name: TABLES.data_quality,
    comment: 'Data-quality checks: one row per check (and feature) of each training gate and each monitoring window, against the champion\'s reference',
    columns: [
      PIPELINE,
      { name: 'scope', type: DATA_QUALITY_SCOPE_ENUM, comment: 'training: the gate before a training run (a failed blocking check stopped it); monitoring: a monitoring window' },
      { name: 'run_id', type: 'String', comment: 'the training run, or the monitoring run, the rows of one evaluation share' },
      { name: 'window_start', type: TIME, comment: 'first event time of the checked window (inclusive)' },
      { name: 'window_end', type: TIME, comment: 'end of the checked window (exclusive)' },
      { name: 'model_name', type: 'LowCardinality(String)', comment: "the champion whose reference the window is checked against ('' without a champion)" },
      { name: 'model_version', type: 'UInt32', comment: 'the champion\'s version (0 without a champion)' },
      { name: 'feature_spec_version', type: 'LowCardinality(String)', comment: "feature spec version the window is checked as: the run's (training), the champion's (monitoring)" },
      { name: 'check', type: 'LowCardinality(String)', comment: 'missing_rate, out_of_range_share, distinct_values, top_value_share, label_rate, duplicate_share, rows, feature_spec_version' },
      { name: 'feature', type: 'LowCardinality(String)', comment: "feature name; '' for a dataset-level check" },
      { name: 'value', type: 'Float64', comment: 'the measured value (feature_spec_version: 1 when it differs from the champion\'s, else 0)' },
      { name: 'limit', type: 'Float64', comment: 'the limit from the spec (data_quality); a maximum or a minimum, by check' },
      { name: 'passed', type: 'Bool', comment: 'the value is within its limit' },
      { name: 'blocking', type: 'Bool', comment: 'a failure of this check blocks training (false: a warning only)' },
      { name: 'computed_at', type: TIME, comment: 'when the check ran' },
    ],
    version: 'computed_at',
    partitionBy: 'toDate(computed_at)',
    orderBy: ['pipeline', 'scope', 'check', 'feature', 'window_start', 'window_end', 'run_id'],
  },
  {
    name: TABLES.retraining_decisions,
    comment: 'Every reason training had to run (an alert, the schedule, a command) and what it decided: trained, or skipped and why',
    columns: [
      PIPELINE,
      { name: 'decided_at', type: TIME, comment: 'when it was decided' },
      { name: 'trigger', type: 'LowCardinality(String)', comment: 'alert, schedule, command or first_model' },
      { name: 'alert_kind', type: 'LowCardinality(String)', comment: "the alert's kind ('' for other triggers)" },
      { name: 'alert_statistic', type: 'LowCardinality(String)', comment: "the alert's statistic or detector ('' for other triggers)" },
      { name: 'alert_feature', type: 'String', comment: "the alert's feature ('' when it has none)" },
      { name: 'alert_id', type: 'String', comment: "the alert's id ('' for other triggers)" },
      { name: 'decision', type: "Enum8('trained' = 1, 'skipped' = 2, 'failed' = 3)", comment: 'trained (a run started), skipped (see reason), failed (the run that started did not publish)' },
      { name: 'reason', type: 'LowCardinality(String)', comment: 'started, not_a_trigger, not_the_champion, cooldown, run_in_progress, challenger_under_review, probation, not_enough_new_labels, or the error code of a failed run' },
      { name: 'detail', type: 'String', comment: 'the decision in words, with its numbers' },
      { name: 'new_labels', type: 'Int64', comment: "labelled events newer than the champion's training data (-1 when not counted)" },
      { name: 'model_version', type: 'Int32', comment: 'the version the run published (0 when none)' },
    ],
    partitionBy: 'toDate(decided_at)',
    orderBy: ['pipeline', 'decided_at', 'trigger'],
  },
];

const BY_NAME = new Map<string, TableDef>(TABLE_DEFS.map((t) => [t.name, t]));

/** The definition of a Streamloop table, given its bare or database-qualified name. */
export function tableDef(table: string): TableDef | undefined {
  const bare = table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
  return BY_NAME.get(bare.replace(/`/g, ''));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes a database or table identifier after checking it is a plain name (no injection through names). */
export function quoteIdent(name: string, what = 'identifier'): string {
  if (!IDENT.test(name)) throw new Error(`invalid ClickHouse ${what} ${JSON.stringify(name)}: expected letters, digits and underscores, not starting with a digit`);
  return `\`${name}\``;
}

/** `db`.`table` when a database is given, else `table` (resolved against the client's default database). */
export function qualify(table: string, database?: string): string {
  return database ? `${quoteIdent(database, 'database name')}.${quoteIdent(table, 'table name')}` : quoteIdent(table, 'table name');
}

/** A ClickHouse string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** CREATE TABLE IF NOT EXISTS for one table definition. */
export function createTableSql(def: TableDef, database: string): string {
  const cols = def.columns
    .map((c) => `  ${quoteIdent(c.name)} ${c.type}${c.default ? ` DEFAULT ${c.default}` : ''} COMMENT ${sqlString(c.comment)}`)
    .join(',\n');
  const engine = def.version ? `ReplacingMergeTree(${quoteIdent(def.version)})` : 'ReplacingMergeTree';
  return [
    `CREATE TABLE IF NOT EXISTS ${qualify(def.name, database)} (\n${cols}\n)`,
    `ENGINE = ${engine}`,
    `PARTITION BY ${def.partitionBy}`,
    `ORDER BY (${def.orderBy.join(', ')})`,
    `SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `COMMENT ${sqlString(def.comment)}`,
  ].join('\n');
}

// Row types: what callers pass to insertRows / BatchedWriter. Times are epoch milliseconds (or a Date, or a
// 'YYYY-MM-DD hh:mm:ss[.fff]' UTC string); NaN and ±Infinity are allowed in Float64 columns and maps.

/** A time value accepted for DateTime64(3, 'UTC') columns. */
export type TimeValue = number | Date | string;
/** UInt64/Int64 values: a number (exact up to 2^53), a bigint or a decimal string. */
export type Int64Value = number | bigint | string;

export interface EventRow {
  pipeline: string;
  event_id: string;
  entity_key: string;
  event_time: TimeValue;
  schema_id: number;
  payload: string;
  ingested_at?: TimeValue;
}

export interface FeatureRow {
  pipeline: string;
  event_id: string;
  entity_key: string;
  event_time: TimeValue;
  feature_spec_version: string;
  values: Record<string, number>;
  computed_at: TimeValue;
  source_partition?: number;
  source_offset?: Int64Value;
}

export interface PredictionRow {
  pipeline: string;
  event_id: string;
  entity_key: string;
  event_time: TimeValue;
  model_name: string;
  model_version: number;
  role: ModelRole;
  score: number;
  label: number;
  threshold: number;
  latency_ms: number;
  predicted_at: TimeValue;
  /** Scored by the last good champion because the serving model failed; absent: false (the column's default). */
  fallback?: boolean;
  /** Top-k contributions (feature → value); absent: none (the column's default, an empty map). */
  contributions?: Record<string, number>;
  /** A challenger's shadow prediction (never served); absent: false (the column's default). */
  shadow?: boolean;
}

export interface LabelRow {
  pipeline: string;
  event_id: string;
  label: number;
  label_time: TimeValue;
  arrived_at?: TimeValue | null;
}

export interface DlqRow {
  pipeline: string;
  stage: string;
  source_topic: string;
  source_partition: number | null;
  source_offset: Int64Value | null;
  error_class: string;
  error_message: string;
  original_value: string;
  failed_at: TimeValue;
  original_size?: Int64Value | null;
}

export interface DriftMetricRow {
  pipeline: string;
  window_start: TimeValue;
  window_end: TimeValue;
  feature: string;
  statistic: string;
  value: number;
  threshold: number;
  drifted: number;
  model_name: string;
  model_version: number;
  role: ModelRole;
  computed_at: TimeValue;
}

export interface PerformanceMetricRow {
  pipeline: string;
  window_start: TimeValue;
  window_end: TimeValue;
  model_name: string;
  model_version: number;
  role: ModelRole;
  metric: string;
  value: number;
  labelled_count: Int64Value;
  computed_at: TimeValue;
}

export interface ModelRow {
  pipeline: string;
  model_name: string;
  model_version: number;
  algorithm: string;
  stage: ModelStage;
  created_at: TimeValue;
  feature_names: string[];
  feature_spec_version: string;
  threshold: number;
  onnx_sha256: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  data_window_start: TimeValue;
  data_window_end: TimeValue;
  training_rows: Int64Value;
}

export interface ModelEventRow {
  pipeline: string;
  model_name: string;
  model_version: number;
  stage: ModelStage;
  decided_by: string;
  decided_at: TimeValue;
  decision_reason: string;
  decision_metrics: Record<string, number>;
  algorithm: string;
  created_at: TimeValue;
  onnx_sha256: string;
  registry_offset: Int64Value;
}

export interface RetrainingDecisionRow {
  pipeline: string;
  decided_at: TimeValue;
  trigger: string;
  alert_kind: string;
  alert_statistic: string;
  alert_feature: string;
  alert_id: string;
  decision: 'trained' | 'skipped' | 'failed';
  reason: string;
  detail: string;
  new_labels: number;
  model_version: number;
}

export interface DataQualityRow {
  pipeline: string;
  scope: 'training' | 'monitoring';
  run_id: string;
  window_start: TimeValue;
  window_end: TimeValue;
  model_name: string;
  model_version: number;
  feature_spec_version: string;
  check: string;
  feature: string;
  value: number;
  limit: number;
  passed: boolean;
  blocking: boolean;
  computed_at: TimeValue;
}

export interface ExperimentRow {
  pipeline: string;
  experiment_id: string;
  run_id: string;
  model_name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  started_at: TimeValue;
  duration_ms: number;
  status: string;
}

/** Row type per table, for typed writers: `new BatchedWriter<RowOf<'features'>>(...)`. */
export interface TableRows {
  events: EventRow;
  features: FeatureRow;
  predictions: PredictionRow;
  labels: LabelRow;
  dlq: DlqRow;
  drift_metrics: DriftMetricRow;
  performance_metrics: PerformanceMetricRow;
  models: ModelRow;
  model_events: ModelEventRow;
  experiments: ExperimentRow;
  retraining_decisions: RetrainingDecisionRow;
  data_quality: DataQualityRow;
}
export type RowOf<T extends TableName> = TableRows[T];
