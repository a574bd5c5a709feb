// One champion rule on the real broker: after an external model (fraud-sklearn v1, registered through the
// external-model endpoint) follows the pipeline's own model (v3), the model inference serves is the model monitoring
// measures, and monitoring's performance is computed from that model's predictions only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countRows } from '@streamloop/clickhouse';
import { InferenceModule } from '@streamloop/inference';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { MonitoringModule } from '@streamloop/monitoring';
import type { FeatureVectorRecord, LabelRecord, PredictionRecord } from '@streamloop/runtime';
import { TrainingModule } from '@streamloop/training';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const FIXTURE = new URL('../../examples/models/fraud-sklearn/', import.meta.url);
/** Full feature vectors of the example fraud pipeline (null = missing), as the external model's fixture has them. */
const rows = (JSON.parse(readFileSync(new URL('expected.json', FIXTURE), 'utf8')) as { rows: Array<Record<string, number | null>> }).rows;
const mapping = JSON.parse(readFileSync(new URL('mapping.json', FIXTURE), 'utf8')) as unknown;
const onnxBase64 = readFileSync(new URL('model.onnx', FIXTURE)).toString('base64');

interface ModelView { model_name: string; model_version: number }

test('after an external champion follows an internal one, monitoring measures the model inference serves', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 240_000 }, async () => {
  const name = uniqueName('champ');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.monitoring.window = '1h';
    s.monitoring.windowMs = 3_600_000;
  });
  const own = spec.model.name;
  const stack = await startStack(brokers!, [spec], [TrainingModule, InferenceModule, MonitoringModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const api = `${stack.serving.url}/v1/pipelines/${name}`;
    const servedModel = async (): Promise<ModelView | undefined> => {
      const res = await fetch(`${api}/model`);
      return res.status === 200 ? ((await res.json()) as ModelView) : undefined;
    };
    type Measured = ModelView & { performance?: { labelled: number }; performance_by_model: Array<ModelView & { role: string; labelled: number }> };
    const measuredModel = async (): Promise<Measured> => {
      const res = await fetch(`${api}/drift`, { method: 'POST' });
      const body = (await res.json()) as Measured;
      assert.equal(res.status, 201, JSON.stringify(body));
      return body;
    };
    const t0 = Date.UTC(2026, 10, 5, 0, 0, 0);
    const sendVectors = async (ids: number[]) => producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(ids.map(async (i) => {
        const values = Object.fromEntries(Object.entries(rows[i]).map(([k, v]) => [k, v ?? Number.NaN]));
        const vector: FeatureVectorRecord = { event_id: `${name}-${i}`, pipeline: name, entity_key: `card-${i % 7}`, event_time: t0 + i * 1000, feature_spec_version: spec.features.version, values, computed_at: Date.now() };
        return { key: vector.entity_key, value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, vector) };
      })),
    });
    const predictionsOf = async (count: number) => eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.length >= count ? all.map((p) => p.value) : undefined;
    }, `${count} predictions`);
    const half = rows.length / 2;
    const first = Array.from({ length: half }, (_, i) => i);
    const second = Array.from({ length: rows.length - half }, (_, i) => half + i);

    // The pipeline's own model, v1 to v3, published as the training target publishes them.
    const features = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
    for (const version of [1, 2, 3]) await publishModel(stack, name, championRecord(name, own, version, trainTestModel(features, version)));
    await eventually(async () => ((await servedModel())?.model_version === 3 ? true : undefined), `${own} v3 to be served`);
    await sendVectors(first);
    const before = await predictionsOf(first.length);
    assert.deepEqual([...new Set(before.map((p) => `${p.model_name} v${p.model_version}`))], [`${own} v3`]);

    // The external model registered as champion through the training target's endpoint: version 1 of its own name.
    const res = await fetch(`${api}/models/external`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ onnx_base64: onnxBase64, mapping, stage: 'champion' }),
    });
    const registered = (await res.json()) as ModelView;
    assert.equal(res.status, 201, JSON.stringify(registered));
    assert.deepEqual([registered.model_name, registered.model_version], ['fraud-sklearn', 1]);
    const served = await eventually(async () => {
      const m = await servedModel();
      return m?.model_name === 'fraud-sklearn' ? m : undefined;
    }, 'the external champion to be served');
    assert.equal(served.model_version, 1);
    await sendVectors(second);
    const secondIds = new Set(second.map((i) => `${name}-${i}`));
    const after = (await predictionsOf(rows.length)).filter((p) => secondIds.has(p.event_id));
    assert.equal(after.length, second.length);
    assert.deepEqual([...new Set(after.map((p) => `${p.model_name} v${p.model_version}`))], ['fraud-sklearn v1'], 'what inference serves, as the prediction records say');

    // Late labels for every event, both classes.
    const labels: LabelRecord[] = rows.map((_, i) => ({ event_id: `${name}-${i}`, label: i % 4 === 0 ? 1 : 0, label_time: t0 + i * 1000 + 1 }));
    await producer.send({
      topic: ctx.topics.labels,
      messages: await Promise.all(labels.map(async (l) => ({ key: l.event_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, stack.runtime.types.label, l) }))),
    });
    const ch = await stack.runtime.clickhouseConnection.client();
    await eventually(async () => (
      (await countRows(ch, 'features', name)) >= rows.length && (await countRows(ch, 'predictions', name)) >= rows.length
        && (await countRows(ch, 'labels', name)) >= rows.length && (await countRows(ch, 'models', name)) >= 4 ? true : undefined
    ), 'features, predictions, labels and the four model versions in ClickHouse');
    const registry = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, ctx.topics.models);
    assert.deepEqual(registry.map((r) => `${r.value.model_name} v${r.value.model_version} ${r.value.stage}`), [
      `${own} v1 champion`, `${own} v2 champion`, `${own} v3 champion`, 'fraud-sklearn v1 champion',
    ]);

    // Monitoring has seen every registry record: what it measures is what inference serves (the old rules
    // disagreed here: monitoring kept the highest version number, fraud-lr v3).
    // (The fold follows the models-table row by a moment: a few runs are allowed before comparing.)
    let measured = await measuredModel();
    for (let run = 1; run < 10 && measured.model_name !== served.model_name; run++) {
      await new Promise((r) => setTimeout(r, 500));
      measured = await measuredModel();
    }
    assert.deepEqual({ model_name: measured.model_name, model_version: measured.model_version }, { model_name: served.model_name, model_version: served.model_version });
    // And it measures that model's predictions: the labelled predictions are the external model's half.
    assert.equal(measured.performance?.labelled, second.length, JSON.stringify(measured.performance));
    // The earlier champion's predictions are its own, not the new champion's (issue 12 item 9).
    assert.deepEqual(measured.performance_by_model.map((p) => `${p.model_name} v${p.model_version} ${p.role} ${p.labelled}`).sort(),
      [`${own} v3 champion ${first.length}`, `fraud-sklearn v1 champion ${second.length}`].sort());
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
