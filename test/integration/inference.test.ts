// The inference service on the real broker: models from the registry topic, micro-batched scoring, hot swap,
// refusal of a bad model, REST predict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InferenceModule, InferenceService } from '@streamloop/inference';
import { exportOnnx, seededRandom, TabularPipeline } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { assertErrorBody, assertJsonEndpointErrors, request } from '../support/http-errors';
import { generateCardTransactions } from '@streamloop/testing';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const NAMES = ['x1', 'x2'];

function trainedModel(sign: number): TabularPipeline {
  const rnd = seededRandom(sign > 0 ? 1 : 2);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 400; i++) {
    const a = rnd() * 4 - 2, b = rnd() * 4 - 2;
    X.push([a, b]);
    y.push(rnd() < 1 / (1 + Math.exp(-sign * (2 * a - b))) ? 1 : 0);
  }
  return TabularPipeline.fit(X, y, { featureNames: NAMES });
}

function registryRecord(pipeline: string, version: number, model: TabularPipeline, overrides: Partial<ModelRegistryRecord> = {}): ModelRegistryRecord {
  const onnx = Buffer.from(exportOnnx(model, { modelName: 'm' }));
  return {
    pipeline, model_name: 'm', model_version: version, algorithm: 'logistic_regression', stage: 'champion',
    created_at: Date.now(), feature_names: NAMES, feature_spec_version: 'v1', threshold: 0.5, onnx,
    onnx_sha256: createHash('sha256').update(onnx).digest('hex'), metrics: { roc_auc: 0.9 }, params: {},
    data_window_start: 0, data_window_end: 1, training_rows: 400, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {}, ...overrides,
  };
}

test('inference scores with the champion, hot-swaps a newer one, and refuses a corrupt one', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 120_000 }, async () => {
  const name = uniqueName('inf');
  const spec = testPipeline(name, (s) => { s.topics.models = uniqueName('models'); });
  const stack = await startStack(brokers!, [spec], [InferenceModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const inference = stack.serving.app.get(InferenceService);
    const sendModel = async (record: ModelRegistryRecord) => producer.send({
      topic: ctx.topics.models,
      messages: [{ key: `${name}/m/${record.model_version}`, value: await stack.serde.encode(`${ctx.topics.models}-value`, stack.runtime.types.modelRegistry, record) }],
    });
    const sendVectors = async (ids: string[]) => producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(ids.map(async (id, i) => {
        const v: FeatureVectorRecord = { event_id: id, pipeline: name, entity_key: 'e', event_time: 1000 + i, feature_spec_version: 'v1', values: { x1: 1, x2: i % 2 === 0 ? Number.NaN : -1 }, computed_at: Date.now() };
        return { key: 'e', value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, v) };
      })),
    });

    // Before any model, REST predict answers 503 NO_MODEL_YET (retriable) and the model endpoint 404.
    const noModel = await request(`${stack.serving.url}/v1/pipelines/${name}/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: { x1: 1 } }),
    });
    assertErrorBody(noModel, 503, 'NO_MODEL_YET');
    assertErrorBody(await request(`${stack.serving.url}/v1/pipelines/${name}/model`), 404, 'NOT_FOUND');

    // Feature vectors that arrive before any model wait for it, uncommitted.
    await sendVectors(['a1', 'a2', 'a3']);
    const v1 = trainedModel(1);
    await sendModel(registryRecord(name, 1, v1));
    await eventually(() => inference.models.get(name), 'model v1 to be served');
    const first = await eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.length >= 3 ? all : undefined;
    }, 'three predictions');
    const expected = v1.predictProba([[1, Number.NaN], [1, -1], [1, Number.NaN]]);
    for (const p of first) {
      assert.equal(p.value.model_version, 1);
      const i = ['a1', 'a2', 'a3'].indexOf(p.value.event_id);
      assert.ok(Math.abs(p.value.score - expected[i]) < 1e-5, `score of ${p.value.event_id}`);
      assert.equal(p.value.label, p.value.score >= 0.5 ? 1 : 0);
    }

    // A newer version is picked up without a restart.
    const v2 = trainedModel(-1);
    await sendModel(registryRecord(name, 2, v2));
    await eventually(() => (inference.models.get(name)?.record.model_version === 2 ? true : undefined), 'model v2 to be served');
    await sendVectors(['b1']);
    const second = await eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.find((p) => p.value.event_id === 'b1');
    }, 'the prediction of b1');
    assert.equal(second.value.model_version, 2);

    // A model whose bytes do not match their hash is refused; v2 keeps serving.
    await sendModel(registryRecord(name, 3, v1, { onnx_sha256: 'f'.repeat(64) }));
    await sendModel(registryRecord(name, 4, v1, { onnx: Buffer.from('not an onnx model'), onnx_sha256: createHash('sha256').update('not an onnx model').digest('hex') }));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(inference.models.get(name)?.record.model_version, 2);

    // REST predict with a feature vector; bad input is a 400 naming the feature.
    const res = await fetch(`${stack.serving.url}/v1/pipelines/${name}/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: { x1: 0.5, x2: null } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { score: number; model_version: number };
    assert.equal(body.model_version, 2);
    assert.ok(Math.abs(body.score - v2.predictProba([[0.5, Number.NaN]])[0]) < 1e-5);
    const predictUrl = `${stack.serving.url}/v1/pipelines/${name}/predict`;
    const bad = assertErrorBody(await request(predictUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: { x1: 'high' } }) }), 400, 'INVALID_INPUT');
    assert.match(bad.message, /features\.x1/);
    assertErrorBody(await request(predictUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1, 2]' }), 400, 'INVALID_INPUT');
    // Every error in the one body: malformed JSON 400, not JSON 415, no route 404, over the body limit 413.
    await assertJsonEndpointErrors(stack.serving.url, `/v1/pipelines/${name}/predict`, 2 * 1024 * 1024);
    // An event body needs its entities' feature state; no feature stage runs anywhere, so no instance owns it: 503
    // naming that, instead of scoring the event as if its card and merchant had no history.
    const event = generateCardTransactions({ seed: 3, events: 1, idPrefix: name })[0].event;
    const notOwner = assertErrorBody(await request(predictUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event }) }), 503, 'OWNER_UNAVAILABLE');
    assert.match(notOwner.message, /no instance owns partition \d+ of stage 0/);
    assertErrorBody(await request(`${stack.serving.url}/v1/pipelines/nope/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"features": {}}' }), 404, 'PIPELINE_NOT_FOUND');
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
