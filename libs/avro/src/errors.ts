/** The bytes are not a Confluent wire-format record (too short, or the magic byte is not 0). */
export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

/** Untrusted Avro bytes that do not decode under the writer schema; `path` names where (e.g. `$.items[3].name`). */
export class AvroDecodeError extends Error {
  override name = 'AvroDecodeError';
  constructor(
    readonly path: string,
    readonly expected: string,
    detail?: string,
  ) {
    super(`cannot decode Avro at ${path}: expected ${expected}${detail ? ` (${detail})` : ''}`);
  }
}

/** A schema that avsc refuses (bad JSON, unknown type, bad default...). */
export class SchemaParseError extends Error {
  override name = 'SchemaParseError';
}

/** The registry answered with a Confluent error body ({ error_code, message }). */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The registry could not be reached or answered 5xx. Consumers treat this as an outage (retry the batch),
 * not as a bad record — the name is what callers test for.
 */
export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError';
}
