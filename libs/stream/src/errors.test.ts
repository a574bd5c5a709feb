import assert from 'node:assert/strict';
import test from 'node:test';
import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { ClickHouseError } from '@clickhouse/client';
import '@streamloop/kafka'; // before kafkajs: it fixes kafkajs' read_committed filter as kafkajs loads
import kafkajs from 'kafkajs';
import { AvroDecodeError, RegistryError, RegistryUnavailableError } from '@streamloop/avro';
import { InsertError, RowValidationError } from '@streamloop/clickhouse';
import { PlatformError } from '@streamloop/errors';
import { RebuildStateError } from './batch-processor';
import { classifyFailure, isOutage, NotReadyError, RecordTooLargeError, toPlatformError } from './errors';

const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSAggregateError } = kafkajs;

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
/** What express' JSON body parser throws (http-errors). */
const bodyParserError = (status: number, type: string, message: string, extra: object = {}) => Object.assign(new Error(message), { status, statusCode: status, type, expose: true, ...extra });

test('platform errors are classified by their code: outages and waits are retried, the rest dead-letters its record', () => {
  const cases: Array<[Error, string, string]> = [
    [new RegistryUnavailableError('registry down'), 'SCHEMA_REGISTRY_UNAVAILABLE', 'outage'],
    [new InsertError('insert failed', 'events', 3, false, 5), 'CLICKHOUSE_UNAVAILABLE', 'outage'],
    [new InsertError('insert failed', 'events', 3, true, 1), 'CLICKHOUSE_REJECTED', 'record'],
    [new NotReadyError('no model yet'), 'NOT_READY', 'not-ready'],
    [new NotReadyError('no model yet', 'NO_MODEL_YET'), 'NO_MODEL_YET', 'not-ready'],
    [new RecordTooLargeError('fraud.events', 2_000_000, 1_048_588), 'RECORD_TOO_LARGE', 'record'],
    [new RebuildStateError('record at offset 3 failed', { cause: new Error('x') }), 'PARTITION_STATE_REBUILD', 'record'],
    [new AvroDecodeError('$.items', 'an array'), 'AVRO_DECODE_FAILED', 'record'],
    [new RegistryError(409, 409, 'incompatible'), 'SCHEMA_REGISTRY_REJECTED', 'record'],
    [new RowValidationError('bad row', 'events', 0, 'event_time'), 'INVALID_ROW', 'record'],
  ];
  for (const [error, code, kind] of cases) {
    assert.equal(toPlatformError(error), error, `${error.name} is returned as it is`);
    assert.deepEqual([toPlatformError(error).code, classifyFailure(error)], [code, kind], error.name);
  }
  assert.equal(isOutage(new RegistryUnavailableError('down')), true);
  assert.equal(isOutage(new NotReadyError('wait')), false, 'a wait is not an outage');
});

test('kafkajs errors are told by class: retriable ones (or retries given up on them) are KAFKA_UNAVAILABLE, the others KAFKA_REFUSED; both are outages', () => {
  const connection = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092', code: 'ECONNREFUSED' });
  assert.deepEqual([toPlatformError(connection).code, classifyFailure(connection)], ['KAFKA_UNAVAILABLE', 'outage']);
  assert.equal(toPlatformError(connection).cause, connection, 'the original stays the cause');

  const gaveUp = new KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 5, retryTime: 1000 });
  assert.equal(gaveUp.retriable, false, 'kafkajs marks the give-up itself non-retriable');
  assert.deepEqual([toPlatformError(gaveUp).code, classifyFailure(gaveUp)], ['KAFKA_UNAVAILABLE', 'outage']);

  const fenced = new KafkaJSProtocolError({ message: 'producer fenced', type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false } as unknown as Error);
  assert.equal(fenced.retriable, false);
  assert.deepEqual([toPlatformError(fenced).code, classifyFailure(fenced)], ['KAFKA_REFUSED', 'outage'], 'never dead-letters a record for the cluster\'s refusal');
  assert.deepEqual([toPlatformError(new KafkaJSNonRetriableError('not allowed')).code, toPlatformError(new KafkaJSAggregateError('topics refused', [])).code], ['KAFKA_REFUSED', 'KAFKA_REFUSED']);
});

test('names decide nothing: an error merely named like an outage belongs to its record', () => {
  const namedKafka = Object.assign(new Error('looks like kafkajs'), { name: 'KafkaJSConnectionError', retriable: true });
  const namedRegistry = Object.assign(new Error('looks like the registry'), { name: 'RegistryUnavailableError' });
  for (const error of [namedKafka, namedRegistry]) assert.deepEqual([toPlatformError(error).code, classifyFailure(error)], ['INTERNAL', 'record'], error.name);
});

test('network errors are outages by their code, also as the cause of a wrapper (fetch\'s TypeError)', () => {
  const refused = withCode('connect ECONNREFUSED 127.0.0.1:8123', 'ECONNREFUSED');
  assert.deepEqual([toPlatformError(refused).code, classifyFailure(refused)], ['UPSTREAM_UNAVAILABLE', 'outage']);
  const fetchFailed = new TypeError('fetch failed', { cause: withCode('connect timeout', 'UND_ERR_CONNECT_TIMEOUT') });
  const platform = toPlatformError(fetchFailed);
  assert.deepEqual([platform.code, classifyFailure(fetchFailed)], ['UPSTREAM_UNAVAILABLE', 'outage']);
  assert.equal(platform.message, 'fetch failed: connect timeout', 'the cause says what the wrapper does not');
  assert.equal(classifyFailure(withCode('no such file', 'ENOENT')), 'record', 'a local error code is not an outage');
});

test('ClickHouse server errors: a code a retry cannot fix is rejected (record), anything else unavailable (outage)', () => {
  const unknownTable = new ClickHouseError({ message: "Table default.nope doesn't exist", code: '60', type: 'UNKNOWN_TABLE' });
  const tooManyParts = new ClickHouseError({ message: 'Too many parts', code: '252', type: 'TOO_MANY_PARTS' });
  assert.deepEqual([toPlatformError(unknownTable).code, classifyFailure(unknownTable)], ['CLICKHOUSE_REJECTED', 'record']);
  assert.deepEqual([toPlatformError(tooManyParts).code, classifyFailure(tooManyParts)], ['CLICKHOUSE_UNAVAILABLE', 'outage']);
  const wrapped = new Error('migration 3 failed', { cause: tooManyParts });
  assert.deepEqual([toPlatformError(wrapped).code, toPlatformError(wrapped).message], ['CLICKHOUSE_UNAVAILABLE', 'migration 3 failed: Too many parts']);
});

test('HTTP failures from express and Nest get their codes: malformed JSON, body over the limit, media type, unknown route', () => {
  const malformed = toPlatformError(bodyParserError(400, 'entity.parse.failed', "Expected property name or '}' in JSON at position 1"));
  assert.deepEqual([malformed.code, malformed.status], ['MALFORMED_JSON', 400]);
  assert.match(malformed.message, /^invalid JSON body: Expected property name/);
  const tooLarge = toPlatformError(bodyParserError(413, 'entity.too.large', 'request entity too large', { length: 2_000_000, limit: 1_048_576 }));
  assert.deepEqual([tooLarge.code, tooLarge.status, tooLarge.message], ['PAYLOAD_TOO_LARGE', 413, 'request body of 2000000 bytes is too large: the limit is 1048576 bytes']);
  assert.deepEqual([toPlatformError(bodyParserError(415, 'charset.unsupported', 'unsupported charset "LATIN-9"')).code], ['UNSUPPORTED_MEDIA_TYPE']);
  // Nest's express adapter hands them to filters wrapped in an HttpException, the parser's error as its cause.
  const parseFailed = bodyParserError(400, 'entity.parse.failed', 'Unexpected end of JSON input');
  const wrappedMalformed = toPlatformError(new BadRequestException(parseFailed.message, { cause: parseFailed }));
  assert.deepEqual([wrappedMalformed.code, wrappedMalformed.message], ['MALFORMED_JSON', 'invalid JSON body: Unexpected end of JSON input']);
  const overLimit = bodyParserError(413, 'entity.too.large', 'request entity too large', { length: 5000, limit: 1024 });
  const wrappedLarge = toPlatformError(new HttpException(overLimit.message, 413, { cause: overLimit }));
  assert.deepEqual([wrappedLarge.code, wrappedLarge.status, wrappedLarge.message], ['PAYLOAD_TOO_LARGE', 413, 'request body of 5000 bytes is too large: the limit is 1024 bytes']);
  const route = toPlatformError(new NotFoundException('Cannot GET /v1/nope'));
  assert.deepEqual([route.code, route.status, route.message], ['NOT_FOUND', 404, 'Cannot GET /v1/nope']);
  const method = toPlatformError(new HttpException('Method Not Allowed', 405));
  assert.deepEqual([method.code, method.status], ['INVALID_INPUT', 405], 'a client error keeps its status under the catch-all code');
  assert.deepEqual([toPlatformError(new HttpException('Bad Gateway', 502)).code, toPlatformError(new HttpException('Bad Gateway', 502)).status], ['INTERNAL', 500]);
});

test('anything unknown is INTERNAL: not retriable, so a stage dead-letters its record', () => {
  for (const thrown of [new TypeError('x is undefined'), 'a string', 42, null, undefined]) {
    const platform = toPlatformError(thrown);
    assert.ok(platform instanceof PlatformError);
    assert.deepEqual([platform.code, platform.status, platform.retriable, classifyFailure(thrown)], ['INTERNAL', 500, false, 'record'], String(thrown));
  }
  // A wrapper around a platform error takes its code (a plain Error around a wait is still a wait).
  assert.equal(classifyFailure(new Error('scoring failed', { cause: new NotReadyError('no model yet') })), 'not-ready');
});
