// Micro-batching on the real broker: inference's own consumer with serving.batch.max_wait (a fetch that waits for
// records, threaded through the stream transport to kafkajs) and max_rows (a consumed batch scored in several calls),
// and serving.onnx's session options: every vector gets its prediction, scored as one call would score it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InferenceModule, InferenceService } from '@streamloop/inference';
import { exportOnnx, seededRandom, TabularPipeline } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const NAMES = ['x1', 'x2'];

test('inference with max_wait, max_rows 2 and tuned onnx options predicts every vector as one call would', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('mb');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.serving = { ...s.serving!, batch: { maxRows: 2, maxWaitMs: 50 }, onnx: { intraOpThreads: 1, graphOptimizationLevel: 'basic' } };
  });
  const rnd = seededRandom(5);
  const X = Array.from({ length: 300 }, () => [rnd() * 4 - 2, rnd() * 4 - 2]);
  const model = TabularPipeline.fit(X, X.map(([a, b]) => (rnd() < 1 / (1 + Math.exp(-(2 * a - b))) ? 1 : 0)), { featureNames: NAMES });
  const onnx = Buffer.from(exportOnnx(model, { modelName: 'm' }));
  const record: ModelRegistryRecord = {
    pipeline: name, model_name: 'm', model_version: 1, algorithm: 'logistic_regression', stage: 'champion', created_at: Date.now(), feature_names: NAMES,
    feature_spec_version: 'v1', threshold: 0.5, onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: {}, params: {},
    data_window_start: 0, data_window_end: 1, training_rows: 300, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
  const stack = await startStack(brokers!, [spec], [InferenceModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    await producer.send({
      topic: ctx.topics.models,
      messages: [{ key: `${name}/m/1`, value: await stack.serde.encode(`${ctx.topics.models}-value`, stack.runtime.types.modelRegistry, record) }],
    });
    await eventually(() => stack.serving.app.get(InferenceService).models.get(name), 'the model to be served');
    // Seven vectors of one entity in one send: one partition, consumed in batches scored two rows a call.
    const rows = Array.from({ length: 7 }, (_, i) => [i / 3 - 1, 1 - i / 4]);
    await producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(rows.map(async ([x1, x2], i) => {
        const v: FeatureVectorRecord = { event_id: `v${i}`, pipeline: name, entity_key: 'e', event_time: 1000 + i, feature_spec_version: 'v1', values: { x1, x2 }, computed_at: Date.now() };
        return { key: 'e', value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, v) };
      })),
    });
    const predictions = await eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.length >= rows.length ? all : undefined;
    }, 'seven predictions');
    assert.equal(predictions.length, rows.length);
    const expected = model.predictProba(rows);
    for (const p of predictions) {
      const i = Number(p.value.event_id.slice(1));
      assert.ok(Math.abs(p.value.score - expected[i]) < 1e-5, `score of ${p.value.event_id}: ${p.value.score} vs ${expected[i]}`);
    }
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
