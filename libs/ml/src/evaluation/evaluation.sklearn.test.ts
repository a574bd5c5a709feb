import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  averagePrecision,
  calibrationTable,
  classifierFactory,
  crossValidate,
  CV_METRICS,
  kFoldSplit,
  precisionRecallCurve,
  prAucTrapezoid,
  segmentMetrics,
  stratifiedKFoldSplit,
  thresholdForPrecision,
  thresholdMaxF1,
  timeSeriesSplit,
  type CvMetric,
  type Fold,
} from './index';

// Written by scripts/python/ml_reference/evaluation_fixtures.py (scikit-learn); see that script for definitions.
interface Choice { threshold: number; precision: number; recall: number; f1?: number }
interface CalibrationCase { n_bins: number; strategy: 'uniform' | 'quantile'; edges: number[]; counts: number[]; prob_true: number[]; prob_pred: number[] }
interface CurveCase {
  name: string; y: number[]; scores: number[];
  pr_precision: number[]; pr_recall: number[]; pr_thresholds: number[];
  average_precision: number; pr_auc_trapezoid: number;
  max_f1: Choice; target_precision: Record<string, Choice | null>;
  calibration: CalibrationCase[];
}
interface SegmentFixture {
  n: number; positives: number; selection_rate: number; accuracy: number; precision: number; recall: number;
  false_positive_rate: number; f1: number; roc_auc: number | null; average_precision: number | null; log_loss: number; brier: number;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/evaluation_sklearn.json', import.meta.url), 'utf8')) as {
  curves: CurveCase[];
  folds: {
    kfold: Array<{ n: number; k: number; folds: Fold[] }>;
    stratified: Array<{ name: string; y: number[]; k: number; folds: Fold[] }>;
    time_series: Array<{ n: number; options: { n_splits: number; test_size?: number; gap?: number; max_train_size?: number }; folds: Fold[] }>;
  };
  segments: {
    y: number[]; scores: number[]; segment: Array<string | null>; threshold: number; min_size: number;
    overall: SegmentFixture; per_segment: Record<string, SegmentFixture>; gaps: Record<string, number | null>;
  };
  cv: Record<string, { per_fold: Record<CvMetric, number[]>; summary: Record<CvMetric, { mean: number; std: number }> }>;
};
const logreg = JSON.parse(readFileSync(new URL('../fixtures/logreg_sklearn.json', import.meta.url), 'utf8')) as { X: number[][]; y: number[] };

const TOL = 1e-9;
function close(actual: number, expected: number | null, what: string, tol = TOL): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected undefined (NaN), got ${actual}`);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs scikit-learn ${expected}`);
}
function allClose(actual: ArrayLike<number>, expected: readonly number[], what: string, tol = TOL): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) close(actual[i], expected[i], `${what}[${i}]`, tol);
}

for (const c of fx.curves) {
  test(`${c.name}: precision_recall_curve, average_precision_score and auc(recall, precision)`, () => {
    const curve = precisionRecallCurve(c.y, c.scores);
    allClose(curve.precision, c.pr_precision, 'precision');
    allClose(curve.recall, c.pr_recall, 'recall');
    allClose(curve.thresholds, c.pr_thresholds, 'thresholds', 0);
    close(averagePrecision(c.y, c.scores), c.average_precision, 'average precision');
    close(prAucTrapezoid(c.y, c.scores), c.pr_auc_trapezoid, 'trapezoid PR AUC');
  });

  test(`${c.name}: max-F1 and target-precision thresholds from the precision_recall_curve points`, () => {
    const best = thresholdMaxF1(c.y, c.scores);
    assert.equal(best.threshold, c.max_f1.threshold);
    close(best.precision, c.max_f1.precision, 'precision at max F1');
    close(best.recall, c.max_f1.recall, 'recall at max F1');
    close(best.f1, c.max_f1.f1 ?? Number.NaN, 'max F1');
    const { tp, fp, fn } = best.confusion;
    close(best.f1, (2 * tp) / (2 * tp + fp + fn), 'F1 from the confusion matrix');
    for (const [target, expected] of Object.entries(c.target_precision)) {
      const got = thresholdForPrecision(c.y, c.scores, Number(target));
      if (expected === null) {
        assert.equal(got, null, `target ${target}: expected no threshold`);
        continue;
      }
      assert.ok(got, `target ${target}: expected threshold ${expected.threshold}`);
      assert.equal(got.threshold, expected.threshold, `target ${target}`);
      close(got.precision, expected.precision, `precision at target ${target}`);
      close(got.recall, expected.recall, `recall at target ${target}`);
    }
  });

  for (const cal of c.calibration) {
    test(`${c.name}: calibration_curve(n_bins=${cal.n_bins}, strategy=${cal.strategy})`, () => {
      const table = calibrationTable(c.y, c.scores, { nBins: cal.n_bins, strategy: cal.strategy });
      allClose(table.edges, cal.edges, 'edges', 0);
      assert.deepEqual(table.bins.map((b) => b.count), cal.counts);
      allClose(table.bins.map((b) => b.fractionPositive), cal.prob_true, 'prob_true');
      allClose(table.bins.map((b) => b.meanPredicted), cal.prob_pred, 'prob_pred');
      let ece = 0;
      for (let i = 0; i < cal.counts.length; i++) ece += (cal.counts[i] / c.y.length) * Math.abs(cal.prob_true[i] - cal.prob_pred[i]);
      close(table.expectedCalibrationError, ece, 'expected calibration error');
    });
  }
}

test('KFold and StratifiedKFold (no shuffle) give the same index sets as scikit-learn', () => {
  for (const c of fx.folds.kfold) assert.deepEqual(kFoldSplit(c.n, { k: c.k }), c.folds, `KFold n=${c.n} k=${c.k}`);
  for (const c of fx.folds.stratified) assert.deepEqual(stratifiedKFoldSplit(c.y, { k: c.k }), c.folds, `StratifiedKFold ${c.name} k=${c.k}`);
});

test('TimeSeriesSplit index sets, with test_size, gap and max_train_size', () => {
  for (const c of fx.folds.time_series) {
    const o = c.options;
    const folds = timeSeriesSplit(c.n, { nSplits: o.n_splits, testSize: o.test_size, gap: o.gap, maxTrainSize: o.max_train_size });
    assert.deepEqual(folds, c.folds, `TimeSeriesSplit n=${c.n} ${JSON.stringify(o)}`);
  }
});

test('segment metrics equal scikit-learn metrics on each segment, with fairlearn-style gaps', () => {
  const s = fx.segments;
  const report = segmentMetrics(s.y, s.scores, s.segment, { attribute: 'region', threshold: s.threshold, minSize: s.min_size });
  assert.equal(report.segments.length, Object.keys(s.per_segment).length);
  const check = (got: (typeof report.segments)[number], want: SegmentFixture, where: string) => {
    assert.equal(got.n, want.n, `${where} n`);
    assert.equal(got.positives, want.positives, `${where} positives`);
    close(got.selectionRate, want.selection_rate, `${where} selection rate`);
    close(got.accuracy, want.accuracy, `${where} accuracy`);
    close(got.precision, want.precision, `${where} precision`);
    close(got.recall, want.recall, `${where} recall`);
    close(got.falsePositiveRate, want.false_positive_rate, `${where} FPR`);
    close(got.f1, want.f1, `${where} f1`);
    close(got.rocAuc, want.roc_auc, `${where} roc_auc`);
    close(got.averagePrecision, want.average_precision, `${where} average precision`);
    close(got.logLoss, want.log_loss, `${where} log loss`);
    close(got.brier, want.brier, `${where} brier`);
    assert.equal(got.smallSample, got.n < s.min_size);
  };
  for (const seg of report.segments) check(seg, s.per_segment[seg.segment], seg.segment);
  check(report.overall, s.overall, 'overall');
  close(report.gaps.selectionRate, s.gaps.selection_rate, 'selection rate gap');
  close(report.gaps.recall, s.gaps.recall, 'recall gap');
  close(report.gaps.falsePositiveRate, s.gaps.false_positive_rate, 'FPR gap');
  close(report.gaps.precision, s.gaps.precision, 'precision gap');
  close(report.gaps.rocAuc, s.gaps.roc_auc, 'roc_auc gap');
  close(report.gaps.equalizedOdds, s.gaps.equalized_odds, 'equalized odds');
});

for (const [name, folds] of [
  ['stratified_5', stratifiedKFoldSplit(logreg.y, { k: 5 })],
  ['time_series_4', timeSeriesSplit(logreg.y.length, { nSplits: 4 })],
] as const) {
  test(`cross-validated logistic regression matches scikit-learn cross_validate (${name})`, () => {
    const expected = fx.cv[name];
    const fit = classifierFactory('logistic_regression', { featureNames: logreg.X[0].map((_, j) => `x${j}`), params: { C: 1, tol: 1e-10 } });
    const cv = crossValidate(logreg.X, logreg.y, { folds, fit });
    // Rank and threshold metrics are exact functions of probabilities that agree with sklearn's to ~1e-7,
    // so they agree to 1e-9; the probability-valued losses inherit the solver's ~1e-7 difference.
    for (const metric of CV_METRICS) {
      const tol = metric === 'log_loss' || metric === 'brier' ? 1e-6 : TOL;
      allClose(cv.folds.map((f) => f.metrics[metric]), expected.per_fold[metric], `${metric} per fold`, tol);
      close(cv.metrics[metric].mean, expected.summary[metric].mean, `${metric} mean`, tol);
      close(cv.metrics[metric].std, expected.summary[metric].std, `${metric} std`, tol);
      assert.equal(cv.metrics[metric].folds, folds.length);
    }
  });
}
