import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRegistryLog, SchemaRegistryError, SchemaRegistryStore } from './index';

const v1 = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });
const v2 = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'b', type: 'string', default: 'x' }] });
const incompatible = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'c', type: 'string' }] });

const code = (errorCode: number, status?: number) => (e: unknown) =>
  e instanceof SchemaRegistryError && e.errorCode === errorCode && (status === undefined || e.status === status);

test('registry rules: ids, versions, compatibility, deletes, config, replay', async () => {
  const log = new MemoryRegistryLog();
  const store = new SchemaRegistryStore({ log });
  await store.start();
  const { id: id1 } = await store.register('s-value', { schema: v1 });
  assert.equal(id1, 1);
  // Whitespace and key order do not make a new schema.
  assert.equal((await store.register('s-value', { schema: ` { "name": "R", "type": "record", "fields": [{"type":"int","name":"a"}] } ` })).id, 1);
  assert.equal((await store.register('other-value', { schema: v1 })).id, 1, 'same schema, another subject: same id');
  const { id: id2 } = await store.register('s-value', { schema: v2 });
  assert.equal(id2, 2);
  assert.deepEqual(store.listVersions('s-value'), [1, 2]);
  await assert.rejects(store.register('s-value', { schema: incompatible }), code(409, 409));
  await assert.rejects(store.register('s-value', { schema: '{"type":"nope"}' }), code(42201, 422));
  await assert.rejects(store.register('s-value', { schema: v1, schemaType: 'PROTOBUF' }), (e) => code(42201, 422)(e) && /AVRO/.test((e as Error).message));
  assert.throws(() => store.getSchemaById(99), code(40403, 404));
  assert.throws(() => store.listVersions('none'), code(40401, 404));
  assert.throws(() => store.getVersion('s-value', 7), code(40402, 404));
  assert.throws(() => SchemaRegistryStore.parseVersion('x'), code(42202, 422));
  assert.equal(store.getVersion('s-value', 'latest').version, 2);
  assert.equal(store.lookup('s-value', { schema: v1 }).version, 1);

  assert.throws(() => store.getConfig('s-value'), code(40408, 404));
  assert.equal(store.getConfig('s-value', true).compatibilityLevel, 'BACKWARD');
  await assert.rejects(store.setConfig('s-value', { compatibility: 'SIDEWAYS' }), code(42203, 422));
  await store.setConfig('s-value', { compatibility: 'none' });
  assert.equal(store.testCompatibility('s-value', 'latest', { schema: incompatible }).is_compatible, true);
  await store.deleteConfig('s-value');
  assert.equal(store.testCompatibility('s-value', 'latest', { schema: incompatible }).is_compatible, false);
  assert.equal(store.testCompatibility('fresh', 'latest', { schema: incompatible }).is_compatible, true);

  assert.equal(await store.deleteVersion('s-value', 2), 2);
  await assert.rejects(store.deleteVersion('s-value', 2), code(40406));
  assert.deepEqual(store.listVersions('s-value'), [1]);
  assert.deepEqual(store.listVersions('s-value', true), [1, 2]);
  await assert.rejects(store.deleteVersion('s-value', 1, true), code(40407));
  await assert.rejects(store.deleteSubject('other-value', true), code(40405));
  assert.deepEqual(await store.deleteSubject('other-value'), [1]);
  assert.deepEqual(await store.deleteSubject('other-value', true), [1]);
  assert.deepEqual(store.listSubjects(), ['s-value']);

  // A fresh store on the same log sees the same state, and ids keep increasing.
  const again = new SchemaRegistryStore({ log });
  await again.start();
  assert.equal(again.getSchemaById(2).schema, v2);
  assert.deepEqual(again.listVersions('s-value', true), [1, 2]);
  const { id: id3 } = await again.register('s-value', { schema: JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, { name: 'd', type: 'long', default: 0 }] }) });
  assert.equal(id3, 3);
  assert.equal(again.getVersion('s-value', 'latest').version, 3, 'versions continue after a soft-deleted one');
});
