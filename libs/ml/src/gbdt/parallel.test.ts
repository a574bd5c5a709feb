import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../random';
import { GradientBoostedTrees, type GbdtOptions } from './model';

/** 40 000 rows × 30 features (enough for the fit to start helper threads, also with 10 % held out), NaNs, an interaction. */
function data(seed: number): { X: Float64Array[]; y: number[]; target: number[] } {
  const rnd = seededRandom(seed);
  const X: Float64Array[] = [], y: number[] = [], target: number[] = [];
  for (let i = 0; i < 40_000; i++) {
    const x = Float64Array.from({ length: 30 }, (_, j) => (rnd() < 0.02 * (j % 3) ? Number.NaN : j < 4 ? rnd() * 4 - 2 : Math.floor(rnd() * 50)));
    const z = (x[0] || 0) * (x[1] || 0) + Math.sin(x[2] || 0) - 0.02 * (x[7] || 0);
    X.push(x);
    y.push(rnd() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0);
    target.push(z + 0.2 * (rnd() - 0.5));
  }
  return { X, y, target };
}

const fitWithThreads = (threads: number, X: Float64Array[], y: number[], opts: GbdtOptions) => GradientBoostedTrees.fit(X, y, { ...opts, threads });

test('a fit with helper threads gives the same model and history as on one thread', () => {
  const { X, y, target } = data(4);
  const configs: Array<[string, number[], GbdtOptions]> = [
    ['classification, all features', y, { maxIter: 12, earlyStopping: false }],
    ['classification, row and column subsampling, early stopping', y, { maxIter: 12, subsample: 0.6, colsample: 0.5, earlyStopping: true, seed: 3 }],
    ['regression, 63 leaves', target, { task: 'regression', maxIter: 8, maxLeafNodes: 63, minSamplesLeaf: 5, earlyStopping: false }],
  ];
  for (const [label, labels, opts] of configs) {
    const one = fitWithThreads(1, X, labels, opts);
    for (const threads of [2, 3]) {
      const many = fitWithThreads(threads, X, labels, opts);
      assert.deepEqual(many.toJSON(), one.toJSON(), `${label}: ${threads} threads`);
      assert.deepEqual(many.history, one.history, `${label}: ${threads} threads`);
    }
  }
});

test('threads must be a thread count a fit can use', () => {
  const { X, y } = data(5);
  for (const threads of [0, 1.5, 16]) {
    assert.throws(() => fitWithThreads(threads, X.slice(0, 50), y.slice(0, 50), { maxIter: 1 }), new RegExp(`option threads is ${threads} \\(STREAMLOOP_GBDT_THREADS\\), expected an integer in 1\\.\\.15`));
  }
});
