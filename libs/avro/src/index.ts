export { WireFormatError, AvroDecodeError, SchemaParseError, RegistryError, RegistryUnavailableError } from './errors';
export { parseSchema, loadAvsc, canonicalSchema, schemaText, TimestampMillisType, type AvroType } from './schema';
export { encodeWire, readWireHeader, MAGIC_BYTE, WIRE_HEADER_SIZE } from './wire';
export { safeDecode, minEncodedSize, type SafeDecodeOptions } from './safe-decode';
export { validateRecord, expectedOf, type ValidationResult, type ValidateOptions } from './validate';
export {
  checkCompatibility, resolutionError, isCompatibilityLevel, COMPATIBILITY_LEVELS,
  type CompatibilityLevel, type CompatibilityResult, type SchemaInput,
} from './compatibility';
export { HttpRegistryClient, type RegistryClient, type RegisteredSchema, type HttpRegistryClientOptions } from './registry-client';
export { AvroSerde, valueSubject, type DecodedRecord, type AvroSerdeOptions } from './serde';
