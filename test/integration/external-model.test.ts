// A model trained elsewhere (scikit-learn via skl2onnx, examples/models/fraud-sklearn) registered with the CLI on
// the real broker, served by inference through its input mapping, scoring as scikit-learn did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { featureNamesOf } from '@streamloop/config';
import { InferenceModule, InferenceService } from '@streamloop/inference';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { TrainingModule } from '@streamloop/training';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = `${ROOT}examples/models/fraud-sklearn/`;
const run = promisify(execFile);

interface Expected {
  feature_names: string[];
  rows: Array<Record<string, number | null>>;
  predict_proba: Array<[number, number]>;
  predict: number[];
}
interface Mapping {
  name: string;
  input: string;
  columns: string[];
  probability_output: string;
  positive_class_index: number;
}

const expected = JSON.parse(readFileSync(`${FIXTURE}expected.json`, 'utf8')) as Expected;
const mapping = JSON.parse(readFileSync(`${FIXTURE}mapping.json`, 'utf8')) as Mapping;
const onnxBase64 = readFileSync(`${FIXTURE}model.onnx`).toString('base64');

/** `streamloop register-model ...` as a user runs it; resolves with its exit code and output. */
async function registerWithCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [`${ROOT}bin/streamloop.mjs`, 'register-model', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('an external scikit-learn model registered with its mapping scores feature vectors as scikit-learn did', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('ext');
  const spec = testPipeline(name, (s) => { s.topics.models = uniqueName('models'); });
  // The fixture's rows are full feature vectors of the example fraud pipeline.
  assert.deepEqual(expected.feature_names, featureNamesOf(spec.features));
  const stack = await startStack(brokers!, [spec], [TrainingModule, InferenceModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const inference = stack.serving.app.get(InferenceService);
    const endpoint = `${stack.serving.url}/v1/pipelines/${name}/models/external`;
    const post = (body: unknown) => request(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    // Refusals name what is wrong, and publish nothing.
    const unknownFeature = assertErrorBody(await post({ onnx_base64: onnxBase64, mapping: { ...mapping, columns: [...mapping.columns.slice(0, 9), 'card_age_days'] } }), 400, 'INVALID_MODEL');
    assert.match(unknownFeature.message, /'card_age_days' not produced by the pipeline/);
    const wrongInput = assertErrorBody(await post({ onnx_base64: onnxBase64, mapping: { ...mapping, input: 'features' } }), 400, 'INVALID_MODEL');
    assert.match(wrongInput.message, /declared input 'features' does not exist; the graph's input is 'float_input'/);
    const narrow = assertErrorBody(await post({ onnx_base64: onnxBase64, mapping: { ...mapping, columns: mapping.columns.slice(0, 8) } }), 400, 'INVALID_MODEL');
    assert.match(narrow.message, /mapping\.columns lists 8 features but the model's input 'float_input' has 10 columns/);
    const ownName = assertErrorBody(await post({ onnx_base64: onnxBase64, mapping, name: spec.model.name }), 400, 'INVALID_INPUT');
    assert.match(ownName.message, /pipeline's own trained model/);
    const badStage = assertErrorBody(await post({ onnx_base64: onnxBase64, mapping, stage: 'production' }), 400, 'INVALID_INPUT');
    assert.match(badStage.message, /stage: expected candidate or champion/);
    const noPipeline = await request(`${stack.serving.url}/v1/pipelines/nope/models/external`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ onnx_base64: onnxBase64, mapping }),
    });
    assertErrorBody(noPipeline, 404, 'PIPELINE_NOT_FOUND');
    assert.equal((await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, ctx.topics.models)).length, 0, 'refused models are not published');

    // The CLI registers it as champion; the training target validates and publishes it.
    const cli = await registerWithCli(['--pipeline', name, '--onnx', `${FIXTURE}model.onnx`, '--mapping', `${FIXTURE}mapping.json`, '--stage', 'champion', '--api', stack.serving.url]);
    assert.equal(cli.code, 0, cli.stderr);
    const registered = JSON.parse(cli.stdout) as { model_name: string; model_version: number; stage: string; algorithm: string };
    assert.deepEqual([registered.model_name, registered.model_version, registered.stage, registered.algorithm], ['fraud-sklearn', 1, 'champion', 'external']);

    const [published] = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, ctx.topics.models);
    assert.equal(published.key?.toString(), `${name}/fraud-sklearn/1`);
    assert.equal(published.value.algorithm, 'external');
    assert.deepEqual(published.value.feature_names, mapping.columns);
    assert.deepEqual({ ...published.value.signature }, { input_name: 'float_input', probability_output: 'output_probability', positive_class_index: 1 });

    const serving = await eventually(() => (inference.models.get(name)?.record.model_name === 'fraud-sklearn' ? inference.models.get(name) : undefined), 'the external champion to be served');
    assert.equal(serving.scorer.inputName, 'float_input');

    // The fixture's rows as full feature vectors (all 20 features, null = missing) through the streaming path.
    const ids = expected.rows.map((_, i) => `${name}-row-${i}`);
    await producer.send({
      topic: ctx.topics.features,
      messages: await Promise.all(expected.rows.map(async (row, i) => {
        const values = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v ?? Number.NaN]));
        const vector: FeatureVectorRecord = { event_id: ids[i], pipeline: name, entity_key: `card-${i % 7}`, event_time: 1_700_000_000_000 + i, feature_spec_version: 'v1', values, computed_at: Date.now() };
        return { key: vector.entity_key, value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, vector) };
      })),
    });
    const predictions = await eventually(async () => {
      const all = await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions);
      return all.length >= ids.length ? all : undefined;
    }, `${ids.length} predictions`);
    assert.equal(predictions.length, ids.length);
    let maxDiff = 0;
    for (const { value: p } of predictions) {
      const i = ids.indexOf(p.event_id);
      assert.ok(i >= 0, `prediction for an unknown event ${p.event_id}`);
      assert.equal(p.model_name, 'fraud-sklearn');
      maxDiff = Math.max(maxDiff, Math.abs(p.score - expected.predict_proba[i][1]));
      assert.equal(p.label, expected.predict[i], `label of row ${i} (threshold 0.5, as sklearn's predict)`);
    }
    assert.ok(maxDiff <= 1e-6, `max |served - sklearn| = ${maxDiff}`);

    // REST predict with the model's own features.
    const row = expected.rows.findIndex((r) => mapping.columns.some((c) => r[c] === null));
    const features = Object.fromEntries(mapping.columns.map((c) => [c, expected.rows[row][c]]));
    const res = await fetch(`${stack.serving.url}/v1/pipelines/${name}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features }) });
    assert.equal(res.status, 200);
    const predicted = (await res.json()) as { score: number; model_name: string };
    assert.equal(predicted.model_name, 'fraud-sklearn');
    assert.ok(Math.abs(predicted.score - expected.predict_proba[row][1]) <= 1e-6, `REST score of row ${row} (with a missing feature)`);

    // A second registration is the next version; as a candidate it is stored, not served.
    const candidate = await post({ onnx_base64: onnxBase64, mapping, threshold: 0.3 });
    assert.equal(candidate.status, 201, candidate.text);
    const second = JSON.parse(candidate.text) as { model_version: number; stage: string; threshold: number };
    assert.deepEqual([second.model_version, second.stage, second.threshold], [2, 'candidate', 0.3]);
    await eventually(async () => ((await readAll(stack.kafka, stack.serde, ctx.topics.models)).length === 2 ? true : undefined), 'the candidate on the registry topic');
    assert.equal(inference.models.get(name)?.record.model_version, 1);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
