// Our AvroSerde and @kafkajs/confluent-schema-registry read each other's bytes (Confluent wire format),
// through the built-in registry and through a real Kafka topic; hostile bytes are refused, not fatal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import '@streamloop/kafka'; // before kafkajs: it fixes kafkajs' read_committed filter as kafkajs loads
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AvroDecodeError, AvroSerde, HttpRegistryClient, loadAvsc, parseSchema } from '@streamloop/avro';
import { startSchemaRegistry } from '@streamloop/schema-registry';
import { AUTH_OFF } from '../support/auth';

const brokers = process.env.KAFKA_BROKERS?.split(',');
const unique = (p: string) => `${p}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const PREDICTION = fileURLToPath(new URL('../../schemas/prediction.avsc', import.meta.url));

const prediction = {
  event_id: 'e-1', pipeline: 'fraud', entity_key: 'card-7', event_time: 1_700_000_000_000, model_name: 'gbt',
  model_version: 3, role: 'challenger', score: 0.87, label: 1, threshold: 0.5, latency_ms: 2.25, predicted_at: 1_700_000_000_042,
  fallback: false, contributions: [{ feature: 'amount', value: 1.25 }, { feature: 'hour', value: -0.5 }],
};
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

test('wire format interoperates with @kafkajs/confluent-schema-registry and survives Kafka', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const registry = await startSchemaRegistry({ brokers: brokers!, topic: unique('_schemas_wf'), port: 0, host: '127.0.0.1', auth: AUTH_OFF });
  const kafka = new Kafka({ clientId: unique('wire-test'), brokers: brokers!, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: unique('wire-test-group') });
  try {
    const serde = new AvroSerde(new HttpRegistryClient(registry.url));
    const theirs = new SchemaRegistry({ host: registry.url });
    const type = loadAvsc(PREDICTION);
    const topic = unique('wire_predictions');
    const subject = `${topic}-value`;

    // ours → theirs
    const ours = await serde.encode(subject, type, prediction);
    assert.deepEqual(plain(await theirs.decode(ours)), prediction);
    assert.equal(await theirs.getLatestSchemaId(subject), ours.readInt32BE(1));

    // theirs → ours (their own registration of an evolved schema, then our decode, plain and into a reader type)
    const evolved = JSON.parse(JSON.stringify(type.schema({ exportAttrs: true })));
    evolved.fields.push({ name: 'explanation', type: ['null', 'string'], default: null });
    const { id } = await theirs.register({ type: SchemaType.AVRO, schema: JSON.stringify(evolved) }, { subject });
    const theirBytes = await theirs.encode(id, { ...prediction, explanation: 'amount far above usual' });
    const decoded = await serde.decode(theirBytes);
    assert.equal(decoded.schemaId, id);
    assert.equal((decoded.value as { explanation: string }).explanation, 'amount far above usual');
    assert.equal(typeof (decoded.value as { event_time: unknown }).event_time, 'number', 'timestamp-millis decodes to ms');
    const asReader = await serde.decode(theirBytes, type);
    assert.deepEqual(plain(asReader.value), prediction, 'resolved into the older reader schema');

    // Through a real topic.
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'card-7', value: ours }, { key: 'card-7', value: theirBytes }] });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), 60_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value!);
          if (received.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    assert.deepEqual(plain((await serde.decode(received[0])).value), prediction);
    assert.deepEqual(plain(await theirs.decode(received[0])), prediction);
    assert.deepEqual(plain((await serde.decode(received[1], type)).value), prediction);

    // A hostile record (registered schema id, then a body declaring 2e8 array items) is an AvroDecodeError.
    const arrays = parseSchema({ type: 'record', name: 'Batch', fields: [{ name: 'items', type: { type: 'array', items: 'long' } }] });
    const good = await serde.encode(`${unique('batch')}-value`, arrays, { items: [1, 2] });
    const evil = Buffer.concat([good.subarray(0, 5), Buffer.from([0x80, 0x88, 0xde, 0xbe, 0x01])]);
    await assert.rejects(serde.decode(evil), AvroDecodeError);
    // An unknown schema id is a bad record too (dead-letter it), not an outage.
    const unknownId = Buffer.from(good);
    unknownId.writeInt32BE(987_654, 1);
    await assert.rejects(serde.decode(unknownId), AvroDecodeError);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await registry.close();
  }
});
