// Labels as the producer has them: a pipeline whose labels topic carries the payments app's own chargeback records
// (examples/schemas/chargeback.avsc, named by labels.schema) on the real broker. The monitoring sink reads them with
// that schema, and training's dataset join and monitoring's performance join see the labels; a record that is no
// label goes to the DLQ with the reason; a later decision for the same transaction replaces the earlier one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadAvsc } from '@streamloop/avro';
import { countLabelledFeatures, countRows, loadLabelledPredictions, loadTrainingDataset } from '@streamloop/clickhouse';
import type { DeadLetterRecord } from '@streamloop/contracts';
import { MonitoringModule } from '@streamloop/monitoring';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const CHARGEBACK_SCHEMA = fileURLToPath(new URL('../../examples/schemas/chargeback.avsc', import.meta.url));

/** The payments app's record, as examples/schemas/chargeback.avsc declares it. */
interface ChargebackDecision {
  case_id: string;
  transaction_id: string;
  is_fraud: boolean;
  decided_at: number;
  reason: string | null;
}

test("labels in the producer's own schema reach training's and monitoring's joins", { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('ownlab');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.labels = {
      field: 'is_fraud',
      producerSchema: { schemaPath: CHARGEBACK_SCHEMA, eventIdField: 'transaction_id', labelField: 'is_fraud', timeField: 'decided_at' },
    };
  });
  const stack = await startStack(brokers!, [spec], [MonitoringModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const types = stack.runtime.types;
    const t0 = Date.UTC(2026, 10, 3, 0, 0, 0);
    const n = 40;
    const vectors: FeatureVectorRecord[] = Array.from({ length: n }, (_, i) => ({
      event_id: `${name}-${i}`, pipeline: name, entity_key: `c${i % 5}`, event_time: t0 + i * 1000, feature_spec_version: 'v1',
      values: { amount: i }, computed_at: Date.now(),
    }));
    const predictions: PredictionRecord[] = vectors.map((v, i) => ({
      event_id: v.event_id, pipeline: name, entity_key: v.entity_key, event_time: v.event_time, model_name: 'm', model_version: 1,
      role: 'champion', score: i % 4 === 0 ? 0.9 : 0.2, label: i % 4 === 0 ? 1 : 0, threshold: 0.5, latency_ms: 1, predicted_at: Date.now(), fallback: false, contributions: [],
    }));
    // The first decision says every fourth transaction was fraud; a later one reverses it for transaction 1.
    const fraud = (i: number) => i % 4 === 0 || i === 1;
    const decisions: ChargebackDecision[] = vectors.map((v, i) => ({
      case_id: `case-${i}`, transaction_id: v.event_id, is_fraud: i % 4 === 0, decided_at: v.event_time + 86_400_000, reason: null,
    }));
    decisions.push({ case_id: 'case-1b', transaction_id: vectors[1].event_id, is_fraud: true, decided_at: vectors[1].event_time + 2 * 86_400_000, reason: 'appeal' });
    // No transaction named: not a label, dead-lettered with the reason.
    decisions.push({ case_id: 'case-x', transaction_id: '', is_fraud: true, decided_at: t0, reason: 'unknown' });

    const encode = async <T>(topic: string, type: typeof types.label, items: T[], key: (x: T) => string) =>
      Promise.all(items.map(async (x) => ({ key: key(x), value: await stack.serde.encode(`${topic}-value`, type, x) })));
    await producer.send({ topic: ctx.topics.features, messages: await encode(ctx.topics.features, types.featureVector, vectors, (v) => v.entity_key) });
    await producer.send({ topic: ctx.topics.predictions, messages: await encode(ctx.topics.predictions, types.prediction, predictions, (p) => p.entity_key) });
    // Written as the producer writes them: its own schema, registered under the labels topic's subject.
    const chargeback = loadAvsc(CHARGEBACK_SCHEMA);
    await producer.send({ topic: ctx.topics.labels, messages: await encode(ctx.topics.labels, chargeback, decisions, (d) => d.case_id) });

    const ch = await stack.runtime.clickhouseConnection.client();
    await eventually(async () => ((await countRows(ch, 'labels', name)) >= n && (await countRows(ch, 'predictions', name)) >= n
      && (await countRows(ch, 'features', name)) >= n ? true : undefined), 'labels, predictions and features in ClickHouse');

    // Training: the first model waits for this count; the dataset joins each vector with its latest label.
    assert.equal(await countLabelledFeatures(ch, { pipeline: name, featureSpecVersion: 'v1' }), n);
    const dataset = await loadTrainingDataset(ch, { pipeline: name, featureSpecVersion: 'v1' });
    assert.deepEqual(dataset.map((r) => [r.event_id, r.label]), vectors.map((v, i) => [v.event_id, fraud(i) ? 1 : 0]));

    // Monitoring: the champion's predictions joined with the same labels (performance, error stream).
    const labelled = await loadLabelledPredictions(ch, { pipeline: name, from: t0, to: t0 + n * 1000 });
    assert.deepEqual(labelled.map((r) => [r.event_id, r.label]), vectors.map((v, i) => [v.event_id, fraud(i) ? 1 : 0]));

    const deadLetters = await eventually(async () => {
      const all = (await readAll<DeadLetterRecord>(stack.kafka, stack.serde, ctx.topics.dlq)).map((d) => d.value);
      return all.length > 0 ? all : undefined;
    }, 'the record without a transaction id in the DLQ');
    assert.equal(deadLetters.length, 1);
    assert.equal(deadLetters[0].source_topic, ctx.topics.labels);
    assert.equal(deadLetters[0].error_class, 'LabelRecordError');
    assert.match(deadLetters[0].error_message, /event id field "transaction_id": expected a non-empty string or an integer, got ""/);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
