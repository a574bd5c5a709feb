export { SchemaRegistryStore, type SchemaVersion, type SchemaRequest, type VersionSpec, type SchemaRegistryStoreOptions } from './store';
export { SchemaRegistryError, ErrorCodes } from './errors';
export {
  KafkaRegistryLog, MemoryRegistryLog, encodeKey, registryKafkaConfig,
  type RegistryLog, type LogRecord, type RecordKey, type KafkaRegistryLogOptions,
} from './log';
export { REGISTRY_DEFAULTS } from './defaults';
