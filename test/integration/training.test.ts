// The training service with the real broker and embedded ClickHouse: dataset from ClickHouse, time split,
// evaluation, ONNX export, publication to the model registry topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, TABLES } from '@streamloop/clickhouse';
import { OnnxScorer } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/runtime';
import { FeatureComputer } from '@streamloop/features';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { brokersOrSkip, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('training builds a dataset from ClickHouse, evaluates on the latest window and publishes an ONNX model', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('train');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
  });
  const stack = await startStack(brokers!, [spec], (r) => [TrainingModule.register(r)]);
  try {
    const url = `${stack.serving.url}/v1/pipelines/${name}/train`;
    const tooEarly = await fetch(url, { method: 'POST' });
    assert.equal(tooEarly.status, 409, 'not enough labels yet');
    assert.match(((await tooEarly.json()) as { error: string }).error, /min_labels/);

    // Feature vectors and (some) labels, as monitoring would have sunk them.
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 21, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const features = stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    });
    const ch = await stack.runtime.clickhouse();
    await insertRows(ch, TABLES.features, features);
    await insertRows(ch, TABLES.labels, stream.slice(0, 1400).map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));

    const res = await fetch(url, { method: 'POST' });
    const result = (await res.json()) as { model_version: number; training_rows: number; holdout_rows: number; metrics: Record<string, number>; parity_max_abs_diff: number; data_window_end: number };
    assert.equal(res.status, 201, JSON.stringify(result));
    assert.equal(result.model_version, 1);
    assert.equal(result.training_rows + result.holdout_rows, 1400, 'only labelled events');
    assert.ok(result.metrics.roc_auc > 0.75, `held-out ROC AUC ${result.metrics.roc_auc}`);
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc']) assert.ok(k in result.metrics, k);
    assert.ok(result.parity_max_abs_diff <= 1e-5);
    assert.equal(result.data_window_end, stream[1399].event.event_time);

    const models = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    assert.equal(models.length, 1);
    const m = models[0].value;
    assert.equal(m.model_version, 1);
    assert.deepEqual(m.feature_names, computer.featureNames);
    assert.ok(Object.keys(m.reference).length === m.feature_names.length);
    assert.ok(Math.abs(Object.values(m.feature_importance).reduce((a, b) => a + b, 0) - 1) < 1e-9, 'importance shares sum to 1');
    assert.equal(models[0].key?.toString(), `${name}/${spec.model.name}/1`);
    const scorer = await OnnxScorer.load(new Uint8Array(m.onnx), { expectedFeatures: m.feature_names.length });
    const { probabilities } = await scorer.score(new Float32Array(m.feature_names.length).fill(Number.NaN), 1);
    assert.ok(probabilities[0] >= 0 && probabilities[0] <= 1);
    await scorer.release();

    // A second run publishes the next version, and the experiment log has both runs.
    const again = (await (await fetch(url, { method: 'POST' })).json()) as { model_version: number };
    assert.equal(again.model_version, 2);
    const runs = await ch.query({ query: `SELECT count() AS n FROM ${TABLES.experiments} WHERE pipeline = {p:String}`, query_params: { p: name }, format: 'JSONEachRow' });
    assert.equal(Number(((await runs.json()) as Array<{ n: string }>)[0].n), 2);
  } finally {
    await stack.close();
  }
});

test('the model type comes from the spec: gradient-boosted trees train, export and publish the same way', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('gbdt');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
    s.model.algorithm = 'gbdt';
    s.model.params = { max_iter: 50, learning_rate: 0.1, max_leaf_nodes: 15 };
  });
  const stack = await startStack(brokers!, [spec], (r) => [TrainingModule.register(r)]);
  try {
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 22, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const ch = await stack.runtime.clickhouse();
    await insertRows(ch, TABLES.features, stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    }));
    await insertRows(ch, TABLES.labels, stream.map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));
    const res = await fetch(`${stack.serving.url}/v1/pipelines/${name}/train`, { method: 'POST' });
    const result = (await res.json()) as { algorithm: string; metrics: Record<string, number>; parity_max_abs_diff: number };
    assert.equal(res.status, 201, JSON.stringify(result));
    assert.equal(result.algorithm, 'gbdt');
    assert.ok(result.metrics.roc_auc > 0.75, `held-out ROC AUC ${result.metrics.roc_auc}`);
    const [model] = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    assert.equal(model.value.algorithm, 'gbdt');
    assert.equal(model.value.params.max_leaf_nodes, '15');
    const top = Object.entries(model.value.feature_importance).sort((a, b) => b[1] - a[1])[0];
    assert.ok(top[1] > 0, `top feature ${top[0]}`);
  } finally {
    await stack.close();
  }
});
