import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { featureImportance, GradientBoostedTrees, meanAbsShap, seededRandom, treeShap, TreeShapExplainer, type GbdtOptions, type GbdtTree } from '../index';

/** Rows with a few interacting features, noise features and ~10% NaN; labels for classification, targets for regression. */
function data(n: number, d: number, seed: number, nanShare = 0.1): { X: number[][]; label: number[]; target: number[] } {
  const rnd = seededRandom(seed);
  const X: number[][] = [], label: number[] = [], target: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: d }, () => 2 * rnd() - 1);
    const signal = 2 * x[0] + (x[1] > 0 ? x[2] : -x[2]) + (d > 3 ? Math.sin(3 * x[3]) : 0) + 0.3 * (rnd() - 0.5);
    target.push(signal);
    label.push(signal + 0.5 * (rnd() - 0.5) > 0 ? 1 : 0);
    for (let j = 0; j < d; j++) if (rnd() < nanShare) x[j] = Number.NaN;
    X.push(x);
  }
  return { X, label, target };
}

/** E[f(x) | x_S] of one tree: follow the row on known features, average both branches by count on the others. */
function conditionalExpectation(t: GbdtTree, row: ArrayLike<number>, known: number, k = 0): number {
  const f = t.feature[k];
  if (f < 0) return t.value[k];
  const l = t.left[k], r = t.right[k];
  if (known & (1 << f)) {
    const x = row[f];
    const left = Number.isNaN(x) ? t.missingGoesLeft[k] : x <= t.threshold[k];
    return conditionalExpectation(t, row, known, left ? l : r);
  }
  const cl = t.count[l], cr = t.count[r];
  if (cl + cr === 0) return 0.5 * conditionalExpectation(t, row, known, l) + 0.5 * conditionalExpectation(t, row, known, r);
  return (cl * conditionalExpectation(t, row, known, l) + cr * conditionalExpectation(t, row, known, r)) / (cl + cr);
}

/** Exact Shapley values of the game v(S) = baseline + Σ_trees E[tree(x) | x_S], by enumerating all 2^d subsets. */
function bruteForceShapley(model: GradientBoostedTrees, row: ArrayLike<number>): { phi: Float64Array; empty: number } {
  const d = model.width;
  const v = new Float64Array(1 << d);
  for (let s = 0; s < 1 << d; s++) {
    let total = model.baseline;
    for (const t of model.trees) total += conditionalExpectation(t, row, s);
    v[s] = total;
  }
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    for (let s = 0; s < 1 << d; s++) {
      if (s & (1 << j)) continue;
      let size = 0;
      for (let b = s; b; b &= b - 1) size++;
      phi[j] += ((factorial(size) * factorial(d - size - 1)) / factorial(d)) * (v[s | (1 << j)] - v[s]);
    }
  }
  return { phi, empty: v[0] };
}

/** Whether some root-to-leaf path splits twice on one feature (the case TreeSHAP handles with UNWIND). */
function repeatsFeatureOnAPath(t: GbdtTree, k = 0, seen: number[] = []): boolean {
  const f = t.feature[k];
  if (f < 0) return false;
  if (seen.includes(f)) return true;
  return repeatsFeatureOnAPath(t, t.left[k], [...seen, f]) || repeatsFeatureOnAPath(t, t.right[k], [...seen, f]);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let j = 0; j < expected.length; j++) {
    assert.ok(Math.abs(actual[j] - expected[j]) <= tol, `${what}[${j}]: ${actual[j]} vs ${expected[j]} (diff ${Math.abs(actual[j] - expected[j])})`);
  }
}

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j];
  return s;
};

test('contributions sum to margin − expected value (1e-9) on random rows with NaN, classification and regression', () => {
  const cases: Array<[string, GbdtOptions, 'label' | 'target']> = [
    ['classification', { maxIter: 40, maxLeafNodes: 31, minSamplesLeaf: 10, seed: 1 }, 'label'],
    ['regression, subsampled rows and columns', { task: 'regression', maxIter: 30, maxLeafNodes: 16, minSamplesLeaf: 5, subsample: 0.7, colsample: 0.6, seed: 2 }, 'target'],
  ];
  for (const [name, opts, y] of cases) {
    const train = data(1500, 12, 10);
    const model = GradientBoostedTrees.fit(train.X, train[y], opts);
    const rows = data(200, 12, 11, 0.25).X;
    // A row that is all NaN and one on the training rows too.
    rows.push(new Array(12).fill(Number.NaN), train.X[0]);
    const { expectedValue, contributions } = treeShap(model, rows);
    const margins = model.predictRaw(rows);
    assert.equal(contributions.length, rows.length);
    for (let i = 0; i < rows.length; i++) {
      const gap = sum(contributions[i]) - (margins[i] - expectedValue);
      assert.ok(Math.abs(gap) <= 1e-9, `${name} row ${i}: Σφ − (margin − E) = ${gap}`);
    }
  }
});

test('expected value = baseline + cover-weighted mean leaf value of every tree', () => {
  const train = data(800, 6, 20);
  const model = GradientBoostedTrees.fit(train.X, train.label, { maxIter: 15, maxLeafNodes: 12, minSamplesLeaf: 8, subsample: 0.8, seed: 3 });
  let expected = model.baseline;
  for (const t of model.trees) {
    let weighted = 0, cover = 0;
    for (let k = 0; k < t.feature.length; k++) {
      if (t.feature[k] >= 0) continue;
      weighted += t.count[k] * t.value[k];
      cover += t.count[k];
    }
    assert.equal(cover, t.count[0], 'leaf counts add up to the root count');
    expected += weighted / cover;
  }
  const actual = new TreeShapExplainer(model).expectedValue;
  assert.ok(Math.abs(actual - expected) <= 1e-12, `expected value ${actual}, cover-weighted leaves give ${expected}`);
});

test('equal (1e-9) to brute-force Shapley values of E[f | x_S] on small fitted models', () => {
  const cases: Array<[number, GbdtOptions, 'label' | 'target']> = [
    [3, { maxIter: 8, maxLeafNodes: 12, minSamplesLeaf: 5, seed: 4 }, 'label'],
    [5, { task: 'regression', maxIter: 10, maxLeafNodes: 20, minSamplesLeaf: 3, subsample: 0.8, seed: 5 }, 'target'],
    [8, { maxIter: 6, maxLeafNodes: 31, minSamplesLeaf: 4, colsample: 0.75, seed: 6 }, 'label'],
  ];
  let repeated = 0;
  for (const [d, opts, y] of cases) {
    const train = data(600, d, 30 + d, 0.15);
    const model = GradientBoostedTrees.fit(train.X, train[y], opts);
    repeated += model.trees.filter((t) => repeatsFeatureOnAPath(t)).length;
    const rows = data(25, d, 40 + d, 0.3).X;
    const { expectedValue, contributions } = treeShap(model, rows);
    for (let i = 0; i < rows.length; i++) {
      const ref = bruteForceShapley(model, rows[i]);
      if (i === 0) assert.ok(Math.abs(ref.empty - expectedValue) <= 1e-9, `d=${d}: v(∅) ${ref.empty} vs expected value ${expectedValue}`);
      assertClose(contributions[i], ref.phi, 1e-9, `d=${d} row ${i}`);
    }
  }
  // The small feature sets force trees to split on a feature again below itself, exercising UNWIND.
  assert.ok(repeated > 0, 'no tree split twice on one feature along a path');
});

test('brute-force equality also with covers of 0 (a child, or both children, that no training row reached)', () => {
  const train = data(500, 4, 50);
  const fitted = GradientBoostedTrees.fit(train.X, train.target, { task: 'regression', maxIter: 5, maxLeafNodes: 10, minSamplesLeaf: 3, seed: 7 });
  const json = fitted.toJSON();
  // Empty one leaf in each tree (and, in the first tree, the sibling too), then recompute the counts above.
  json.trees.forEach((t, ti) => {
    const leaves = t.feature.flatMap((f, k) => (f < 0 ? [k] : []));
    const emptied = [leaves[ti % leaves.length]];
    if (ti === 0) {
      const parent = t.left.findIndex((l, k) => t.feature[k] >= 0 && t.feature[l] < 0 && t.feature[t.right[k]] < 0);
      assert.ok(parent >= 0, 'tree 0 has a split with two leaves');
      emptied.push(t.left[parent], t.right[parent]);
    }
    for (const k of emptied) t.count[k] = 0;
    for (let k = t.feature.length - 1; k >= 0; k--) if (t.feature[k] >= 0) t.count[k] = t.count[t.left[k]] + t.count[t.right[k]];
  });
  const model = GradientBoostedTrees.fromJSON(json);
  const rows = data(30, 4, 51, 0.3).X;
  const { expectedValue, contributions } = treeShap(model, rows);
  const margins = model.predictRaw(rows);
  for (let i = 0; i < rows.length; i++) {
    const ref = bruteForceShapley(model, rows[i]);
    assertClose(contributions[i], ref.phi, 1e-9, `row ${i}`);
    assert.ok(Math.abs(sum(contributions[i]) - (margins[i] - expectedValue)) <= 1e-9, `row ${i}: sum`);
    for (const v of contributions[i]) assert.ok(Number.isFinite(v), `row ${i}: finite`);
  }
});

/** Written by scripts/python/ml_reference/tree_shap_reference.py (shap.TreeExplainer, tree_path_dependent). */
interface ShapFixture {
  shap_version: string;
  model: unknown;
  rows: Array<Array<number | null>>;
  margins: number[];
  expected_value: number;
  shap_values: number[][];
}

test("equal (1e-9) to the shap package's TreeExplainer on a random ensemble with repeated features, NaN and ties", () => {
  const fx = JSON.parse(readFileSync(new URL('../fixtures/tree_shap_shap.json', import.meta.url), 'utf8')) as ShapFixture;
  const model = GradientBoostedTrees.fromJSON(fx.model);
  const rows = fx.rows.map((r) => r.map((v) => (v === null ? Number.NaN : v)));
  assertClose(model.predictRaw(rows), fx.margins, 1e-12, 'margins');
  const { expectedValue, contributions } = treeShap(model, rows);
  assert.ok(Math.abs(expectedValue - fx.expected_value) <= 1e-9, `expected value ${expectedValue} vs shap ${fx.shap_version} ${fx.expected_value}`);
  for (let i = 0; i < rows.length; i++) assertClose(contributions[i], fx.shap_values[i], 1e-9, `row ${i} vs shap ${fx.shap_version}`);
});

test('meanAbsShap is the mean |φ| per feature; unused features get 0; featureImportance ranks by it', () => {
  const train = data(1000, 6, 60);
  // Feature 5 is constant, so no tree can split on it.
  for (const row of train.X) row[5] = 1;
  const model = GradientBoostedTrees.fit(train.X, train.label, { maxIter: 20, maxLeafNodes: 8, minSamplesLeaf: 10, seed: 8 });
  const rows = data(100, 6, 61).X;
  const imp = meanAbsShap(model, rows);
  const { contributions } = treeShap(model, rows);
  for (let j = 0; j < 6; j++) {
    const mean = contributions.reduce((s, phi) => s + Math.abs(phi[j]), 0) / rows.length;
    assert.ok(Math.abs(imp[j] - mean) <= 1e-12, `feature ${j}`);
  }
  assert.equal(imp[5], 0);
  // x0 carries the strongest signal in data().
  assert.equal(imp.indexOf(Math.max(...imp)), 0);
  const ranked = featureImportance(model, rows);
  assert.deepEqual(ranked.map((r) => r.feature).slice(0, 1), ['f0']);
  for (let k = 1; k < ranked.length; k++) assert.ok(ranked[k - 1].meanAbsShap >= ranked[k].meanAbsShap, `rank ${k} out of order`);
  const gain = model.featureImportanceGain();
  for (const r of ranked) assert.equal(r.gain, gain[Number(r.feature.slice(1))]);
  assert.deepEqual(Array.from(meanAbsShap(model, [])), [0, 0, 0, 0, 0, 0]);
});

test('a model with only leaf trees explains nothing; wrong row widths are errors naming the row', () => {
  const model = GradientBoostedTrees.fit([[1], [1], [1], [1]], [0, 1, 1, 1], { maxIter: 2, minSamplesLeaf: 1 });
  const { expectedValue, contributions } = treeShap(model, [[5], [Number.NaN]]);
  assert.ok(Math.abs(expectedValue - model.predictRaw([[5]])[0]) <= 1e-12, `expected value ${expectedValue} should be the constant margin`);
  assert.deepEqual(contributions.map((c) => Array.from(c)), [[0], [0]]);
  assert.throws(() => treeShap(model, [[1], [1, 2]]), /row 1 has 2 values, expected 1/);
  assert.throws(() => new TreeShapExplainer(model).explainRow([1, 2]), /expected 1/);
});
