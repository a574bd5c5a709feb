// The built-in schema registry on the real broker, driven by the de-facto Node client
// (@kafkajs/confluent-schema-registry) and by raw HTTP: Confluent statuses, error codes, config,
// compatibility, deletes, and ids that survive a restart on the same topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { loadSettings } from '@streamloop/config';
import { schemaRegistryOptions, startSchemaRegistry } from '@streamloop/schema-registry';
import { AUTH_OFF, AUTH_OFF_ENV } from '../support/auth';

const brokers = process.env.KAFKA_BROKERS?.split(',');
const unique = (p: string) => `${p}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const CT = 'application/vnd.schemaregistry.v1+json';

const v1 = { type: 'record', name: 'Payment', namespace: 'it.registry', fields: [
  { name: 'id', type: 'string' },
  { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  { name: 'amount', type: 'double' },
] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
const breaking = { ...v1, fields: [...v1.fields, { name: 'country', type: 'string' }] }; // no default: old data unreadable

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies vary per endpoint; asserted field by field
type Json = any;

async function http(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; type: string | null; json: Json }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': CT },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), json: text ? JSON.parse(text) : undefined };
}

test('schema registry speaks the Confluent API and keeps ids across restarts', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const topic = unique('_schemas_it');
  const subject = `${unique('payments')}-value`;
  let registry = await startSchemaRegistry({ brokers: brokers!, topic, port: 0, host: '127.0.0.1', auth: AUTH_OFF });
  let closed = false;
  try {
    const client = new SchemaRegistry({ host: registry.url }, { forSchemaOptions: {} });
    const { id: id1 } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    assert.ok(id1 > 0);
    const again = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1, null, 2) }, { subject });
    assert.equal(again.id, id1, 'same schema twice: same id');
    assert.equal(await client.getLatestSchemaId(subject), id1);
    const other = `${unique('other')}-value`;
    assert.equal((await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: other })).id, id1, 'same schema, other subject: same id');

    const payment = { id: 'p1', at: 1_700_000_000_123, amount: 12.5 };
    const buf = await client.encode(id1, payment);
    assert.equal(buf[0], 0);
    assert.deepEqual({ ...(await client.decode(buf)) }, payment);

    await assert.rejects(
      client.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject }),
      (e: Error & { status?: number }) => e.status === 409 && /incompatible/i.test(e.message),
    );
    const { id: id2 } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    assert.ok(id2 > id1);
    assert.equal(await client.getLatestSchemaId(subject), id2);

    // Raw HTTP: bodies, statuses and content type as Confluent's.
    const base = registry.url;
    const latest = await http(base, 'GET', `/subjects/${subject}/versions/latest`);
    assert.equal(latest.status, 200);
    assert.match(latest.type ?? '', /application\/vnd\.schemaregistry\.v1\+json/);
    assert.deepEqual({ ...latest.json, schema: JSON.parse(latest.json.schema) }, { subject, version: 2, id: id2, schema: v2 });
    assert.deepEqual((await http(base, 'GET', `/subjects/${subject}/versions`)).json, [1, 2]);
    assert.ok((await http(base, 'GET', '/subjects')).json.includes(subject));
    assert.deepEqual(await http(base, 'GET', '/subjects/nope-value/versions').then((r) => [r.status, r.json.error_code]), [404, 40401]);
    assert.deepEqual(await http(base, 'GET', `/subjects/${subject}/versions/99`).then((r) => [r.status, r.json.error_code]), [404, 40402]);
    assert.deepEqual(await http(base, 'GET', `/subjects/${subject}/versions/abc`).then((r) => [r.status, r.json.error_code]), [422, 42202]);
    const missingId = await http(base, 'GET', '/schemas/ids/99999');
    assert.deepEqual([missingId.status, missingId.json.error_code, typeof missingId.json.message], [404, 40403, 'string']);
    const invalid = await http(base, 'POST', `/subjects/${subject}/versions`, { schema: '{"type":"record","name":"X"}' });
    assert.deepEqual([invalid.status, invalid.json.error_code], [422, 42201]);
    const proto = await http(base, 'POST', `/subjects/${subject}/versions`, { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' });
    assert.deepEqual([proto.status, proto.json.error_code], [422, 42201]);
    assert.match(proto.json.message, /AVRO/);
    const notJson = await fetch(`${base}/subjects/${subject}/versions`, { method: 'POST', headers: { 'content-type': CT }, body: '{nope' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error_code: number }).error_code, 400);
    // plain application/json works too
    const plain = await fetch(`${base}/subjects/${subject}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: JSON.stringify(v1) }) });
    assert.deepEqual(((await plain.json()) as { version: number; id: number }), { subject, version: 1, id: id1, schema: JSON.stringify(v1) });
    assert.deepEqual(await http(base, 'POST', `/subjects/${subject}`, { schema: JSON.stringify(breaking) }).then((r) => [r.status, r.json.error_code]), [404, 40403]);
    assert.deepEqual((await http(base, 'GET', `/schemas/ids/${id1}/versions`)).json.map((v: { subject: string }) => v.subject).sort(), [subject, other].sort());

    // Config: global, per subject (the client set BACKWARD on first registration), invalid level.
    assert.deepEqual((await http(base, 'GET', '/config')).json, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await http(base, 'GET', `/config/${subject}`)).json, { compatibilityLevel: 'BACKWARD' });
    const unconfigured = `${unique('nocfg')}-value`;
    assert.deepEqual(await http(base, 'GET', `/config/${unconfigured}`).then((r) => [r.status, r.json.error_code]), [404, 40408]);
    assert.deepEqual((await http(base, 'GET', `/config/${unconfigured}?defaultToGlobal=true`)).json, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual(await http(base, 'PUT', `/config/${subject}`, { compatibility: 'SIDEWAYS' }).then((r) => [r.status, r.json.error_code]), [422, 42203]);
    assert.deepEqual((await http(base, 'PUT', `/config/${subject}`, { compatibility: 'FORWARD' })).json, { compatibility: 'FORWARD' });
    assert.deepEqual((await http(base, 'GET', `/config/${subject}`)).json, { compatibilityLevel: 'FORWARD' });

    // Compatibility endpoint: under FORWARD, adding a required field is fine (old readers ignore it).
    const fwd = await http(base, 'POST', `/compatibility/subjects/${subject}/versions/latest`, { schema: JSON.stringify(breaking) });
    assert.deepEqual([fwd.status, fwd.json], [200, { is_compatible: true }]);
    assert.deepEqual((await http(base, 'DELETE', `/config/${subject}`)).json, { compatibilityLevel: 'FORWARD' });
    const back = await http(base, 'POST', `/compatibility/subjects/${subject}/versions/latest?verbose=true`, { schema: JSON.stringify(breaking) });
    assert.equal(back.json.is_compatible, false);
    assert.match(back.json.messages.join(' '), /country/);
    assert.equal((await http(base, 'POST', `/compatibility/subjects/${subject}/versions/1`, { schema: JSON.stringify(v2) })).json.is_compatible, true);

    // Deletes: soft, then permanent; a permanent delete needs the soft one first.
    assert.deepEqual(await http(base, 'DELETE', `/subjects/${other}?permanent=true`).then((r) => [r.status, r.json.error_code]), [404, 40405]);
    assert.deepEqual((await http(base, 'DELETE', `/subjects/${other}`)).json, [1]);
    assert.deepEqual(await http(base, 'GET', `/subjects/${other}/versions`).then((r) => r.json.error_code), 40401);
    assert.deepEqual((await http(base, 'DELETE', `/subjects/${other}?permanent=true`)).json, [1]);
    assert.equal((await http(base, 'DELETE', `/subjects/${subject}/versions/2`)).json, 2);
    assert.deepEqual((await http(base, 'GET', `/subjects/${subject}/versions`)).json, [1]);
    assert.deepEqual((await http(base, 'GET', `/subjects/${subject}/versions?deleted=true`)).json, [1, 2]);
    assert.equal((await http(base, 'GET', `/schemas/ids/${id2}`)).status, 200, 'a soft-deleted version keeps its id readable');

    // Restart on the same topic: everything is rebuilt from the log, ids stay and keep increasing. This time the
    // target is configured as `streamloop start` and main.ts configure it: from environment variables, through the settings schema.
    await registry.close();
    closed = true;
    registry = await startSchemaRegistry(schemaRegistryOptions(loadSettings({
      KAFKA_BROKERS: brokers!.join(','), SCHEMA_REGISTRY_TOPIC: topic, SCHEMA_REGISTRY_PORT: '0', SCHEMA_REGISTRY_HOST: '127.0.0.1', ...AUTH_OFF_ENV,
    })));
    closed = false;
    const client2 = new SchemaRegistry({ host: registry.url });
    assert.equal(JSON.parse((await http(registry.url, 'GET', `/schemas/ids/${id2}`)).json.schema).fields.length, 4);
    assert.equal(await client2.getLatestSchemaId(subject), id1, 'version 2 stays soft-deleted');
    assert.deepEqual({ ...(await client2.decode(buf)) }, payment, 'records written before the restart still decode');
    const { id: idAgain } = await client2.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    assert.equal(idAgain, id2, 'the same schema gets its old id back');
    assert.deepEqual((await http(registry.url, 'GET', `/subjects/${subject}/versions`)).json, [1, 3]);
    const v3 = { ...v2, fields: [...v2.fields, { name: 'note', type: ['null', 'string'], default: null }] };
    const { id: id3 } = await client2.register({ type: SchemaType.AVRO, schema: JSON.stringify(v3) }, { subject });
    assert.ok(id3 > id2, `new ids continue after ${id2} (got ${id3})`);
  } finally {
    if (!closed) await registry.close();
  }
});
