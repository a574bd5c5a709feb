// The platform's HTTP conventions (useJsonHttp, as serveModules applies them) on a real Nest app over real HTTP,
// without a broker: every error in the one body shape, 415 for non-JSON bodies, 413 over the limit, 404 off the routes.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import '@streamloop/kafka'; // before kafkajs: it fixes kafkajs' read_committed filter as kafkajs loads
import kafkajs from 'kafkajs';
import { RequiresScope, TokenStore } from '@streamloop/auth';
import { PlatformError, type ErrorBody } from '@streamloop/errors';
import { createLogger } from '@streamloop/observability';
import { hasRequestBody, INTERNAL_ERROR_MESSAGE, isJsonMediaType, useJsonHttp } from './http-errors';
import { externalModelBodies } from './http';

@Controller('t')
@RequiresScope('read')
class ProbeController {
  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: unknown) {
    return { received: body === undefined ? 'nothing' : body };
  }

  @Post('rejects')
  rejects() {
    throw new PlatformError('INVALID_EVENT', 'invalid events; none were accepted', { details: { rejected: [{ index: 0, errors: ['$.amount: missing'] }] } });
  }

  @Get('bug')
  bug() {
    throw new TypeError('cannot read properties of undefined (reading "secret") at /srv/app/x.ts:1');
  }

  @Get('broker')
  broker() {
    throw new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let app: NestExpressApplication;
let base: string;

before(async () => {
  app = await NestFactory.create<NestExpressApplication>(ProbeModule, { bodyParser: false, logger: false });
  // Auth off: these tests are about the error bodies (libs/auth's guard.test.ts is about the auth answers).
  useJsonHttp(app, { bodyLimit: 1024, logger: createLogger('http-errors-test', 'silent'), auth: { enabled: false, store: new TokenStore([]), openOperational: true } });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
});

after(() => app.close());

async function call(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; type: string; json: ErrorBody & Record<string, unknown> }> {
  const res = await fetch(base + path, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: (await res.json()) as ErrorBody & Record<string, unknown> };
}

function assertErrorBody(res: { status: number; type: string; json: ErrorBody }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.match(res.type, /^application\/json/);
  assert.deepEqual(Object.keys(res.json), ['error'], 'one top-level key');
  assert.equal(res.json.error.code, code);
  assert.equal(res.json.error.status, status, 'the body repeats the status');
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(res.json.error.message.length > 0);
}

test('JSON bodies of application/json and application/*+json reach the handler; no body reaches it as nothing', async () => {
  assert.deepEqual((await call('POST', '/t/echo', '{"a":1}', 'application/json; charset=utf-8')).json, { received: { a: 1 } });
  assert.deepEqual((await call('POST', '/t/echo', '{"a":2}', 'application/vnd.streamloop.v1+json')).json, { received: { a: 2 } });
  assert.deepEqual((await call('POST', '/t/echo')).json, { received: 'nothing' });
});

test('malformed JSON is 400 MALFORMED_JSON in the one shape', async () => {
  const res = await call('POST', '/t/echo', '{"a":', 'application/json');
  assertErrorBody(res, 400, 'MALFORMED_JSON');
  assert.match(res.json.error.message, /^invalid JSON body/);
});

test('a body that is not JSON is 415 UNSUPPORTED_MEDIA_TYPE, with or without a Content-Type', async () => {
  assertErrorBody(await call('POST', '/t/echo', 'a=1', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertErrorBody(await call('POST', '/t/echo', '{"a":1}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // fetch labels a string body text/plain unless told otherwise: send bytes to have no Content-Type at all.
  const res = await fetch(`${base}/t/echo`, { method: 'POST', body: new Uint8Array(Buffer.from('{"a":1}')) });
  assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true);
  assert.equal(res.status, 415);
  assertErrorBody(await call('POST', '/t/echo', '{"a":1}', 'application/json; charset=latin1'), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('a body over the limit is 413 PAYLOAD_TOO_LARGE naming the limit', async () => {
  const res = await call('POST', '/t/echo', JSON.stringify({ pad: 'x'.repeat(2048) }), 'application/json');
  assertErrorBody(res, 413, 'PAYLOAD_TOO_LARGE');
  assert.match(res.json.error.message, /limit is 1024 bytes/);
});

test('an unknown route is 404 NOT_FOUND in the one shape, also with a non-JSON body', async () => {
  assertErrorBody(await call('GET', '/t/nope'), 404, 'NOT_FOUND');
  assertErrorBody(await call('POST', '/nope', 'x', 'text/plain'), 404, 'NOT_FOUND');
});

test('platform errors answer with their code, status and details', async () => {
  const res = await call('POST', '/t/rejects', '{}', 'application/json');
  assertErrorBody(res, 400, 'INVALID_EVENT');
  assert.deepEqual(res.json.error.details, { rejected: [{ index: 0, errors: ['$.amount: missing'] }] });
  assertErrorBody(await call('GET', '/t/broker'), 503, 'KAFKA_UNAVAILABLE');
});

test('an unexpected error is 500 INTERNAL with a fixed message: no stack, no internals', async () => {
  const res = await call('GET', '/t/bug');
  assertErrorBody(res, 500, 'INTERNAL');
  assert.equal(res.json.error.message, INTERNAL_ERROR_MESSAGE);
  assert.doesNotMatch(JSON.stringify(res.json), /secret|\/srv\/app|at /);
});

test('media types and bodies as the guard reads them', () => {
  assert.equal(isJsonMediaType('application/json'), true);
  assert.equal(isJsonMediaType('Application/JSON ; charset=utf-8'), true);
  assert.equal(isJsonMediaType('application/problem+json'), true);
  assert.equal(isJsonMediaType('application/jsonx'), false);
  assert.equal(isJsonMediaType('text/json'), false);
  assert.equal(isJsonMediaType(undefined), false);
  assert.equal(hasRequestBody({ 'content-length': '0' }), false);
  assert.equal(hasRequestBody({ 'content-length': '7' }), true);
  assert.equal(hasRequestBody({ 'transfer-encoding': 'chunked' }), true);
  assert.equal(hasRequestBody({}), false);
});

test('the external-model route takes the base64 of a file at STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES, other routes HTTP_BODY_LIMIT', () => {
  const { route, limit } = externalModelBodies({ httpBodyLimit: '1mb', externalModelMaxBytes: 3 * 1024 * 1024 });
  assert.equal(limit, 4 * 1024 * 1024 + 64 * 1024);
  for (const url of ['/v1/pipelines/fraud/models/external', '/v1/pipelines/fraud/models/external/', '/v1/pipelines/fraud/models/external?x=1']) assert.ok(route.test(url), url);
  for (const url of ['/v1/pipelines/fraud/models/rollback', '/v1/pipelines/fraud/events', '/v1/pipelines/a/b/models/external', '/v1/pipelines/fraud/models/externalx']) assert.ok(!route.test(url), url);
  // A body limit larger than the model's stays in force on that route too.
  assert.equal(externalModelBodies({ httpBodyLimit: '8mb', externalModelMaxBytes: 1024 }).limit, 8 * 1024 * 1024);
});
