// Untrusted external ONNX files through the HTTP endpoint and the CLI, on the real broker: crafted files are refused
// with 413 MODEL_TOO_LARGE or 422 UNSAFE_MODEL naming what is wrong, nothing of them reaches the registry topic, and
// the one valid file is registered with its SHA-256 and probe results, which `models show` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { featureNamesOf } from '@streamloop/config';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import {
  allocationBombModel, customDomainModel, externalDataInSubgraph, externalDataModel, oversizedTensorModel, tinyClassifier,
  TINY_INPUT, TINY_OUTPUT,
} from '@streamloop/model-safety/testing';
import { TrainingModule } from '@streamloop/training';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
/** Twice HTTP_BODY_LIMIT's default (1mb): the registration route takes a file up to it, every other route 1mb. */
const MAX_BYTES = 2 * 1024 * 1024;
/** Pads a model's doc_string to `bytes` more: a valid file of any size. */
const padded = (bytes: number) => tinyClassifier((m) => { m.docString = 'x'.repeat(bytes); });

/** `streamloop ARGS...` as a user runs it; resolves with its exit code and output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [`${ROOT}bin/streamloop.mjs`, ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('crafted ONNX files are refused over HTTP and the CLI, nothing of them is published, and a valid one is registered with its hash', {
  skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000,
}, async () => {
  const name = uniqueName('untrusted');
  const spec = testPipeline(name, (s) => { s.topics.models = uniqueName('models'); });
  const columns = featureNamesOf(spec.features).slice(0, 2);
  const mapping = { input: TINY_INPUT, columns, probability_output: TINY_OUTPUT, positive_class_index: 1 };
  const stack = await startStack(brokers!, [spec], [TrainingModule], {
    env: { STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: String(MAX_BYTES), STREAMLOOP_MODEL_PROBE_MEMORY_MB: '512', STREAMLOOP_MODEL_PROBE_TIMEOUT: '30s' },
  });
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const endpoint = `${stack.serving.url}/v1/pipelines/${name}/models/external`;
    const post = (onnx: Uint8Array, extra: Record<string, unknown> = {}) => request(endpoint, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'tiny', onnx_base64: Buffer.from(onnx).toString('base64'), mapping, ...extra }),
    });

    // 1.5 MiB (a doc string pads it): over HTTP_BODY_LIMIT once base64, within the model limit.
    const valid = padded(1536 * 1024);
    const cases: Array<{ what: string; onnx: Uint8Array; status: number; code: string; reason: RegExp }> = [
      { what: 'truncated', onnx: valid.subarray(0, valid.length - 9), status: 422, code: 'UNSAFE_MODEL', reason: /^ONNX model: / },
      { what: 'external data', onnx: externalDataModel(), status: 422, code: 'UNSAFE_MODEL', reason: /tensor 'W' .*uses external data \('\.\.\/\.\.\/etc\/passwd'\)/ },
      { what: 'external data in a subgraph', onnx: externalDataInSubgraph(), status: 422, code: 'UNSAFE_MODEL', reason: /then_branch.*external data/ },
      { what: 'oversized tensor', onnx: oversizedTensorModel(), status: 422, code: 'UNSAFE_MODEL', reason: /dims \[1048576, 1048576\].*over the tensor limit of 2097152 bytes/ },
      { what: 'custom domain', onnx: customDomainModel(), status: 422, code: 'UNSAFE_MODEL', reason: /operator set 'com\.example\.evil', which is refused/ },
      { what: 'allocation bomb', onnx: allocationBombModel(), status: 422, code: 'UNSAFE_MODEL', reason: /^probe: / },
      {
        what: 'over the size limit', onnx: padded(MAX_BYTES),
        status: 413, code: 'MODEL_TOO_LARGE', reason: /over the limit of 2097152 bytes \(STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES\)/,
      },
    ];
    for (const c of cases) {
      const error = assertErrorBody(await post(c.onnx), c.status, c.code);
      assert.match(error.message, c.reason, c.what);
    }
    // Far over the limit, the body itself is refused before it is read whole; other routes keep HTTP_BODY_LIMIT.
    assertErrorBody(await post(padded(2 * MAX_BYTES)), 413, 'PAYLOAD_TOO_LARGE');
    const otherRoute = await request(`${stack.serving.url}/v1/pipelines/${name}/models/rollback`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x'.repeat(1024 * 1024 + 1) }),
    });
    assertErrorBody(otherRoute, 413, 'PAYLOAD_TOO_LARGE');

    // The CLI says the same and exits non-zero.
    const dir = mkdtempSync(join(tmpdir(), 'untrusted-'));
    writeFileSync(join(dir, 'evil.onnx'), externalDataModel());
    writeFileSync(join(dir, 'tiny.onnx'), valid);
    writeFileSync(join(dir, 'mapping.json'), JSON.stringify({ ...mapping, name: 'tiny' }));
    const refused = await cli(['register-model', '--pipeline', name, '--onnx', join(dir, 'evil.onnx'), '--mapping', join(dir, 'mapping.json'), '--api', stack.serving.url]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /registration failed \(HTTP 422 UNSAFE_MODEL: .*external data \('\.\.\/\.\.\/etc\/passwd'\)/);

    assert.equal((await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, ctx.topics.models)).length, 0, 'no refused model reached the registry');

    // The valid file is admitted and registered, with its hash and what its probe returned.
    const registered = await cli(['register-model', '--pipeline', name, '--onnx', join(dir, 'tiny.onnx'), '--mapping', join(dir, 'mapping.json'), '--api', stack.serving.url]);
    assert.equal(registered.code, 0, registered.stderr);
    const answer = JSON.parse(registered.stdout) as { model_version: number; onnx_sha256: string; safety: { operators: string[]; probe_outputs: string } };
    const sha256 = createHash('sha256').update(valid).digest('hex');
    assert.equal(answer.onnx_sha256, sha256);
    assert.deepEqual(answer.safety.operators, ['IsNaN', 'MatMul', 'Softmax', 'Where']);
    assert.equal(answer.safety.probe_outputs, `${TINY_OUTPUT} float32 [1, 2]`);

    const published = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, ctx.topics.models);
    assert.equal(published.length, 1);
    assert.equal(published[0].value.onnx_sha256, sha256);
    assert.equal(createHash('sha256').update(published[0].value.onnx).digest('hex'), sha256, 'the bytes on the topic are the ones hashed');

    const shown = await cli(['models', 'show', '--pipeline', name, '--version', String(answer.model_version), '--model', 'tiny', '--api', stack.serving.url]);
    assert.equal(shown.code, 0, shown.stderr);
    const record = JSON.parse(shown.stdout) as { onnx_sha256: string; params: Record<string, string> };
    assert.equal(record.onnx_sha256, sha256);
    assert.equal(record.params.onnx_bytes, String(valid.length));
    assert.equal(record.params.operators, 'IsNaN, MatMul, Softmax, Where');
    assert.equal(record.params.probe_outputs, `${TINY_OUTPUT} float32 [1, 2]`);
    assert.equal(record.params.probe_memory_limit, '512 MiB (RLIMIT_DATA)');
  } finally {
    await stack.close();
  }
});
