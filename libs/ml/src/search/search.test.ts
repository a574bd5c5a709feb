import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stratifiedKFoldSplit } from '../evaluation';
import { seededRandom } from '../random';
import {
  crossValidationObjective,
  halvingSchedule,
  parseSearchSpace,
  randomSearch,
  sampleParams,
  successiveHalving,
  type SearchResult,
  type TrialRecord,
} from './index';

const fx = JSON.parse(readFileSync(new URL('../fixtures/evaluation_sklearn.json', import.meta.url), 'utf8')) as {
  halving: Array<{ n_candidates: number; factor: number; resource: string; min_resources: number; max_resources: number; n_resources: number[]; n_candidates_per_rung: number[] }>;
};

function dataset(n: number, seed: number) {
  const rnd = seededRandom(seed);
  const X: number[][] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, c = rnd() * 2 - 1;
    X.push([a, b, c]);
    y.push(rnd() < 1 / (1 + Math.exp(-(3 * a - 2 * b + (a > 0 && b > 0 ? 2 : 0)))) ? 1 : 0);
  }
  return { X, y };
}
const FEATURES = ['a', 'b', 'c'];
const withoutDurations = (r: SearchResult) => r.trials.map(({ durationMs: _d, ...rest }) => rest);

test('search space: validation names the field', () => {
  assert.throws(() => parseSearchSpace({ C: { type: 'log_uniform', low: 0, high: 1 } }), /search\.space\.C\.low: log_uniform needs low > 0/);
  assert.throws(() => parseSearchSpace({ max_iter: { type: 'int', low: 1.5, high: 4 } }), /search\.space\.max_iter: int bounds must be integers/);
  assert.throws(() => parseSearchSpace({ lr: { type: 'uniform', low: 2, high: 1 } }), /lr: low \(2\) must not exceed high \(1\)/);
  assert.throws(() => parseSearchSpace({ lr: { type: 'normal', low: 0, high: 1 } }), /lr\.type: expected uniform, log_uniform, int or choice, got "normal"/);
  assert.throws(() => parseSearchSpace({ solver: { type: 'choice', values: [] } }), /solver\.values: expected a non-empty array/);
  assert.throws(() => parseSearchSpace({ x: { type: 'choice', values: [1, null] } }), /x\.values\[1\]: expected a number, string or boolean/);
  assert.throws(() => parseSearchSpace([]), /expected an object/);
  assert.deepEqual(parseSearchSpace({ tol: 1e-6, n: { type: 'int', low: 2, high: 8, log: true } }), { tol: 1e-6, n: { type: 'int', low: 2, high: 8, log: true } });
});

test('sampling: bounds, integer coverage, log scale, and a seed independent of key order', () => {
  const space = parseSearchSpace({
    lr: { type: 'uniform', low: 0.01, high: 0.3 },
    C: { type: 'log_uniform', low: 1e-4, high: 1e2 },
    leaves: { type: 'int', low: 4, high: 7 },
    iters: { type: 'int', low: 10, high: 1000, log: true },
    solver: { type: 'choice', values: ['newton', 'lbfgs'] },
    tol: 1e-8,
  });
  const rnd = seededRandom(1);
  const draws = Array.from({ length: 4000 }, () => sampleParams(space, rnd));
  const col = (k: string) => draws.map((d) => d[k] as number);
  for (const v of col('lr')) assert.ok(v >= 0.01 && v <= 0.3);
  const leaves = new Map<number, number>();
  for (const v of col('leaves')) leaves.set(v, (leaves.get(v) ?? 0) + 1);
  assert.deepEqual([...leaves.keys()].sort(), [4, 5, 6, 7], 'every integer, bounds included');
  for (const count of leaves.values()) assert.ok(Math.abs(count - 1000) < 150, `int counts ${[...leaves.values()]}`);
  // Log-uniform on [1e-4, 1e2]: half of the draws below 10^-1 (uniform would put 0.1 %).
  const below = col('C').filter((v) => v < 0.1).length / draws.length;
  assert.ok(Math.abs(below - 0.5) < 0.04, `share below 0.1: ${below}`);
  const iters = col('iters');
  assert.ok(iters.every((v) => Number.isInteger(v) && v >= 10 && v <= 1000));
  assert.ok(Math.abs(iters.filter((v) => v < 100).length / draws.length - 0.5) < 0.04, 'log int: half below the geometric midpoint');
  assert.ok(draws.every((d) => d.tol === 1e-8));
  const solvers = draws.filter((d) => d.solver === 'lbfgs').length / draws.length;
  assert.ok(Math.abs(solvers - 0.5) < 0.04);
  // Same seed, keys written in another order: same draws.
  const reordered = Object.fromEntries(Object.entries(space).reverse());
  const again = seededRandom(1);
  assert.deepEqual(Array.from({ length: 5 }, () => sampleParams(reordered, again)), draws.slice(0, 5));
});

test('successive-halving schedule matches scikit-learn HalvingRandomSearchCV (n_resources_, n_candidates_)', () => {
  for (const c of fx.halving) {
    const rungs = halvingSchedule({ nCandidates: c.n_candidates, factor: c.factor, minBudget: c.min_resources, maxBudget: c.max_resources, integerBudget: true });
    assert.deepEqual(rungs.map((r) => r.budget), c.n_resources, JSON.stringify(c));
    assert.deepEqual(rungs.map((r) => r.candidates), c.n_candidates_per_rung, JSON.stringify(c));
  }
  // Fractions of the rows: 1/9, 1/3, 1 (not stopped short by 1/9 · 9 rounding above 1).
  const rows = halvingSchedule({ nCandidates: 27, factor: 3, minBudget: 1 / 9, maxBudget: 1, integerBudget: false });
  assert.deepEqual(rows.map((r) => r.candidates), [27, 9, 3]);
  assert.equal(rows.length, 3);
  assert.ok(Math.abs(rows[2].budget - 1) < 1e-12);
  assert.throws(() => halvingSchedule({ nCandidates: 5, factor: 1, minBudget: 1, maxBudget: 2, integerBudget: true }), /search\.factor: expected a number > 1/);
});

test('random search: every trial recorded, best by the metric, deterministic for a seed', () => {
  const { X, y } = dataset(300, 1);
  const folds = stratifiedKFoldSplit(y, { k: 3 });
  const objective = crossValidationObjective({ algorithm: 'logistic_regression', featureNames: FEATURES, X, y, folds });
  const space = parseSearchSpace({ C: { type: 'log_uniform', low: 1e-5, high: 10 }, tol: 1e-8 });
  const seen: TrialRecord[] = [];
  const result = randomSearch({ space, objective, nTrials: 8, seed: 7, metric: 'log_loss', onTrial: (t) => seen.push(t) });
  assert.equal(result.trials.length, 8);
  assert.deepEqual(seen, result.trials, 'onTrial sees every trial, in order');
  assert.equal(result.direction, 'minimize');
  for (const [i, t] of result.trials.entries()) {
    assert.equal(t.trialId, i);
    assert.equal(t.status, 'ok');
    assert.equal(t.budget, null);
    assert.equal(t.params.tol, 1e-8);
    assert.equal(t.foldScores.length, 3);
    assert.equal(t.score, t.metrics.log_loss?.mean);
    assert.ok(Math.abs(t.score - t.foldScores.reduce((s, v) => s + v, 0) / 3) < 1e-12);
    for (const m of ['roc_auc', 'average_precision', 'f1', 'brier'] as const) assert.ok(Number.isFinite(t.metrics[m]?.mean) && t.metrics[m]!.std >= 0, m);
    assert.ok(t.durationMs >= 0);
  }
  assert.equal(result.best.score, Math.min(...result.trials.map((t) => t.score)));
  // C near 1e-5 shrinks everything to the base rate: the best trial is not the most regularized one.
  const smallest = result.trials.reduce((a, b) => ((a.params.C as number) < (b.params.C as number) ? a : b));
  assert.ok(smallest.score > result.best.score && (result.best.params.C as number) > 1e-3, `best C ${result.best.params.C}`);
  const again = randomSearch({ space, objective, nTrials: 8, seed: 7, metric: 'log_loss' });
  assert.deepEqual(withoutDurations(again), withoutDurations(result));
  const other = randomSearch({ space, objective, nTrials: 8, seed: 8, metric: 'log_loss' });
  assert.notDeepEqual(other.trials.map((t) => t.params), result.trials.map((t) => t.params));
});

test('random search records a failing trial and keeps going; all failing is an error naming the cause', () => {
  const { X, y } = dataset(120, 2);
  const objective = crossValidationObjective({ algorithm: 'logistic_regression', featureNames: FEATURES, X, y, folds: stratifiedKFoldSplit(y, { k: 3 }) });
  const result = randomSearch({ space: { solver: { type: 'choice', values: ['newton', 'bogus'] } }, objective, nTrials: 6, seed: 3 });
  const failed = result.trials.filter((t) => t.status === 'failed');
  assert.ok(failed.length > 0 && failed.length < 6, `failed ${failed.length}`);
  for (const t of failed) {
    assert.equal(t.params.solver, 'bogus');
    assert.ok(Number.isNaN(t.score) && t.error && /solver/.test(t.error), t.error);
  }
  assert.equal(result.best.params.solver, 'newton');
  assert.throws(() => randomSearch({ space: { max_iter: { type: 'choice', values: ['many'] } }, objective, nTrials: 2 }), /no trial produced a score; first failure \(trial 0\): model\.params\.max_iter/);
  assert.throws(() => randomSearch({ space: { C: 1 }, objective, nTrials: 2, metric: 'auc' as 'roc_auc' }), /search\.metric: expected one of accuracy/);
});

function checkHalving(result: SearchResult, factor: number): void {
  const rungs = [...new Set(result.trials.map((t) => t.rung))];
  for (const r of rungs.slice(1)) {
    const previous = result.trials.filter((t) => t.rung === r - 1);
    const current = result.trials.filter((t) => t.rung === r);
    assert.equal(current.length, Math.ceil(previous.length / factor));
    assert.ok(current[0].budget!.value > previous[0].budget!.value, 'budgets grow');
    // The survivors are the best of the previous rung.
    const cut = [...previous].sort((a, b) => (result.direction === 'maximize' ? b.score - a.score : a.score - b.score))[current.length - 1].score;
    for (const t of current) {
      const before = previous.find((p) => p.candidateId === t.candidateId)!;
      assert.deepEqual(t.params, before.params);
      assert.ok(result.direction === 'maximize' ? before.score >= cut : before.score <= cut, `candidate ${t.candidateId} promoted with ${before.score}, cut ${cut}`);
    }
  }
  const last = result.trials.filter((t) => t.rung === rungs[rungs.length - 1]);
  assert.ok(last.includes(result.best));
  assert.deepEqual(result.trials.map((t) => t.trialId), result.trials.map((_, i) => i));
}

test('successive halving on a row-fraction budget', () => {
  const { X, y } = dataset(300, 4);
  const folds = stratifiedKFoldSplit(y, { k: 3 });
  const objective = crossValidationObjective({ algorithm: 'logistic_regression', featureNames: FEATURES, X, y, folds, seed: 5 });
  const space = parseSearchSpace({ C: { type: 'log_uniform', low: 1e-4, high: 10 } });
  const result = successiveHalving({ space, objective, nCandidates: 9, factor: 3, resource: 'rows', minBudget: 1 / 9, seed: 2 });
  assert.deepEqual(result.trials.map((t) => t.rung), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
  checkHalving(result, 3);
  assert.equal(result.best.budget!.value, 1);
  assert.equal(result.best.rung, 2);
  // A rows budget trains every fold on that share of its training rows (per class, rounded up).
  const full = objective({ C: 1 }, null);
  const third = objective({ C: 1 }, { resource: 'rows', value: 1 / 3 });
  for (let f = 0; f < 3; f++) {
    assert.ok(Math.abs(third.folds[f].trainSize - full.folds[f].trainSize / 3) <= 2, `fold ${f}: ${third.folds[f].trainSize} of ${full.folds[f].trainSize}`);
    assert.equal(third.folds[f].testSize, full.folds[f].testSize, 'test rows are never subsampled');
  }
  const again = successiveHalving({ space, objective, nCandidates: 9, factor: 3, resource: 'rows', minBudget: 1 / 9, seed: 2 });
  assert.deepEqual(withoutDurations(again), withoutDurations(result));
});

test('successive halving on max_iter of gradient-boosted trees', () => {
  const { X, y } = dataset(240, 6);
  const folds = stratifiedKFoldSplit(y, { k: 3 });
  const objective = crossValidationObjective({ algorithm: 'gbdt', featureNames: FEATURES, X, y, folds, baseParams: { max_leaf_nodes: 8, min_samples_leaf: 10 } });
  const space = parseSearchSpace({ learning_rate: { type: 'log_uniform', low: 0.01, high: 0.5 }, l2_regularization: { type: 'uniform', low: 0, high: 1 } });
  const result = successiveHalving({ space, objective, nCandidates: 6, factor: 2, resource: 'max_iter', minBudget: 5, maxBudget: 20, metric: 'roc_auc', seed: 1 });
  assert.deepEqual(result.trials.map((t) => t.budget!.value), [5, 5, 5, 5, 5, 5, 10, 10, 10, 20, 20]);
  checkHalving(result, 2);
  assert.ok(result.trials.every((t) => t.status === 'ok' && !('max_iter' in t.params)));
  assert.ok(result.best.score > 0.75, `best AUC ${result.best.score}`);
  assert.throws(
    () => successiveHalving({ space: { max_iter: 5 }, objective, nCandidates: 2, resource: 'max_iter', minBudget: 1, maxBudget: 4 }),
    /search\.resource: max_iter is also in the search space/,
  );
  assert.throws(() => successiveHalving({ space, objective, nCandidates: 2, resource: 'max_iter', minBudget: 1 }), /search\.max_budget: required/);
});
