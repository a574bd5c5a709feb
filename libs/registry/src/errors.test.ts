import assert from 'node:assert/strict';
import test from 'node:test';
import { ErrorCodes, SchemaRegistryError } from './errors';

test("a registry error keeps Confluent's status and error code, and gets the platform code its error code means", () => {
  const cases: Array<[number, number, string, boolean]> = [
    [404, ErrorCodes.SUBJECT_NOT_FOUND, 'NOT_FOUND', false],
    [404, ErrorCodes.SCHEMA_VERSION_SOFT_DELETED, 'NOT_FOUND', false],
    [409, ErrorCodes.INCOMPATIBLE_SCHEMA, 'INCOMPATIBLE_SCHEMA', false],
    [422, ErrorCodes.INVALID_SCHEMA, 'INVALID_SCHEMA', false],
    [422, ErrorCodes.INVALID_COMPATIBILITY_LEVEL, 'INVALID_INPUT', false],
    // The backing log cannot be written: the registry is down for now, and a client may retry.
    [500, ErrorCodes.STORE_ERROR, 'SCHEMA_REGISTRY_UNAVAILABLE', true],
  ];
  for (const [status, errorCode, code, retriable] of cases) {
    const error = new SchemaRegistryError(status, errorCode, 'm');
    assert.deepEqual([error.status, error.errorCode, error.code, error.retriable, error.name], [status, errorCode, code, retriable, 'SchemaRegistryError'], String(errorCode));
  }
});
