import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseModelParams, seededRandom, Standardizer, TabularPipeline } from './index';

test('Standardizer: mean/std over observed values, NaN imputed to the mean (0 after scaling), JSON round trip', () => {
  const X = [[1, 10, 5], [3, Number.NaN, 5], [5, 30, 5], [Number.NaN, 20, 5]];
  const s = Standardizer.fit(X);
  assert.deepEqual(Array.from(s.means), [3, 20, 5]);
  // population std: sqrt(((1-3)² + 0 + (5-3)²) / 3)
  assert.ok(Math.abs(s.stds[0] - Math.sqrt(8 / 3)) < 1e-15);
  assert.equal(s.stds[2], 1, 'constant column keeps scale 1');
  const z = s.transformRow([Number.NaN, 30, 7]);
  assert.equal(z[0], 0);
  assert.ok(Math.abs(z[1] - 10 / Math.sqrt(200 / 3)) < 1e-15);
  assert.equal(z[2], 2);
  const back = Standardizer.fromJSON(JSON.parse(JSON.stringify(s)));
  assert.deepEqual(back.transform(X), s.transform(X));
  // A column with no observed value: mean 0, std 1.
  const empty = Standardizer.fit([[Number.NaN], [Number.NaN]]);
  assert.deepEqual([empty.means[0], empty.stds[0]], [0, 1]);
});

test('model.params from a pipeline spec: l2 or C, max_iter, class_weight, with errors naming the key', () => {
  assert.deepEqual(parseModelParams({ l2: 1.0, max_iter: 100 }), { l2: 1, maxIter: 100 });
  assert.deepEqual(parseModelParams({ C: 4, class_weight: 'balanced', solver: 'lbfgs', tol: 1e-6 }), { l2: 0.25, classWeight: 'balanced', solver: 'lbfgs', tol: 1e-6 });
  assert.deepEqual(parseModelParams({ class_weight: '0:1, 1:7.5' }), { classWeight: { 0: 1, 1: 7.5 } });
  assert.deepEqual(parseModelParams({ class_weight: 'none', fit_intercept: false }), { classWeight: null, fitIntercept: false });
  assert.throws(() => parseModelParams({ depth: 3 }), /model\.params\.depth: unknown parameter/);
  assert.throws(() => parseModelParams({ l2: 'big' }), /model\.params\.l2: expected a finite number/);
  assert.throws(() => parseModelParams({ l2: 1, C: 1 }), /either l2 or C/);
  assert.throws(() => parseModelParams({ class_weight: '1=5' }), /model\.params\.class_weight/);
});

function data(n: number, seed: number): { X: number[][]; y: number[] } {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 100, b = rnd() < 0.2 ? Number.NaN : rnd() * 2 - 1, c = rnd();
    X.push([a, b, c]);
    const z = 0.05 * (a - 50) + 2 * (Number.isNaN(b) ? 0 : b);
    y.push(rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
  }
  return { X, y };
}

test('TabularPipeline: fit with params, explain, records, JSON round trip', () => {
  const { X, y } = data(500, 4);
  const p = TabularPipeline.fit(X, y, { featureNames: ['amount', 'delta', 'noise'], params: { l2: 1, max_iter: 50 } });
  assert.deepEqual(p.featureNames, ['amount', 'delta', 'noise']);
  assert.ok(p.model.coefficients[0] > 0.5 && p.model.coefficients[1] > 0.3, `coefficients ${p.model.coefficients}`);
  const e = p.explain([90, Number.NaN, 0.5]);
  assert.equal(e.contributions[0].feature, 'amount');
  const delta = e.contributions.find((c) => c.feature === 'delta')!;
  assert.equal(delta.standardized, 0);
  assert.equal(delta.contribution, 0);
  const logit = e.contributions.reduce((s, c) => s + c.contribution, e.intercept);
  assert.ok(Math.abs(logit - e.logit) < 1e-12);
  assert.ok(Math.abs(e.probability - p.predictProba([[90, Number.NaN, 0.5]])[0]) < 1e-15);
  assert.deepEqual(Array.from(p.toRow({ noise: 0.5, amount: 90 })), [90, Number.NaN, 0.5]);
  const back = TabularPipeline.fromJSON(JSON.parse(JSON.stringify(p)));
  assert.deepEqual(Array.from(back.predictProba(X)), Array.from(p.predictProba(X)));
  assert.deepEqual(back.featureNames, p.featureNames);
});

test('TabularPipeline errors name what is wrong', () => {
  assert.throws(() => TabularPipeline.fit([[1, 2]], [1], { featureNames: ['a'] }), /row 0 has 2 values, expected 1/);
  assert.throws(() => TabularPipeline.fit([[1], [2]], [0, 1], { featureNames: ['a'], params: { alpha: 1 } }), /model\.params\.alpha/);
  assert.throws(() => TabularPipeline.fit([[1, 1], [2, 2]], [0, 1], { featureNames: ['a', 'a'] }), /duplicate feature names/);
  assert.throws(() => TabularPipeline.fromJSON({ kind: 'other' }), /expected kind 'tabular_pipeline'/);
});
