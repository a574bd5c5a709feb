import { PlatformError, type ErrorCode } from '@streamloop/errors';

/**
 * A registry failure with Confluent's HTTP status and error code, e.g. 404/40401 subject not found,
 * 409/409 incompatible schema, 422/42201 invalid schema. The HTTP layer renders it as { error_code, message };
 * the platform code follows from the error code (see platformCodeOf).
 */
export class SchemaRegistryError extends PlatformError {
  constructor(
    status: number,
    readonly errorCode: number,
    message: string,
  ) {
    // Confluent's API fixes the status per error code, so it is kept as given.
    super(platformCodeOf(errorCode), message, { status });
  }
}

export const ErrorCodes = {
  // Confluent's answers of a registry with authentication: no or bad credentials, and a principal without the right.
  UNAUTHORIZED: 40101,
  FORBIDDEN: 40301,
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

/** The platform code of a Confluent error code: 404xx not found, 409 incompatible, 42201 invalid schema, 5xxxx the store. */
export function platformCodeOf(errorCode: number): ErrorCode {
  if (errorCode === ErrorCodes.INCOMPATIBLE_SCHEMA) return 'INCOMPATIBLE_SCHEMA';
  if (errorCode === ErrorCodes.INVALID_SCHEMA) return 'INVALID_SCHEMA';
  if (errorCode >= 40100 && errorCode < 40200) return 'UNAUTHORIZED';
  if (errorCode >= 40300 && errorCode < 40400) return 'FORBIDDEN';
  if (errorCode >= 40400 && errorCode < 40500) return 'NOT_FOUND';
  if (errorCode >= 42200 && errorCode < 42300) return 'INVALID_INPUT';
  // 50001-50003: the backing log cannot be written or the store is not started — the registry is down for now.
  if (errorCode >= 50000 && errorCode < 60000) return 'SCHEMA_REGISTRY_UNAVAILABLE';
  return 'INTERNAL';
}
