import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gaussian, LogisticRegression, rocAuc, seededRandom, Standardizer, TabularPipeline } from './index';

interface Case {
  name: string;
  C: number;
  class_weight: null | 'balanced' | Record<string, number>;
  with_nan: boolean;
  scaler_mean: number[];
  scaler_scale: number[];
  coef: number[];
  intercept: number;
  test_proba: number[];
  test_roc_auc: number;
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/logreg_sklearn.json', import.meta.url), 'utf8')) as {
  n_train: number; X: number[][]; y: number[]; nan_positions: Array<[number, number]>; cases: Case[];
};

function dataset(withNan: boolean): number[][] {
  const X = fx.X.map((r) => r.slice());
  if (withNan) for (const [i, j] of fx.nan_positions) X[i][j] = Number.NaN;
  return X;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const c of fx.cases) {
  test(`matches scikit-learn LogisticRegression(C=${c.C}, class_weight=${JSON.stringify(c.class_weight)})${c.with_nan ? ' with NaN' : ''}`, () => {
    const X = dataset(c.with_nan);
    const train = X.slice(0, fx.n_train), test = X.slice(fx.n_train);
    const yTrain = fx.y.slice(0, fx.n_train), yTest = fx.y.slice(fx.n_train);
    const classWeight = c.class_weight === null || c.class_weight === 'balanced' ? c.class_weight : { 0: c.class_weight['0'], 1: c.class_weight['1'] };
    const names = X[0].map((_, j) => `x${j}`);
    const model = TabularPipeline.fit(train, yTrain, { featureNames: names, l2: 1 / c.C, classWeight });
    assert.ok(maxAbs(model.standardizer.means, c.scaler_mean) < 1e-9, 'means');
    assert.ok(maxAbs(model.standardizer.stds, c.scaler_scale) < 1e-9, 'stds');
    const diff = Math.max(maxAbs(model.model.coefficients, c.coef), Math.abs(model.model.intercept - c.intercept));
    assert.ok(diff <= 1e-4, `max |coef - sklearn| = ${diff}`);
    assert.ok(model.model.fitInfo?.converged, 'newton converged');
    const proba = model.predictProba(test);
    assert.ok(maxAbs(proba, c.test_proba) < 1e-6, 'held-out probabilities');
    // AUC on sklearn's own scores, and on ours: both equal sklearn's roc_auc_score.
    assert.ok(Math.abs(rocAuc(yTest, c.test_proba) - c.test_roc_auc) <= 1e-9, 'auc on sklearn scores');
    assert.ok(Math.abs(rocAuc(yTest, proba) - c.test_roc_auc) <= 1e-9, `auc ${rocAuc(yTest, proba)} vs ${c.test_roc_auc}`);
  });
}

function synthetic(n: number, d: number, seed: number): { X: number[][]; y: number[] } {
  const rnd = seededRandom(seed);
  const g = gaussian(rnd);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => g());
    const z = 0.3 + x.reduce((s, v, j) => s + v * (j % 2 === 0 ? 1 : -0.5) / (1 + j), 0);
    X.push(x);
    y.push(rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
  }
  return { X, y };
}

test('L-BFGS reaches the same optimum as Newton', () => {
  const { X, y } = synthetic(600, 12, 5);
  const a = LogisticRegression.fit(X, y, { l2: 0.5, solver: 'newton' });
  const b = LogisticRegression.fit(X, y, { l2: 0.5, solver: 'lbfgs' });
  assert.equal(a.fitInfo?.solver, 'newton');
  assert.equal(b.fitInfo?.solver, 'lbfgs');
  assert.ok(b.fitInfo?.converged, `lbfgs converged after ${b.fitInfo?.iterations}`);
  assert.ok(b.fitInfo!.iterations < 100, `lbfgs iterations ${b.fitInfo?.iterations}`);
  assert.ok(maxAbs(a.coefficients, b.coefficients) < 1e-6, `coef diff ${maxAbs(a.coefficients, b.coefficients)}`);
  assert.ok(Math.abs(a.intercept - b.intercept) < 1e-6);
});

test('fits are deterministic and JSON round-trips exactly', () => {
  const { X, y } = synthetic(300, 5, 9);
  const a = LogisticRegression.fit(X, y, { l2: 2, classWeight: 'balanced' });
  const b = new LogisticRegression({ l2: 2 }).fit(X.map((r) => Float64Array.from(r)), Float64Array.from(y), { classWeight: 'balanced' });
  assert.deepEqual(Array.from(a.coefficients), Array.from(b.coefficients));
  const c = LogisticRegression.fromJSON(JSON.parse(JSON.stringify(a)));
  assert.deepEqual(Array.from(c.predictProba(X)), Array.from(a.predictProba(X)));
  assert.equal(c.options.classWeight, 'balanced');
  assert.equal(c.options.l2, 2);
});

test('sample weights of 2 equal duplicated rows; class weights shift the intercept', () => {
  const { X, y } = synthetic(200, 3, 2);
  const w = y.map((_, i) => (i % 3 === 0 ? 2 : 1));
  const weighted = LogisticRegression.fit(X, y, { sampleWeight: w });
  const dupX = [...X, ...X.filter((_, i) => i % 3 === 0)];
  const dupY = [...y, ...y.filter((_, i) => i % 3 === 0)];
  const duplicated = LogisticRegression.fit(dupX, dupY);
  assert.ok(maxAbs(weighted.coefficients, duplicated.coefficients) < 1e-9);
  const plain = LogisticRegression.fit(X, y);
  const heavy = LogisticRegression.fit(X, y, { classWeight: { 1: 5 } });
  assert.ok(heavy.intercept > plain.intercept + 0.5, `${heavy.intercept} vs ${plain.intercept}`);
});

test('contributions sum with the intercept to the logit', () => {
  const { X, y } = synthetic(200, 4, 3);
  const m = LogisticRegression.fit(X, y);
  const parts = m.contributions(X[7]);
  const logit = parts.reduce((s, v) => s + v, m.intercept);
  assert.ok(Math.abs(logit - m.decisionFunction([X[7]])[0]) < 1e-12);
});

test('separable data without penalty stops at maxIter instead of diverging to NaN', () => {
  const X = [[-2], [-1], [1], [2]], y = [0, 0, 1, 1];
  const m = LogisticRegression.fit(X, y, { l2: 0, maxIter: 30 });
  assert.ok(Number.isFinite(m.coefficients[0]) && m.coefficients[0] > 5);
  const p = m.predictProba(X);
  assert.ok(p[0] < 0.01 && p[3] > 0.99);
});

test('errors name the row, the label and the option', () => {
  assert.throws(() => LogisticRegression.fit([[1], [2]], [0, 2]), /label of row 1 is 2, expected 0 or 1/);
  assert.throws(() => LogisticRegression.fit([[1], [2]], [1, 1]), /needs both classes/);
  assert.throws(() => LogisticRegression.fit([[1], [2, 3]], [0, 1]), /row 1 has 2 values, expected 1/);
  assert.throws(() => LogisticRegression.fit([[1], [Number.NaN]], [0, 1]), /row 1 column 0 is NaN/);
  assert.throws(() => LogisticRegression.fit([[1], [2]], [0, 1], { l2: -1 }), /l2 must be/);
  assert.throws(() => new LogisticRegression().predictProba([[1]]), /not fitted/);
  assert.throws(() => Standardizer.fit([[1], [Infinity]], { featureNames: ['amount'] }), /column 'amount' row 1 is Infinity/);
});
