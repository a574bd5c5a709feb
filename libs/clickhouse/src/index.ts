export { createClickHouse, closeClickHouse, DEFAULT_DATABASE, type ClickHouseClient, type ClickHouseOptions } from './client';
export {
  TABLES, TABLE_DEFINITIONS, DATETIME_COLUMNS, MIGRATIONS, SCHEMA_MIGRATIONS_TABLE, migrate, createTableSql,
  type TableName, type TableDefinition, type Migration,
} from './schema';
export { insertRows, BatchedWriter, InsertError, formatDateTime64, type InsertOptions, type BatchedWriterOptions } from './insert';
export {
  queryRows, countRows, countLabelledFeatures, loadTrainingDataset, latestFeatureValues, loadLabelledPredictions, toNumber,
  type CountedTable, type TrainingRow, type LabelledPrediction,
} from './queries';
