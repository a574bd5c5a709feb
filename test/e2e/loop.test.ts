// The whole loop on the real broker: events (Kafka and HTTP) and late labels in; a prediction out for every
// valid event, a DLQ record for every invalid one, a model trained in between. No part is mocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturesModule } from '@streamloop/features-service';
import { InferenceModule } from '@streamloop/inference';
import { IngestionModule } from '@streamloop/ingestion';
import type { Message } from '@streamloop/kafka';
import { MonitoringModule } from '@streamloop/monitoring';
import type { LabelRecord, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { assertErrorBody } from '../support/http-errors';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('events in, predictions out: every valid event is predicted, every invalid one dead-lettered', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 300_000 }, async () => {
  const name = uniqueName('e2e');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 300;
  });
  const stack = await startStack(brokers!, [spec], [
    IngestionModule, FeaturesModule, TrainingModule, InferenceModule, MonitoringModule,
  ]);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const stream = generateCardTransactions({ seed: 11, events: 700, idPrefix: name });
    const viaKafka = stream.slice(0, 600);
    const viaHttp = stream.slice(600);

    const encodeEvents = async (items: typeof stream): Promise<Message[]> =>
      Promise.all(items.map(async ({ event }) => ({ key: event.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, event) })));
    await producer.send({ topic: ctx.topics.raw, messages: await encodeEvents(viaKafka) });

    // Invalid records on Kafka: not wire format, unknown schema id, truncated header, a length past the end, empty id.
    const bad = [
      Buffer.from('{"not":"avro"}'),
      Buffer.from([0, 0, 0x0f, 0x42, 0x3f, 2, 0x61]),
      Buffer.from([0, 0]),
      Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])]),
      await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, { ...stream[0].event, transaction_id: '' }),
    ];
    await producer.send({ topic: ctx.topics.raw, messages: bad.map((value) => ({ key: 'bad', value })) });
    // A redelivered event is dropped by id.
    await producer.send({ topic: ctx.topics.raw, messages: await encodeEvents([stream[5]]) });

    // HTTP ingest: the valid batch is accepted; a batch with a bad record is refused with reasons.
    const ok = await fetch(`${stack.serving.url}/v1/pipelines/${name}/events`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(viaHttp.map((x) => x.event)),
    });
    assert.equal(ok.status, 202, await ok.clone().text());
    const refused = await fetch(`${stack.serving.url}/v1/pipelines/${name}/events`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ ...viaHttp[0].event, transaction_id: 'http-bad' , amount: 'lots' }]),
    });
    const reasons = assertErrorBody({ status: refused.status, contentType: refused.headers.get('content-type') ?? '', text: await refused.text() }, 400, 'INVALID_EVENT');
    const { rejected } = reasons.details as { rejected: Array<{ index: number; errors: string[] }> };
    assert.equal(rejected[0].index, 0);
    assert.match(rejected[0].errors.join(' '), /amount/);

    // Labels arrive after the events.
    const labels: Message[] = await Promise.all(stream.map(async ({ event, label }) => {
      const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 60_000 };
      return { key: event.transaction_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, stack.runtime.types.label, record) };
    }));
    await producer.send({ topic: ctx.topics.labels, messages: labels });

    const valid = new Set(stream.map((x) => x.event.transaction_id));
    const predictions = await eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.length >= valid.size ? all : undefined;
    }, 'a prediction for every valid event', 240_000);
    const predicted = new Map<string, number>();
    for (const { value } of predictions) predicted.set(value.event_id, (predicted.get(value.event_id) ?? 0) + 1);
    for (const id of valid) assert.equal(predicted.get(id), 1, `exactly one prediction for ${id}`);
    assert.equal(predicted.size, valid.size, 'no prediction for an event that was not valid');
    for (const { value } of predictions) {
      assert.ok(value.score >= 0 && value.score <= 1);
      assert.equal(value.model_version, 1);
      assert.ok(value.latency_ms >= 0);
    }

    const dlq = await eventually(async () => {
      const all = await readAll<{ stage: string; error_message: string; source_offset: number }>(stack.kafka, stack.serde, ctx.topics.dlq);
      return all.length >= bad.length ? all : undefined;
    }, 'a DLQ record for every invalid record');
    assert.equal(dlq.length, bad.length);
    for (const d of dlq) {
      assert.equal(d.headers['__connect.errors.topic']?.toString(), ctx.topics.raw);
      assert.ok(d.value.error_message.length > 0);
    }
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
