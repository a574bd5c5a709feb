import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchSpec } from '@streamloop/config';
import { checkClassifierParams, modelSpecProblems } from './index';

const search = (space: SearchSpec['space']): SearchSpec => ({ strategy: 'random', trials: 2, cv: { kind: 'time_series', folds: 3 }, metric: 'roc_auc', seed: 0, space });

test('model.params are read as a fit would, imputation included, without data', () => {
  assert.doesNotThrow(() => checkClassifierParams('gbdt', { max_iter: 10, impute: 'median' }));
  assert.doesNotThrow(() => checkClassifierParams('logistic_regression', { l2: 1, impute: 'constant', impute_value: 0 }));
  assert.throws(() => checkClassifierParams('gbdt', { learningrate: 0.1 }), /^RangeError: model\.params\.learningrate: unknown param for gbdt/);
  assert.throws(() => checkClassifierParams('logistic_regression', { impute: 'mode' }), /model\.params\.impute: expected one of/);
});

test('modelSpecProblems names the model.params or model.search.space key, and accepts what training accepts', () => {
  assert.deepEqual(modelSpecProblems({ algorithm: 'logistic_regression', params: { l2: 1, max_iter: 100 }, search: null }), []);
  assert.match(modelSpecProblems({ algorithm: 'logistic_regression', params: { depth: 3 } }).join(), /^model\.params\.depth: unknown parameter for logistic_regression/);
  assert.match(modelSpecProblems({ algorithm: 'gbdt', params: {}, search: search({ learnig_rate: { type: 'uniform', low: 0.1, high: 0.2 } }) }).join(),
    /^model\.search\.space\.learnig_rate: unknown param for gbdt/);
  // Imputation is a param of both algorithms, also beside a search.
  assert.deepEqual(modelSpecProblems({ algorithm: 'gbdt', params: { impute: 'mean' }, search: search({ max_leaf_nodes: { type: 'int', low: 7, high: 31 } }) }), []);
});
