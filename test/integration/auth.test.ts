// Auth on a real stack (the broker, the built-in registry, embedded ClickHouse, every API target): for each endpoint
// class, no token → 401, a token without the scope → 403, the right scope → the endpoint's own answer; /health and
// /metrics per STREAMLOOP_AUTH_OPEN_HEALTH; the registry with a Confluent client's basic auth; ClickHouse's HTTP
// interface with a read token; the CLI with --token and STREAMLOOP_TOKEN; `streamloop start` without tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { parseTokenEntries, TokenStore } from '@streamloop/auth';
import { loadSettings } from '@streamloop/config';
import { InferenceModule, InferenceService } from '@streamloop/inference';
import { IngestionModule } from '@streamloop/ingestion';
import { MonitoringModule } from '@streamloop/monitoring';
import { Runtime, serveClickHouseHttp, serveModules } from '@streamloop/runtime';
import { startSchemaRegistry } from '@streamloop/schema-registry';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { bearer, testTokens } from '../support/auth';
import { runCli } from '../support/cli-process';
import { assertErrorBody, request } from '../support/http-errors';
import { startCliProcess } from '../support/processes';
import { brokersOrSkip, eventually, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const FIXTURE = fileURLToPath(new URL('../../examples/models/fraud-sklearn/', import.meta.url));
const mapping = JSON.parse(readFileSync(`${FIXTURE}mapping.json`, 'utf8')) as { columns: string[] };
const onnxBase64 = readFileSync(`${FIXTURE}model.onnx`).toString('base64');

test('every endpoint class: 401 without a token, 403 with the wrong scope, its own answer with the right one', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 240_000 }, async () => {
  const tokens = testTokens();
  const { token } = tokens;
  const name = uniqueName('auth');
  const spec = testPipeline(name, (s) => { s.topics.models = uniqueName('models'); });
  // The services (and the test's own serde) send the admin token to the registry, as STREAMLOOP_TOKEN says.
  const stack = await startStack(brokers!, [spec], [IngestionModule, TrainingModule, InferenceModule, MonitoringModule], {
    authEnv: { STREAMLOOP_TOKENS: tokens.entries, STREAMLOOP_TOKEN: token.admin },
  });
  const api = `${stack.serving.url}/v1/pipelines/${name}`;
  const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const refusedWithout = async (url: string, init: RequestInit, needed: string, wrong: string) => {
    const none = await fetch(url, init);
    const text = await none.text();
    assertErrorBody({ status: none.status, contentType: none.headers.get('content-type') ?? '', text }, 401, 'UNAUTHORIZED');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="streamloop"');
    const forbidden = assertErrorBody(await request(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...bearer(wrong) } }), 403, 'FORBIDDEN');
    assert.match(forbidden.message, new RegExp(`needs scope ${needed}; token \\w+ has`));
    const unknown = await request(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer slt_not-a-token' } });
    assert.equal(unknown.status, 401, unknown.text);
  };
  try {
    // Ingest: the ingest scope.
    const events = generateCardTransactions({ seed: 3, events: 2, idPrefix: name }).map((x) => x.event);
    await refusedWithout(`${api}/events`, json(events), 'ingest', token.read);
    const ingested = await request(`${api}/events`, json(events, bearer(token.ingest)));
    assert.equal(ingested.status, 202, ingested.text);
    assert.equal((await request(`${api}/events`, json(events, bearer(token.admin)))).status, 202, 'admin implies ingest');

    // Registering a model: admin; an ingest token cannot.
    const register = { onnx_base64: onnxBase64, mapping, stage: 'candidate' };
    await refusedWithout(`${api}/models/external`, json(register), 'admin', token.ingest);
    const registered = await request(`${api}/models/external`, json(register, bearer(token.admin)));
    assert.equal(registered.status, 201, registered.text);

    // Promoting: admin; an ingest (or read) token cannot.
    const version = (JSON.parse(registered.text) as { model_version: number }).model_version;
    const promote = { reason: 'auth test', model: 'fraud-sklearn' };
    await refusedWithout(`${api}/models/${version}/promote`, json(promote), 'admin', token.ingest);
    assertErrorBody(await request(`${api}/models/${version}/promote`, json(promote, bearer(token.read))), 403, 'FORBIDDEN');
    assertErrorBody(await request(`${api}/models/${version}/promote`, json(promote, bearer(token.schema))), 403, 'FORBIDDEN');
    const promoted = await request(`${api}/models/${version}/promote`, json(promote, bearer(token.admin)));
    assert.equal(promoted.status, 201, promoted.text);
    const inference = stack.serving.app.get(InferenceService);
    await eventually(() => (inference.models.get(name)?.record.model_name === 'fraud-sklearn' ? true : undefined), 'the promoted model to serve');

    // Predict: the predict scope.
    const features = Object.fromEntries(mapping.columns.map((c) => [c, 0]));
    await refusedWithout(`${api}/predict`, json({ features }), 'predict', token.ingest);
    const predicted = await request(`${api}/predict`, json({ features }, bearer(token.predict)));
    assert.equal(predicted.status, 200, predicted.text);
    assert.equal((JSON.parse(predicted.text) as { model_name: string }).model_name, 'fraud-sklearn');

    // Reads: the read scope.
    for (const path of ['/models', `/models/${version}?model=fraud-sklearn`, '/model', '/retraining']) {
      await refusedWithout(`${api}${path}`, {}, 'read', token.ingest);
      const read = await request(`${api}${path}`, { headers: bearer(token.read) });
      assert.equal(read.status, 200, `${path}: ${read.text}`);
    }
    await refusedWithout(`${api}/drift`, {}, 'read', token.predict);
    assertErrorBody(await request(`${api}/drift`, { headers: bearer(token.read) }), 404, 'NOT_FOUND'); // past the guard: no report yet

    // Train, rollback, archive, POST drift: admin.
    for (const path of ['/train', '/models/rollback', `/models/${version}/archive`, '/drift']) {
      await refusedWithout(`${api}${path}`, json({}), 'admin', token.read);
    }
    const train = await request(`${api}/train`, json({}, bearer(token.admin)));
    assert.ok(train.status !== 401 && train.status !== 403, `admin passes the guard of /train: ${train.status} ${train.text}`);

    // /health and /metrics are open by default.
    assert.equal((await fetch(`${stack.serving.url}/health`)).status, 200);
    assert.equal((await fetch(`${stack.serving.url}/metrics`)).status, 200);

    // The CLI sends --token, else STREAMLOOP_TOKEN; without one it fails with the 401's message.
    const without = await runCli(['models', 'list', '--pipeline', name, '--api', stack.serving.url]);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /HTTP 401 UNAUTHORIZED: GET .*\/models needs a token with scope read/);
    const withToken = await runCli(['models', 'list', '--pipeline', name, '--api', stack.serving.url, '--token', token.read]);
    assert.equal(withToken.code, 0, withToken.stderr);
    assert.match(withToken.stdout, /fraud-sklearn/);
    const wrongScope = await runCli(['models', 'promote', '--pipeline', name, '--api', stack.serving.url, '--version', String(version), '--token', token.ingest]);
    assert.equal(wrongScope.code, 1);
    assert.match(wrongScope.stderr, /HTTP 403 FORBIDDEN: .*needs scope admin; token ingest has ingest/);
    process.env.STREAMLOOP_TOKEN = token.read;
    try {
      const fromEnv = await runCli(['models', 'list', '--pipeline', name, '--api', stack.serving.url]);
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
    } finally {
      delete process.env.STREAMLOOP_TOKEN;
    }

    // ClickHouse's HTTP interface over the stack's chDB: refused without credentials, read with a read token.
    const chHttp = await serveClickHouseHttp({ ...stack.settings, clickhouseHttp: { host: '127.0.0.1', port: 0, user: 'default', password: '' } }, stack.runtime.logger, stack.runtime.tokens);
    assert.ok(chHttp);
    try {
      const anonymous = createClient({ url: chHttp.url, log: { level: ClickHouseLogLevel.OFF } });
      await assert.rejects(anonymous.query({ query: 'SELECT 1' }), /Authentication failed/);
      await anonymous.close();
      const ingestUser = createClient({ url: chHttp.url, username: 'ingest', password: token.ingest, log: { level: ClickHouseLogLevel.OFF } });
      await assert.rejects(ingestUser.query({ query: 'SELECT 1' }), /Authentication failed/);
      await ingestUser.close();
      const analyst = createClient({ url: chHttp.url, username: 'read', password: token.read });
      const rows = await eventually(async () => {
        const rs = await analyst.query({ query: 'SELECT count() AS n FROM events WHERE pipeline = {p:String}', query_params: { p: name }, format: 'JSONEachRow' });
        const [row] = await rs.json<{ n: string }>();
        return Number(row.n) > 0 ? Number(row.n) : undefined;
      }, 'the ingested events in ClickHouse (read with a read token)', 90_000);
      assert.ok(rows >= 2);
      await analyst.close();
    } finally {
      await chHttp.close();
    }
  } finally {
    await stack.close();
  }
});

test('/health and /metrics need a read token when STREAMLOOP_AUTH_OPEN_HEALTH=false', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 60_000 }, async () => {
  const tokens = testTokens();
  const runtime = new Runtime({
    ...loadSettings({ KAFKA_BROKERS: brokers!.join(','), PORT: '0', LOG_LEVEL: 'warn', STREAMLOOP_TOKENS: tokens.entries, STREAMLOOP_AUTH_OPEN_HEALTH: 'false' }),
    pipelineFiles: [],
  }, []);
  const serving = await serveModules(runtime, []);
  // The built-in registry's /metrics too (its own middleware, ahead of the registry's routes), with Confluent's errors.
  const registry = await startSchemaRegistry({
    brokers: brokers!, port: 0, host: '127.0.0.1', topic: uniqueName('_schemas'),
    auth: { enabled: true, store: runtime.tokens, openOperational: false },
  });
  try {
    for (const path of ['/health', '/metrics']) {
      assertErrorBody(await request(`${serving.url}${path}`), 401, 'UNAUTHORIZED');
      assertErrorBody(await request(`${serving.url}${path}`, { headers: bearer(tokens.token.ingest) }), 403, 'FORBIDDEN');
      assert.equal((await fetch(`${serving.url}${path}`, { headers: bearer(tokens.token.read) })).status, 200, path);
    }
    const anonymous = await request(`${registry.url}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.text).error_code, 40101);
    const ingest = await request(`${registry.url}/metrics`, { headers: bearer(tokens.token.ingest) });
    assert.equal(ingest.status, 403);
    assert.equal(JSON.parse(ingest.text).error_code, 40301);
    const read = await fetch(`${registry.url}/metrics`, { headers: bearer(tokens.token.read) });
    assert.equal(read.status, 200);
    assert.match(await read.text(), /streamloop_/);
  } finally {
    await registry.close();
    await serving.close();
    await runtime.close();
  }
});

test('the registry takes a Confluent client\'s basic auth: reads need read, registering needs schema; errors are 40101/40301', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const tokens = testTokens();
  const { token } = tokens;
  const stack = await startStack(brokers!, [], [], { authEnv: { STREAMLOOP_TOKENS: tokens.entries, STREAMLOOP_TOKEN: token.admin } });
  try {
    const subject = `${uniqueName('auth')}-value`;
    const schema = { type: SchemaType.AVRO as const, schema: JSON.stringify({ type: 'record', name: 'Payment', fields: [{ name: 'id', type: 'string' }] }) };
    const producer = new SchemaRegistry({ host: stack.registryUrl, auth: { username: 'schema', password: token.schema } });
    const { id } = await producer.register(schema, { subject });
    const reader = new SchemaRegistry({ host: stack.registryUrl, auth: { username: 'read', password: token.read } });
    assert.equal(await reader.getLatestSchemaId(subject), id);
    await assert.rejects(reader.register(schema, { subject: `${subject}-2` }), /needs scope schema; token read has read/);
    const schemaOnly = new SchemaRegistry({ host: stack.registryUrl, auth: { username: 'schema', password: token.schema } });
    assert.equal(await schemaOnly.getLatestSchemaId(subject), id, 'a producer that registers also looks up');
    await assert.rejects(new SchemaRegistry({ host: stack.registryUrl, auth: { username: 'ingest', password: token.read } }).getLatestSchemaId(subject), /not one this service accepts for name ingest/);

    const anonymous = await request(`${stack.registryUrl}/subjects`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(JSON.parse(anonymous.text).error_code, 40101);
    const forbidden = await request(`${stack.registryUrl}/config`, { method: 'PUT', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...bearer(token.read) }, body: '{"compatibility":"FULL"}' });
    assert.equal(forbidden.status, 403);
    assert.equal(JSON.parse(forbidden.text).error_code, 40301);
  } finally {
    await stack.close();
  }
});

test('`streamloop start` with auth on and no tokens refuses to start, naming the settings', { timeout: 60_000 }, async () => {
  const start = startCliProcess('start without tokens', ['start', '--target', 'ingestion', '--port', '0'], {
    STREAMLOOP_AUTH: 'on', STREAMLOOP_TOKENS: '', STREAMLOOP_TOKENS_FILE: '', KAFKA_BROKERS: '127.0.0.1:1',
  });
  const code = await start.exited;
  assert.notEqual(code, 0);
  assert.match(start.output(), /STREAMLOOP_AUTH is on \(the default\) and no tokens are configured: set STREAMLOOP_TOKENS or STREAMLOOP_TOKENS_FILE/);
});

test('`streamloop token create` prints a token once and the entry that accepts it', { timeout: 60_000 }, async () => {
  const made = await runCli(['token', 'create', '--name', 'ci', '--scopes', 'ingest,read', '--format', 'json']);
  assert.equal(made.code, 0, made.stderr);
  const { token, entry } = JSON.parse(made.stdout) as { token: string; entry: string };
  assert.deepEqual(new TokenStore(parseTokenEntries(entry)).verify(token), { name: 'ci', scopes: ['ingest', 'read'] });
  assert.ok(!entry.includes(token), 'the entry holds the hash only');
  const bad = await runCli(['token', 'create', '--name', 'ci', '--scopes', 'ingest,root']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /expected a comma list of ingest, predict, read, schema, admin/);
});
