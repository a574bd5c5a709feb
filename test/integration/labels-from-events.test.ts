// Labels carried by later events (labels.from_events) on the real broker: a chargeback event naming the payment it
// disputes goes through ingestion like any event, and ingestion writes that payment's label to P.labels in the same
// transaction: one label per chargeback (a re-sent chargeback is a duplicate and gives none), which the monitoring
// sink stores where training's dataset join reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLabelledFeatures, countRows, loadTrainingDataset } from '@streamloop/clickhouse';
import { IngestionModule } from '@streamloop/ingestion';
import { MonitoringModule } from '@streamloop/monitoring';
import type { FeatureVectorRecord, LabelRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const CARD_TRANSACTION = new URL('../../examples/schemas/card_transaction.avsc', import.meta.url);

/** The example payment event, plus the field a chargeback sets to the transaction_id it disputes. */
function eventSchemaWithChargebacks(): string {
  const schema = JSON.parse(readFileSync(CARD_TRANSACTION, 'utf8')) as { fields: unknown[] };
  schema.fields.push({ name: 'chargeback_of', type: ['null', 'string'], default: null });
  const file = join(mkdtempSync(join(tmpdir(), 'streamloop-chargebacks-')), 'card_transaction.avsc');
  writeFileSync(file, JSON.stringify(schema));
  return file;
}

test('a later event naming an earlier one becomes its label, exactly once', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('evlab');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.events.schemaPath = eventSchemaWithChargebacks();
    // Every chargeback says its payment was fraud.
    s.labels = { field: 'is_fraud', producerSchema: null, fromEvents: { eventIdField: 'chargeback_of', labelField: null, label: 1 } };
  });
  const stack = await startStack(brokers!, [spec], [IngestionModule, MonitoringModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const payments = generateCardTransactions({ seed: 11, events: 10, idPrefix: name }).map((x) => ({ ...x.event, chargeback_of: null }));
    const disputed = [payments[2], payments[5], payments[7]];
    const chargebacks = disputed.map((p, i) => ({
      ...p, transaction_id: `${name}-cb-${i}`, event_time: p.event_time + 86_400_000, amount: 0, chargeback_of: p.transaction_id,
    }));
    const encode = (e: Record<string, unknown>) => stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e);
    await producer.send({
      topic: ctx.topics.raw,
      messages: [
        ...(await Promise.all([...payments, ...chargebacks].map(async (e) => ({ key: e.card_id, value: await encode(e) })))),
        // Re-sent with its key (the same raw partition, where dedup state lives): a duplicate, no second label.
        { key: chargebacks[0].card_id, value: await encode(chargebacks[0]) },
      ],
    });

    const labels = await eventually(async () => {
      const all = (await readAll<LabelRecord>(stack.kafka, stack.serde, ctx.topics.labels)).map((l) => l.value);
      return all.length >= disputed.length ? all : undefined;
    }, 'labels written by ingestion');
    const events = await eventually(async () => {
      const all = await readAll<Record<string, unknown>>(stack.kafka, stack.serde, ctx.topics.events);
      return all.length >= payments.length + chargebacks.length ? all : undefined;
    }, 'payments and chargebacks on P.events');
    assert.equal(events.length, payments.length + chargebacks.length, 'chargebacks are events too; the re-sent one was dropped');
    await new Promise((r) => setTimeout(r, 1000));
    const settled = (await readAll<LabelRecord>(stack.kafka, stack.serde, ctx.topics.labels)).map((l) => ({ ...l.value }));
    assert.deepEqual(
      settled.sort((a, b) => a.event_id.localeCompare(b.event_id)),
      chargebacks.map((c) => ({ event_id: c.chargeback_of, label: 1, label_time: c.event_time })).sort((a, b) => a.event_id.localeCompare(b.event_id)),
      'one label per chargeback, for the payment it names, known at the chargeback time',
    );
    assert.equal(labels.length, disputed.length);

    // The monitoring sink stores them; training's dataset join finds them for the payments' vectors.
    const vectors: FeatureVectorRecord[] = payments.map((p) => ({
      event_id: p.transaction_id, pipeline: name, entity_key: p.card_id, event_time: p.event_time, feature_spec_version: 'v1',
      values: { amount: p.amount }, computed_at: Date.now(),
    }));
    await producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(vectors.map(async (v) => ({ key: v.entity_key, value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, v) }))),
    });
    const ch = await stack.runtime.clickhouseConnection.client();
    await eventually(async () => ((await countRows(ch, 'labels', name)) >= disputed.length && (await countRows(ch, 'features', name)) >= payments.length ? true : undefined), 'labels and features in ClickHouse');
    assert.equal(await countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: 'v1' }), disputed.length);
    const dataset = await loadTrainingDataset(ch, { pipeline: name, featureSpecVersion: 'v1' });
    assert.deepEqual(dataset.map((r) => [r.event_id, r.label]).sort(), disputed.map((p) => [p.transaction_id, 1]).sort());
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
