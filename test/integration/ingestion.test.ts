// The ingestion service on the real broker: validation, schema defaults, dedup, DLQ with context, HTTP limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IngestionModule } from '@streamloop/ingestion';
import { generateCardTransactions } from '@streamloop/testing';
import { assertErrorBody, assertJsonEndpointErrors, request } from '../support/http-errors';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('ingestion validates, fills defaults, drops duplicates and dead-letters bad records', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('ing');
  const stack = await startStack(brokers!, [testPipeline(name)], [IngestionModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const events = generateCardTransactions({ seed: 5, events: 20, idPrefix: name }).map((x) => x.event);
    // A producer on an older schema version (no currency, no is_online, no device_id): defaults must be filled.
    const olderWriter = {
      type: 'record', name: 'CardTransaction', namespace: 'com.example.payments',
      fields: [
        { name: 'transaction_id', type: 'string' },
        { name: 'event_time', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'card_id', type: 'string' },
        { name: 'merchant_id', type: 'string' },
        { name: 'merchant_category', type: { type: 'enum', name: 'MerchantCategory', symbols: ['grocery', 'fuel', 'restaurant', 'electronics', 'travel', 'gaming', 'other'], default: 'other' } },
        { name: 'amount', type: 'double' },
        { name: 'country', type: 'string' },
      ],
    };
    const avsc = await import('avsc');
    const oldType = avsc.default.Type.forSchema(olderWriter as never);
    const { currency: _c, is_online: _o, device_id: _d, ...oldEvent } = { ...events[0], transaction_id: `${name}-old` };
    const messages = [
      ...(await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })))),
      { key: 'x', value: await stack.serde.encode(`${ctx.topics.raw}-value`, oldType, oldEvent) },
      // A re-sent event carries its original key, so it lands on the same raw partition, where dedup state lives.
      { key: events[3].card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, events[3]) },
      { key: 'bad', value: Buffer.from('plain text') },
    ];
    await producer.send({ topic: ctx.topics.raw, messages });

    const out = await eventually(async () => {
      const all = await readAll<Record<string, unknown>>(stack.kafka, stack.serde, ctx.topics.events);
      return all.length >= events.length + 1 ? all : undefined;
    }, 'validated events');
    const ids = out.map((o) => o.value.transaction_id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicate event ids on P.events');
    assert.equal(out.length, events.length + 1);
    const old = out.find((o) => o.value.transaction_id === `${name}-old`)!;
    assert.equal(old.value.currency, 'EUR', 'schema default applied');
    assert.equal(old.value.is_online, false);
    assert.equal(old.key?.toString(), events[0].card_id, 'keyed by entity');

    const dlq = await eventually(async () => {
      const all = await readAll<{ stage: string; error_message: string; original_value: Buffer; source_offset: number }>(stack.kafka, stack.serde, ctx.topics.dlq);
      return all.length >= 1 ? all : undefined;
    }, 'the dead letter');
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0].value.original_value.toString(), 'plain text', 'original bytes kept');
    // Offsets are per partition: the header and the envelope name the same source record.
    assert.equal(dlq[0].headers['__connect.errors.offset']?.toString(), String(dlq[0].value.source_offset));
    assert.ok(dlq[0].headers['__connect.errors.partition'] !== undefined);
    assert.equal(dlq[0].value.stage, 'ingestion.validate');

    // HTTP, every error in the one body: malformed JSON 400, not JSON 415, no route 404, over the body limit 413,
    // reasons per record, unknown pipeline.
    await assertJsonEndpointErrors(stack.serving.url, `/v1/pipelines/${name}/events`, 2 * 1024 * 1024);
    const post = (pipeline: string, body: string) => request(`${stack.serving.url}/v1/pipelines/${pipeline}/events`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    const unknown = assertErrorBody(await post('nope', '{}'), 404, 'PIPELINE_NOT_FOUND');
    assert.match(unknown.message, /unknown pipeline "nope"/);
    const missing = assertErrorBody(await post(name, JSON.stringify({ transaction_id: 'x' })), 400, 'INVALID_EVENT');
    const { rejected } = missing.details as { rejected: Array<{ index: number; errors: string[] }> };
    assert.equal(rejected[0].index, 0);
    assert.match(rejected[0].errors.join('; '), /card_id/);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
