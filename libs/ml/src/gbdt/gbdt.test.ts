import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientBoostedTrees, gaussian, rocAuc, seededRandom, TabularPipeline } from '../index';
import { BinMapper, columnThresholds, MISSING_BIN } from './binning';

/** XOR-like labels on x0, x1 plus three noise features, ~5% NaN everywhere. */
function xorData(n: number, seed: number): { X: number[][]; y: number[] } {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [2 * rnd() - 1, 2 * rnd() - 1, rnd(), rnd(), rnd()];
    const label = x[0] * x[1] > 0 ? (rnd() < 0.95 ? 1 : 0) : rnd() < 0.05 ? 1 : 0;
    for (let j = 0; j < x.length; j++) if (rnd() < 0.05) x[j] = Number.NaN;
    X.push(x);
    y.push(label);
  }
  return { X, y };
}

function depthOf(t: { left: number[]; right: number[] }): number {
  const depth = (k: number): number => (t.left[k] < 0 ? 0 : 1 + Math.max(depth(t.left[k]), depth(t.right[k])));
  return depth(0);
}

test('binning: midpoints for few distinct values, quantiles otherwise, float32 thresholds, NaN in its own bin', () => {
  assert.deepEqual(Array.from(columnThresholds(Float64Array.from([3, 1, 2, 2, 1]), 255)), [1.5, 2.5]);
  assert.deepEqual(Array.from(columnThresholds(Float64Array.from([7, 7]), 255)), []);
  // 0.1 and 0.2 are not float32 values: the threshold is a float32 strictly between them.
  const [t] = columnThresholds(Float64Array.from([0.1, 0.2]), 255);
  assert.equal(Math.fround(t), t);
  assert.ok(t >= 0.1 && t < 0.2);
  const rnd = seededRandom(3);
  const many = Float64Array.from({ length: 5000 }, () => rnd());
  const q = columnThresholds(many, 16);
  assert.equal(q.length, 15);
  for (let k = 1; k < q.length; k++) assert.ok(q[k] > q[k - 1]);
  for (const v of q) assert.equal(Math.fround(v), v);
  // Every bin holds about 1/16 of the rows.
  const flat = Float64Array.from([...many, Number.NaN]);
  const rows = Uint32Array.from({ length: flat.length }, (_, i) => i);
  const mapper = BinMapper.fit(flat, 1, rows, 16);
  const { bins } = mapper.transform(flat, 1, rows);
  assert.equal(bins[5000], MISSING_BIN);
  const counts = new Array(16).fill(0);
  for (let i = 0; i < 5000; i++) counts[bins[i]]++;
  for (const c of counts) assert.ok(Math.abs(c - 5000 / 16) < 5, `bin count ${c}`);
  assert.throws(() => BinMapper.fit(flat, 1, rows, 256), /maxBins must be an integer in 2\.\.255, got 256/);
});

test('deterministic for a seed (subsampling, column sampling and early stopping on), different for another seed', () => {
  const { X, y } = xorData(1500, 1);
  const opts = { subsample: 0.7, colsample: 0.6, earlyStopping: true, maxIter: 30, seed: 42 } as const;
  const a = GradientBoostedTrees.fit(X, y, opts);
  const b = GradientBoostedTrees.fit(X, y, opts);
  assert.deepEqual(a.toJSON(), b.toJSON());
  assert.deepEqual(a.history, b.history);
  const c = GradientBoostedTrees.fit(X, y, { ...opts, seed: 43 });
  assert.notDeepEqual(a.toJSON().trees, c.toJSON().trees);
  // colsample 0.6 of 5 features: every tree uses at most 3 distinct features.
  for (const t of a.trees) assert.ok(new Set(t.feature.filter((f) => f >= 0)).size <= 3);
  // subsample 0.7: the root sees 70% of the (training part of the) rows.
  const nTrain = 1500 - Math.round(1500 * 0.1 * 0.5) * 2; // stratified 10% validation, about
  assert.ok(Math.abs(a.trees[0].count[0] - 0.7 * nTrain) < 10, `root count ${a.trees[0].count[0]}`);
});

test('learns an XOR interaction that logistic regression cannot', () => {
  const train = xorData(3000, 2), held = xorData(1500, 3);
  const gbdt = GradientBoostedTrees.fit(train.X, train.y, { seed: 1 });
  const lr = TabularPipeline.fit(train.X, train.y, { featureNames: ['a', 'b', 'c', 'd', 'e'] });
  const aucTrees = rocAuc(held.y, gbdt.predictProba(held.X));
  const aucLinear = rocAuc(held.y, lr.predictProba(held.X));
  assert.ok(aucTrees > 0.9, `GBDT AUC ${aucTrees}`);
  assert.ok(aucLinear < 0.65, `logistic AUC ${aucLinear}`);
  assert.ok(aucTrees - aucLinear > 0.25);
  const imp = gbdt.featureImportanceGain();
  assert.ok(Math.abs(imp.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  assert.ok(imp[0] + imp[1] > 0.8, `importance ${Array.from(imp)}`);
  // predict = p > 0.5, and the baseline is the log-odds of the positive rate.
  const p = gbdt.predictProba(held.X), labels = gbdt.predict(held.X);
  for (let i = 0; i < p.length; i++) assert.equal(labels[i], p[i] > 0.5 ? 1 : 0);
  const rate = train.y.reduce((s, v) => s + v, 0) / train.y.length;
  assert.ok(Math.abs(gbdt.baseline - Math.log(rate / (1 - rate))) < 1e-12);
});

test('learns where missing values go (NaN means positive, or NaN means negative)', () => {
  for (const nanLabel of [1, 0]) {
    const rnd = seededRandom(7 + nanLabel);
    const X: number[][] = [], y: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const x0 = rnd(), noise = rnd();
      if (rnd() < 0.25) {
        X.push([Number.NaN, noise]);
        y.push(nanLabel);
      } else {
        X.push([x0, noise]);
        // Large x0 is positive: NaN must join the high side when it means positive, the low side otherwise.
        y.push(x0 > 0.6 ? 1 : 0);
      }
    }
    const m = GradientBoostedTrees.fit(X, y, { maxIter: 30, seed: 1 });
    const [pNan, pLow, pHigh] = m.predictProba([[Number.NaN, 0.5], [0.1, 0.5], [0.9, 0.5]]);
    assert.ok(nanLabel === 1 ? pNan > 0.95 : pNan < 0.05, `NaN → p ${pNan} (NaN means ${nanLabel})`);
    assert.ok(pLow < 0.05 && pHigh > 0.95, `p(low) ${pLow}, p(high) ${pHigh}`);
    // The root splits x0; its learned NaN direction is the low (left) side only when NaN means negative.
    const root = m.trees[0];
    assert.equal(root.feature[0], 0);
    if (Number.isFinite(root.threshold[0])) assert.equal(root.missingGoesLeft[0], nanLabel === 0);
  }
});

test('a feature with no NaN in training sends NaN to the larger child', () => {
  const rnd = seededRandom(5);
  const X = Array.from({ length: 1000 }, () => [rnd()]);
  const y = X.map(([v]) => (v > 0.8 ? 1 : 0));
  const m = GradientBoostedTrees.fit(X, y, { maxIter: 1, maxLeafNodes: 2 });
  const t = m.trees[0];
  assert.equal(t.missingGoesLeft[0], t.count[t.left[0]] > t.count[t.right[0]]);
  assert.equal(m.predictRaw([[Number.NaN]])[0], m.predictRaw([[0.1]])[0]);
});

test('early stopping stops on a validation split when the loss stops improving', () => {
  const rnd = seededRandom(11);
  // Labels independent of the features: every tree after the first few only overfits.
  const X = Array.from({ length: 2000 }, () => [rnd(), rnd(), rnd()]);
  const y = X.map(() => (rnd() < 0.4 ? 1 : 0));
  const m = GradientBoostedTrees.fit(X, y, { earlyStopping: true, maxIter: 300, nIterNoChange: 5, seed: 3 });
  assert.ok(m.nIter < 50, `nIter ${m.nIter}`);
  assert.equal(m.history.stoppedEarly, true);
  assert.equal(m.history.validationLoss.length, m.nIter + 1);
  assert.equal(m.history.trainLoss.length, m.nIter + 1);
  // The training loss still falls while the validation loss does not.
  assert.ok(m.history.trainLoss[m.nIter] < m.history.trainLoss[0]);
  const best = Math.min(...m.history.validationLoss.slice(0, m.nIter - 4));
  for (const v of m.history.validationLoss.slice(-5)) assert.ok(v >= best - 1e-7);
  // 'auto' is off for small data (as in scikit-learn): all iterations run.
  const auto = GradientBoostedTrees.fit(X, y, { maxIter: 20 });
  assert.equal(auto.nIter, 20);
  assert.equal(auto.history.validationLoss.length, 0);
});

test('regression: squared error, far better than the mean, depth and leaf-size limits respected', () => {
  const rnd = seededRandom(21);
  const g = gaussian(rnd);
  const make = (n: number) => {
    const X: number[][] = [], y: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = [4 * rnd() - 2, 4 * rnd() - 2, rnd()];
      y.push(Math.sin(2 * x[0]) + 0.5 * x[1] * x[1] + 0.1 * g());
      if (rnd() < 0.05) x[0] = Number.NaN;
      X.push(x);
    }
    return { X, y };
  };
  const train = make(3000), held = make(1000);
  const m = GradientBoostedTrees.fit(train.X, train.y, { task: 'regression', maxIter: 150, maxDepth: 4, minSamplesLeaf: 15, seed: 2 });
  const pred = m.predict(held.X);
  const mean = train.y.reduce((s, v) => s + v, 0) / train.y.length;
  assert.ok(Math.abs(m.baseline - mean) < 1e-12);
  let mse = 0, mseMean = 0;
  for (let i = 0; i < held.y.length; i++) {
    mse += (pred[i] - held.y[i]) ** 2;
    mseMean += (mean - held.y[i]) ** 2;
  }
  mse /= held.y.length;
  mseMean /= held.y.length;
  assert.ok(mse < 0.1 * mseMean, `MSE ${mse} vs ${mseMean} for the mean`);
  for (const t of m.trees) {
    assert.ok(depthOf(t) <= 4);
    t.left.forEach((l, k) => {
      if (l < 0) assert.ok(t.count[k] >= 15, `leaf with ${t.count[k]} rows`);
    });
  }
  assert.throws(() => m.predictProba(held.X), /regressor/);
  assert.throws(() => GradientBoostedTrees.fit([[1], [2]], [1, Number.NaN], { task: 'regression' }), /target of row 1 is NaN/);
});

test('maxLeafNodes bounds the leaves of every tree', () => {
  const { X, y } = xorData(2000, 9);
  const m = GradientBoostedTrees.fit(X, y, { maxLeafNodes: 7, minSamplesLeaf: 5, maxIter: 10 });
  for (const t of m.trees) {
    const leaves = t.left.filter((l) => l < 0).length;
    assert.ok(leaves <= 7 && leaves >= 2, `${leaves} leaves`);
  }
});

test('JSON round trip predicts the same; bad JSON and bad options are refused with the field named', () => {
  const { X, y } = xorData(800, 4);
  const m = GradientBoostedTrees.fit(X, y, { maxIter: 15, featureNames: ['a', 'b', 'c', 'd', 'e'] });
  const back = GradientBoostedTrees.fromJSON(JSON.parse(JSON.stringify(m)));
  assert.deepEqual(back.predictRaw(X), m.predictRaw(X));
  assert.deepEqual(back.featureNames, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(back.nIter, 15);
  const json = JSON.parse(JSON.stringify(m));
  json.trees[0].left[0] = 0;
  assert.throws(() => GradientBoostedTrees.fromJSON(json), /tree 0 node 0: children 0, .* must be node indices after 0/);
  assert.throws(() => GradientBoostedTrees.fromJSON({ kind: 'logreg' }), /kind 'gbdt'/);
  assert.throws(() => GradientBoostedTrees.fit(X, y, { maxBins: 300 }), /option maxBins is 300, expected an integer in 2\.\.255/);
  assert.throws(() => GradientBoostedTrees.fit(X, y, { subsample: 0 }), /option subsample is 0/);
  assert.throws(() => GradientBoostedTrees.fit(X, y.map(() => 2)), /label of row 0 is 2, expected 0 or 1/);
  assert.throws(() => m.predictRaw([[1, 2]]), /row 0 has 2 values, expected 5/);
});
