#!/usr/bin/env python3
"""Reference fixtures for libs/ml and libs/drift, computed with scikit-learn / numpy.

    bash scripts/python/run.sh scripts/python/ml_reference/make_fixtures.py

Writes (deterministic, seeds fixed; the unit tests read them, they do not run Python):
  libs/ml/src/fixtures/logreg_sklearn.json   a make_classification dataset (1000 x 8, rounded to 6 decimals),
                                              sklearn LogisticRegression coefficients for several C / class_weight
                                              cases, held-out probabilities and roc_auc_score
  libs/ml/src/fixtures/metrics_sklearn.json  labels + tied scores with sklearn's accuracy, precision, recall, f1,
                                              roc_auc, log_loss and confusion matrix
  libs/drift/src/fixtures/psi_numpy.json     PSI computed with numpy under the same bin definition as libs/drift

Standardization matches libs/ml's Standardizer: StandardScaler fitted on the train rows (it ignores NaN, population
std), then NaN -> 0 after scaling (= mean imputation). The model is fitted on the standardized train rows.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss, precision_score, recall_score,
                             roc_auc_score)
from sklearn.preprocessing import StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
N_TRAIN = 800


def clean(v):
    """JSON has no NaN: write None (null), which the TypeScript side reads back as NaN."""
    if isinstance(v, np.ndarray):
        return [clean(x) for x in v.tolist()]
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def write(rel, doc):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {rel} ({os.path.getsize(path)} bytes)')


def logreg_fixture():
    X, y = make_classification(n_samples=1000, n_features=8, n_informative=5, n_redundant=1, weights=[0.75, 0.25],
                               class_sep=0.8, flip_y=0.03, random_state=7)
    # Features on different scales and offsets, so standardization matters; rounded so JSON round-trips exactly.
    X = np.round(X * np.array([1, 10, 0.1, 100, 1, 5, 0.5, 1000]) + np.array([0, 50, -3, 1000, 0, 0, 7, 0]), 6)
    rng = np.random.default_rng(11)
    nan_mask = rng.random(X.shape) < 0.05
    nan_positions = np.argwhere(nan_mask).tolist()

    cases = []
    for name, C, class_weight, with_nan in [
        ('c1', 1.0, None, False),
        ('c0.05_balanced', 0.05, 'balanced', False),
        ('c10_weights', 10.0, {0: 1.0, 1: 3.0}, False),
        ('c1_nan', 1.0, None, True),
    ]:
        Xc = X.copy()
        if with_nan:
            Xc[nan_mask] = np.nan
        scaler = StandardScaler().fit(Xc[:N_TRAIN])
        Z = np.nan_to_num(scaler.transform(Xc), nan=0.0)
        model = LogisticRegression(C=C, class_weight=class_weight, solver='newton-cholesky', tol=1e-12, max_iter=1000)
        model.fit(Z[:N_TRAIN], y[:N_TRAIN])
        proba = model.predict_proba(Z[N_TRAIN:])[:, 1]
        cases.append({
            'name': name,
            'C': C,
            'class_weight': {str(k): v for k, v in class_weight.items()} if isinstance(class_weight, dict) else class_weight,
            'with_nan': with_nan,
            'scaler_mean': scaler.mean_.tolist(),
            'scaler_scale': scaler.scale_.tolist(),
            'coef': model.coef_[0].tolist(),
            'intercept': float(model.intercept_[0]),
            'test_proba': proba.tolist(),
            'test_roc_auc': float(roc_auc_score(y[N_TRAIN:], proba)),
        })
    write('libs/ml/src/fixtures/logreg_sklearn.json', {
        'generator': f'make_fixtures.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}',
        'n_train': N_TRAIN,
        'X': X.tolist(),
        'y': y.tolist(),
        'nan_positions': nan_positions,
        'cases': cases,
    })


def metrics_fixture():
    rng = np.random.default_rng(5)
    n = 400
    y = (rng.random(n) < 0.3).astype(int)
    # Scores rounded to 2 decimals: many ties, which roc_auc_score resolves as average rank.
    scores = np.round(np.clip(0.35 * y + rng.normal(0.35, 0.2, n), 0, 1), 2)
    scores[:5] = [0.0, 1.0, 0.5, 0.5, 0.5]  # exact 0 / 1 (log loss clipping) and values at the threshold
    out = {'y': y.tolist(), 'scores': scores.tolist(), 'thresholds': {}}
    for t in (0.5, 0.3):
        pred = (scores >= t).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel().tolist()
        out['thresholds'][str(t)] = {
            'accuracy': accuracy_score(y, pred),
            'precision': precision_score(y, pred, zero_division=0),
            'recall': recall_score(y, pred, zero_division=0),
            'f1': f1_score(y, pred, zero_division=0),
            'tp': tp, 'fp': fp, 'tn': tn, 'fn': fn,
        }
    out['roc_auc'] = roc_auc_score(y, scores)
    out['log_loss'] = log_loss(y, scores)
    write('libs/ml/src/fixtures/metrics_sklearn.json', out)


def psi_numpy(ref, cur, bins=10, eps=1e-4):
    """Same definition as libs/drift psi(): edges = deduplicated linear-interpolation quantiles k/bins of the finite
    reference values, bins (-inf, e1], (e1, e2], ..., (ek, +inf), NaN in its own bin when either side has NaN,
    empty shares replaced by eps."""
    fin = ref[np.isfinite(ref)]
    edges = np.unique(np.quantile(fin, np.arange(1, bins) / bins)) if fin.size else np.array([])

    def shares(x):
        nan = np.isnan(x)
        idx = np.searchsorted(edges, x[~nan], side='left')  # first edge >= x: right-closed bins
        counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
        return np.append(counts, nan.sum()) / x.size

    r, c = shares(ref), shares(cur)
    if r[-1] == 0 and c[-1] == 0:
        r, c = r[:-1], c[:-1]
    rs, cs = np.where(r == 0, eps, r), np.where(c == 0, eps, c)
    return float(np.sum((cs - rs) * np.log(cs / rs))), edges.tolist(), r.tolist(), c.tolist()


def psi_fixture():
    rng = np.random.default_rng(3)
    cases = []
    ref = np.round(rng.normal(0, 1, 2000), 4)
    for name, cur in [
        ('same', np.round(rng.normal(0, 1, 1500), 4)),
        ('shift', np.round(rng.normal(0.5, 1.2, 1500), 4)),
        ('nan', np.where(rng.random(1500) < 0.1, np.nan, np.round(rng.normal(0, 1, 1500), 4))),
    ]:
        value, edges, r, c = psi_numpy(ref, cur)
        cases.append({'name': name, 'reference': ref.tolist(), 'current': clean(cur), 'bins': 10, 'epsilon': 1e-4,
                      'psi': value, 'edges': edges, 'ref_shares': r, 'cur_shares': c})
    # Discrete reference with heavy ties (quantile edges collapse) and a category absent from the reference.
    ref = rng.integers(0, 4, 1000).astype(float)
    ref[:600] = 0
    cur = rng.integers(0, 6, 800).astype(float)
    value, edges, r, c = psi_numpy(ref, cur)
    cases.append({'name': 'discrete', 'reference': ref.tolist(), 'current': cur.tolist(), 'bins': 10, 'epsilon': 1e-4,
                  'psi': value, 'edges': edges, 'ref_shares': r, 'cur_shares': c})
    write('libs/drift/src/fixtures/psi_numpy.json', {'generator': f'make_fixtures.py, numpy {np.__version__}', 'cases': cases})


if __name__ == '__main__':
    logreg_fixture()
    metrics_fixture()
    psi_fixture()
