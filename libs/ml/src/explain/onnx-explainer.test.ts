import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import {
  explainerFromOnnx, exportOnnx, NoExplainerError, OnnxScorer, roundToFloat32, seededRandom, sigmoid, TabularPipeline,
  topContributions, trainClassifier, treeShap, type ModelExplainer,
} from '../index';

const NAMES = ['amount', 'age', 'hour', 'velocity', 'noise'];

/** Rows with interactions and ~10% NaN, labels from a noisy signal. */
function data(n: number, seed: number): { X: number[][]; y: number[] } {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [100 * rnd(), 18 + 60 * rnd(), 24 * rnd(), 5 * rnd(), rnd()];
    const signal = 0.03 * (x[0] - 50) + (x[2] > 20 ? 1.5 : -0.5) + (x[3] > 3 ? x[1] / 40 : -x[1] / 60) + 0.8 * (rnd() - 0.5);
    y.push(signal > 0 ? 1 : 0);
    for (let j = 0; j < x.length; j++) if (rnd() < 0.1) x[j] = Number.NaN;
    X.push(x);
  }
  return { X, y };
}

const { X, y } = data(1500, 7);
const probe = roundToFloat32(data(200, 99).X);

/** The check every explainer must pass: Σ contributions = margin − expected value, and sigmoid(margin) is onnxruntime's score. */
async function checkSumAndScore(explainer: ModelExplainer, onnx: Uint8Array, rows: ArrayLike<number>[]): Promise<void> {
  const scorer = await OnnxScorer.load(onnx, { expectedFeatures: NAMES.length });
  try {
    const flat = new Float32Array(rows.length * NAMES.length);
    rows.forEach((r, i) => flat.set(Array.from(r), i * NAMES.length));
    const { probabilities } = await scorer.score(flat, rows.length);
    for (const [i, row] of rows.entries()) {
      const { margin, contributions } = explainer.explainRow(row);
      assert.equal(contributions.length, NAMES.length);
      const sum = contributions.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - (margin - explainer.expectedValue)) <= 1e-9 * (1 + Math.abs(margin)), `row ${i}: Σ contributions ${sum} ≠ margin ${margin} − expected ${explainer.expectedValue}`);
      assert.ok(Math.abs(sigmoid(margin) - probabilities[i]) <= 2e-6, `row ${i}: sigmoid(margin) ${sigmoid(margin)} vs onnxruntime ${probabilities[i]}`);
    }
  } finally {
    await scorer.release();
  }
}

test('GBDT: exact TreeSHAP read from the ONNX graph sums to margin − expected value and equals the training-side TreeSHAP', async () => {
  const model = trainClassifier('gbdt', X, y, { featureNames: NAMES, params: { max_iter: 40, max_leaf_nodes: 15, learning_rate: 0.2 } });
  const onnx = model.toOnnx('g');
  const explainer = explainerFromOnnx(onnx, { featureNames: NAMES });
  assert.equal(explainer.method, 'tree_shap');
  await checkSumAndScore(explainer, onnx, probe);
  const reference = treeShap(model.trees!, probe);
  // The graph holds the leaf values in float32: the same game up to that rounding.
  assert.ok(Math.abs(explainer.expectedValue - reference.expectedValue) < 1e-5, `expected value ${explainer.expectedValue} vs ${reference.expectedValue}`);
  for (const [i, row] of probe.entries()) {
    const { contributions } = explainer.explainRow(row);
    for (let j = 0; j < NAMES.length; j++) {
      assert.ok(Math.abs(contributions[j] - reference.contributions[i][j]) < 1e-5, `row ${i} ${NAMES[j]}: ${contributions[j]} vs training-side ${reference.contributions[i][j]}`);
    }
  }
});

test('GBDT behind an imputer: TreeSHAP of the imputed row, as the training side computes it', async () => {
  const model = trainClassifier('gbdt', X, y, { featureNames: NAMES, params: { max_iter: 25, impute: 'median' } });
  const onnx = model.toOnnx('gi');
  const explainer = explainerFromOnnx(onnx, { featureNames: NAMES });
  await checkSumAndScore(explainer, onnx, probe);
  const reference = treeShap(model.trees!, model.modelInputs!(probe));
  for (const [i, row] of probe.entries()) {
    const { contributions } = explainer.explainRow(row);
    for (let j = 0; j < NAMES.length; j++) assert.ok(Math.abs(contributions[j] - reference.contributions[i][j]) < 1e-5, `row ${i} ${NAMES[j]}`);
  }
});

test('logistic regression: coefficient × standardized value, expected value = intercept, as TabularPipeline.explain', async () => {
  const pipeline = TabularPipeline.fit(X, y, { featureNames: NAMES });
  const onnx = exportOnnx(pipeline, { modelName: 'lr' });
  const explainer = explainerFromOnnx(onnx, { featureNames: NAMES });
  assert.equal(explainer.method, 'linear');
  assert.ok(Math.abs(explainer.expectedValue - pipeline.model.intercept) < 1e-6);
  await checkSumAndScore(explainer, onnx, probe);
  for (const row of probe) {
    const { contributions, margin } = explainer.explainRow(row);
    const reference = pipeline.explain(row);
    assert.ok(Math.abs(margin - reference.logit) < 1e-4, `margin ${margin} vs ${reference.logit}`);
    for (const c of reference.contributions) {
      const j = NAMES.indexOf(c.feature);
      assert.ok(Math.abs(contributions[j] - c.contribution) < 1e-4, `${c.feature}: ${contributions[j]} vs ${c.contribution}`);
    }
  }
});

test('logistic regression with a spec imputer (preprocessed export): the sum holds', async () => {
  const model = trainClassifier('logistic_regression', X, y, { featureNames: NAMES, params: { impute: 'most_frequent' } });
  const onnx = model.toOnnx('lri');
  const explainer = explainerFromOnnx(onnx, { featureNames: NAMES });
  assert.equal(explainer.method, 'linear');
  await checkSumAndScore(explainer, onnx, probe);
});

/** The model as exported before tree_node_counts existed. */
function withoutCover(bytes: Uint8Array): Uint8Array {
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  m.metadataProps = m.metadataProps.filter((p) => p.key !== 'tree_node_counts');
  return onnxProto.onnx.ModelProto.encode(m).finish();
}

test('GBDT exported without node covers: the cover comes from the registry record\'s reference sample', async () => {
  const model = trainClassifier('gbdt', X, y, { featureNames: NAMES, params: { max_iter: 30 } });
  const old = withoutCover(model.toOnnx('old'));
  assert.throws(() => explainerFromOnnx(old, { featureNames: NAMES }), (e: unknown) => e instanceof NoExplainerError && /no node cover/.test(e.message));
  // The reference sample is row-aligned training values per feature (training-run.ts referenceSample).
  const reference = Object.fromEntries(NAMES.map((f, j) => [f, X.map((r) => r[j])]));
  const explainer = explainerFromOnnx(old, { featureNames: NAMES, reference });
  await checkSumAndScore(explainer, old, probe);
  // Every training row as the sample: the same cover as training counted, so the same values.
  const training = treeShap(model.trees!, probe);
  for (const [i, row] of probe.slice(0, 50).entries()) {
    const { contributions } = explainer.explainRow(row);
    for (let j = 0; j < NAMES.length; j++) assert.ok(Math.abs(contributions[j] - training.contributions[i][j]) < 1e-5, `row ${i} ${NAMES[j]}`);
  }
});

test('a model trained elsewhere has no explainer, and says why', () => {
  const external = readFileSync(new URL('../../../../examples/models/fraud-sklearn/model.onnx', import.meta.url));
  const mapping = JSON.parse(readFileSync(new URL('../../../../examples/models/fraud-sklearn/mapping.json', import.meta.url), 'utf8')) as { columns: string[] };
  assert.throws(() => explainerFromOnnx(external, { featureNames: mapping.columns }), NoExplainerError);
  assert.throws(() => explainerFromOnnx(new Uint8Array([1, 2, 3]), { featureNames: NAMES }), NoExplainerError);
});

test('topContributions: the k largest by absolute value, largest first; none for k = 0', () => {
  const c = [0.1, -2, 0.5, 0, 1.5];
  assert.deepEqual(topContributions(NAMES, c, 3), [{ feature: 'age', value: -2 }, { feature: 'noise', value: 1.5 }, { feature: 'hour', value: 0.5 }]);
  assert.deepEqual(topContributions(NAMES, c, 0), []);
  assert.equal(topContributions(NAMES, c, 10).length, 5);
});
