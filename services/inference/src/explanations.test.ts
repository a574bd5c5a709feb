// Explanations of served models, through the model store with real trained models (no broker): the REST answer's
// contributions sum to margin − expected value, the top-k for prediction records, and an external model's "none".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { seededRandom, sigmoid, trainClassifier, type Algorithm } from '@streamloop/ml';
import type { ModelRegistryRecord, RegistryMessage } from '@streamloop/model-registry';
import { explainerOf, explainPrediction, topContributions } from './explanations';
import { ModelStore, type ServingModel } from './model-store';

const FEATURES = ['log_amount', 'foreign', 'hour'];
const FIXTURE = new URL('../../../examples/models/fraud-sklearn/', import.meta.url);

function trained(algorithm: Algorithm): ModelRegistryRecord {
  const rnd = seededRandom(3);
  const X = Array.from({ length: 600 }, () => [rnd() * 6, rnd() < 0.3 ? 1 : 0, rnd() * 24]);
  const y = X.map((r) => (r[0] + 2 * r[1] + (r[2] > 20 ? 1 : 0) + rnd() > 4 ? 1 : 0));
  const onnx = Buffer.from(trainClassifier(algorithm, X, y, { featureNames: FEATURES, params: algorithm === 'gbdt' ? { max_iter: 20 } : {} }).toOnnx('fraud'));
  return record('fraud', algorithm, onnx, FEATURES);
}

function record(model: string, algorithm: string, onnx: Buffer, featureNames: string[]): ModelRegistryRecord {
  return {
    pipeline: 'fraud', model_name: model, model_version: 1, algorithm, stage: 'champion', created_at: 0, feature_names: featureNames,
    feature_spec_version: 'v1', threshold: 0.5, onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: {}, params: {},
    data_window_start: 0, data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

async function serve(r: ModelRegistryRecord): Promise<{ store: ModelStore; model: ServingModel }> {
  const store = new ModelStore();
  const messages: RegistryMessage[] = [{ kind: 'version', offset: 0n, record: r }];
  await store.follow('fraud', messages);
  return { store, model: store.get('fraud')! };
}

const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

for (const [algorithm, method] of [['gbdt', 'tree_shap'], ['logistic_regression', 'linear']] as const) {
  test(`${algorithm}: the explanation's contributions sum to margin − expected value, and sigmoid(margin) is the served score`, async () => {
    const { model } = await serve(trained(algorithm));
    const score = async (values: Record<string, number>) => {
      const probe = new Float32Array(FEATURES.map((f) => values[f] ?? Number.NaN));
      return (await model.scorer.score(probe, 1)).probabilities[0];
    };
    const rows: Array<Record<string, number>> = [{ log_amount: 5.5, foreign: 1, hour: 22 }, { log_amount: 0.5, foreign: 0, hour: 3 }, { log_amount: 3 }];
    for (const values of rows) {
      const e = explainPrediction(model, values);
      if (e.method === 'none') throw new Error(e.reason);
      assert.equal(e.method, method);
      assert.deepEqual(Object.keys(e.contributions).sort(), [...FEATURES].sort());
      assert.ok(Math.abs(sum(e.contributions) - (e.margin - e.expected_value)) < 1e-9, `Σ ${sum(e.contributions)} vs ${e.margin} − ${e.expected_value}`);
      assert.ok(Math.abs(sigmoid(e.margin) - (await score(values))) < 2e-6);
      const magnitudes = Object.values(e.contributions).map(Math.abs);
      assert.deepEqual(magnitudes, [...magnitudes].sort((a, b) => b - a), 'largest first');
      const top = topContributions(model, values, 2);
      assert.deepEqual(top, Object.entries(e.contributions).slice(0, 2).map(([feature, value]) => ({ feature, value })));
    }
    assert.equal(explainerOf(model), explainerOf(model), 'built once per served model');
    assert.deepEqual(topContributions(model, { log_amount: 1 }, 0), []);
  });
}

test('an external ONNX model: the answer says there is no explainer, and prediction records carry no contributions', async () => {
  const mapping = JSON.parse(readFileSync(new URL('mapping.json', FIXTURE), 'utf8')) as { columns: string[] };
  const r: ModelRegistryRecord = {
    ...record('fraud-sklearn', 'external', readFileSync(new URL('model.onnx', FIXTURE)), mapping.columns),
    signature: { input_name: 'float_input', probability_output: 'output_probability', positive_class_index: 1 },
  };
  const { model } = await serve(r);
  const e = explainPrediction(model, {});
  assert.equal(e.method, 'none');
  assert.match(e.method === 'none' ? e.reason : '', /no explainer for external ONNX models/);
  assert.deepEqual(topContributions(model, {}, 3), []);
});
