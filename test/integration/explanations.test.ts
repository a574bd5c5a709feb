// Explanations served (issue 12 item 6), on the real broker: ingestion, features and inference in one `streamloop start`
// with `serving.explain_top_k: 2`, a gradient-boosted champion trained in code. REST predict with "explain": true answers
// TreeSHAP contributions that sum to margin − expected value; every prediction record carries the top 2, equal to what
// the model's explainer gives for the event's feature vector. Then a model trained elsewhere takes over: the answer says
// it has no explainer, and its prediction records carry none.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadPipelineSpec } from '@streamloop/config';
import { explainerFromOnnx, seededRandom, sigmoid, topContributions, trainClassifier } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName, type TestStack } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h', 'hour_of_day'];
const TOP_K = 2;
const FIXTURE = new URL('../../examples/models/fraud-sklearn/', import.meta.url);

/** A GBDT champion over FEATURES, trained in code on rows shaped like the fraud pipeline's. */
function gbdtRecord(pipeline: string, version: number): ModelRegistryRecord {
  const rnd = seededRandom(13);
  const X = Array.from({ length: 800 }, () => [1 + 6 * rnd(), rnd() < 0.2 ? 1 : 0, rnd() < 0.5 ? 1 : 0, Math.floor(8 * rnd()), Math.floor(24 * rnd())]);
  const y = X.map((r) => (0.6 * r[0] + 1.5 * r[1] + 0.4 * r[3] + (r[4] < 6 ? 1 : 0) + rnd() > 4.5 ? 1 : 0));
  const onnx = Buffer.from(trainClassifier('gbdt', X, y, { featureNames: FEATURES, params: { max_iter: 30, max_leaf_nodes: 8 } }).toOnnx('explained-gbdt'));
  return {
    ...championRecord(pipeline, 'explained-gbdt', version, trainTestModel(FEATURES)),
    algorithm: 'gbdt', onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex'),
  };
}

function externalRecord(pipeline: string): ModelRegistryRecord {
  const mapping = JSON.parse(readFileSync(new URL('mapping.json', FIXTURE), 'utf8')) as { columns: string[] };
  const onnx = readFileSync(new URL('model.onnx', FIXTURE));
  return {
    ...championRecord(pipeline, 'fraud-sklearn', 1, trainTestModel(FEATURES)),
    algorithm: 'external', feature_names: mapping.columns, onnx, onnx_sha256: createHash('sha256').update(onnx).digest('hex'),
    signature: { input_name: 'float_input', probability_output: 'output_probability', positive_class_index: 1 },
  };
}

async function predict(api: string, pipeline: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

async function servedModel(api: string, pipeline: string): Promise<string | undefined> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/model`);
  return res.ok ? (await res.json() as { model_name?: string }).model_name : undefined;
}

async function sendEvents(stack: TestStack, pipeline: string, seed: number, count: number): Promise<string[]> {
  const ctx = stack.runtime.pipelines.pipeline(pipeline);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    const events = generateCardTransactions({ seed, events: count, cards: 8, idPrefix: `${pipeline}-${seed}` }).map((x) => x.event);
    const messages = await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
    return events.map((e) => e.transaction_id);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

test('explanations: REST predict with "explain": true (TreeSHAP, sums to margin − expected value), top-k on every prediction record, none for an external model', { skip, timeout: 300_000 }, async (t: TestContext) => {
  const name = uniqueName('explain');
  const specFile = writeSpecFile(name);
  appendFileSync(specFile, `\nserving:\n  explain_top_k: ${TOP_K}\n`);
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  try {
    const gbdt = gbdtRecord(name, 1);
    await publishModel(stack, name, gbdt);
    const { service, api } = await startPlatform(stack, brokers!, specFile, 'ingestion,features,inference');
    processes.push(service);
    await eventually(async () => ((await servedModel(api, name)) === 'explained-gbdt' ? true : undefined), `inference serving the gbdt\n${why()}`, 60_000);

    // --- REST: contributions per feature, summing to margin − expected value; sigmoid(margin) is the score.
    const features = { log_amount: 6.2, foreign: 1, is_online: 0, card_txn_count_1h: 5, hour_of_day: 3 };
    const answer = await predict(api, name, { features, explain: true });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const explanation = answer.json.explanation as { method: string; expected_value: number; margin: number; contributions: Record<string, number> };
    t.diagnostic(`explanation: ${JSON.stringify(explanation)}`);
    assert.equal(explanation.method, 'tree_shap');
    assert.deepEqual(Object.keys(explanation.contributions).sort(), [...FEATURES].sort());
    const sum = Object.values(explanation.contributions).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - (explanation.margin - explanation.expected_value)) < 1e-9, `Σ ${sum} vs margin ${explanation.margin} − expected ${explanation.expected_value}`);
    assert.ok(Math.abs(sigmoid(explanation.margin) - (answer.json.score as number)) < 1e-5, `sigmoid(margin) vs score ${answer.json.score}`);
    const local = explainerFromOnnx(gbdt.onnx, { featureNames: gbdt.feature_names });
    const expected = local.explainRow(FEATURES.map((f) => features[f as keyof typeof features]));
    FEATURES.forEach((f, j) => assert.ok(Math.abs(explanation.contributions[f] - expected.contributions[j]) < 1e-12, f));
    // Without "explain" (or false) the answer has no explanation; a non-boolean is refused.
    assert.equal((await predict(api, name, { features })).json.explanation, undefined);
    assert.equal((await predict(api, name, { features, explain: false })).json.explanation, undefined);
    const bad = await predict(api, name, { features, explain: 'yes' });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json), /INVALID_INPUT.*explain: expected true or false/);

    // --- Streaming: every prediction record carries the top 2 contributions of its own feature vector.
    const ids = await sendEvents(stack, name, 21, 30);
    const predictions = await eventually(async () => {
      const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
      return ids.every((id) => all.some((p) => p.event_id === id)) ? all : undefined;
    }, `a prediction for each of ${ids.length} events\n${why()}`, 90_000);
    const vectors = new Map((await readAll<FeatureVectorRecord>(stack.kafka, stack.serde, ctx.topics.features)).map((r) => [r.value.event_id, r.value.values]));
    for (const p of predictions) {
      assert.equal(p.contributions.length, TOP_K, `${p.event_id}: ${JSON.stringify(p.contributions)}`);
      const values = vectors.get(p.event_id)!;
      const row = FEATURES.map((f) => values[f] ?? Number.NaN);
      const want = topContributions(FEATURES, local.explainRow(row).contributions, TOP_K);
      assert.deepEqual(p.contributions.map((c) => c.feature), want.map((c) => c.feature), p.event_id);
      p.contributions.forEach((c, i) => assert.ok(Math.abs(c.value - want[i].value) < 1e-12, `${p.event_id} ${c.feature}`));
    }
    t.diagnostic(`first prediction: ${JSON.stringify(predictions[0].contributions)}`);

    // --- A model trained elsewhere takes over: no explainer, said clearly; its records carry no contributions.
    await publishModel(stack, name, externalRecord(name));
    await eventually(async () => ((await servedModel(api, name)) === 'fraud-sklearn' ? true : undefined), `inference serving the external model\n${why()}`, 60_000);
    const external = await predict(api, name, { features: { log_amount: 6.2, foreign: 1 }, explain: true });
    assert.equal(external.status, 200, JSON.stringify(external.json));
    const none = external.json.explanation as { method: string; reason: string };
    assert.equal(none.method, 'none');
    assert.match(none.reason, /no explainer for external ONNX models/);
    const later = await sendEvents(stack, name, 22, 10);
    const byExternal = await eventually(async () => {
      const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value).filter((p) => later.includes(p.event_id));
      return all.length === later.length ? all : undefined;
    }, `predictions of the ${later.length} later events\n${why()}`, 90_000);
    assert.deepEqual(byExternal.map((p) => [p.model_name, p.contributions.length]), later.map(() => ['fraud-sklearn', 0]));
  } finally {
    await stopProcesses(processes);
    await stack.close();
  }
});
