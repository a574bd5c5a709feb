import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { accuracy, confusionMatrix, evaluateBinary, f1Score, logLoss, precision, recall, rocAuc } from './index';

const fx = JSON.parse(readFileSync(new URL('./fixtures/metrics_sklearn.json', import.meta.url), 'utf8')) as {
  y: number[]; scores: number[]; roc_auc: number; log_loss: number;
  thresholds: Record<string, { accuracy: number; precision: number; recall: number; f1: number; tp: number; fp: number; tn: number; fn: number }>;
};

test('matches scikit-learn on tied scores (roc_auc_score, log_loss, threshold metrics)', () => {
  assert.ok(Math.abs(rocAuc(fx.y, fx.scores) - fx.roc_auc) <= 1e-12, `${rocAuc(fx.y, fx.scores)} vs ${fx.roc_auc}`);
  assert.ok(Math.abs(logLoss(fx.y, fx.scores) - fx.log_loss) <= 1e-12, `${logLoss(fx.y, fx.scores)} vs ${fx.log_loss}`);
  for (const [t, m] of Object.entries(fx.thresholds)) {
    const e = evaluateBinary(fx.y, fx.scores, Number(t));
    assert.deepEqual(e.confusion, { tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn }, `confusion at ${t}`);
    for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) assert.ok(Math.abs(e[k] - m[k]) <= 1e-12, `${k} at ${t}: ${e[k]} vs ${m[k]}`);
    assert.equal(e.rocAuc, rocAuc(fx.y, fx.scores));
  }
});

test('hand-computed values', () => {
  const y = [0, 0, 1, 1, 1, 0];
  const s = [0.1, 0.6, 0.6, 0.8, 0.3, 0.2];
  // threshold 0.5: predicted 1 at rows 1,2,3 → tp 2 (rows 2,3), fp 1 (row 1), fn 1 (row 4), tn 2
  assert.deepEqual(confusionMatrix(y, s, 0.5), { tp: 2, fp: 1, tn: 2, fn: 1 });
  assert.equal(accuracy(y, s), 4 / 6);
  assert.equal(precision(y, s), 2 / 3);
  assert.equal(recall(y, s), 2 / 3);
  assert.equal(f1Score(y, s), 2 / 3);
  // AUC: pairs (pos, neg) = 9; pos 0.6 vs negs (0.1 win, 0.6 tie, 0.2 win) = 2.5; 0.8: 3; 0.3: (0.1 win, 0.6 loss, 0.2 win) = 2 → 7.5 / 9
  assert.equal(rocAuc(y, s), 7.5 / 9);
  assert.equal(rocAuc([1, 0], [0.5, 0.5]), 0.5);
  assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])), 'one class: undefined');
  const ll = -(Math.log(0.9) + Math.log(0.4) + Math.log(0.6) + Math.log(0.8) + Math.log(0.3) + Math.log(0.8)) / 6;
  assert.ok(Math.abs(logLoss(y, s) - ll) < 1e-15);
  // Threshold is inclusive: a score equal to it predicts 1.
  assert.deepEqual(confusionMatrix([1], [0.5], 0.5), { tp: 1, fp: 0, tn: 0, fn: 0 });
  // Nothing predicted positive: precision 0 (scikit-learn's zero_division=0), not NaN.
  const none = evaluateBinary([0, 1], [0.1, 0.2], 0.5);
  assert.equal(none.precision, 0);
  assert.equal(none.f1, 0);
  assert.equal(none.n, 2);
  assert.equal(none.positives, 1);
});

test('evaluateBinary leaves log loss undefined for non-probability scores and rejects bad input', () => {
  const e = evaluateBinary([0, 1], [-3, 4], 0);
  assert.equal(e.rocAuc, 1);
  assert.ok(Number.isNaN(e.logLoss));
  assert.throws(() => evaluateBinary([0, 2], [0.1, 0.2]), /label of row 1 is 2/);
  assert.throws(() => evaluateBinary([0, 1], [0.1]), /2 labels but 1 scores/);
  assert.throws(() => rocAuc([0, 1], [0.1, Number.NaN]), /score of row 1 is NaN/);
});
