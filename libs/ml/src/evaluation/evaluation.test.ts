import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../random';
import {
  averagePrecision,
  calibrationTable,
  classifierFactory,
  crossValidate,
  kFoldSplit,
  MISSING_SEGMENT,
  segmentMetrics,
  selectThreshold,
  stratifiedKFoldSplit,
  summarize,
  thresholdForPrecision,
  thresholdMaxF1,
  timeSeriesSplit,
  type Fold,
} from './index';

function assertPartition(folds: Fold[], n: number): void {
  const seen = new Array<number>(n).fill(0);
  for (const f of folds) {
    for (const i of f.test) seen[i]++;
    const inTest = new Set(f.test);
    assert.equal(f.train.length + f.test.length, n);
    for (const i of f.train) assert.ok(!inTest.has(i), `row ${i} in both train and test`);
  }
  assert.ok(seen.every((c) => c === 1), 'every row is tested exactly once');
}

test('average precision by hand: step-wise, not interpolated', () => {
  // Ranked: 1 (P 1, R 1/2), 0, 1 (P 2/3, R 1) → AP = 1/2 · 1 + 1/2 · 2/3
  assert.equal(averagePrecision([1, 0, 1], [0.9, 0.8, 0.7]), 0.5 + 1 / 3);
  assert.equal(averagePrecision([0, 1], [0.1, 0.9]), 1);
  // A tie is one step: both rows enter together, P = 1/2 at R = 1.
  assert.equal(averagePrecision([0, 1], [0.5, 0.5]), 0.5);
  assert.ok(Number.isNaN(averagePrecision([0, 0], [0.1, 0.9])), 'no positive: undefined');
  assert.throws(() => averagePrecision([0, 2], [0.1, 0.2]), /averagePrecision: label of row 1 is 2/);
});

test('threshold selection by hand', () => {
  const y = [1, 1, 0, 0, 1, 0, 0, 0, 1, 0];
  const s = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
  // F1 = 2/3 both at 0.9 (tp 2, fp 0, fn 2) and at 0.6 (tp 3, fp 2, fn 1): the lower threshold wins.
  const best = thresholdMaxF1(y, s);
  assert.equal(best.threshold, 0.6);
  assert.deepEqual(best.confusion, { tp: 3, fp: 2, tn: 4, fn: 1 });
  // Precision ≥ 0.6: 0.95 (1), 0.9 (1), 0.6 (0.6) qualify; 0.6 has the highest recall.
  assert.equal(thresholdForPrecision(y, s, 0.6)?.threshold, 0.6);
  // Precision 1 is reached at 0.95 and 0.9 with recalls 1/4, 2/4: the recall decides.
  assert.equal(thresholdForPrecision(y, s, 1)?.threshold, 0.9);
  assert.equal(thresholdForPrecision([0, 1], [0.9, 0.1], 0.9), null);
  assert.equal(selectThreshold(y, s, { strategy: 'target_precision', precision: 1 })?.threshold, 0.9);
  assert.equal(selectThreshold(y, s, { strategy: 'max_f1' })?.threshold, 0.6);
  assert.throws(() => thresholdMaxF1([0, 0], [0.2, 0.3]), /no row has label 1/);
  assert.throws(() => thresholdForPrecision(y, s, 1.5), /target precision must be in \(0, 1\]/);
});

test('calibration table by hand: right-closed bins, empty bins left out, ECE', () => {
  const y = [0, 0, 1, 1, 1];
  const p = [0.1, 0.25, 0.5, 0.8, 1];
  const t = calibrationTable(y, p, { nBins: 4 });
  assert.deepEqual(t.edges, [0, 0.25, 0.5, 0.75, 1]);
  // 0.1 and 0.25 → bin 0 (0.25 is its closed upper edge), 0.5 → bin 1, 0.8 and 1 → bin 3; bin 2 empty.
  assert.deepEqual(t.bins.map((b) => [b.lower, b.upper, b.count]), [[0, 0.25, 2], [0.25, 0.5, 1], [0.75, 1, 2]]);
  assert.equal(t.bins[0].meanPredicted, 0.175);
  assert.equal(t.bins[2].fractionPositive, 1);
  const ece = (2 / 5) * 0.175 + (1 / 5) * 0.5 + (2 / 5) * 0.1;
  assert.ok(Math.abs(t.expectedCalibrationError - ece) < 1e-15);
  assert.equal(t.maxCalibrationError, 0.5);
  assert.throws(() => calibrationTable([0, 1], [0.2, 1.2]), /probability of row 1 is 1.2/);
  assert.throws(() => calibrationTable([0, 1], [0.2, 0.3], { nBins: 0 }), /nBins must be a positive integer/);
});

test('k-fold: shuffled folds are a seeded partition with sklearn fold sizes', () => {
  const a = kFoldSplit(23, { k: 5, shuffle: true, seed: 3 });
  assertPartition(a, 23);
  assert.deepEqual(a.map((f) => f.test.length), [5, 5, 5, 4, 4]);
  assert.deepEqual(kFoldSplit(23, { k: 5, shuffle: true, seed: 3 }), a, 'same seed, same folds');
  assert.notDeepEqual(kFoldSplit(23, { k: 5, shuffle: true, seed: 4 }), a, 'another seed, other folds');
  assert.throws(() => kFoldSplit(3, { k: 4 }), /k = 4 folds but only 3 rows/);
  assert.throws(() => kFoldSplit(10, { k: 1 }), /k must be an integer ≥ 2/);
});

test('stratified k-fold with shuffling keeps the class balance of every fold', () => {
  const rnd = seededRandom(9);
  const y: number[] = Array.from({ length: 203 }, () => (rnd() < 0.2 ? 1 : 0));
  const positives = y.reduce((s, v) => s + v, 0);
  const folds = stratifiedKFoldSplit(y, { k: 5, shuffle: true, seed: 1 });
  assertPartition(folds, y.length);
  for (const f of folds) {
    const p = f.test.reduce((s, i) => s + y[i], 0);
    assert.ok(Math.abs(p - positives / 5) <= 1, `fold positives ${p}, expected about ${positives / 5}`);
  }
  assert.deepEqual(stratifiedKFoldSplit(y, { k: 5, shuffle: true, seed: 1 }), folds);
  assert.notDeepEqual(stratifiedKFoldSplit(y, { k: 5, shuffle: false }), folds);
  assert.throws(() => stratifiedKFoldSplit([0, 0, 1, 1], { k: 3 }), /greater than the number of rows of every class/);
});

test('time series split on timestamps: time order, and no training row at or after the test fold start', () => {
  // Rows out of order, with a tie group (time 50) straddling a fold boundary.
  const times = [90, 10, 50, 20, 50, 30, 50, 40, 60, 70, 80, 100];
  const folds = timeSeriesSplit(times.length, { nSplits: 3, testSize: 3, times });
  assert.equal(folds.length, 3);
  for (const f of folds) {
    const start = times[f.test[0]];
    for (const i of f.train) assert.ok(times[i] < start, `train row ${i} at ${times[i]} is not before the test start ${start}`);
    for (let j = 1; j < f.test.length; j++) assert.ok(times[f.test[j]] >= times[f.test[j - 1]], 'test rows in time order');
  }
  // Sorted: 10 20 30 40 50 50 50 60 70 80 90 100; first test block starts at position 3 (time 40): trains on 10..30.
  assert.deepEqual(folds[0].train.map((i) => times[i]), [10, 20, 30]);
  // Second block starts at position 6 (a row at time 50): rows 50, 50 at positions 4, 5 leave training.
  assert.deepEqual(folds[1].train.map((i) => times[i]), [10, 20, 30, 40]);
  assert.deepEqual(folds[1].test.map((i) => times[i]), [50, 60, 70]);
  assert.throws(() => timeSeriesSplit(6, { nSplits: 1, testSize: 3, times: [5, 5, 5, 5, 6, 7] }), /has no earlier rows to train on/);
  assert.throws(() => timeSeriesSplit(5, { nSplits: 5 }), /nSplits \+ 1 = 6 folds but only 5 rows/);
  assert.throws(() => timeSeriesSplit(10, { nSplits: 3, testSize: 4 }), /need more than 10 rows/);
});

test('summary: mean and population std over the folds where the metric is defined', () => {
  const s = summarize([0.5, Number.NaN, 0.7, 0.9]);
  assert.equal(s.folds, 3);
  assert.ok(Math.abs(s.mean - 0.7) < 1e-15);
  assert.ok(Math.abs(s.std - Math.sqrt((0.04 + 0 + 0.04) / 3)) < 1e-15);
  assert.deepEqual(summarize([Number.NaN]), { mean: Number.NaN, std: Number.NaN, folds: 0 });
});

function linearData(n: number, seed: number) {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1;
    X.push([a, b]);
    y.push(rnd() < 1 / (1 + Math.exp(-4 * a)) ? 1 : 0);
  }
  return { X, y };
}

test('crossValidate: out-of-fold predictions come from a model that never saw the row', () => {
  const { X, y } = linearData(200, 2);
  const folds = kFoldSplit(200, { k: 4 });
  const cv = crossValidate(X, y, { folds, fit: classifierFactory('logistic_regression', { featureNames: ['a', 'b'] }) });
  assert.equal(cv.folds.length, 4);
  assert.ok(cv.metrics.roc_auc.mean > 0.75, `auc ${cv.metrics.roc_auc.mean}`);
  assert.ok(cv.folds.every((f) => f.trainSize === 150 && f.testSize === 50 && f.durationMs >= 0));
  // Refit fold 2 by hand: its test rows' predictions must match.
  const f2 = folds[2];
  const model = classifierFactory('logistic_regression', { featureNames: ['a', 'b'] })(f2.train.map((i) => X[i]), f2.train.map((i) => y[i]));
  const proba = model.predictProba(f2.test.map((i) => X[i]));
  f2.test.forEach((row, j) => assert.equal(cv.predictions[row], proba[j]));
});

test('crossValidate: time folds leave the first block unpredicted; a one-class fold leaves AUC out of the mean', () => {
  const { X, y } = linearData(60, 3);
  const folds = timeSeriesSplit(60, { nSplits: 3 });
  const cv = crossValidate(X, y, { folds, fit: classifierFactory('logistic_regression', { featureNames: ['a', 'b'] }) });
  assert.ok(Number.isNaN(cv.predictions[0]) && Number.isFinite(cv.predictions[59]));
  // A constant model on a fold whose test rows are all negative: AUC undefined there.
  const yy = y.slice();
  for (const i of folds[0].test) yy[i] = 0;
  const constant = crossValidate(X, yy, { folds, fit: () => ({ predictProba: (rows) => rows.map(() => 0.3) }) });
  assert.equal(constant.metrics.roc_auc.folds, 2);
  assert.equal(constant.metrics.roc_auc.mean, 0.5);
  assert.throws(() => crossValidate(X, y, { folds: [{ train: [0], test: [60] }], fit: classifierFactory('logistic_regression', { featureNames: ['a', 'b'] }) }), /fold 0 test holds row 60/);
  assert.throws(() => crossValidate(X, y.slice(1), { folds, fit: classifierFactory('logistic_regression', { featureNames: ['a', 'b'] }) }), /59 labels for 60 rows/);
});

test('segment metrics: missing values form their own segment, small segments are flagged and left out of the gaps', () => {
  const y = [1, 0, 1, 0, 1, 0, 1, 1];
  const p = [0.9, 0.2, 0.4, 0.6, 0.7, 0.1, 0.8, 0.3];
  const seg = ['a', 'a', 'a', 'a', 'b', 'b', null, ''];
  const r = segmentMetrics(y, p, seg, { attribute: 'device', minSize: 3 });
  assert.equal(r.attribute, 'device');
  assert.deepEqual(r.segments.map((s) => [s.segment, s.n, s.smallSample]), [['a', 4, false], [MISSING_SEGMENT, 2, true], ['b', 2, true]]);
  const a = r.segments[0];
  // a: predicted 1 for 0.9, 0.6 → tp 1, fp 1, fn 1, tn 1
  assert.deepEqual(a.confusion, { tp: 1, fp: 1, tn: 1, fn: 1 });
  assert.equal(a.selectionRate, 0.5);
  assert.equal(a.falsePositiveRate, 0.5);
  assert.ok(Number.isNaN(r.gaps.selectionRate), 'one large segment: no gap');
  const all = segmentMetrics(y, p, seg, { minSize: 1 });
  // Recall: a 1/2, b 1/1, missing 1/2 → gap 0.5. FPR: a 1/2, b 0/1, missing has no negatives (0) → gap 0.5.
  assert.equal(all.gaps.recall, 0.5);
  assert.equal(all.gaps.falsePositiveRate, 0.5);
  assert.equal(all.gaps.equalizedOdds, 0.5);
  assert.throws(() => segmentMetrics(y, p, seg.slice(1)), /7 values of segment for 8 rows/);
});
