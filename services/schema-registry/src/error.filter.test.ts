// The registry's HTTP conventions (useRegistryHttp) on a real Nest app over HTTP, without a broker: Confluent's
// { error_code, message } for every failure, the exception to the platform's error body.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Body, Controller, Get, HttpCode, Logger, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RequiresScope, TokenStore } from '@streamloop/auth';
import { ErrorCodes, SchemaRegistryError } from '@streamloop/registry';
import { useRegistryHttp } from './server';
import { REGISTRY_CONTENT_TYPE } from './tokens';

@Controller()
@RequiresScope('read')
class ProbeController {
  @Post('subjects/:subject/versions')
  @HttpCode(200)
  register(@Body() body: unknown) {
    return { received: body };
  }

  @Get('subjects/missing/versions')
  missing() {
    throw new SchemaRegistryError(404, ErrorCodes.SUBJECT_NOT_FOUND, "Subject 'missing' not found.");
  }

  @Get('bug')
  bug() {
    throw new TypeError('cannot read "x" of undefined at /srv/registry.ts:9');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let app: NestExpressApplication;
let base: string;

before(async () => {
  app = await NestFactory.create<NestExpressApplication>(ProbeModule, { bodyParser: false, logger: false });
  useRegistryHttp(app, 1024, { enabled: false, store: new TokenStore([]), openOperational: true });
  // The filter logs unexpected errors through Nest's logger; keep the test output quiet.
  Logger.overrideLogger(false);
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
});

after(() => app.close());

async function call(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  const res = await fetch(base + path, { method, body, headers: contentType ? { 'content-type': contentType } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: (await res.json()) as Record<string, unknown> };
}

function assertConfluent(res: { status: number; type: string; json: Record<string, unknown> }, status: number, errorCode: number): void {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.type.split(';')[0], REGISTRY_CONTENT_TYPE);
  assert.deepEqual(Object.keys(res.json).sort(), ['error_code', 'message']);
  assert.equal(res.json.error_code, errorCode);
  assert.equal(typeof res.json.message, 'string');
}

test("the registry's own errors keep Confluent's status and error code", async () => {
  assertConfluent(await call('GET', '/subjects/missing/versions'), 404, 40401);
});

test('malformed JSON, an unknown route and a body over the limit answer their status as the error code', async () => {
  assertConfluent(await call('POST', '/subjects/a/versions', '{nope', 'application/vnd.schemaregistry.v1+json'), 400, 400);
  assertConfluent(await call('GET', '/nowhere'), 404, 404);
  assertConfluent(await call('POST', '/subjects/a/versions', JSON.stringify({ schema: 'x'.repeat(2048) }), 'application/json'), 413, 413);
});

test("a body of another media type is 415, as Confluent's registry answers it; the registry's types are read", async () => {
  const refused = await call('POST', '/subjects/a/versions', '{"schema":"\\"string\\""}', 'text/plain');
  assertConfluent(refused, 415, 415);
  assert.match(String(refused.json.message), /415 Unsupported Media Type: text\/plain/);
  for (const type of ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json; charset=utf-8']) {
    const res = await call('POST', '/subjects/a/versions', '{"schema":"\\"string\\""}', type);
    assert.deepEqual([res.status, res.json], [200, { received: { schema: '"string"' } }], type);
  }
});

test('an unexpected error is 500 with error_code 50001 and a fixed message', async () => {
  const res = await call('GET', '/bug');
  assertConfluent(res, 500, 50001);
  assert.doesNotMatch(String(res.json.message), /srv|undefined/);
});
