import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from './random';
import { roundToFloat32 } from './pipeline';
import { validateModel } from './onnx-scorer';
import { ALGORITHMS, parseGbdtParams, trainClassifier } from './trainer';

function dataset(n: number) {
  const rnd = seededRandom(5);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1;
    X.push([a, rnd() < 0.1 ? Number.NaN : b, rnd()]);
    y.push(rnd() < 1 / (1 + Math.exp(-(3 * a + 3 * a * (b > 0 ? 1 : -1)))) ? 1 : 0);
  }
  return { X, y };
}

for (const algorithm of ALGORITHMS) {
  test(`${algorithm}: trains, exports ONNX that agrees with it, and reports importance`, async () => {
    const { X, y } = dataset(1500);
    const model = trainClassifier(algorithm, X.slice(0, 1200), y.slice(0, 1200), { featureNames: ['a', 'b', 'noise'] });
    const test = roundToFloat32(X.slice(1200));
    const parity = await validateModel(model.toOnnx('t'), test, model.predictProba(test), 1e-5);
    assert.ok(parity.ok, `max abs diff ${parity.maxAbsDiff}`);
    const importance = model.featureImportance();
    assert.ok(Math.abs(Object.values(importance).reduce((s, v) => s + v, 0) - 1) < 1e-9);
    assert.ok(importance.a > importance.noise, JSON.stringify(importance));
  });
}

test('gbdt params come from the spec in scikit-learn names; unknown ones are refused by name', () => {
  assert.deepEqual(parseGbdtParams({ learning_rate: 0.05, max_leaf_nodes: '15', early_stopping: 'auto' }), { learningRate: 0.05, maxLeafNodes: 15, earlyStopping: 'auto' });
  assert.throws(() => parseGbdtParams({ learningrate: 0.1 }), /model\.params\.learningrate: unknown param for gbdt/);
  assert.throws(() => parseGbdtParams({ max_iter: 'many' }), /model\.params\.max_iter: expected a number/);
  assert.throws(() => trainClassifier('svm' as never, [[1]], [1], { featureNames: ['x'] }), /model\.algorithm: expected one of/);
});

for (const algorithm of ALGORITHMS) {
  test(`${algorithm} with impute from the params: one ONNX graph (Imputer first) agrees with it on rows with NaN`, async () => {
    const { X, y } = dataset(1500);
    const variants: Array<Record<string, string | number>> = [{ impute: 'median' }, { impute: 'constant', impute_value: -2 }, { impute: 'most_frequent' }];
    for (const params of variants) {
      const model = trainClassifier(algorithm, X.slice(0, 1200), y.slice(0, 1200), { featureNames: ['a', 'b', 'noise'], params });
      const test = roundToFloat32(X.slice(1200));
      assert.ok(test.some((r) => r.some(Number.isNaN)), 'held-out rows have missing values');
      const parity = await validateModel(model.toOnnx('t'), test, model.predictProba(test), 1e-5);
      assert.ok(parity.ok, `${JSON.stringify(params)}: max abs diff ${parity.maxAbsDiff}`);
      assert.equal(model.describe().impute, params.impute);
      assert.equal(model.trees !== undefined, algorithm === 'gbdt');
    }
    // A constant far outside the data changes what a missing b means, so the scores of rows with NaN move.
    const near = trainClassifier(algorithm, X.slice(0, 1200), y.slice(0, 1200), { featureNames: ['a', 'b', 'noise'], params: { impute: 'constant', impute_value: 0 } });
    const far = trainClassifier(algorithm, X.slice(0, 1200), y.slice(0, 1200), { featureNames: ['a', 'b', 'noise'], params: { impute: 'constant', impute_value: 50 } });
    const missingB = [[0.5, Number.NaN, 0.5]];
    assert.notEqual(near.predictProba(missingB)[0], far.predictProba(missingB)[0]);
  });
}

test('impute params are checked by name', () => {
  const X = [[1], [2], [3], [4]], y = [0, 1, 0, 1];
  assert.throws(() => trainClassifier('gbdt', X, y, { featureNames: ['x'], params: { impute: 'mode' } }), /model\.params\.impute: expected one of mean, median, most_frequent, constant, got "mode"/);
  assert.throws(() => trainClassifier('gbdt', X, y, { featureNames: ['x'], params: { impute: 'median', impute_value: 3 } }), /model\.params\.impute_value: only with impute: constant, not median/);
  assert.throws(() => trainClassifier('logistic_regression', X, y, { featureNames: ['x'], params: { impute_value: 3 } }), /model\.params\.impute_value: only with impute: constant/);
});

test('gbdtThreads reaches the GBDT fit, imputed or not; it is not a model param', () => {
  const { X, y } = dataset(200);
  const featureNames = ['a', 'b', 'noise'];
  assert.throws(() => trainClassifier('gbdt', X, y, { featureNames, gbdtThreads: 16 }), /option threads is 16 \(STREAMLOOP_GBDT_THREADS\)/);
  assert.throws(() => trainClassifier('gbdt', X, y, { featureNames, params: { impute: 'median' }, gbdtThreads: 0 }), /option threads is 0/);
  assert.equal(trainClassifier('gbdt', X, y, { featureNames, params: { max_iter: 3 }, gbdtThreads: 1 }).algorithm, 'gbdt');
  assert.throws(() => parseGbdtParams({ threads: 2 }), /model\.params\.threads: unknown param for gbdt/);
});
