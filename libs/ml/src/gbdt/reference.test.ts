import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GradientBoostedTrees, rocAuc } from '../index';

/** Written by scripts/python/ml_reference/gbdt_reference.py (scikit-learn HistGradientBoostingClassifier). */
interface Fixture {
  description: string;
  sklearn_version: string;
  settings: { max_iter: number; learning_rate: number; max_leaf_nodes: number; min_samples_leaf: number; early_stopping: boolean; l2_regularization: number; max_bins: number };
  n_features: number;
  train: { n: number; X_f32_b64: string; y: number[] };
  test: { n: number; X_f32_b64: string; y: number[] };
  sklearn: { roc_auc: number; n_iter: number; test_proba: number[] };
}

/** Base64 little-endian float32, row-major n × d (NaN = missing). */
function rows(b64: string, n: number, d: number): Float64Array[] {
  const buf = Buffer.from(b64, 'base64');
  assert.equal(buf.length, n * d * 4, 'fixture matrix size');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  return Array.from({ length: n }, (_, i) => Float64Array.from({ length: d }, (_, j) => view.getFloat32((i * d + j) * 4, true)));
}

for (const name of ['breast_cancer', 'classification']) {
  test(`ROC AUC within 0.005 of scikit-learn's HistGradientBoostingClassifier on ${name}`, () => {
    const fx = JSON.parse(readFileSync(new URL(`../fixtures/gbdt_${name}.json`, import.meta.url), 'utf8')) as Fixture;
    const d = fx.n_features;
    const s = fx.settings;
    const model = GradientBoostedTrees.fit(rows(fx.train.X_f32_b64, fx.train.n, d), fx.train.y, {
      maxIter: s.max_iter,
      learningRate: s.learning_rate,
      maxLeafNodes: s.max_leaf_nodes,
      minSamplesLeaf: s.min_samples_leaf,
      earlyStopping: s.early_stopping,
      l2Regularization: s.l2_regularization,
      maxBins: s.max_bins,
    });
    assert.equal(model.nIter, fx.sklearn.n_iter);
    const auc = rocAuc(fx.test.y, model.predictProba(rows(fx.test.X_f32_b64, fx.test.n, d)));
    assert.ok(Math.abs(auc - fx.sklearn.roc_auc) <= 0.005, `${name}: our ROC AUC ${auc.toFixed(6)}, scikit-learn ${fx.sklearn_version} ${fx.sklearn.roc_auc.toFixed(6)}`);
  });
}
