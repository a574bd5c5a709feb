import { PlatformError, type PlatformErrorOptions } from '@streamloop/errors';

/** The bytes are not a Confluent wire-format record (too short, or the magic byte is not 0). */
export class WireFormatError extends PlatformError {
  constructor(message: string) {
    super('INVALID_WIRE_FORMAT', message);
  }
}

/** Untrusted Avro bytes that do not decode under the writer schema; `path` names where (e.g. `$.items[3].name`). */
export class AvroDecodeError extends PlatformError {
  constructor(
    readonly path: string,
    readonly expected: string,
    detail?: string,
  ) {
    super('AVRO_DECODE_FAILED', `cannot decode Avro at ${path}: expected ${expected}${detail ? ` (${detail})` : ''}`);
  }
}

/** A schema that avsc refuses (bad JSON, unknown type, bad default...). */
export class SchemaParseError extends PlatformError {
  constructor(message: string) {
    super('INVALID_SCHEMA', message);
  }
}

/**
 * The registry answered with a Confluent error body ({ error_code, message }): it refused the request. The registry's
 * own HTTP status and error code are kept (`registryStatus`, `errorCode`); as a platform error it is
 * SCHEMA_REGISTRY_REJECTED, a failure of this service, not of the client that caused the call.
 */
export class RegistryError extends PlatformError {
  constructor(
    readonly registryStatus: number,
    readonly errorCode: number,
    message: string,
  ) {
    super('SCHEMA_REGISTRY_REJECTED', message);
  }
}

/** The registry could not be reached or answered 5xx: an outage (a consumer retries the batch), not a bad record. */
export class RegistryUnavailableError extends PlatformError {
  constructor(message: string, options?: Pick<PlatformErrorOptions, 'cause'>) {
    super('SCHEMA_REGISTRY_UNAVAILABLE', message, options);
  }
}
