// The guard on a real Nest app over real HTTP (no broker): each declared scope, a route that declares none, the
// operational routes open or protected, bearer and basic credentials.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Catch, Controller, Get, Module, Post, type ArgumentsHost, type ExceptionFilter, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PlatformError } from '@streamloop/errors';
import { AuthGuard, generateToken, hashToken, OperationalEndpoint, RequiresScope, TokenStore, type AuthPolicy, type Scope } from './index';

@Controller()
class ProbeController {
  @Post('ingest') @RequiresScope('ingest') ingest() { return { ok: 'ingest' }; }
  @Post('predict') @RequiresScope('predict') predict() { return { ok: 'predict' }; }
  @Get('read') @RequiresScope('read') read() { return { ok: 'read' }; }
  @Post('admin') @RequiresScope('admin') admin() { return { ok: 'admin' }; }
  @Get('health') @OperationalEndpoint() health() { return { ok: 'health' }; }
  @Get('either') @RequiresScope('read', 'schema') either() { return { ok: 'either' }; }
  @Get('forgotten') forgotten() { return { ok: 'served without a scope' }; }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

/** The platform's error body (libs/runtime's filter does this in the services; libs/auth does not depend on it). */
@Catch(PlatformError)
class BodyFilter implements ExceptionFilter {
  catch(error: PlatformError, host: ArgumentsHost) {
    host.switchToHttp().getResponse().status(error.status).json({ error: { code: error.code, message: error.message, status: error.status } });
  }
}

const tokens: Record<string, string> = { ingest: generateToken(), reader: generateToken(), ops: generateToken() };
const scopesOf: Record<string, Scope[]> = { ingest: ['ingest'], reader: ['read', 'predict'], ops: ['admin'] };
const store = new TokenStore(Object.entries(tokens).map(([name, t]) => ({ name, sha256: hashToken(t), scopes: scopesOf[name] })));

async function serve(policy: AuthPolicy): Promise<{ app: INestApplication; base: string }> {
  const app = await NestFactory.create(ProbeModule, { logger: false });
  app.useGlobalFilters(new BodyFilter());
  app.useGlobalGuards(new AuthGuard(policy));
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

async function call(base: string, method: string, path: string, authorization?: string) {
  const res = await fetch(base + path, { method, headers: authorization ? { authorization } : {} });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json() as { ok?: string; error?: { code: string; message: string } } };
}

describe('auth on, /health open', () => {
  let served: { app: INestApplication; base: string };
  before(async () => { served = await serve({ enabled: true, store, openOperational: true }); });
  after(() => served.app.close());

  test('no token: 401 UNAUTHORIZED with a Bearer challenge, naming the scope needed', async () => {
    const res = await call(served.base, 'POST', '/ingest');
    assert.equal(res.status, 401);
    assert.equal(res.body.error?.code, 'UNAUTHORIZED');
    assert.match(res.body.error!.message, /POST \/ingest needs a token with scope ingest/);
    assert.equal(res.challenge, 'Bearer realm="streamloop"');
  });

  test('an unknown token, or another scheme: 401', async () => {
    assert.equal((await call(served.base, 'GET', '/read', `Bearer ${generateToken()}`)).status, 401);
    assert.equal((await call(served.base, 'GET', '/read', `Basic ${Buffer.from(`reader:${tokens.reader}`).toString('base64')}`)).status, 401, 'basic is not taken by the API');
  });

  test('each scope opens its routes only; admin opens all', async () => {
    const expect: Array<[string, string, string, number]> = [
      ['ingest', 'POST', '/ingest', 201], ['ingest', 'POST', '/predict', 403], ['ingest', 'GET', '/read', 403], ['ingest', 'POST', '/admin', 403],
      ['reader', 'POST', '/ingest', 403], ['reader', 'POST', '/predict', 201], ['reader', 'GET', '/read', 200], ['reader', 'POST', '/admin', 403],
      ['ops', 'POST', '/ingest', 201], ['ops', 'POST', '/predict', 201], ['ops', 'GET', '/read', 200], ['ops', 'POST', '/admin', 201],
    ];
    for (const [who, method, path, status] of expect) {
      const res = await call(served.base, method, path, `Bearer ${tokens[who]}`);
      assert.equal(res.status, status, `${who} ${method} ${path}: ${JSON.stringify(res.body)}`);
      if (status === 403) {
        assert.equal(res.body.error?.code, 'FORBIDDEN');
        assert.match(res.body.error!.message, new RegExp(`needs scope ${path.slice(1)}; token ${who} has`));
      }
    }
  });

  test('a route with alternatives takes a token of any of them', async () => {
    assert.equal((await call(served.base, 'GET', '/either', `Bearer ${tokens.reader}`)).status, 200);
    const refused = await call(served.base, 'GET', '/either', `Bearer ${tokens.ingest}`);
    assert.equal(refused.status, 403);
    assert.match(refused.body.error!.message, /needs scope read or schema; token ingest has ingest/);
  });

  test('a route that declares no scope is refused, even to admin (fail closed)', async () => {
    const res = await call(served.base, 'GET', '/forgotten', `Bearer ${tokens.ops}`);
    assert.equal(res.status, 403);
    assert.match(res.body.error!.message, /GET \/forgotten declares no scope/);
  });

  test('/health answers without a token', async () => {
    assert.equal((await call(served.base, 'GET', '/health')).status, 200);
  });
});

describe('auth on, /health protected', () => {
  let served: { app: INestApplication; base: string };
  before(async () => { served = await serve({ enabled: true, store, openOperational: false }); });
  after(() => served.app.close());

  test('/health needs read', async () => {
    assert.equal((await call(served.base, 'GET', '/health')).status, 401);
    assert.equal((await call(served.base, 'GET', '/health', `Bearer ${tokens.ingest}`)).status, 403);
    assert.equal((await call(served.base, 'GET', '/health', `Bearer ${tokens.reader}`)).status, 200);
  });
});

describe('basic auth (the schema registry\'s Confluent clients)', () => {
  let served: { app: INestApplication; base: string };
  before(async () => { served = await serve({ enabled: true, store, openOperational: true, basic: true }); });
  after(() => served.app.close());

  test('name:token is taken; a wrong name, or a token alone, is not', async () => {
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.equal((await call(served.base, 'GET', '/read', basic(`reader:${tokens.reader}`))).status, 200);
    assert.equal((await call(served.base, 'GET', '/read', basic(`ops:${tokens.reader}`))).status, 401);
    assert.equal((await call(served.base, 'GET', '/read', basic(tokens.reader))).status, 401);
    assert.equal((await call(served.base, 'GET', '/read', `Bearer ${tokens.reader}`)).status, 200);
    assert.match((await call(served.base, 'GET', '/read')).challenge ?? '', /^Basic realm="streamloop", Bearer/);
  });
});

describe('auth off', () => {
  let served: { app: INestApplication; base: string };
  before(async () => { served = await serve({ enabled: false, store: new TokenStore([]), openOperational: false }); });
  after(() => served.app.close());

  test('declared routes answer without a token; an undeclared one is still refused', async () => {
    assert.equal((await call(served.base, 'POST', '/admin')).status, 201);
    assert.equal((await call(served.base, 'GET', '/health')).status, 200);
    assert.equal((await call(served.base, 'GET', '/forgotten')).status, 403);
  });
});
