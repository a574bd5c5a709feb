export { SchemaRegistryStore, type SchemaVersion, type SchemaRequest, type VersionSpec, type SchemaRegistryStoreOptions } from './store';
export { SchemaRegistryError, ErrorCodes } from './errors';
export {
  KafkaRegistryLog, MemoryRegistryLog, DEFAULT_SCHEMAS_TOPIC, encodeKey,
  type RegistryLog, type LogRecord, type RecordKey, type KafkaRegistryLogOptions,
} from './log';
export { REGISTRY_DEFAULTS } from './defaults';
