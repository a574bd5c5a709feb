import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord, LabelRecord } from '@streamloop/runtime';
import type { DeadLetter } from '@streamloop/kafka';
import type { ConsumedRecord } from '@streamloop/kafka';
import { TABLES } from '@streamloop/clickhouse';

/** How one topic's records become rows of one ClickHouse table. */
export interface SinkMapping {
  table: string;
  toRow: (value: unknown, record: ConsumedRecord, pipeline: string, schemaId: number) => Record<string, unknown>;
}

export const FEATURES_SINK: SinkMapping = {
  table: TABLES.features,
  toRow: (v, r) => {
    const f = v as FeatureVectorRecord;
    return {
      pipeline: f.pipeline, event_id: f.event_id, entity_key: f.entity_key, event_time: f.event_time,
      feature_spec_version: f.feature_spec_version, values: f.values, computed_at: f.computed_at,
      source_partition: r.partition, source_offset: Number(r.offset),
    };
  },
};

export const PREDICTIONS_SINK: SinkMapping = {
  table: TABLES.predictions,
  toRow: (v) => ({ ...(v as PredictionRecord) }),
};

export const LABELS_SINK: SinkMapping = {
  table: TABLES.labels,
  toRow: (v, _r, pipeline) => {
    const l = v as LabelRecord;
    return { pipeline, event_id: l.event_id, label: l.label, label_time: l.label_time };
  },
};

export const DLQ_SINK: SinkMapping = {
  table: TABLES.dlq,
  toRow: (v) => {
    const d = v as DeadLetter;
    return {
      pipeline: d.pipeline, stage: d.stage, source_topic: d.source_topic ?? '', source_partition: d.source_partition,
      source_offset: d.source_offset, error_class: d.error_class, error_message: d.error_message,
      // The original bytes, base64: a String column read back as JSON must stay valid UTF-8.
      original_value: d.original_value ? Buffer.from(d.original_value).toString('base64') : '',
      failed_at: d.failed_at,
      original_size: d.original_size ?? null,
    };
  },
};

export const MODELS_SINK: SinkMapping = {
  table: TABLES.models,
  toRow: (v) => {
    const m = v as ModelRegistryRecord;
    return {
      pipeline: m.pipeline, model_name: m.model_name, model_version: m.model_version, algorithm: m.algorithm, stage: m.stage,
      created_at: m.created_at, feature_names: m.feature_names, feature_spec_version: m.feature_spec_version,
      threshold: m.threshold, onnx_sha256: m.onnx_sha256, metrics: m.metrics, params: m.params,
      data_window_start: m.data_window_start, data_window_end: m.data_window_end, training_rows: m.training_rows,
    };
  },
};

/** Events are the user's own schema; the row keeps the identifying fields as columns and the rest as JSON. */
export function eventRow(event: Record<string, unknown>, pipeline: string, fields: { id: string; time: string; entity: string }, schemaId: number) {
  return {
    pipeline,
    event_id: String(event[fields.id]),
    entity_key: String(event[fields.entity]),
    event_time: Number(event[fields.time]),
    schema_id: schemaId,
    payload: JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('base64') : v)),
    ingested_at: Date.now(),
  };
}
