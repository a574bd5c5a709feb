// Registering a model trained elsewhere, without a broker: the scikit-learn fixture (examples/models/fraud-sklearn)
// checked against its mapping and published to a registry in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { featureNamesOf, loadPipelineSpec } from '@streamloop/config';
import { customDomainModel, externalDataModel } from '@streamloop/model-safety/testing';
import { createLogger } from '@streamloop/observability';
import { BadExternalModelError, checkExternalModel, publishExternalModel } from './external-model';
import { memoryRegistry, registryRecord } from './test-support';

const FIXTURE = 'examples/models/fraud-sklearn/';
const onnx = readFileSync(`${FIXTURE}model.onnx`);
const mapping = JSON.parse(readFileSync(`${FIXTURE}mapping.json`, 'utf8')) as { columns: string[] } & Record<string, unknown>;
const spec = loadPipelineSpec('examples/pipelines/fraud.yaml');
const pipeline = { spec, featureNames: featureNamesOf(spec.features) };
const body = (extra: Record<string, unknown> = {}) => ({ onnx_base64: onnx.toString('base64'), mapping, ...extra });

test('a registration request that is not what the endpoint takes is refused with INVALID_INPUT, naming the field', async () => {
  const refused = async (request: unknown, message: RegExp) => {
    await assert.rejects(checkExternalModel(request, pipeline), (e: unknown) => e instanceof BadExternalModelError && e.code === 'INVALID_INPUT' && message.test(e.message));
  };
  await refused([], /expected a JSON object/);
  await refused(body({ extra: 1 }), /unknown field\(s\) extra/);
  await refused(body({ onnx_base64: 'not base64!' }), /onnx_base64: not valid base64/);
  await refused(body({ stage: 'production' }), /stage: expected candidate or champion/);
  await refused(body({ threshold: 1.5 }), /threshold: expected a number in \[0, 1\]/);
  await refused(body({ name: spec.model.name }), /the pipeline's own trained model/);
  await refused(body({ name: 'a/b' }), /must be 1-128 letters/);
  await refused({ onnx_base64: onnx.toString('base64'), mapping: { ...mapping, name: undefined } }, /name: required/);
});

test('a checked external model is published at the next version of its name, as a candidate unless asked', async () => {
  const registry = memoryRegistry([registryRecord(spec.pipeline, 'fraud-sklearn', 4, 'archived', mapping.columns)]);
  const deps = { registry, logger: createLogger('external-test', 'silent'), now: () => 1234 };
  const model = await checkExternalModel(body({ threshold: 0.3 }), pipeline);
  const result = await publishExternalModel(deps, model);
  assert.deepEqual(
    [result.model_name, result.model_version, result.stage, result.threshold, result.algorithm, result.input_name, result.positive_class_index],
    ['fraud-sklearn', 5, 'candidate', 0.3, 'external', 'float_input', 1],
  );
  assert.equal(result.onnx_sha256, createHash('sha256').update(onnx).digest('hex'));
  const [record] = registry.published;
  assert.equal(record.created_at, 1234);
  assert.deepEqual(record.feature_names, mapping.columns);
  assert.deepEqual(record.signature, { input_name: 'float_input', probability_output: 'output_probability', positive_class_index: 1 });
  assert.ok(record.onnx.equals(onnx));
  // The admission travels with the record: size, operators, and what the probe's one run returned.
  assert.equal(record.params.onnx_bytes, String(onnx.length));
  assert.equal(record.params.operators, 'Cast, ai.onnx.ml:Imputer, ai.onnx.ml:LinearClassifier, ai.onnx.ml:Scaler');
  assert.equal(record.params.probe_outputs, 'output_label int64 [1]; output_probability float32 [1, 2]');
  assert.match(record.params.probe_memory_limit, /^1024 MiB \(RLIMIT_DATA\)$/);
  assert.equal(result.safety.probe_outputs, record.params.probe_outputs);

  const champion = await publishExternalModel(deps, await checkExternalModel(body({ stage: 'champion', name: 'sk2' }), pipeline));
  assert.deepEqual([champion.model_name, champion.model_version, champion.stage, champion.threshold], ['sk2', 1, 'champion', 0.5]);
});

test('a model that does not match its mapping is refused before anything is published', async () => {
  await assert.rejects(checkExternalModel(body({ mapping: { ...mapping, columns: mapping.columns.slice(0, 8) } }), pipeline), /mapping\.columns lists 8 features/);
  await assert.rejects(checkExternalModel(body({ mapping: { ...mapping, columns: [...mapping.columns.slice(0, 9), 'card_age_days'] } }), pipeline), /'card_age_days' not produced by the pipeline/);
});

test('an untrusted file is refused by its admission (413 over the size limit, 422 UNSAFE_MODEL) before the mapping is looked at', async () => {
  const code = (expected: string, status: number, message: RegExp) => (e: unknown) => {
    const error = e as { code?: string; status?: number; message: string };
    assert.equal(error.code, expected, error.message);
    assert.equal(error.status, status);
    assert.match(error.message, message);
    return true;
  };
  await assert.rejects(checkExternalModel(body(), pipeline, { maxBytes: onnx.length - 1 }), code('MODEL_TOO_LARGE', 413, new RegExp(`${onnx.length} bytes, over the limit`)));
  await assert.rejects(checkExternalModel(body({ onnx_base64: Buffer.from(externalDataModel()).toString('base64') }), pipeline), code('UNSAFE_MODEL', 422, /uses external data \('\.\.\/\.\.\/etc\/passwd'\)/));
  await assert.rejects(checkExternalModel(body({ onnx_base64: Buffer.from(customDomainModel()).toString('base64') }), pipeline), code('UNSAFE_MODEL', 422, /operator set 'com\.example\.evil'/));
  await assert.rejects(checkExternalModel(body({ onnx_base64: onnx.subarray(0, onnx.length - 40).toString('base64') }), pipeline), code('UNSAFE_MODEL', 422, /ONNX model: /));
});
