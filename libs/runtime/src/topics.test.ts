// The topics a pipeline uses, with their settings, without a broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPipelineSpec, topicsFor } from '@streamloop/config';
import { DATA_TOPIC_MAX_MESSAGE_BYTES, DLQ_TOPIC_MAX_MESSAGE_BYTES, MODELS_TOPIC_MAX_MESSAGE_BYTES, topicPlan } from './topics';

const spec = loadPipelineSpec(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname);

test('topicPlan: data topics, the DLQ, a changelog per feature stage, the repartition topic, dedup and the model registry', () => {
  const plan = topicPlan({ spec, topics: topicsFor(spec) });
  const byTopic = new Map(plan.map((t) => [t.topic, t]));
  assert.equal(byTopic.size, plan.length, 'each topic once');
  assert.deepEqual([...byTopic.keys()].sort(), [
    'fraud.alerts', 'fraud.changelog.dedup', 'fraud.changelog.features', 'fraud.changelog.features.merchant_id', 'fraud.events', 'fraud.events.dlq',
    'fraud.events.raw', 'fraud.features', 'fraud.labels', 'fraud.predictions', 'fraud.predictions.shadow', 'fraud.repartition.features.merchant_id',
    'streamloop.models',
  ]);
  for (const t of plan.filter((p) => p.topic !== 'streamloop.models')) assert.equal(t.partitions, spec.events.partitions, t.topic);
  assert.equal(byTopic.get('fraud.events')!.config!['max.message.bytes'], String(DATA_TOPIC_MAX_MESSAGE_BYTES));
  assert.equal(byTopic.get('fraud.events.dlq')!.config!['max.message.bytes'], String(DLQ_TOPIC_MAX_MESSAGE_BYTES));
  assert.equal(byTopic.get('fraud.changelog.features.merchant_id')!.config!['cleanup.policy'], 'compact');
  assert.equal(byTopic.get('fraud.changelog.dedup')!.config!['cleanup.policy'], 'compact,delete');
  assert.deepEqual(byTopic.get('streamloop.models'), { topic: 'streamloop.models', partitions: 1, config: { 'cleanup.policy': 'compact', 'max.message.bytes': String(MODELS_TOPIC_MAX_MESSAGE_BYTES) } });
});
