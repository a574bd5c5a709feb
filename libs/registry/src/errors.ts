/**
 * A registry failure with Confluent's HTTP status and error code, e.g. 404/40401 subject not found,
 * 409/409 incompatible schema, 422/42201 invalid schema. The HTTP layer renders it as { error_code, message }.
 */
export class SchemaRegistryError extends Error {
  override name = 'SchemaRegistryError';
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const ErrorCodes = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  SUBJECT_SOFT_DELETED: 40404,
  SUBJECT_NOT_SOFT_DELETED: 40405,
  SCHEMA_VERSION_SOFT_DELETED: 40406,
  SCHEMA_VERSION_NOT_SOFT_DELETED: 40407,
  SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED: 40408,
  INCOMPATIBLE_SCHEMA: 409,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY_LEVEL: 42203,
  STORE_ERROR: 50001,
} as const;

export const notFound = (code: number, message: string) => new SchemaRegistryError(404, code, message);
export const unprocessable = (code: number, message: string) => new SchemaRegistryError(422, code, message);
