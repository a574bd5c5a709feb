#!/usr/bin/env python3
"""Reference numbers for libs/ml's gradient-boosted trees, computed with scikit-learn's HistGradientBoostingClassifier.

    bash scripts/python/run.sh scripts/python/ml_reference/gbdt_reference.py

Writes (deterministic, seeds fixed; the unit test libs/ml/src/gbdt/reference.test.ts reads them, it does not run Python):
  libs/ml/src/fixtures/gbdt_breast_cancer.json   sklearn's bundled breast_cancer, stratified 75/25 split (random_state=0)
  libs/ml/src/fixtures/gbdt_classification.json  make_classification 5000 x 10 (random_state=7) with 10% of the
                                                  values replaced by NaN (numpy default_rng(7)), same kind of split

The feature matrices are stored as base64 little-endian float32, row-major (NaN = missing), to keep the files small
and exact: scikit-learn is trained on those float32 values too, so both sides see identical inputs. Each fixture holds
the train/test rows, the labels, the matched settings, sklearn's test probabilities and its test ROC AUC.
"""
import base64
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'libs', 'ml', 'src', 'fixtures')

# The settings named in the issue; the TypeScript test uses the same values.
SETTINGS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=False,
                l2_regularization=0.0, max_bins=255)


def f32_b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype='<f4').tobytes()).decode('ascii')


def write(name, description, X, y):
    X = X.astype(np.float32)  # both sides train on the same float32 values
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    clf = HistGradientBoostingClassifier(random_state=0, **SETTINGS)
    clf.fit(X_tr.astype(np.float64), y_tr)
    proba = clf.predict_proba(X_te.astype(np.float64))[:, 1]
    auc = roc_auc_score(y_te, proba)
    doc = {
        'description': description,
        'sklearn_version': sklearn.__version__,
        'settings': SETTINGS,
        'n_features': int(X.shape[1]),
        'train': {'n': int(X_tr.shape[0]), 'X_f32_b64': f32_b64(X_tr), 'y': [int(v) for v in y_tr]},
        'test': {'n': int(X_te.shape[0]), 'X_f32_b64': f32_b64(X_te), 'y': [int(v) for v in y_te]},
        'sklearn': {
            'roc_auc': float(auc),
            'n_iter': int(clf.n_iter_),
            'test_proba': [round(float(p), 7) for p in proba],
        },
    }
    path = os.path.join(OUT, f'gbdt_{name}.json')
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes, sklearn test ROC AUC {auc:.6f}')


def main():
    bc = load_breast_cancer()
    write('breast_cancer', "sklearn.datasets.load_breast_cancer(); train_test_split(test_size=0.25, random_state=0, stratify=y)",
          bc.data, bc.target)
    X, y = make_classification(n_samples=5000, n_features=10, n_informative=6, n_redundant=2, random_state=7)
    rng = np.random.default_rng(7)
    X[rng.random(X.shape) < 0.1] = np.nan
    write('classification', 'make_classification(n_samples=5000, n_features=10, n_informative=6, n_redundant=2, random_state=7); '
          'X[default_rng(7).random(X.shape) < 0.1] = NaN; train_test_split(test_size=0.25, random_state=0, stratify=y)', X, y)


if __name__ == '__main__':
    main()
