import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import {
  exportOnnx, gaussian, inspectOnnx, OnnxModelError, OnnxScorer, roundToFloat32, seededRandom, TabularPipeline, timeSplit, toFloat32Rows, validateModel,
} from './index';

const { onnx } = onnxProto;
const NAMES = ['amount', 'age_days', 'ratio', 'count_1h', 'score'];

/** Synthetic rows with different scales, offsets and ~10% NaN, labelled by a logistic model. */
function dataset(n: number, seed: number): Array<{ t: number; x: number[]; y: number }> {
  const rnd = seededRandom(seed);
  const g = gaussian(rnd);
  return Array.from({ length: n }, (_, i) => {
    const x = [Math.exp(3 + g()), 365 * rnd(), g() * 0.01, Math.floor(rnd() * 20), 1000 + 50 * g()];
    const z = -1 + 0.02 * (x[0] - 30) - 0.004 * x[1] + 80 * x[2] + 0.1 * x[3] + 0.01 * (x[4] - 1000);
    const y = rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    for (let j = 0; j < x.length; j++) if (rnd() < 0.1) x[j] = Number.NaN;
    return { t: i, x, y };
  });
}

test('ONNX export scores like the TypeScript model (max |Δp| ≤ 1e-5 on held-out rows with NaN)', async () => {
  const rows = dataset(2000, 21);
  const { train, test: held } = timeSplit(rows, { timeKey: 't', holdoutFraction: 0.25 });
  const model = TabularPipeline.fit(train.map((r) => r.x), train.map((r) => r.y), { featureNames: NAMES, params: { l2: 1 } });
  const bytes = exportOnnx(model, { modelName: 'parity', modelVersion: 3 });
  const X = held.map((r) => r.x);
  assert.ok(X.some((r) => r.some(Number.isNaN)), 'held-out rows include NaN');
  // onnxruntime sees float32 inputs: the reference is the TS model on float32-rounded rows.
  const expected = model.predictProba(roundToFloat32(X));
  const scorer = await OnnxScorer.load(bytes, { expectedFeatures: NAMES.length });
  try {
    assert.equal(scorer.inputName, 'features');
    assert.equal(scorer.featureCount, NAMES.length);
    assert.deepEqual(JSON.parse(scorer.signature.metadata.feature_names), NAMES);
    assert.deepEqual(scorer.signature.opsets, { 'ai.onnx': 17, 'ai.onnx.ml': 3 });
    const { probabilities, labels } = await scorer.score(toFloat32Rows(X, NAMES.length), X.length);
    let max = 0;
    for (let i = 0; i < X.length; i++) {
      max = Math.max(max, Math.abs(probabilities[i] - expected[i]));
      // onnxruntime's label is 1 when the logit is > 0, i.e. p > 0.5.
      if (Math.abs(expected[i] - 0.5) > 1e-6) assert.equal(labels[i], expected[i] > 0.5 ? 1 : 0, `label of row ${i}`);
    }
    assert.ok(max <= 1e-5, `max abs diff ${max}`);
    // An all-NaN row is the intercept alone.
    const nanRow = await scorer.score(new Float32Array(NAMES.length).fill(Number.NaN), 1);
    assert.ok(Math.abs(nanRow.probabilities[0] - 1 / (1 + Math.exp(-model.model.intercept))) < 1e-6);
    assert.deepEqual(await scorer.score(new Float32Array(0), 0), { probabilities: new Float32Array(0), labels: new Uint8Array(0) });
    await assert.rejects(scorer.score(new Float32Array(7), 2), /expected a Float32Array of 2 × 5 = 10 values, got 7/);
  } finally {
    await scorer.release();
  }
  const parity = await validateModel(bytes, roundToFloat32(X), expected, 1e-5);
  assert.equal(parity.ok, true, `parity ${parity.maxAbsDiff}`);
  assert.equal(parity.rows, X.length);
  // A model that disagrees is reported, not thrown.
  const shifted = Float64Array.from(expected, (p) => Math.min(1, p + 0.01));
  const bad = await validateModel(bytes, X, shifted, 1e-5);
  assert.equal(bad.ok, false);
  assert.ok(bad.maxAbsDiff > 0.005);
});

test('export is deterministic and the graph is Imputer → Scaler → LinearClassifier at IR 8', () => {
  const rows = dataset(300, 5);
  const fit = () => TabularPipeline.fit(rows.map((r) => r.x), rows.map((r) => r.y), { featureNames: NAMES });
  const a = exportOnnx(fit(), { modelName: 'm' });
  const b = exportOnnx(fit(), { modelName: 'm' });
  assert.deepEqual(a, b);
  const m = onnx.ModelProto.decode(a);
  assert.equal(Number(m.irVersion), 8);
  assert.deepEqual(m.graph!.node!.map((n) => `${n.domain}:${n.opType}`), ['ai.onnx.ml:Imputer', 'ai.onnx.ml:Scaler', 'ai.onnx.ml:LinearClassifier']);
  assert.deepEqual(m.graph!.output!.map((o) => o.name), ['label', 'probabilities']);
});

test('the scorer refuses external data, wrong widths, foreign domains and garbage', async () => {
  const rows = dataset(300, 6);
  const model = TabularPipeline.fit(rows.map((r) => r.x), rows.map((r) => r.y), { featureNames: NAMES });
  const bytes = exportOnnx(model, { modelName: 'm' });
  await assert.rejects(OnnxScorer.load(bytes, { expectedFeatures: 4 }), /input 'features' has 5 features, expected 4/);

  const withExternal = onnx.ModelProto.decode(bytes);
  withExternal.graph!.initializer = [onnx.TensorProto.create({
    name: 'w', dataType: onnx.TensorProto.DataType.FLOAT, dims: [1], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: 'location', value: '../../etc/passwd' }],
  })];
  await assert.rejects(OnnxScorer.load(onnx.ModelProto.encode(withExternal).finish()), (e: unknown) => e instanceof OnnxModelError && /tensor 'w' .* external data/.test(e.message));

  const foreign = onnx.ModelProto.decode(bytes);
  foreign.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: 'com.evil', version: 1 }));
  await assert.rejects(OnnxScorer.load(onnx.ModelProto.encode(foreign).finish()), /domain 'com.evil' is not allowed/);

  assert.throws(() => inspectOnnx(new Uint8Array([0xff, 0xff, 0xff, 0xff])), /not a valid ModelProto/);
  assert.throws(() => inspectOnnx(new Uint8Array(0)), /size 0 bytes/);
  await assert.rejects(validateModel(new Uint8Array([8, 1]), [[1, 2, 3, 4, 5]], [0.5]), OnnxModelError);
});
