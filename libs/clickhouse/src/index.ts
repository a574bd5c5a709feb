export { CLICKHOUSE_DEFAULTS } from './defaults';
export {
  createClickHouse, closeClickHouse, embeddedDataDir,
  type ClickHouseClient, type ClickHouseOptions,
} from './client';
export {
  TABLES, TABLE_DEFS, SCHEMA_MIGRATIONS_TABLE, DEDUP_WINDOW, tableDef, createTableSql, qualify, quoteIdent,
  type TableName, type TableDef, type ColumnDef, type TableRows, type RowOf, type TimeValue, type Int64Value,
  type EventRow, type FeatureRow, type PredictionRow, type LabelRow, type DlqRow, type DriftMetricRow,
  type PerformanceMetricRow, type ModelRow, type ExperimentRow, type RetrainingDecisionRow, type DataQualityRow, DATA_QUALITY_SCOPE_ENUM,
} from './schema';
// The enums of the predictions and models rows are the Avro records' (generated from schemas/*.avsc).
export type { ModelRole, ModelStage } from '@streamloop/contracts';
export { migrate, MIGRATIONS, type Migration, type MigrateResult } from './migrate';
export { encodeRow, encodeFloat, decodeFloat, formatDateTime64, RowValidationError } from './serialize';
export { insertRows, encodeRows, InsertError, isClickHouseServerError, isPermanentError, type InsertOptions } from './insert';
export { BatchedWriter, type BatchedWriterOptions, type SourceRange } from './writer';
export {
  queryRows, countRows, countLabelledFeatures, latestEventTime, loadTrainingDataset, latestFeatureValues, loadLabelledPredictions, loadPairedOutcomes,
  type PairedOutcome, type PairedOutcomesOptions, type QueryRowsOptions, type TrainingRow, type TrainingDatasetOptions, type FeatureWindowOptions, type LabelledPrediction, type LabelledPredictionsOptions,
} from './queries';
export {
  FEATURES_SINK, PREDICTIONS_SINK, SHADOW_PREDICTIONS_SINK, LABELS_SINK, DLQ_SINK, MODELS_SINK, MODEL_EVENTS_SINK, PLATFORM_RECORD_SINKS, eventsSink, labelsSink,
  type SinkMapping, type CompleteRow, type RecordOrigin, type EventFieldNames,
} from './sink-mappings';
export { labelRecordOf, labelFromEvent, LabelRecordError, type LabelFieldNames, type EventLabelFieldNames } from './label-records';
export { loadEventField, type EventFieldOptions, type EventFieldValue } from './event-fields';
export {
  PartitionSink,
  type PartitionSinkOptions, type PartitionWriteResult, type SourcePartition, type SourcedRow, type OffsetValue,
} from './partition-sink';
export { openEmbeddedSession, type EmbeddedSession, type EmbeddedQuery, type EmbeddedQueryResult } from './client';
export {
  parseHttpQuery, assertReadOnlyStatement, assertNoSessionStatement, formatClauseOf, outputFormatOf, firstKeyword, contentTypeOf, httpStatusOf, errorBody, asClickHouseError, ClickHouseHttpError, CH_ERRORS,
  HTTP_DEFAULT_FORMAT, type HttpQueryRequest, type RawHttpRequest,
} from './http-protocol';
export {
  startClickHouseHttp, clickHouseHttpProblems, isLoopbackHost,
  type ClickHouseHttpServer, type ClickHouseHttpOptions, type ClickHouseHttpUser,
} from './http-server';
