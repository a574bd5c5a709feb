import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMetrics, meanAbsShap, seededRandom, trainClassifier } from '@streamloop/ml';
import { heldOutMetrics, importanceReport, segmentEntries, SHAP_ROWS } from './held-out-report';

// Six held-out rows small enough to work out by hand.
const Y = [0, 0, 1, 1, 1, 0];
const SCORES = [0.05, 0.15, 0.35, 0.85, 0.95, 0.9];
const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual}, expected ${expected}`);

test('held-out metrics at the threshold: confusion matrix, ROC and PR AUC, losses, calibration bins by index', () => {
  const m = heldOutMetrics(Y, SCORES, 0.5);
  // Predicted 1: 0.85 (tp), 0.95 (tp), 0.9 (fp); 0.35 is a missed positive.
  assert.deepEqual([m.confusion_tp, m.confusion_fp, m.confusion_tn, m.confusion_fn, m.n, m.positives, m.threshold], [2, 1, 2, 1, 6, 3, 0.5]);
  close(m.accuracy, 4 / 6, 'accuracy');
  close(m.precision, 2 / 3, 'precision');
  close(m.recall, 2 / 3, 'recall');
  close(m.f1, 2 / 3, 'f1');
  close(m.roc_auc, 7 / 9, 'roc_auc'); // 7 of the 9 positive/negative pairs are ordered right
  close(m.pr_auc, 1 / 3 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 4), 'pr_auc'); // recall steps times precision there
  close(m.log_loss, -[0.95, 0.85, 0.35, 0.85, 0.95, 0.1].reduce((s, p) => s + Math.log(p), 0) / 6, 'log_loss');
  close(m.brier, (0.05 ** 2 + 0.15 ** 2 + 0.65 ** 2 + 0.15 ** 2 + 0.05 ** 2 + 0.9 ** 2) / 6, 'brier');
  // Bins of width 0.1, closed on the right: 0.05 → 0, 0.15 → 1, 0.35 → 3, 0.85 and 0.9 → 8, 0.95 → 9.
  const bins = Object.keys(m).filter((k) => k.endsWith('_count')).map((k) => k.replace('calibration_bin_', '').replace('_count', ''));
  assert.deepEqual(bins, ['0', '1', '3', '8', '9']);
  assert.equal(m.calibration_bin_8_count, 2);
  close(m.calibration_bin_8_mean_predicted, 0.875, 'bin 8 mean predicted');
  close(m.calibration_bin_8_fraction_positive, 0.5, 'bin 8 fraction positive');
  close(m.calibration_bin_3_fraction_positive, 1, 'bin 3 fraction positive');
  close(m.calibration_ece, (0.05 + 0.15 + 0.65 + 2 * 0.375 + 0.05) / 6, 'ECE');
  close(m.calibration_mce, 0.65, 'MCE');
  // Another threshold moves the operating point, not the ranking metrics.
  const strict = heldOutMetrics(Y, SCORES, 0.92);
  assert.deepEqual([strict.confusion_tp, strict.confusion_fp, strict.confusion_tn, strict.confusion_fn], [1, 0, 3, 2]);
  assert.equal(strict.roc_auc, m.roc_auc);
});

test('held-out metrics carry their 95 % bootstrap intervals: 1000 seeded resamples of the held-out rows', () => {
  const { X, y } = rows(600, 5);
  const model = trainClassifier('logistic_regression', X.slice(0, 400), y.slice(0, 400), { featureNames: ['a', 'b', 'c'] });
  const yt = y.slice(400), scores = model.predictProba(X.slice(400));
  const m = heldOutMetrics(yt, scores, 0.4);
  assert.equal(m.bootstrap_resamples, 1000);
  assert.equal(m.bootstrap_confidence, 0.95);
  const expected = bootstrapMetrics(yt, scores, { threshold: 0.4, resamples: 1000, seed: 0 }).intervals;
  for (const metric of ['roc_auc', 'pr_auc', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1']) {
    assert.equal(m[`${metric}_ci_low`], expected[metric as keyof typeof expected].low, metric);
    assert.equal(m[`${metric}_ci_high`], expected[metric as keyof typeof expected].high, metric);
    assert.ok(m[`${metric}_ci_low`] <= m[metric] && m[metric] <= m[`${metric}_ci_high`], `${metric} ${m[metric]} in [${m[`${metric}_ci_low`]}, ${m[`${metric}_ci_high`]}]`);
  }
  // 200 held-out rows: an AUC interval of several hundredths.
  assert.ok(m.roc_auc_ci_high - m.roc_auc_ci_low > 0.03 && m.roc_auc_ci_high - m.roc_auc_ci_low < 0.2);
});

test('segment entries: every segment with its metrics, missing values as their own segment, gaps over large segments only', () => {
  const e = segmentEntries('cat', Y, SCORES, ['x', 'x', 'y', 'y', null, 'x'], 0.5);
  assert.equal(e['segment.cat=x.n'], 3);
  assert.equal(e['segment.cat=x.positives'], 0);
  close(e['segment.cat=x.selection_rate'], 1 / 3, 'x selection rate');
  close(e['segment.cat=x.false_positive_rate'], 1 / 3, 'x false positive rate');
  assert.ok(Number.isNaN(e['segment.cat=x.roc_auc']), 'one class only: undefined (the service drops non-finite entries)');
  assert.equal(e['segment.cat=y.n'], 2);
  assert.equal(e['segment.cat=y.recall'], 0.5);
  assert.equal(e['segment.cat=(missing).n'], 1);
  assert.equal(e['segment.cat=(missing).recall'], 1);
  // Every segment is below 30 rows, so no gap is defined.
  assert.ok(Number.isNaN(e['segment_gap.cat.recall']) && Number.isNaN(e['segment_gap.cat.equalized_odds']));
  const many = Array.from({ length: 80 }, (_, i) => i);
  const wide = segmentEntries('half', many.map((i) => i % 2), many.map((i) => (i % 2 ? 0.9 : 0.1)), many.map((i) => (i < 40 ? 'a' : 'b')), 0.5);
  assert.equal(wide['segment_gap.half.recall'], 0);
  assert.equal(wide['segment_gap.half.selection_rate'], 0);
});

function rows(n: number, seed: number) {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, c = rnd() * 2 - 1;
    X.push([a, b, c]);
    y.push(rnd() < 1 / (1 + Math.exp(-(4 * a - 1.5 * b))) ? 1 : 0);
  }
  return { X, y };
}

test('importance: mean |SHAP| shares over a held-out sample for trees, gain beside them; coefficients for the linear model', () => {
  const train = rows(800, 1), heldOut = rows(1500, 2);
  const names = ['a', 'b', 'c'];
  const gbdt = trainClassifier('gbdt', train.X, train.y, { featureNames: names, params: { max_iter: 20, max_leaf_nodes: 7 } });
  const r = importanceReport(gbdt, heldOut.X);
  assert.equal(r.kind, 'mean_abs_shap');
  assert.equal(r.metrics.importance_shap_rows, SHAP_ROWS);
  close(Object.values(r.shares).reduce((a, b) => a + b, 0), 1, 'shares sum');
  assert.ok(r.shares.a > r.shares.b && r.shares.b > r.shares.c, JSON.stringify(r.shares));
  const gain = gbdt.trees!.featureImportanceGain();
  names.forEach((f, j) => assert.equal(r.metrics[`importance_gain.${f}`], gain[j], f));
  // The sample is every (1500/1000)-th row, from the first.
  const sample = Array.from({ length: SHAP_ROWS }, (_, k) => heldOut.X[Math.floor(k * 1.5)]);
  const shap = meanAbsShap(gbdt.trees!, sample);
  names.forEach((f, j) => close(r.metrics[`importance_mean_abs_shap.${f}`], shap[j], f));

  const lr = trainClassifier('logistic_regression', train.X, train.y, { featureNames: names });
  const linear = importanceReport(lr, heldOut.X);
  assert.deepEqual(linear, { shares: lr.featureImportance(), kind: 'abs_standardized_coefficient', metrics: {} });
});
