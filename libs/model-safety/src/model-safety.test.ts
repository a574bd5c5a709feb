import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PlatformError } from '@streamloop/errors';
import {
  allocationBombModel, customDomainModel, endlessLoopModel, externalDataInSubgraph, externalDataModel, negativeDimsModel,
  oversizedTensorModel, shortRawDataModel, tinyClassifier, TINY_INPUT, TINY_OUTPUT, withWeights,
} from './test-support';
import { admitOnnxModel, checkOnnxSafety, describeTensors, ModelTooLargeError, probeOnnxModel, UnsafeModelError } from './index';

const FRAUD_SKLEARN = readFileSync(new URL('../../../examples/models/fraud-sklearn/model.onnx', import.meta.url));

/** Asserts a refusal with its code and HTTP status, and a message matching `reason`. */
function refused(fn: () => unknown, code: 'UNSAFE_MODEL' | 'MODEL_TOO_LARGE', reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PlatformError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, code === 'UNSAFE_MODEL' ? 422 : 413);
    assert.match(error.message, reason);
    return true;
  });
}

test('a valid small model passes the static checks, which report its operators, inputs and outputs', () => {
  const report = checkOnnxSafety(tinyClassifier());
  assert.deepEqual(report.operators, ['IsNaN', 'MatMul', 'Softmax', 'Where']);
  assert.deepEqual(report.opsets, { 'ai.onnx': 17 });
  assert.deepEqual(report.inputs, [{ name: TINY_INPUT, type: 'float32', dims: ['N', 2] }]);
  assert.deepEqual(report.outputs, [{ name: TINY_OUTPUT, type: 'float32', dims: ['N', 2] }]);
  assert.equal(report.tensors, 2);
  // skl2onnx's export of a scikit-learn pipeline (ai.onnx.ml operators) passes too.
  assert.deepEqual(checkOnnxSafety(FRAUD_SKLEARN).operators, ['Cast', 'ai.onnx.ml:Imputer', 'ai.onnx.ml:LinearClassifier', 'ai.onnx.ml:Scaler']);
});

test('a file over the size limit is 413 MODEL_TOO_LARGE; an empty one is refused', () => {
  const bytes = tinyClassifier();
  refused(() => checkOnnxSafety(bytes, { maxBytes: bytes.length - 1 }), 'MODEL_TOO_LARGE', new RegExp(`${bytes.length} bytes, over the limit of ${bytes.length - 1}`));
  assert.ok(checkOnnxSafety(bytes, { maxBytes: bytes.length }));
  assert.throws(() => checkOnnxSafety(bytes, { maxBytes: 10 }), ModelTooLargeError);
  refused(() => checkOnnxSafety(new Uint8Array(0)), 'UNSAFE_MODEL', /empty/);
});

test('a truncated file is refused at every cut, never read past its end', () => {
  const bytes = tinyClassifier();
  for (const cut of [1, 7, 20, Math.floor(bytes.length / 2), bytes.length - 3, bytes.length - 1]) {
    refused(() => checkOnnxSafety(bytes.subarray(0, cut)), 'UNSAFE_MODEL', /does not decode|no graph|ir_version|declares|no (input|output)|carries/);
  }
  refused(() => checkOnnxSafety(Buffer.from('GIF89a not a model at all')), 'UNSAFE_MODEL', /ONNX model/);
});

test('external data is refused wherever it hides: an initializer pointing to ../../etc/passwd, a subgraph constant', () => {
  refused(() => checkOnnxSafety(externalDataModel()), 'UNSAFE_MODEL', /tensor 'W' in the main graph initializers uses external data \('\.\.\/\.\.\/etc\/passwd'\)/);
  refused(() => checkOnnxSafety(externalDataInSubgraph()), 'UNSAFE_MODEL', /tensor 'secret' in .*attribute 'then_branch' subgraph.* uses external data \('\/etc\/shadow'\)/);
});

test('tensors must be what their dims declare: oversized, negative, overflowing, or short of data are refused', () => {
  refused(() => checkOnnxSafety(oversizedTensorModel()), 'UNSAFE_MODEL', /tensor 'W'.*dims \[1048576, 1048576\] of FLOAT, 4398046511104 bytes, over the tensor limit/);
  refused(() => checkOnnxSafety(shortRawDataModel()), 'UNSAFE_MODEL', /declares dims \[2, 2\] of FLOAT, 16 bytes, but its raw_data has 8/);
  refused(() => checkOnnxSafety(negativeDimsModel()), 'UNSAFE_MODEL', /negative dimension \(dims\[0\] = -2\)/);
  const overflow = tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: ['4294967296', '4294967296'], dataType: 1, floatData: [1, 2, 3, 4] });
  });
  refused(() => checkOnnxSafety(overflow), 'UNSAFE_MODEL', /product overflows/);
  const fewValues = tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [2, 2], dataType: 1, floatData: [1, 2, 3] });
  });
  refused(() => checkOnnxSafety(fewValues), 'UNSAFE_MODEL', /\(4 elements\) but its float_data has 3 values/);
  const noData = tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [2, 2], dataType: 1 });
  });
  refused(() => checkOnnxSafety(noData), 'UNSAFE_MODEL', /carries no data/);
  // Within a tensor limit of 16 bytes the tiny model's 16-byte weights are fine; within 15 they are not.
  assert.ok(checkOnnxSafety(tinyClassifier(), { maxTensorBytes: 16 }));
  refused(() => checkOnnxSafety(tinyClassifier(), { maxTensorBytes: 15 }), 'UNSAFE_MODEL', /over the tensor limit of 15 bytes/);
});

test('operators outside ai.onnx and ai.onnx.ml are refused, imported or not; so are risky and unknown standard ones', () => {
  refused(() => checkOnnxSafety(customDomainModel()), 'UNSAFE_MODEL', /imports operator set 'com\.example\.evil', which is refused/);
  const notImported = tinyClassifier((_, g) => {
    g.node!.find((n) => n.opType === 'MatMul')!.domain = 'com.microsoft';
  });
  refused(() => checkOnnxSafety(notImported), 'UNSAFE_MODEL', /node 'logits' uses operator 'com\.microsoft:MatMul' from a custom domain/);
  const unknownOp = tinyClassifier((_, g) => {
    g.node!.find((n) => n.opType === 'Softmax')!.opType = 'SoftmaxButFaster';
  });
  refused(() => checkOnnxSafety(unknownOp), 'UNSAFE_MODEL', /operator 'SoftmaxButFaster', which is not in ai\.onnx's allow-list/);
  const decoder = tinyClassifier((_, g) => {
    g.node!.find((n) => n.opType === 'Softmax')!.opType = 'ImageDecoder';
  });
  refused(() => checkOnnxSafety(decoder), 'UNSAFE_MODEL', /'ImageDecoder', which is refused: it decodes image bytes/);
  const mlNotImported = tinyClassifier((_, g) => {
    g.node!.push({ domain: 'ai.onnx.ml', opType: 'Normalizer', input: [TINY_OUTPUT], output: ['n'] });
  });
  refused(() => checkOnnxSafety(mlNotImported), 'UNSAFE_MODEL', /uses domain 'ai\.onnx\.ml', which the model does not import/);
  const functions = tinyClassifier((m) => {
    m.functions = [{ name: 'Helper', domain: 'local', node: [] }];
  });
  refused(() => checkOnnxSafety(functions), 'UNSAFE_MODEL', /model-local functions \('local:Helper'\) are refused/);
});

test('the probe loads the model in a child process and runs it once on zeros of the declared shape', async () => {
  const report = await probeOnnxModel(tinyClassifier(), checkOnnxSafety(tinyClassifier()), { timeoutMs: 60_000 });
  assert.deepEqual(report.inputs, [{ name: TINY_INPUT, type: 'float32', dims: [1, 2] }]);
  assert.deepEqual(report.outputs, [{ name: TINY_OUTPUT, type: 'float32', dims: [1, 2] }]);
  assert.equal(report.memoryLimit, 'rlimit-data', 'prlimit (util-linux) applies the memory limit');
  const admitted = await admitOnnxModel(FRAUD_SKLEARN, { probe: { timeoutMs: 60_000 } });
  assert.equal(admitted.sha256, createHash('sha256').update(FRAUD_SKLEARN).digest('hex'));
  assert.equal(describeTensors(admitted.probe.outputs), 'output_label int64 [1]; output_probability float32 [1, 2]');
});

test('a model that allocates without bound fails its probe under the memory limit, and the service lives on', async () => {
  const bomb = allocationBombModel();
  assert.ok(checkOnnxSafety(bomb), 'the bomb passes the static checks: only running it shows it');
  await assert.rejects(admitOnnxModel(bomb, { probe: { memoryMb: 512, timeoutMs: 60_000 } }), (error: unknown) => {
    assert.ok(error instanceof UnsafeModelError);
    assert.equal(error.status, 422);
    assert.match(error.message, /^probe: .*(bad_alloc|allocate|memory limit of 512 MiB)/);
    return true;
  });
});

test('a model that runs too long is killed at the timeout and refused', async () => {
  const started = Date.now();
  await assert.rejects(admitOnnxModel(endlessLoopModel(), { probe: { timeoutMs: 3_000 } }), /probe: loading and running the model once did not finish within 3000 ms; the probe was killed/);
  assert.ok(Date.now() - started < 20_000, 'the probe was stopped near its timeout');
});

test('onnxruntime refusing a model that passed the static checks is named as the probe\'s failure', async () => {
  // A graph whose MatMul shapes cannot agree: W is [3, 2] but x is [N, 2].
  const mismatched = tinyClassifier((_, g) => {
    withWeights(g, { name: 'W', dims: [3, 2], dataType: 1, floatData: [1, 2, 3, 4, 5, 6] });
  });
  await assert.rejects(admitOnnxModel(mismatched, { probe: { timeoutMs: 60_000 } }), /^UnsafeModelError: probe: onnxruntime failed to (load the model|run the model once on zeros): /);
});
