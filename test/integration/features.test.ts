// The features service on the real broker: validated events in, one feature vector per event out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturesModule } from '@streamloop/features-service';
import { OwnedFeatureState } from '@streamloop/features';
import type { FeatureVectorRecord } from '@streamloop/runtime';
import { readTopicToEnd } from '@streamloop/kafka';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('features computes transforms and per-card windows from state before each event', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('feat');
  const stack = await startStack(brokers!, [testPipeline(name)], [FeaturesModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const t0 = Date.UTC(2026, 10, 2, 9, 0, 0);
    const base = { merchant_id: 'm1', merchant_category: 'electronics', currency: 'EUR', country: 'NL', is_online: true, device_id: null };
    const events = [
      { ...base, transaction_id: `${name}-1`, event_time: t0, card_id: 'A', amount: 100 },
      { ...base, transaction_id: `${name}-2`, event_time: t0 + 60_000, card_id: 'A', amount: 300 },
      { ...base, transaction_id: `${name}-3`, event_time: t0 + 120_000, card_id: 'A', amount: 50 },
      { ...base, transaction_id: `${name}-4`, event_time: t0 + 130_000, card_id: 'B', amount: 20, merchant_category: 'fuel' },
    ];
    // One partition key per card keeps each card's events in order, as ingestion does.
    const messages = await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.events, messages });
    const vectors = await eventually(async () => {
      const all = await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features);
      return all.length >= events.length ? all : undefined;
    }, 'four feature vectors');
    assert.equal(vectors.length, events.length);
    const byId = new Map(vectors.map((v) => [v.value.event_id, v.value]));
    const third = byId.get(`${name}-3`)!;
    assert.equal(third.entity_key, 'A');
    assert.equal(third.feature_spec_version, 'v1');
    assert.equal(third.values.card_txn_count_1h, 2);
    assert.equal(third.values.card_amount_mean_24h, 200);
    assert.equal(third.values.card_amount_max_24h, 300);
    assert.equal(third.values.card_secs_since_last, 60);
    assert.equal(third.values.amount_vs_card_mean, 0.25);
    assert.equal(third.values['category=electronics'], 1);
    assert.equal(third.values.merchant_txn_count_1h, 2);
    const first = byId.get(`${name}-1`)!;
    assert.equal(first.values.card_txn_count_1h, 0);
    assert.ok(Number.isNaN(first.values.card_amount_mean_24h));
    const fourth = byId.get(`${name}-4`)!;
    assert.equal(fourth.values.card_txn_count_1h, 0);
    assert.equal(fourth.values['category=__other__'], 1);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});

test('events later than the allowed lateness are dead-lettered when the spec says so', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('late');
  const spec = testPipeline(name, (s) => {
    s.features.allowedLatenessMs = 10 * 60_000;
    s.features.lateEvents = 'dead_letter';
  });
  const stack = await startStack(brokers!, [spec], [FeaturesModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const t0 = Date.UTC(2026, 10, 2, 9, 0, 0);
    const base = { merchant_id: 'm1', merchant_category: 'grocery', currency: 'EUR', country: 'NL', is_online: false, device_id: null, card_id: 'A', amount: 10 };
    const events = [
      { ...base, transaction_id: `${name}-now`, event_time: t0 + 2 * 3_600_000 },
      { ...base, transaction_id: `${name}-slightly-late`, event_time: t0 + 2 * 3_600_000 - 5 * 60_000 },
      { ...base, transaction_id: `${name}-too-late`, event_time: t0 },
    ];
    const messages = await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.events, messages });
    const dlq = await eventually(async () => {
      const all = await readAll<{ error_class: string; error_message: string; stage: string }>(stack.kafka, stack.serde, ctx.topics.dlq);
      return all.length >= 1 ? all : undefined;
    }, 'the late event in the DLQ');
    assert.equal(dlq[0].value.error_class, 'LateEventError');
    assert.match(dlq[0].value.error_message, /too-late/);
    // The card stage dead-letters at once; vectors come after the merchant stage, a hop later.
    const vectors = await eventually(async () => {
      const all = await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features);
      return all.length >= 2 ? all : undefined;
    }, 'the two vectors');
    assert.deepEqual(vectors.map((v) => v.value.event_id).sort(), [`${name}-now`, `${name}-slightly-late`].sort());
    const metrics = await (await fetch(`${stack.serving.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`streamloop_late_events_total\\{pipeline="${name}",policy="dead_letter"\\} 1`));
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});

test('merchant aggregates count every card of the merchant, whichever partition the card is on', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('merchant');
  const spec = testPipeline(name);
  const stack = await startStack(brokers!, [spec], [FeaturesModule]);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const t0 = Date.UTC(2026, 10, 2, 9, 0, 0);
    // Twelve cards (spread over the partitions of P.events), one merchant, one instant: whatever order the merchant
    // stage sees them in, the k-th sees k-1 earlier transactions at the merchant.
    const events = Array.from({ length: 12 }, (_, i) => ({
      transaction_id: `${name}-${i}`, event_time: t0, card_id: `card-${i}`, merchant_id: 'shared-merchant', merchant_category: 'grocery',
      amount: 10 + i, currency: 'EUR', country: 'NL', is_online: false, device_id: null,
    }));
    const messages = await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.events}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.events, messages });
    const vectors = await eventually(async () => {
      const all = await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features);
      return new Set(all.map((v) => v.value.event_id)).size >= events.length ? all : undefined;
    }, 'a vector per event');
    const partitions = new Set<number>();
    assert.equal(await readTopicToEnd(stack.kafka, ctx.topics.events, (r) => void partitions.add(r.partition)), events.length, 'each event once on P.events');
    assert.ok(partitions.size > 1, 'the cards span several partitions of P.events');
    const counts = vectors.map((v) => v.value.values.merchant_txn_count_1h).sort((a, b) => a - b);
    assert.deepEqual(counts, events.map((_, i) => i));
    // REST predict's view: each stage's state is read from the partition that owns the event's key for that stage.
    const peeked = stack.serving.app.get(OwnedFeatureState).peek(ctx.spec, { ...events[0], transaction_id: `${name}-peek` });
    assert.equal(peeked.stateOwned, true);
    assert.equal(peeked.values.merchant_txn_count_1h, events.length, 'the merchant stage saw every card');
    assert.equal(peeked.values.card_txn_count_1h, 1, 'the card stage saw card-0 once');
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
