import type { DeadLetterRecord, FeatureVectorRecord, LabelRecord, ModelRegistryRecord, PredictionRecord } from '@streamloop/contracts';
import { labelRecordOf, type LabelFieldNames } from './label-records';
import { TABLES, type RowOf, type TableName } from './schema';

/**
 * A row that names every column of its table, those with a DEFAULT too: the sink states what it writes, and the
 * compiler refuses a mapping that forgets a column or invents one (a unit test holds the row types to the DDL).
 */
export type CompleteRow<Table extends TableName> = Required<RowOf<Table>>;

/** Where a record was read, and for which pipeline: what a row may need beyond the record itself. */
export interface RecordOrigin {
  pipeline: string;
  partition: number;
  offset: string;
  /** Registry id of the record's writer schema. */
  schemaId: number;
  /** The record's Kafka timestamp (epoch ms), where the reader has it: a label's arrival, and its time when its record names none. */
  timestamp?: number;
}

/** How one topic's records (a type generated from schemas/*.avsc) become rows of one ClickHouse table. */
export interface SinkMapping<Value, Table extends TableName> {
  readonly table: Table;
  /** Fields of the record the table deliberately does not keep (every other field has a column of its name). */
  readonly omits: readonly (keyof Value & string)[];
  toRow(value: Value, origin: RecordOrigin): CompleteRow<Table>;
}

export const FEATURES_SINK: SinkMapping<FeatureVectorRecord, 'features'> = {
  table: TABLES.features,
  omits: [],
  toRow: (f, origin) => ({
    pipeline: f.pipeline, event_id: f.event_id, entity_key: f.entity_key, event_time: f.event_time,
    feature_spec_version: f.feature_spec_version, values: f.values, computed_at: f.computed_at,
    source_partition: origin.partition, source_offset: Number(origin.offset),
  }),
};

export const PREDICTIONS_SINK: SinkMapping<PredictionRecord, 'predictions'> = {
  table: TABLES.predictions,
  omits: [],
  toRow: (p) => ({
    pipeline: p.pipeline, event_id: p.event_id, entity_key: p.entity_key, event_time: p.event_time, model_name: p.model_name,
    model_version: p.model_version, role: p.role, score: p.score, label: p.label, threshold: p.threshold, latency_ms: p.latency_ms,
    predicted_at: p.predicted_at, fallback: p.fallback, shadow: false,
    // Feature → value, largest |value| first as the record lists them.
    contributions: Object.fromEntries(p.contributions.map((c) => [c.feature, c.value])),
  }),
};

/** A challenger's shadow predictions (P.predictions.shadow): the predictions table, marked as never served. */
export const SHADOW_PREDICTIONS_SINK: SinkMapping<PredictionRecord, 'predictions'> = {
  ...PREDICTIONS_SINK,
  toRow: (p, origin) => ({ ...PREDICTIONS_SINK.toRow(p, origin), shadow: true }),
};

export const LABELS_SINK: SinkMapping<LabelRecord, 'labels'> = {
  table: TABLES.labels,
  omits: [],
  // A label carries no pipeline: it is the pipeline whose labels topic it was read from.
  toRow: (l, origin) => ({ pipeline: origin.pipeline, event_id: l.event_id, label: l.label, label_time: l.label_time, arrived_at: origin.timestamp ?? null }),
};

/** The pipeline's label records (whichever schema labelFieldsOf describes) into the labels table. */
export function labelsSink(fields: LabelFieldNames): SinkMapping<Record<string, unknown>, 'labels'> {
  return {
    table: TABLES.labels,
    omits: [],
    toRow: (value, origin) => LABELS_SINK.toRow(labelRecordOf(value, fields, origin.timestamp), origin),
  };
}

export const DLQ_SINK: SinkMapping<DeadLetterRecord, 'dlq'> = {
  table: TABLES.dlq,
  // The key identifies the original record in Kafka; the table keeps the source topic, partition and offset instead.
  omits: ['original_key'],
  toRow: (d) => ({
    pipeline: d.pipeline, stage: d.stage, source_topic: d.source_topic ?? '', source_partition: d.source_partition,
    source_offset: d.source_offset, error_class: d.error_class, error_message: d.error_message,
    // The original bytes, base64: a String column read back as JSON must stay valid UTF-8.
    original_value: d.original_value ? Buffer.from(d.original_value).toString('base64') : '',
    failed_at: d.failed_at,
    original_size: d.original_size,
  }),
};

export const MODELS_SINK: SinkMapping<ModelRegistryRecord, 'models'> = {
  table: TABLES.models,
  // A mirror for analysts: the model bytes stay in the registry topic (onnx_sha256 names them), and so do the
  // drift reference sample, the importances and the external tensor names, which serving and monitoring read there.
  // The audit fields of the latest record are in model_events with every earlier one.
  omits: ['onnx', 'reference', 'feature_importance', 'signature', 'decided_by', 'decided_at', 'decision_reason', 'decision_metrics'],
  toRow: (m) => ({
    pipeline: m.pipeline, model_name: m.model_name, model_version: m.model_version, algorithm: m.algorithm, stage: m.stage,
    created_at: m.created_at, feature_names: m.feature_names, feature_spec_version: m.feature_spec_version,
    threshold: m.threshold, onnx_sha256: m.onnx_sha256, metrics: m.metrics, params: m.params,
    data_window_start: m.data_window_start, data_window_end: m.data_window_end, training_rows: m.training_rows,
  }),
};

/** The event fields a pipeline spec names (events are the user's own schema). */
export interface EventFieldNames {
  id: string;
  time: string;
  entity: string;
}

/** Events are the user's own schema: the row keeps the identifying fields as columns and the whole event as JSON. */
export function eventsSink(fields: EventFieldNames): SinkMapping<Record<string, unknown>, 'events'> {
  return {
    table: TABLES.events,
    omits: [],
    toRow: (event, origin) => ({
      pipeline: origin.pipeline,
      event_id: String(event[fields.id]),
      entity_key: String(event[fields.entity]),
      event_time: Number(event[fields.time]),
      schema_id: origin.schemaId,
      payload: JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v)),
      ingested_at: Date.now(),
    }),
  };
}

export const MODEL_EVENTS_SINK: SinkMapping<ModelRegistryRecord, 'model_events'> = {
  table: TABLES.model_events,
  // The version's contents are in models and on the registry topic; an event says what happened to it.
  omits: ['onnx', 'reference', 'feature_importance', 'signature', 'feature_names', 'feature_spec_version', 'threshold', 'metrics', 'params',
    'data_window_start', 'data_window_end', 'training_rows'],
  toRow: (m, origin) => ({
    pipeline: m.pipeline, model_name: m.model_name, model_version: m.model_version, stage: m.stage, decided_by: m.decided_by,
    decided_at: m.decided_at, decision_reason: m.decision_reason, decision_metrics: m.decision_metrics, algorithm: m.algorithm,
    created_at: m.created_at, onnx_sha256: m.onnx_sha256, registry_offset: Number(origin.offset),
  }),
};

/** The platform records the sink writes, by table (events are the user's, see eventsSink). */
export const PLATFORM_RECORD_SINKS = {
  features: FEATURES_SINK,
  predictions: PREDICTIONS_SINK,
  labels: LABELS_SINK,
  dlq: DLQ_SINK,
  models: MODELS_SINK,
  model_events: MODEL_EVENTS_SINK,
} as const;
