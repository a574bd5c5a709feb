import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { exportGbdtOnnx, gaussian, GradientBoostedTrees, OnnxScorer, roundToFloat32, seededRandom, toFloat32Rows, validateModel } from '../index';

const { onnx } = onnxProto;
const NAMES = ['amount', 'age_days', 'ratio', 'count_1h', 'score', 'flag'];

/** Mixed scales, 10% NaN, a NaN-means-positive column, and labels / targets with interactions. */
function dataset(n: number, seed: number): { X: number[][]; y: number[]; target: number[] } {
  const rnd = seededRandom(seed);
  const g = gaussian(rnd);
  const X: number[][] = [], y: number[] = [], target: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [Math.exp(3 + g()), 365 * rnd(), g() * 0.01, Math.floor(rnd() * 20), 1000 + 50 * g(), rnd() < 0.2 ? Number.NaN : rnd()];
    const z = -1 + 0.03 * (x[0] - 30) - 0.004 * x[1] + (x[2] > 0 ? 1.5 : -1) * (x[3] > 10 ? 1 : -0.5) + (Number.isNaN(x[5]) ? 1.5 : 0);
    y.push(rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
    target.push(Math.tanh(z) + 0.1 * g());
    for (let j = 0; j < 5; j++) if (rnd() < 0.1) x[j] = Number.NaN;
    X.push(x);
  }
  return { X, y, target };
}

const allNan = (k: number) => Array.from({ length: k }, () => new Array(NAMES.length).fill(Number.NaN) as number[]);

test('GBDT classifier ONNX graph scores like the TypeScript model (|Δp| ≤ 1e-5 on held-out float32 rows with NaN) and loads in OnnxScorer', async () => {
  const train = dataset(3000, 31), held = dataset(800, 32);
  const model = GradientBoostedTrees.fit(train.X, train.y, { featureNames: NAMES, subsample: 0.8, colsample: 0.8, seed: 5 });
  const bytes = exportGbdtOnnx(model, { modelName: 'gbdt_parity', modelVersion: 2 });
  const X = roundToFloat32([...held.X, ...allNan(3), [Number.NaN, 10, Number.NaN, 3, Number.NaN, 0.5]]);
  const expected = model.predictProba(X);
  const scorer = await OnnxScorer.load(bytes, { expectedFeatures: NAMES.length });
  try {
    assert.equal(scorer.inputName, 'features');
    assert.deepEqual(JSON.parse(scorer.signature.metadata.feature_names), NAMES);
    assert.equal(scorer.signature.metadata.model_type, 'gbdt_classifier');
    assert.equal(scorer.signature.hasLabelOutput, true);
    const { probabilities, labels } = await scorer.score(toFloat32Rows(X, NAMES.length), X.length);
    let max = 0;
    for (let i = 0; i < X.length; i++) {
      max = Math.max(max, Math.abs(probabilities[i] - expected[i]));
      if (Math.abs(expected[i] - 0.5) > 1e-6) assert.equal(labels[i], expected[i] > 0.5 ? 1 : 0, `label of row ${i}`);
    }
    assert.ok(max <= 1e-5, `max abs diff ${max}`);
    // All-NaN rows follow every learned default direction: same score on both sides.
    assert.ok(Math.abs(probabilities[held.X.length] - expected[held.X.length]) <= 1e-5);
  } finally {
    await scorer.release();
  }
  const parity = await validateModel(bytes, X, expected, 1e-5);
  assert.equal(parity.ok, true, `parity ${parity.maxAbsDiff} at row ${parity.worstRow}`);
});

test('GBDT regressor ONNX graph (TreeEnsembleRegressor → variable [N, 1]) matches predict within 1e-5, NaN rows included', async () => {
  const train = dataset(3000, 41), held = dataset(800, 42);
  const model = GradientBoostedTrees.fit(train.X, train.target, { task: 'regression', featureNames: NAMES, maxDepth: 6, seed: 1 });
  const bytes = exportGbdtOnnx(model, { modelName: 'gbdt_reg' });
  const X = roundToFloat32([...held.X, ...allNan(2)]);
  const expected = model.predict(X);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    assert.deepEqual(session.outputNames, ['variable']);
    const out = await session.run({ features: new ort.Tensor('float32', toFloat32Rows(X, NAMES.length), [X.length, NAMES.length]) });
    const v = out.variable;
    assert.deepEqual(v.dims, [X.length, 1]);
    const data = v.data as Float32Array;
    let max = 0;
    for (let i = 0; i < X.length; i++) max = Math.max(max, Math.abs(data[i] - expected[i]));
    assert.ok(max <= 1e-5, `max abs diff ${max}`);
  } finally {
    await session.release();
  }
  // Not a classifier: the scorer (which needs 'probabilities') refuses it with a clear message.
  await assert.rejects(OnnxScorer.load(bytes), /needs a float output 'probabilities'/);
});

test('a split on "NaN vs any value" (threshold +∞) exports and scores the same', async () => {
  const rnd = seededRandom(8);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const missing = rnd() < 0.3;
    X.push([missing ? Number.NaN : rnd() * 10, rnd()]);
    y.push(missing ? (rnd() < 0.9 ? 1 : 0) : rnd() < 0.1 ? 1 : 0);
  }
  const model = GradientBoostedTrees.fit(X, y, { maxIter: 5, maxLeafNodes: 2 });
  assert.equal(model.trees[0].threshold[0], Infinity, 'the root separates NaN from every observed value');
  const back = GradientBoostedTrees.fromJSON(JSON.parse(JSON.stringify(model)));
  assert.equal(back.trees[0].threshold[0], Infinity);
  const probe = roundToFloat32([[Number.NaN, 0.5], [3, 0.5], [1e30, 0.2], [Infinity, 0.1]]);
  const parity = await validateModel(exportGbdtOnnx(model, { modelName: 'nan_split' }), probe, model.predictProba(probe), 1e-5);
  assert.equal(parity.ok, true, `parity ${parity.maxAbsDiff}`);
});

test('export is deterministic, one TreeEnsembleClassifier node with BRANCH_LEQ and float32 thresholds', () => {
  const { X, y } = dataset(600, 51);
  const fit = () => GradientBoostedTrees.fit(X, y, { maxIter: 10, featureNames: NAMES });
  const a = exportGbdtOnnx(fit(), { modelName: 'm' });
  assert.deepEqual(exportGbdtOnnx(fit(), { modelName: 'm' }), a);
  const m = onnx.ModelProto.decode(a);
  assert.equal(Number(m.irVersion), 8);
  assert.deepEqual(m.graph!.node!.map((n) => `${n.domain}:${n.opType}`), ['ai.onnx.ml:TreeEnsembleClassifier']);
  assert.deepEqual(m.graph!.output!.map((o) => o.name), ['label', 'probabilities']);
  const attr = (name: string) => m.graph!.node![0].attribute!.find((x) => x.name === name)!;
  const modes = new Set(attr('nodes_modes').strings!.map((s) => new TextDecoder().decode(s)));
  assert.deepEqual([...modes].sort(), ['BRANCH_LEQ', 'LEAF']);
  assert.ok(attr('nodes_missing_value_tracks_true').ints!.length > 0);
  assert.throws(() => exportGbdtOnnx(fit(), { modelName: '' }), /modelName is required/);
  assert.throws(() => exportGbdtOnnx(fit(), { modelName: 'm', featureNames: ['a'] }), /1 feature names for a model of 6 features/);
});
