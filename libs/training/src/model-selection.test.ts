import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchSpec } from '@streamloop/config';
import { classifierFactory, crossValidate, seededRandom, thresholdForPrecision, thresholdMaxF1 } from '@streamloop/ml';
import { chooseThreshold, searchParams, trainingFolds, trialEntries, type TrainingPart } from './model-selection';

/** Rows in time order (one per second) with a nonlinear signal in a and b; c is noise. */
function part(n: number, seed: number): TrainingPart {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [], times: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, c = rnd() * 2 - 1;
    X.push([a, b, c]);
    y.push(rnd() < 1 / (1 + Math.exp(-(3 * a - 2 * b + (a > 0 && b > 0 ? 2 : 0) - 1.5))) ? 1 : 0);
    times.push(1_700_000_000_000 + i * 1000);
  }
  return { X, y, times };
}
const GBDT = { algorithm: 'gbdt' as const, featureNames: ['a', 'b', 'c'] };
const LR = { algorithm: 'logistic_regression' as const, featureNames: ['a', 'b', 'c'] };
const cv = { kind: 'time_series' as const, folds: 3 };

test('successive halving over max_iter: every rung is a trial, the winner is refitted at its last-rung budget over model.params', () => {
  const search: SearchSpec = {
    strategy: 'successive_halving', candidates: 4, factor: 2, resource: 'max_iter', minResource: 5, maxResource: 20,
    cv, metric: 'log_loss', seed: 2, space: { learning_rate: { type: 'log_uniform', low: 0.05, high: 0.5 }, min_samples_leaf: 5 },
  };
  const data = part(400, 1);
  const out = searchParams(search, GBDT, data, { baseParams: { max_leaf_nodes: 7, max_iter: 100 }, threshold: 0.5 });
  // Rungs of 4, 2 and 1 candidates at budgets 5, 10 and 20.
  assert.deepEqual(out.result.trials.map((t) => [t.rung, t.budget?.value]), [[0, 5], [0, 5], [0, 5], [0, 5], [1, 10], [1, 10], [2, 20]]);
  const best = out.result.best;
  assert.equal(best.rung, 2);
  assert.equal(out.result.direction, 'minimize');
  assert.deepEqual(out.params, { max_leaf_nodes: 7, max_iter: 20, learning_rate: best.params.learning_rate, min_samples_leaf: 5 });
  assert.equal(out.startedAt.length, 7);
  for (const t of out.startedAt) assert.ok(Number.isInteger(t) && t > 1_600_000_000_000);
  // Folds are time-ordered and cut from the training part only.
  for (const fold of out.folds) assert.ok(Math.max(...fold.train.map((i) => data.times[i])) < Math.min(...fold.test.map((i) => data.times[i])));
  assert.equal(out.folds.length, 3);

  const entries = trialEntries(out.result.trials[4], search);
  assert.equal(entries.params.budget_resource, 'max_iter');
  assert.equal(entries.params.budget_value, '10');
  assert.equal(entries.params.rung, '1');
  assert.equal(entries.params.search_metric, 'log_loss');
  assert.equal(entries.params.search_cv, 'time_series:3');
  assert.equal(entries.metrics.score, entries.metrics.log_loss);
  assert.equal(entries.metrics.pr_auc, out.result.trials[4].metrics.average_precision?.mean, 'average precision is logged as pr_auc');
  assert.deepEqual(Object.keys(entries.metrics).filter((k) => k.startsWith('fold_')), ['fold_0_score', 'fold_1_score', 'fold_2_score']);
});

test('a rows budget is not a model param; random search refits the best trial', () => {
  const rows: SearchSpec = {
    strategy: 'successive_halving', candidates: 3, factor: 3, resource: 'rows', minResource: 1 / 3, maxResource: 1,
    cv: { kind: 'stratified_kfold', folds: 3 }, metric: 'roc_auc', seed: 0, space: { l2: { type: 'log_uniform', low: 0.01, high: 10 } },
  };
  const halving = searchParams(rows, LR, part(300, 2), { baseParams: {}, threshold: 0.5 });
  assert.deepEqual(Object.keys(halving.params), ['l2']);
  const random = searchParams({ ...rows, strategy: 'random', trials: 5 }, LR, part(300, 2), { baseParams: { max_iter: 50 }, threshold: 0.5 });
  assert.equal(random.result.trials.length, 5);
  const best = [...random.result.trials].sort((a, b) => b.score - a.score || a.trialId - b.trialId)[0];
  assert.equal(random.result.best.trialId, best.trialId);
  assert.deepEqual(random.params, { max_iter: 50, l2: best.params.l2 });
});

test('a searched param the algorithm does not know, or of the wrong type, fails before any trial, naming its key', () => {
  const spec = (space: SearchSpec['space']): SearchSpec => ({ strategy: 'random', trials: 2, cv, metric: 'roc_auc', seed: 0, space });
  assert.throws(() => searchParams(spec({ learnig_rate: { type: 'uniform', low: 0.1, high: 0.2 } }), GBDT, part(200, 3), { baseParams: {}, threshold: 0.5 }),
    /^RangeError: model\.search\.space\.learnig_rate: unknown param for gbdt/);
  assert.throws(() => searchParams(spec({ l2: { type: 'choice', values: ['strong'] } }), LR, part(200, 3), { baseParams: {}, threshold: 0.5 }),
    /^RangeError: model\.search\.space\.l2: expected a finite number, got "strong"/);
  assert.throws(() => searchParams(spec({ l2: 1 }), LR, part(200, 3), { baseParams: { solvr: 'lbfgs' }, threshold: 0.5 }), /model\.params\.solvr: unknown parameter/);
});

test('the threshold is chosen on out-of-fold predictions of the training part with the final params', () => {
  const data = part(600, 4);
  const folds = trainingFolds(cv, data);
  const params = { max_iter: 20, max_leaf_nodes: 7 };
  const oof = crossValidate(data.X, data.y, { folds, fit: classifierFactory('gbdt', { featureNames: GBDT.featureNames, params }) }).predictions;
  const scored = [...oof.keys()].filter((i) => !Number.isNaN(oof[i]));
  assert.equal(scored.length, 450, 'the first of four time blocks has no out-of-fold score');
  const y = scored.map((i) => data.y[i]), s = scored.map((i) => oof[i]);

  const maxF1 = chooseThreshold({ strategy: 'max_f1' }, GBDT, data, { params, folds, fallback: 0.5 });
  const expected = thresholdMaxF1(y, s);
  assert.equal(maxF1.strategy, 'max_f1');
  assert.equal(maxF1.threshold, expected.threshold);
  assert.deepEqual(maxF1.metrics, {
    threshold_oof_rows: 450, threshold_chosen: 1, threshold_oof_precision: expected.precision, threshold_oof_recall: expected.recall, threshold_oof_f1: expected.f1,
  });

  const p80 = chooseThreshold({ strategy: 'target_precision', precision: 0.8 }, GBDT, data, { params, folds, fallback: 0.5 });
  const reached = thresholdForPrecision(y, s, 0.8);
  assert.ok(reached, 'precision 0.8 is reachable on this data');
  assert.equal(p80.threshold, reached.threshold);
  assert.ok(p80.metrics.threshold_oof_precision >= 0.8);
  assert.equal(p80.metrics.threshold_target_met, 1);
});

test('threshold fallbacks: an unreachable precision takes the max-F1 threshold; no out-of-fold positive keeps the fixed threshold', () => {
  // The signal flips halfway: models fitted on the past rank the later rows backwards.
  const noisy = part(400, 9);
  noisy.y = noisy.X.map((row, i) => ((row[0] > 0) === (i < 200) ? 1 : 0));
  const folds = trainingFolds(cv, noisy);
  const params = { l2: 1 };
  const oof = crossValidate(noisy.X, noisy.y, { folds, fit: classifierFactory('logistic_regression', { featureNames: LR.featureNames, params }) }).predictions;
  const scored = [...oof.keys()].filter((i) => !Number.isNaN(oof[i]));
  const y = scored.map((i) => noisy.y[i]), s = scored.map((i) => oof[i]);
  assert.equal(thresholdForPrecision(y, s, 1), null, 'precision 1 is out of reach');
  const out = chooseThreshold({ strategy: 'target_precision', precision: 1 }, LR, noisy, { params, folds, fallback: 0.5 });
  assert.equal(out.metrics.threshold_target_met, 0);
  assert.equal(out.threshold, thresholdMaxF1(y, s).threshold);

  // Positives only in the first time block, which is never a test fold.
  const early = part(400, 10);
  early.y = early.y.map((v, i) => (i < 100 ? (i % 2) : 0));
  const fixed = chooseThreshold({ strategy: 'max_f1' }, LR, early, { params, folds: trainingFolds(cv, early), fallback: 0.35 });
  assert.deepEqual(fixed, { threshold: 0.35, strategy: 'fixed', metrics: { threshold_oof_rows: 300, threshold_chosen: 0 } });
});

test('the GBDT thread count of the choice (STREAMLOOP_GBDT_THREADS) reaches every fit of the search and of the threshold choice', () => {
  const data = part(200, 4);
  const search: SearchSpec = { strategy: 'random', trials: 2, cv, metric: 'log_loss', seed: 1, space: { max_iter: 3 } };
  const badThreads = { ...GBDT, gbdtThreads: 16 };
  assert.throws(() => searchParams(search, badThreads, data, { baseParams: {}, threshold: 0.5 }), /no trial produced a score; first failure \(trial 0\): GradientBoostedTrees: option threads is 16/);
  const folds = trainingFolds(cv, data);
  assert.throws(() => chooseThreshold({ strategy: 'max_f1' }, badThreads, data, { params: { max_iter: 3 }, folds, fallback: 0.5 }), /option threads is 16/);
  assert.equal(searchParams(search, { ...GBDT, gbdtThreads: 1 }, data, { baseParams: {}, threshold: 0.5 }).result.trials.length, 2);
});
